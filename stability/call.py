"""Judging one call of code under test against the reference: the call itself guarded (it may raise, exit, run
past its time limit, return something that is not a real array, overwrite its input, change process-wide state),
its output brought to NumPy and judged (``stability.metrics.judge``), the kind of failure named.

An implementation that raises, exits (``SystemExit``), runs past the per-call time limit, returns something that
is not a real array, or an array of the wrong shape or dtype fails with that reason; process-wide state it changes
(NumPy's error handling and print options, PyTorch's thread count and default dtype) is put back after each call.
``KeyboardInterrupt`` still stops the run.  What a process cannot survive -- ``os._exit``, a crash in native code,
a hang inside C code -- is handled one level up: every check runs in a worker process (``stability.parallel``),
whose black box (``stability.blackbox``) this module writes before each call.
"""

from __future__ import annotations

import math
import sys
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import blackbox, reference
from .reference._memo import recall
from .arraylib import from_python, precision_scope, to_library, to_numpy
from .formats import ALL_FORMATS
from .metrics import DEFAULT_TOLERANCE, Tolerance, judge
from .registry import Implementation

#: Seconds one call of the implementation may take before it is stopped and judged a failure (Python-level
#: code only, on the main thread: SIGALRM interrupts the interpreter, not a C loop that never returns).  The
#: slowest careful implementation here takes well under a second on the longest rows drawn.
CALL_TIMEOUT = 60.0


#: Kinds of failure, worst first.  Each is a different bug, so they are kept apart while Hypothesis shrinks
#: (each is shrunk by a run that fails on it alone) and each is shown with its own reproducer: a call that raised
#: or returned no usable array; a NaN or inf where the answer is finite; a special value (NaN, +-inf) answered
#: otherwise than the policy says; a finite error beyond the allowance.
FAILURE_KINDS = ("error", "nonfinite", "special", "allowance")
_REASONS = {"nonfinite": "a non-finite result where the answer is finite",
            "special": "a special value other than the policy's answer",
            "allowance": "error beyond the allowance"}


@dataclass
class Outcome:
    """One call judged: the verdict, the worst errors, a reason when it failed; ``details`` (expected, got, ULPs,
    kappa) are built only when asked for, since most calls pass and nobody reads them."""

    ok: bool
    max_ulp: float
    max_ratio: float
    reason: str = ""
    _parts: tuple = ()
    normwise: float = float("inf")
    kind: str = "error"  # of a failure: one of FAILURE_KINDS

    @property
    def details(self) -> dict:
        return _details(*self._parts) if self._parts else {}

    @property
    def got(self):
        """The implementation's output as a NumPy array (None when it raised or returned no array)."""
        return self._parts[1] if len(self._parts) > 1 else None

    @property
    def reference(self):
        return self._parts[0] if self._parts else None

    @property
    def judgement(self):
        """The per-output :class:`stability.metrics.Judgement` (ULPs, ratios), or None when the call failed
        before it could be judged (it raised, or returned the wrong shape or dtype)."""
        return self._parts[2] if len(self._parts) == 3 else None


def run_call(impl: Implementation, args, kwargs, tolerance: Tolerance = DEFAULT_TOLERANCE, *, ref=None,
             timeout: float | None = None, out=None) -> Outcome:
    """Call ``impl`` on NumPy ``args`` and judge the result against the reference (``ref``: the reference of these
    very arguments, when the caller already has it; ``out``: the output format the signature asks for, default
    the input's)."""
    ref = recall(reference.evaluate, impl.function, args, kwargs, out) if ref is None else ref
    dtype = np.asarray(args[0]).dtype
    depth = sys.getrecursionlimit()
    try:
        with precision_scope(impl.library, [dtype, ref.call.output_dtype]):  # JAX's 64-bit mode for this call alone
            return _call_and_judge(impl, args, kwargs, tolerance, ref, timeout, dtype)
    finally:  # TensorFlow, MLX and PaddlePaddle raise Python's recursion limit when first imported (here, or in
        sys.setrecursionlimit(depth)  # the call): put back, as the other process-wide settings are


def _call_and_judge(impl, args, kwargs, tolerance, ref, timeout, dtype) -> Outcome:
    expected_shape = ref.call.output_shape()
    try:
        lib_args = [to_library(a, impl.library) for a in args]
    except Exception as exc:  # e.g. CuPy has no bfloat16: a verdict that says so, not a crash
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Outcome(False, math.inf, math.inf, f"its library {impl.library} cannot take {dtype} input: {tb}",
                       (ref, None, None))
    backups = [np.array(a, copy=True) for a in args]
    try:
        limit = CALL_TIMEOUT if timeout is None else timeout
        with _guarded_state(), _time_limit(limit), blackbox.calling(args, kwargs, limit), np.errstate(all="ignore"), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the verdict speaks for the user's code
            out = impl.fn(*lib_args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # user code: any failure is a verdict, never a crash (or an exit) of the suite
        _restore(args, backups)
        return Outcome(False, math.inf, math.inf, _what_happened(exc), (ref, None, None))
    overwrote = _restore(args, backups)  # the caller's array is not the implementation's scratch space
    got = to_numpy(out)
    if got is None and impl.library in ("numpy", "scipy"):  # a list or a number, read as NumPy would
        got = from_python(out, dtype)
    if got is not None and got.dtype.kind not in "fiub" and got.dtype.name not in ALL_FORMATS:  # objects, strings,
        # complex: not a real array (ml_dtypes' bfloat16 has kind 'V' but is a format of the suite)
        return Outcome(False, math.inf, math.inf, f"returned an array of dtype {got.dtype}, not a real floating "
                       f"array", (ref, None, None))
    if overwrote:
        return Outcome(False, math.inf, math.inf, "overwrote its input array (the caller's data is lost)",
                       (ref, got if got is not None and got.shape == expected_shape else None, None))
    if got is None:
        return Outcome(False, math.inf, math.inf, f"returned a {type(out).__name__}, not an array",
                       (ref, None, None))
    if got.shape != expected_shape:
        return Outcome(False, math.inf, math.inf, f"returned shape {got.shape}, expected {expected_shape}",
                       (ref, None, None))
    if ref.call.function.integer:
        if got.dtype.kind not in "iu":
            return Outcome(False, math.inf, math.inf, f"returned dtype {got.dtype}, expected integer indices",
                           (ref, None, None))
    elif got.dtype != ref.call.output_dtype:
        want = ref.call.output_dtype
        hint = "" if want == dtype else f" (the signature asks for {want} results)"
        return Outcome(False, math.inf, math.inf, f"returned dtype {got.dtype} for {dtype} input, expected {want}{hint}",
                       (ref, got, None))
    j = judge(got, ref, tolerance, flush=impl.flushes_subnormals)
    kind = "" if j.ok else _kind(ref, got, j)
    return Outcome(j.ok, j.max_ulp, j.max_ratio, _REASONS.get(kind, ""), (ref, got, j), j.normwise, kind)


def _kind(ref, got, j) -> str:
    """The worst kind of failure among the outputs that failed the verdict (:data:`FAILURE_KINDS`)."""
    bad = ~j.passed
    with np.errstate(invalid="ignore"):
        expected_finite = np.isfinite(ref.value.astype(np.float64))
        got_finite = np.isfinite(np.asarray(ref.rows(got), dtype=np.float64))
    if (bad & expected_finite & ~got_finite).any():
        return "nonfinite"
    if (bad & ~expected_finite).any():
        return "special"
    return "allowance"


class _CallTimeout(BaseException):
    """Raised inside the implementation's call when it runs past the time limit."""


def _what_happened(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"exited with status {exc.code!r} during the call (SystemExit)"
    if isinstance(exc, _CallTimeout):
        return str(exc)
    return "raised " + traceback.format_exception_only(type(exc), exc)[-1].strip()


@contextmanager
def _time_limit(seconds: float):
    """Interrupt a call that runs past ``seconds`` (main thread with SIGALRM only; elsewhere no limit)."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _CallTimeout(f"did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _guarded_state():
    """Put back the process-wide settings a call may change: NumPy's error handling and print options, Python's
    recursion limit (:func:`run_call`), and (when imported) PyTorch's thread count and default dtype, which decide the next check's numerics."""
    import sys

    err, opts = np.geterr(), np.get_printoptions()
    torch = sys.modules.get("torch")
    saved = (torch.get_num_threads(), torch.get_default_dtype()) if torch is not None else None
    try:
        yield
    finally:
        np.seterr(**err)
        np.set_printoptions(**opts)
        if saved is not None:
            if torch.get_num_threads() != saved[0]:
                torch.set_num_threads(saved[0])
            torch.set_default_dtype(saved[1])


def _restore(args, backups) -> bool:
    """Whether the call changed any argument, bit for bit; the changed ones are put back as they were."""
    changed = False
    for a, b in zip(args, backups):
        if isinstance(a, np.ndarray) and a.tobytes() != b.tobytes():
            a[...] = b
            changed = True
    return changed


def _details(ref, got, j) -> dict:
    """expected / got / ULPs / kappa of the worst output (the whole output when it is small)."""
    d = {"expected": ref.output().astype(np.float64).ravel().tolist()}
    if got is not None:
        d["got"] = np.asarray(got).astype(np.float64).ravel().tolist()
    if j is not None:
        w = j.worst()
        d["ulp"] = ref.output(j.ulp).ravel().tolist()
        d["kappa"] = ref.output(ref.kappa).ravel().tolist()
        d["allowance"] = ref.output(np.broadcast_to(j.allowance, j.ulp.shape)).ravel().tolist()
        if w is not None:
            mark = np.zeros(j.ulp.shape)
            mark[w] = 1
            d["worst"] = {"ulp": float(j.ulp[w]), "ratio": float(j.ratio[w]), "kappa": float(ref.kappa[w]),
                          "expected": float(ref.value[w]), "allowance": float(j.allowance[w]),
                          "position": int(np.argmax(ref.output(mark).ravel()))}  # in the flattened output
        if not j.ok and ref.fmt.p > ref.call.in_fmt.p:
            d["narrow"] = _as_input_format(ref, got)
    return d


def _as_input_format(ref, got) -> dict:
    """How the answer of a widening signature (bfloat16:float32) fares judged in its input's format: rounded to
    it and set against that format's truth and allowance.  An answer that passes there, and fails in the
    output format, carries no more accuracy than the input format holds: the mark of a kernel that computed
    in the narrow format and widened its result."""
    from .formats import round_float64, to_dtype

    call, narrow = ref.call, ref.call.in_fmt
    nref = reference.evaluate(call.function, *call.args, **call.kwargs, out=narrow)
    with np.errstate(all="ignore"):
        g = to_dtype(round_float64(np.asarray(got, dtype=np.float64), narrow), narrow)
    nj = judge(g, nref)
    return {"format": narrow.name, "passes": nj.ok, "max_ulp": nj.max_ulp, "max_ratio": nj.max_ratio}
