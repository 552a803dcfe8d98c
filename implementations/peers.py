"""What users would pick instead, registered when importable: SciPy, PyTorch (CPU), JAX.

Their expectations are what this suite measured, on the versions in ``MEASURED_ON`` (docs/guide/registered.md); on
another installed version a failure the declaration does not list is shown as drift ("differs from the measurement
on PyTorch 2.13.0: now fails ..."), stored and compared, and fails the run with ``--strict-peers``.

Registering imports none of these libraries: each peer is a :class:`Lazy` callable that imports its library and
builds itself on its first call, so resolving ``softmax.naive`` costs no PyTorch or JAX import (seconds), and
nothing here changes a library's global settings.
"""

import os

from stability.registry import register

from ._peer import Lazy, have as _have

NAME_BCE = "binary_cross_entropy_with_logits"
MEASURED_ON = {"scipy": "1.17.1", "torch": "2.13.0", "jax": "0.10.2"}


def _lazy(module: str, attr: str, *, adapt_to: str | None = None, library: str = "torch"):
    """``module.attr`` on its first call; ``adapt_to``: adapted to that function's convention first
    (``stability.adapt``: ``dim=``, ``reduction='none'``, autodiff for a ``_vjp``)."""
    def make():
        import importlib

        fn = importlib.import_module(module)
        for part in attr.split("."):
            fn = getattr(fn, part)
        if adapt_to is None:
            return fn
        from stability.adapt import adapt

        return adapt(fn, adapt_to, library)[0]

    return Lazy(make, f"{module}.{attr}")


if _have("scipy"):
    def _sp():
        import scipy.special

        return scipy.special

    # raises on an empty axis ("zero-size array to reduction operation maximum"): the opt-in `empty` family.
    # measured: in bfloat16 its sum of exponentials is a running bfloat16 sum, which stagnates on long rows
    # (4096 entries of N(0, 1): 2704 where the sum is 6621); float16 sums pairwise and passes
    register("softmax", "scipy.softmax", "scipy.special.softmax", library="scipy", origin="peer", measured_on=MEASURED_ON["scipy"],
             unstable_on=("lengths@bfloat16", "accumulation@bfloat16", "sum_overflow@float16"))(
        lambda x, axis=-1: _sp().softmax(x, axis=axis))
    # measured: (x - max) - log(sum), the log loses a tiny sum at the dominant entry; raises on an empty axis
    register("log_softmax", "scipy.log_softmax", "scipy.special.log_softmax", library="scipy", origin="peer", measured_on=MEASURED_ON["scipy"],
             unstable_on=("dominant", "standard", "overflow", "ascending", "masked", "posinf", "nan", "bits", "wide",
                          "underflow", "offset", "ties", "lengths", "tile_masks", "accumulation",
                          "shifted", "block_plus_one", "sum_overflow@float16"))(
        lambda x, axis=-1: _sp().log_softmax(x, axis=axis))
    # logsumexp returns float64 for bfloat16 input (a dtype-contract failure): judged on the dtypes it keeps
    register("logsumexp", "scipy.logsumexp", "scipy.special.logsumexp", library="scipy", origin="peer", measured_on=MEASURED_ON["scipy"],
             dtypes=("float16", "float32", "float64"),
             # measured: the sum of 65,520 exponentials near 1 is inf in float16 (a float16 sum)
             unstable_on=("sum_overflow@float16",))(
        lambda x, axis=-1: _sp().logsumexp(x, axis=axis))
    # measured: expit gives 0 where the answer is subnormal (x = -89 in float32: 2.2e-39, 1.6e6 ULP, kappa 89)
    register("sigmoid", "scipy.expit", "scipy.special.expit", library="scipy", origin="peer", measured_on=MEASURED_ON["scipy"],
             dtypes=("float32", "float64"), unstable_on=("thresholds", "wide", "bits"))(
        lambda x: _sp().expit(x))
    register("log_sigmoid", "scipy.log_expit", "scipy.special.log_expit", library="scipy", origin="peer", measured_on=MEASURED_ON["scipy"],
             dtypes=("float32", "float64"))(lambda x: _sp().log_expit(x))


_HALVES_TO_F32 = ("bfloat16:float32", "float16:float32")


def _adapted(fn, function, library="torch"):
    from stability.adapt import adapt

    return adapt(fn, function, library)[0]


if _have("torch"):
    def _torch_axis_peers(library: str, suffix: str, where: str, dtypes) -> None:
        """torch.softmax, log_softmax and logsumexp as peers, on the CPU or (``torch_cuda``) the GPU: the same
        (x - max) - log(sum) formulas, so the same expectations (measured on the CPU with torch 2.13.0; on the
        GPU to be confirmed by scripts/gpu_check.sh)."""
        reg = dict(library=library, dtypes=dtypes, origin="peer", measured_on=MEASURED_ON["torch"])
        register("softmax", f"torch.softmax{suffix}", f"torch.softmax ({where})", **reg)(
            _lazy("torch", "softmax", adapt_to="softmax"))
        register("log_softmax", f"torch.log_softmax{suffix}", f"torch.log_softmax ({where}): (x - max) - log(sum)",
                 **reg, unstable_on=_TORCH_LOG_SOFTMAX_BAD)(_lazy("torch", "log_softmax", adapt_to="log_softmax"))
        register("logsumexp", f"torch.logsumexp{suffix}", f"torch.logsumexp ({where}): max + log(sum)", **reg,
                 unstable_on=_TORCH_LSE_BAD)(
            _lazy("torch", "logsumexp", adapt_to="logsumexp"))

    # expectations as measured with torch 2.13.0 (CPU): see README, "Results"
    _TORCH_AXIS_BAD = ("dominant", "standard", "overflow", "ascending", "masked", "posinf", "nan", "wide",
                       "underflow", "bits", "offset", "ties", "lengths", "tile_masks", "accumulation", "shifted")
    # a row holding +inf: (x - max) - log(sum) is the pointwise [-inf, nan, -inf], which the policy accepts; the
    # logsumexp of one is +inf, the cross-entropy +inf or NaN (no failure there since the pointwise answer)
    _TORCH_LOG_SOFTMAX_BAD = _TORCH_AXIS_BAD + ("block_plus_one",)
    _TORCH_LSE_BAD = tuple(f for f in _TORCH_AXIS_BAD if f != "nan") + ("lse_zero",)  # lse_zero: float64
    _TORCH_CE_BAD = tuple(f for f in _TORCH_AXIS_BAD if f not in ("posinf", "nan")) + ("block_plus_one",)

    def _torch_registrations():
        _torch_axis_peers("torch", "", "CPU", ("float32", "float64"))
        reg = dict(library="torch", dtypes=("float32", "float64"), origin="peer", measured_on=MEASURED_ON["torch"])
        register("sigmoid", "torch.sigmoid", "torch.sigmoid (CPU): 0 where the answer is subnormal", **reg,
                 unstable_on=("thresholds", "wide", "bits"))(_lazy("torch", "sigmoid"))
        register("log_sigmoid", "torch.logsigmoid", "torch.nn.functional.logsigmoid (CPU)", **reg)(
            _lazy("torch.nn.functional", "logsigmoid"))
        register(NAME_BCE, "torch.bce_with_logits", "F.binary_cross_entropy_with_logits(reduction='none'): "
                 "log(1 + e^-|x|) without log1p", **reg, unstable_on=("standard", "thresholds", "wide", "special",
                                                                     "bits"))(
            _lazy("torch.nn.functional", "binary_cross_entropy_with_logits", adapt_to=NAME_BCE))
        register("cross_entropy", "torch.cross_entropy", "F.cross_entropy(reduction='none')", **reg,
                 unstable_on=_TORCH_CE_BAD)(_lazy("torch.nn.functional", "cross_entropy", adapt_to="cross_entropy"))
        _torch_gradient_peers()
        if any(os.path.exists(f"/dev/nvidia{i}") for i in range(8)):  # only then is importing torch worth it
            try:
                import torch

                if torch.cuda.is_available():  # what users pick on the GPU
                    _torch_axis_peers("torch_cuda", "_cuda", "GPU", ("float16", "float32", "float64"))
            except Exception:  # pragma: no cover - a CUDA build that cannot reach its driver: no GPU peer
                pass

    def _torch_gradient_peers():
        """PyTorch's backward of every function it has, through torch.autograd.grad (``stability.adapt``), and
        its softplus, logit, amax and argmax forward; expectations measured with torch 2.13.0 (CPU): README,
        "Gradients"."""
        reg = dict(library="torch", dtypes=("float16", "bfloat16", "float32", "float64"), origin="peer",
                   measured_on=MEASURED_ON["torch"])
        forwards = {
            "softmax": ("torch", "softmax", "torch.softmax"), "log_softmax": ("torch", "log_softmax",
                                                                              "torch.log_softmax"),
            "logsumexp": ("torch", "logsumexp", "torch.logsumexp"), "sigmoid": ("torch", "sigmoid", "torch.sigmoid"),
            "log_sigmoid": ("torch.nn.functional", "logsigmoid", "F.logsigmoid"),
            "softplus": ("torch.nn.functional", "softplus", "F.softplus"), "logit": ("torch", "logit", "torch.logit"),
            "max": ("torch", "amax", "torch.amax"),
            NAME_BCE: ("torch.nn.functional", "binary_cross_entropy_with_logits", "F.binary_cross_entropy_with_logits"),
            "cross_entropy": ("torch.nn.functional", "cross_entropy", "F.cross_entropy"),
        }
        for name, (module, attr, label) in forwards.items():
            register(f"{name}_vjp", f"torch.{name}_vjp", f"{label} backward (torch.autograd.grad, CPU)", **reg,
                     unstable_on=_TORCH_GRAD_EXPECT.get(name, ()))(_lazy(module, attr, adapt_to=f"{name}_vjp"))
        for name, module, attr, label in (("softplus", "torch.nn.functional", "softplus", "F.softplus"),
                                          ("logit", "torch", "logit", "torch.logit"),
                                          ("max", "torch", "amax", "torch.amax"),
                                          ("argmax", "torch", "argmax", "torch.argmax")):
            register(name, f"torch.{name}", f"{label} (CPU)", **reg, unstable_on=_TORCH_FWD_EXPECT.get(name, ()))(
                _lazy(module, attr, adapt_to=name))

    # measured with torch 2.13.0 (CPU), float16/bfloat16/float32/float64: README, "Gradients"
    _TORCH_GRAD_EXPECT: dict = {
        # s * (g - <g, s>): the dominant entry's g_k - <g, s> cancels (0 where 2.2e-13 belongs, float32)
        "softmax": ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "lengths",
                    "g_ones", "g_onehot", "g_nearly_constant", "g_mixed_sign", "g_huge", "bits",
                    "ties", "shifted", "tile_masks", "accumulation", "posinf", "nan",
                    "wide@float64", "g_special@float16", "block_plus_one@float16"),
        # g - exp(out) * sum(g): 1 - s_k rounds to 0
        "log_softmax": ("g_onehot", "standard", "overflow", "ascending", "masked", "g_mixed_sign", "accumulation",
                        "tile_masks", "lengths", "shifted", "underflow", "dominant",
                        "sum_overflow@float16"),
        # g * y * (1 - y) from the output y
        "sigmoid": ("standard", "thresholds", "wide", "special", "g_ones", "g_onehot", "g_nearly_constant",
                    "g_mixed_sign", "g_huge", "g_special"),
        # g * exp(x - lse): the division-free softmax, with lse rounded at x's magnitude (not shift-invariant)
        "logsumexp": ("offset", "standard", "overflow", "underflow", "ascending", "g_huge", "g_special", "shifted",
                      "lengths", "g_onehot", "g_nearly_constant", "g_tiny@float16",
                      "g_tiny@bfloat16", "g_ones", "wide", "g_mixed_sign", "posinf",
                      "tile_masks@float16", "bits", "sum_overflow@float16"),
        "max": ("g_special",),  # grad * (x == max) / count: an infinite g times the 0s gives NaN off the max
        "log_sigmoid": ("g_huge", "standard@float16", "g_mixed_sign@float16"),  # a subnormal weight times |g| > 1
        "softplus": ("g_huge", "special@float64", "wide@float64", "g_mixed_sign@float64",
                     "g_nearly_constant@float64", "g_onehot@float64", "g_ones@float64",
                     "g_special@float64", "thresholds@float64"),  # threshold 20: x itself above it
        # g / (p (1 - p)) at p = -0: -inf where the slope is +inf, in float16, bfloat16 (found by `stability sweep`)
        # and float64; float32 gets +inf
        "logit": ("special@float64", "special@float16", "special@bfloat16"),
        # sigma(x) - y with torch's sigmoid, which gives 0 where the answer is subnormal (as its forward)
        NAME_BCE: ("g_nearly_constant", "g_huge", "thresholds", "g_onehot", "g_mixed_sign", "g_special", "wide",
                   "g_ones", "special", "standard"),
        # softmax - onehot: s_t - 1 cancels at a confident prediction
        "cross_entropy": ("standard", "overflow", "underflow", "dominant", "ascending", "masked", "g_ones", "bits",
                          "g_nearly_constant", "g_mixed_sign", "g_huge", "wide",
                          "tile_masks", "accumulation", "offset", "lengths", "g_onehot",
                          "posinf", "block_plus_one", "sum_overflow@float16"),
    }
    _TORCH_FWD_EXPECT: dict = {"softplus": ("special@float64", "thresholds@float64")}  # threshold 20: log1p(e^-x) dropped

    def _torch_mixed_peers():
        """PyTorch's own mixed-precision paths: ``torch.softmax`` and ``torch.log_softmax`` with ``dtype=float32``
        (a float32 result from 2-byte data) and ``F.cross_entropy`` under ``torch.autocast("cpu")``, which runs it in
        float32 (softmax and log_softmax it leaves in the input's format on the CPU); their backward through
        ``torch.autograd.grad``: x in a 2-byte format, a float32 cotangent, the gradient in x's format."""
        reg = dict(library="torch", dtypes=_HALVES_TO_F32, origin="peer", measured_on=MEASURED_ON["torch"])
        for name in ("softmax", "log_softmax"):
            make = (lambda n=name: _torch_widened(n))
            register(name, f"torch.{name}_f32", f"torch.{name}(x, dim, dtype=torch.float32) (CPU)", **reg,
                     unstable_on=_TORCH_MIXED_EXPECT.get(name, ()))(Lazy(lambda m=make, n=name: _adapted(m(), n)))
            register(f"{name}_vjp", f"torch.{name}_f32_vjp", f"torch.{name}(x, dim, dtype=torch.float32) backward "
                     "(torch.autograd.grad, CPU)", **reg, unstable_on=_TORCH_MIXED_EXPECT.get(f"{name}_vjp", ()))(
                Lazy(lambda m=make, n=name: _adapted(m(), f"{n}_vjp")))
        register("cross_entropy", "torch.cross_entropy_autocast", "F.cross_entropy(reduction='none') under "
                 "torch.autocast('cpu'), which runs it in float32", **reg,
                 unstable_on=_TORCH_MIXED_EXPECT.get("cross_entropy", ()))(
            Lazy(lambda: _adapted(_torch_autocast_ce(), "cross_entropy")))
        register("cross_entropy_vjp", "torch.cross_entropy_autocast_vjp", "F.cross_entropy under torch.autocast('cpu')"
                 " backward (torch.autograd.grad, CPU)", **reg,
                 unstable_on=_TORCH_MIXED_EXPECT.get("cross_entropy_vjp", ()))(
            Lazy(lambda: _adapted(_torch_autocast_ce(), "cross_entropy_vjp")))

    def _torch_widened(name):
        import torch

        fn = getattr(torch, name)

        def widened(x, dim=-1):
            return fn(x, dim, dtype=torch.float32)
        return widened

    def _torch_autocast_ce():
        import torch
        import torch.nn.functional as F

        def ce(logits, targets):
            if logits.dtype not in (torch.bfloat16, torch.float16):  # what CPU autocast takes: other formats run
                return F.cross_entropy(logits, targets, reduction="none")  # as they are (autocast would warn)
            with torch.autocast("cpu", dtype=logits.dtype):
                return F.cross_entropy(logits, targets, reduction="none")
        return ce

    # measured with torch 2.13.0 (CPU), bfloat16:float32 and float16:float32: the union of what fails at the default
    # 25 examples (seed 0), at tests/test_peers.py's 3 and at tests/test_implementations.py's 10 (seed 1)
    _TORCH_MIXED_EXPECT: dict = {
        # the float32 sum of a long row of repeated 2-byte values grows like n u (114 ULP, float16, 220 entries)
        'softmax': ("lengths", "sum_overflow@float16:float32"),
        # s * (g - <g, s>) in float32: the dominant entry's g_k - <g, s> cancels; an overflowing cancellation
        'softmax_vjp': ('overflow@bfloat16:float32', 'shift_rounding', 'underflow@bfloat16:float32',
            'ascending@bfloat16:float32', 'bits@bfloat16:float32', 'lengths@bfloat16:float32',
            'tile_masks@bfloat16:float32', 'g_huge@float16:float32'),
        # (x - max) - log(sum): the log loses the tiny sum at a dominant entry, as in one format
        'log_softmax': ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "posinf",
                        "nan", "bits", "lengths", "tile_masks", "shift_rounding",
                        "wide@float16:float32", "shifted@float16:float32",
                        "accumulation@float16:float32", "block_plus_one",
                        "sum_overflow@float16:float32"),
        # g - s * sum(g) in float32: sum(g) rounds and g_k - s_k sum(g) cancels, as in one format
        'log_softmax_vjp': ('shift_rounding@bfloat16:float32', 'masked@bfloat16:float32'),
        # log_softmax's log(sum), and its shift rounded where the float32 result shows it
        'cross_entropy': ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "bits",
                          "lengths", "tile_masks", "shift_rounding",
                          "wide@float16:float32", "accumulation@float16:float32",
                          "block_plus_one", "sum_overflow@float16:float32"),
        # softmax - onehot, rounded to bfloat16: s_t - 1 cancels where bfloat16 keeps the error
        'cross_entropy_vjp': ('overflow@bfloat16:float32', 'offset@bfloat16:float32', 'underflow@bfloat16:float32',
            'ascending@bfloat16:float32', 'shift_rounding@bfloat16:float32'),
    }

    _torch_registrations()
    _torch_mixed_peers()


if _have("jax"):
    def _jax_registrations():
        """JAX's softmax-family functions, forward and (through jax.vjp, ``stability.adapt``) backward, in the four
        dtypes; float64 in JAX's 64-bit mode, enabled for each call alone (``arraylib.precision_scope``), never
        process-wide.  XLA on the CPU flushes subnormal results to zero (sigmoid(-88) in float32 is 0, not
        6.05e-39): a property of the backend, declared (``flushes_subnormals``) so that the formulas are judged.
        Expectations measured with jax 0.10.2 (CPU): README, "Peers"."""
        reg = dict(library="jax", dtypes=("float16", "bfloat16", "float32", "float64"), origin="peer",
                   flushes_subnormals=True, measured_on=MEASURED_ON["jax"])
        forwards = {  # name -> (module, attribute, takes an axis)
            "softmax": ("jax.nn", "softmax", True), "log_softmax": ("jax.nn", "log_softmax", True),
            "logsumexp": ("jax.scipy.special", "logsumexp", True), "sigmoid": ("jax.nn", "sigmoid", False),
            "log_sigmoid": ("jax.nn", "log_sigmoid", False), "softplus": ("jax.nn", "softplus", False),
            "logit": ("jax.scipy.special", "logit", False), "max": ("jax.numpy", "max", True),
        }
        for name, (module, attr, axis) in forwards.items():
            label = f"{module}.{attr}"
            register(name, f"jax.{name}", f"jax.jit({label})", **reg, unstable_on=_JAX_EXPECT.get(name, ()))(
                Lazy(lambda m=module, a=attr, ax=axis: _jit(_jax_fn(m, a, ax), ax), label))
            register(f"{name}_vjp", f"jax.{name}_vjp", f"jax.jit of jax.vjp of {label}", **reg,
                     unstable_on=_JAX_GRAD_EXPECT.get(name, ()))(
                Lazy(lambda m=module, a=attr, ax=axis: _jit(_pullback(_jax_fn(m, a, ax), ax), ax), label))
        register("argmax", "jax.argmax", "jax.jit(jax.numpy.argmax)", **reg, unstable_on=_JAX_EXPECT["argmax"])(
            Lazy(lambda: _jit(_jax_fn("jax.numpy", "argmax", True), True), "jax.numpy.argmax"))

    def _jax_fn(module: str, attr: str, axis: bool):
        import importlib

        fn = getattr(importlib.import_module(module), attr)
        return (lambda x, axis=-1: fn(x, axis=axis)) if axis else fn

    def _jit(fn, axis: bool):
        """``jax.jit`` of ``fn`` (the axis static): judged as users run JAX, and compiled once per shape instead of
        once per operation (a third of the time per new shape here)."""
        import jax

        return jax.jit(fn, static_argnames=("axis",)) if axis else jax.jit(fn)

    def _pullback(fn, axis: bool):
        """``(x, g) -> g^T J(x)`` by ``jax.vjp``, as one function to jit."""
        import jax

        if axis:
            def vjp(x, g, axis=-1):
                return jax.vjp(lambda v: fn(v, axis=axis), x)[1](g)[0]
        else:
            def vjp(x, g):
                return jax.vjp(fn, x)[1](g)[0]
        return vjp

    # measured with jax 0.10.2 (CPU), jitted, float16/bfloat16/float32/float64: the union of what fails at the default
    # 25 examples (seed 0) and at tests/test_peers.py's 3 (seed 1); a family failing in some dtypes only is declared
    # for those (README, "JAX"); families failing in every dtype first (tests/test_implementations.py checks the
    # first).  softmax, sigmoid, log_sigmoid, softplus and max pass every family.
    _JAX_EXPECT: dict = {
        # XLA on the CPU reads subnormal inputs as 0 (DAZ): ties among subnormals
        "argmax": ("tiny@float32", "bits@float32", "bits@float64", "tiny@bfloat16", "tiny@float64"),
        # (x - max) - log(sum): the log loses the tiny sum at a dominant entry, as PyTorch's; +inf and NaN
        # rows answered at some positions only
        "log_softmax": ("ascending", "dominant", "lengths", "masked", "nan", "overflow", "posinf", "standard",
                        "tile_masks", "underflow", "accumulation@float32",
                        "accumulation@float64", "bits@float16", "bits@bfloat16",
                        "offset@bfloat16", "offset@float32", "shifted@float16",
                        "shifted@float32", "wide@float64", "block_plus_one",
                        "sum_overflow@float16"),
        # subnormal probabilities read as 0 (DAZ), and the tails of log(p / (1 - p))
        "logit": ("tiny@float32", "bits@bfloat16", "bits@float32", "bits@float64", "special@float32",
                 "special@float64", "standard@float64", "tails@bfloat16", "tails@float32", "tails@float64",
                 "tiny@bfloat16", "tiny@float64"),
        # max + log(sum): log(1 + t) at a dominant entry; a +inf row
        "logsumexp": ("ascending", "dominant", "masked", "overflow", "posinf", "standard", "accumulation@float32",
                      "accumulation@float64", "sum_overflow@float16"),
    }
    _JAX_GRAD_EXPECT: dict = {
        # a subnormal weight (flushed) times a large g; the thresholds of log1p(exp)
        "log_sigmoid": ("g_huge", "g_mixed_sign@float32", "g_mixed_sign@float64", "g_nearly_constant@float64",
                       "g_onehot@float64", "g_ones@float64", "g_special@bfloat16", "g_special@float32", "g_special@float64",
                       "special@float64", "standard@float64", "thresholds@bfloat16", "thresholds@float32",
                       "thresholds@float64"),
        # g - exp(log_softmax) * sum(g): 1 - s_k rounds to 0 at a dominant entry
        "log_softmax": ("g_mixed_sign", "underflow", "bits@bfloat16", "dominant@float16", "block_plus_one@float16",
                        "dominant@float32", "dominant@float64", "g_onehot@bfloat16",
                        "g_onehot@float32", "g_onehot@float64", "g_tiny@bfloat16",
                        "offset@float32", "shifted@bfloat16", "shifted@float32",
                        "tile_masks@float16", "wide@float16", "sum_overflow@float16"),
        # g / (p (1 - p)): subnormal p read as 0, the tails
        "logit": ("special", "tiny@float32", "bits@bfloat16", "bits@float32", "bits@float64", "centre@float64",
                 "g_nearly_constant@float64", "g_onehot@float32", "g_onehot@float64", "g_ones@float64",
                 "g_special@float64", "g_tiny@bfloat16", "g_tiny@float32", "g_tiny@float64", "standard@float64",
                 "tails@bfloat16", "tails@float32", "tails@float64", "tiny@bfloat16", "tiny@float64"),
        # g * softmax: a NaN or +inf row answered at some positions only; large g
        "logsumexp": ("ascending@float16", "g_huge@float16", "g_huge@float64", "g_mixed_sign@float16",
                      "overflow@float32"),
        # the cotangent at every tied maximum, subnormal inputs read as 0, NaN rows answered 0
        "max": ("tiny@float32", "ascending@float64", "bits@float32", "bits@float64", "g_huge@float64",
                "g_mixed_sign@float64", "g_onehot@float32", "g_ones@float32", "g_special@bfloat16",
                "masked@float64", "nan@float16", "nan@float32", "nan@float64", "standard@float64",
                "tiny@bfloat16", "tiny@float64", "wide@float64", "sum_overflow@float16"),
        # g * s * (1 - s): 1 - s rounds to 0; a subnormal weight times a large g
        "sigmoid": ("g_huge", "g_mixed_sign", "g_nearly_constant", "g_onehot", "g_ones", "g_special", "standard",
                   "thresholds", "bits@bfloat16", "special@bfloat16", "special@float32", "special@float64",
                   "wide@bfloat16", "wide@float32", "wide@float64"),
        # s * (g - <g, s>): the dominant entry's g_k - <g, s> cancels, as PyTorch's (nan@float16: a float16 row of
        # the nan family without a NaN, 49 ULPs, seen in the atlas of 2026-12-06 at seed 0)
        "softmax": ("accumulation", "ascending", "dominant", "g_huge", "g_mixed_sign",
                    "g_nearly_constant", "g_onehot", "lengths", "masked", "offset", "overflow", "posinf",
                    "standard", "tile_masks", "underflow", "nan@float32", "bits@float16",
                    "bits@bfloat16", "bits@float32", "g_special@float16", "nan@float16",
                    "nan@bfloat16", "nan@float64", "shifted@float16", "shifted@float32",
                    "ties@bfloat16", "ties@float32", "ties@float64", "wide@float64",
                    "block_plus_one@float16"),
        # g * sigmoid(x): a subnormal weight (flushed) times a large g
        "softplus": ("g_huge", "g_mixed_sign@float64", "g_nearly_constant@float64", "g_onehot@float64",
                     "g_ones@float64", "g_special@bfloat16", "g_special@float32",
                     "g_special@float64", "special@float64", "thresholds@float64",
                     "wide@float64", "g_nearly_constant@bfloat16", "g_nearly_constant@float32"),
    }

    def _jax_mixed_peers():
        """JAX on 2-byte data with float32 results, as its API allows: the functions of the widened input,
        ``f(x.astype(jnp.float32))`` (jax.nn.softmax and log_softmax and jax.scipy.special.logsumexp take no dtype),
        and their ``jax.vjp``: x in a 2-byte format, a float32 cotangent, the gradient in x's format."""
        reg = dict(library="jax", dtypes=_HALVES_TO_F32, origin="peer", flushes_subnormals=True,
                   measured_on=MEASURED_ON["jax"])
        for name, module, attr in (("softmax", "jax.nn", "softmax"), ("log_softmax", "jax.nn", "log_softmax"),
                                   ("logsumexp", "jax.scipy.special", "logsumexp")):
            label = f"{module}.{attr}(x.astype(float32))"
            register(name, f"jax.{name}_f32", f"jax.jit({label})", **reg,
                     unstable_on=_JAX_MIXED_EXPECT.get(name, ()))(
                Lazy(lambda m=module, a=attr: _jit(_widened(_jax_fn(m, a, True)), True), label))
            register(f"{name}_vjp", f"jax.{name}_f32_vjp", f"jax.jit of jax.vjp of {label}", **reg,
                     unstable_on=_JAX_MIXED_EXPECT.get(f"{name}_vjp", ()))(
                Lazy(lambda m=module, a=attr: _jit(_pullback(_widened(_jax_fn(m, a, True)), True), True), label))

    def _widened(fn):
        import jax.numpy as jnp

        return lambda x, axis=-1: fn(x.astype(jnp.float32), axis=axis)

    # measured with jax 0.10.2 (CPU), jitted, bfloat16:float32 and float16:float32: the union of what fails at the
    # default 25 examples (seed 0), at tests/test_peers.py's 3 and at 10 (seed 1); softmax passes every family
    _JAX_MIXED_EXPECT: dict = {
        # s * (g - <g, s>) in float32: the dominant entry's g_k - <g, s> cancels
        'softmax_vjp': ('overflow@bfloat16:float32', 'underflow@bfloat16:float32', 'dominant@bfloat16:float32',
            'ascending@bfloat16:float32', 'bits@bfloat16:float32', 'lengths@bfloat16:float32',
            'tile_masks@bfloat16:float32', 'shift_rounding@bfloat16:float32', 'g_huge@float16:float32'),
        # (x - max) - log(sum): the log loses the tiny sum at a dominant entry; +inf and NaN rows
        'log_softmax': ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked",
                        "posinf", "nan", "bits", "lengths", "tile_masks", "shift_rounding",
                        "wide@float16:float32", "accumulation@float16:float32",
                        "block_plus_one"),
        # g - s * sum(g) in float32: sum(g) rounds and g_k - s_k sum(g) cancels, as in one format
        'log_softmax_vjp': ('shift_rounding@bfloat16:float32', 'masked@bfloat16:float32'),
        # max + log(sum): log(1 + t) at a dominant entry; a +inf row
        'logsumexp': ("standard", "overflow", "dominant", "ascending", "masked", "posinf", "bits@float16:float32",
                      "accumulation@float16:float32"),
        # logsumexp_vjp: g exp(x - lse) at a row holding +inf is the pointwise [0, nan, 0], which the policy
        # accepts: nothing left to declare
    }

    _jax_registrations()
    _jax_mixed_peers()

