"""Mixed-precision versions, as training runs them: 2-byte data (bfloat16, float16) read into float32, every
operation and every sum in float32, and one rounding at the end -- to float32 (what autocast and
``torch.softmax(x, dim, dtype=torch.float32)`` return) or back to the input's format.

Gradients take autocast's float32 cotangent of a 2-byte input and return the gradient in the input's format
(signature ``bfloat16:float32``: x, g; the result in x's format), or keep it in float32 as a fused backward does
(``bfloat16:float32:float32``).  The numerics inside are the careful ones of this package (the log1p form of
Blanchard, Higham & Higham 2021, the centred and complement gradients), so each version here is judged stable
in every signature it declares.
"""

import numpy as np

from stability.registry import register

from . import cross_entropy, fast_cpu, fast_grad, log_softmax, logsumexp, softmax

WORK = np.float32
HALVES = ("bfloat16", "float16")

# the careful float32 algorithm behind each function: what a mixed version runs on the widened data
FORWARD = {"softmax": softmax.log1p_form, "log_softmax": log_softmax.log1p_form,
           "logsumexp": logsumexp.log1p_form, "cross_entropy": cross_entropy.log1p_form}
# the gradients: the careful ones that compute in float32 itself (implementations/fast_grad.py); the float64 ones of
# softmax_grad and loss_grad would widen the float32 copies a second time
GRADIENT = {"softmax_vjp": fast_grad.softmax_vjp, "log_softmax_vjp": fast_grad.log_softmax_vjp,
            "logsumexp_vjp": fast_grad.logsumexp_vjp, "cross_entropy_vjp": fast_grad.cross_entropy_vjp}
FAST = {"softmax": fast_cpu.softmax, "log_softmax": fast_cpu.log_softmax, "logsumexp": fast_cpu.logsumexp}


def _widening(core):
    """``core`` on float32 copies of the floating arguments, its result in float32.  Rows are copied along the
    last axis, contiguous, so that NumPy sums them pairwise: along a strided axis it adds term after term, and
    2-byte data repeat values often enough (bfloat16 holds 8 bits) that equal rounding errors add up like n u."""
    def fn(x, *rest, axis=None, **kw):
        x = np.asarray(x)
        rest = [np.asarray(r) for r in rest]
        if axis is not None:  # rows last; a cotangent shaped like x moves with it (a reduced one has no axis)
            rest = [np.moveaxis(r, axis, -1) if r.shape == x.shape else r for r in rest]
            x = np.moveaxis(x, axis, -1)
            kw["axis"] = -1
        # np.array, not ascontiguousarray, which turns a 0-d cotangent into shape (1,)
        rest = [r if np.issubdtype(r.dtype, np.integer) else np.array(r, dtype=WORK, order="C") for r in rest]
        y = np.asarray(core(np.array(x, dtype=WORK, order="C"), *rest, **kw), dtype=WORK)
        if axis is not None and y.shape == x.shape:
            y = np.moveaxis(y, -1, axis)
        return y
    return fn


def _narrowing(core):
    """``core`` widened, its float32 result rounded once to the input's format."""
    wide = _widening(core)

    def fn(x, *rest, **kw):
        return wide(x, *rest, **kw).astype(np.asarray(x).dtype)
    return fn


for _name, _core in FORWARD.items():
    _label = _core.__module__.rsplit(".", 1)[-1] + "." + _core.__name__
    register(_name, f"{_name}.mixed", f"2-byte data widened to float32, {_label} in float32, a float32 result",
             dtypes=[f"{h}:float32" for h in HALVES] + ["float32"])(_widening(_core))
    register(_name, f"{_name}.mixed_narrow", f"2-byte data widened to float32, {_label} in float32, rounded once "
             "to the input's format", dtypes=HALVES)(_narrowing(_core))

for _name, _core in FAST.items():
    register(_name, f"{_name}.fast_mixed", f"2-byte data widened to float32, then {_name}.fast: a float32 result",
             dtypes=[f"{h}:float32" for h in HALVES] + ["float32"])(_widening(_core))

def _softmax_to(fmt):
    import ml_dtypes

    target = np.dtype(getattr(ml_dtypes, fmt))

    def fn(x, axis=-1):
        return _widening(softmax.log1p_form)(x, axis=axis).astype(target)
    return fn


for _fmt in ("float8_e4m3fn", "float8_e5m2"):
    register("softmax", f"softmax.to_{_fmt.removeprefix('float8_')}", f"2-byte or float32 scores, softmax.log1p_form "
             f"in float32, probabilities rounded once to {_fmt} (FP8 attention's P tile)",
             dtypes=[f"{i}:{_fmt}" for i in ("float32", "bfloat16", "float16")])(_softmax_to(_fmt))

for _name, _core in GRADIENT.items():
    _label = f"{_name}.fast"
    # autocast's backward: x in a 2-byte format, the float32 cotangent of the widened forward, the gradient
    # rounded to x's format
    register(_name, f"{_name}.mixed", f"{_label} on the widened x and the float32 cotangent, the gradient in x's "
             "format (autocast's backward)", dtypes=[f"{h}:float32" for h in HALVES])(_narrowing(_core))
    register(_name, f"{_name}.mixed_fused", f"{_label} on the widened x and the float32 cotangent, the gradient "
             "kept in float32 (a fused backward)",
             dtypes=[f"{h}:float32:float32" for h in HALVES])(_widening(_core))
