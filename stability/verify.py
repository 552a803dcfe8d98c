"""Fuzz an implementation against the reference, family by family, and shrink every failure.

For each input family of the function (``stability.strategies``) Hypothesis draws calls, the implementation
answers, the reference judges (``stability.metrics.judge``); the first failure is shrunk to a minimal
counterexample.  The outcome is a :class:`Record`: the verdict, the worst ULP error and stability ratio seen,
the families that failed, and the counterexample with a reproducer to paste into a test.

An implementation that raises, exits (``SystemExit``), runs past the per-call time limit, returns something that
is not a real array, or an array of the wrong shape or dtype fails with that reason; process-wide state it
changes (NumPy's error handling and print options, PyTorch's thread count and default dtype) is put back after
each call.  ``KeyboardInterrupt`` still stops the run.  What in-process checks cannot survive -- ``os._exit``, a
crash in native code, a hang inside C code that never returns to Python -- needs a worker process: ``stability
report`` runs its checks on a Dask local cluster.
"""

from __future__ import annotations

import math
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed as hseed, settings

from . import blackbox, reference, strategies
from .arraylib import from_python, precision_scope, to_library, to_numpy
from .formats import FORMATS, available_dtypes, format_of
from .metrics import DEFAULT_TOLERANCE, Tolerance, judge
from .registry import Implementation

DEFAULT_EXAMPLES = 25
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


class _Failed(AssertionError):
    pass




@dataclass
class FamilyResult:
    family: str
    examples: int = 0
    max_ulp: float = 0.0
    max_ratio: float = 0.0
    failed: bool = False
    max_normwise: float = 0.0
    kinds: list = field(default_factory=list)  # the kinds of failure found (FAILURE_KINDS), worst first


@dataclass
class Record:
    implementation: str
    function: str
    dtype: str
    verdict: str  # "pass" / "fail"
    max_ulp: float
    max_ratio: float
    examples: int
    expectation: str
    meets_expectation: bool
    failed_families: list
    library: str = "numpy"
    origin: str = "builtin"
    counterexample: dict | None = None
    families: dict = field(default_factory=dict)
    seed: int = 0
    max_normwise: float = 0.0  # ||got - best|| / ||best|| over a call (best: correctly rounded), the worst call

    def as_dict(self) -> dict:
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        """The record :meth:`as_dict` gave (from a worker, a journal or a records file)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("max_ulp", "max_ratio", "max_normwise"):
            if k in kw:
                kw[k] = float(kw[k])
        return cls(**kw)


def _json_safe(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf"))
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def _pyfloat(v) -> str:
    v = float(v)
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def _array_src(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        body = np.array2string(a, separator=", ", threshold=10**9)
        return f"np.array({body})"
    flat = [_pyfloat(v) for v in a.astype(np.float64).ravel()]
    body = "[" + ", ".join(flat) + "]"
    dt = a.dtype.name
    dtype = "ml_dtypes.bfloat16" if dt == "bfloat16" else f"np.{dt}"
    shape = "" if a.ndim == 1 else (".reshape(())" if a.ndim == 0 else f".reshape{a.shape}")  # 0-d: a reduced cotangent
    return f"np.array({body}, dtype={dtype}){shape}"


def reproducer(spec: str, function: str, args, kwargs, *, object_name: str | None = None) -> str:
    """Python source that replays one call and raises AssertionError if it still fails.

    ``spec`` names the implementation (a registered name, ``module:qualname`` or ``file.py:qualname``); a function
    object that no SPEC can name (a lambda, a function defined inside another) is passed as the object itself,
    by ``object_name``, which the pasted code must have in scope."""
    lines = ["import numpy as np"]
    if any(np.asarray(a).dtype.name == "bfloat16" for a in args):
        lines.append("import ml_dtypes")
    lines.append("from stability.testing import assert_example")
    from .functions import get

    names = list(get(function).arg_names)
    names[0] = "x"
    for n, a in zip(names, args):
        lines.append(f"{n} = {_array_src(a)}")
    call_args = ", ".join(names[: len(args)])
    kw = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    target = repr(spec)
    if object_name is not None:
        lines.append(f"# {object_name}: the function object you passed (a SPEC cannot name it)")
        target = object_name
    lines.append(f"assert_example({function!r}, {target}, {call_args}{kw})")
    return "\n".join(lines)


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
             timeout: float | None = None) -> Outcome:
    """Call ``impl`` on NumPy ``args`` and judge the result against the reference (``ref``: the reference of these
    very arguments, when the caller already has it)."""
    ref = reference.evaluate(impl.function, *args, **kwargs) if ref is None else ref
    dtype = np.asarray(args[0]).dtype
    with precision_scope(impl.library, dtype):  # JAX's 64-bit mode for this call alone
        return _call_and_judge(impl, args, kwargs, tolerance, ref, timeout, dtype)


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
    if got is not None and got.dtype.kind not in "fiub" and got.dtype.name not in FORMATS:  # objects, strings,
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
    elif got.dtype != dtype:
        return Outcome(False, math.inf, math.inf, f"returned dtype {got.dtype} for {dtype} input", (ref, got, None))
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
    """Put back the process-wide settings a call may change: NumPy's error handling and print options, and
    (when imported) PyTorch's thread count and default dtype, which decide the next check's numerics."""
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
    return d


def _counterexample(impl, family, *, args, kwargs, outcome) -> dict:
    ce = {"family": family, "reason": outcome.reason,
          "input": [np.asarray(a).astype(np.float64).tolist() if np.asarray(a).dtype.kind == "f"
                    else np.asarray(a).tolist() for a in args],
          "shape": list(np.shape(args[0])), "kwargs": dict(kwargs),
          "reproducer": reproducer(impl.extra.get("spec", impl.name), impl.function, args, kwargs,
                                   object_name=impl.extra.get("object_name"))}
    ce.update(outcome.details or {})
    return ce


def verify_family(impl: Implementation, dtype: str, family: str, *, examples: int = DEFAULT_EXAMPLES,
                  seed: int = 0, tolerance: Tolerance = DEFAULT_TOLERANCE, max_side: int = 24, shrink: bool = True,
                  timeout: float | None = None):
    """Fuzz one family; returns ``(FamilyResult, counterexample or None)``.

    The family's whole budget of examples is run first, recording the first call of each kind of failure
    (:data:`FAILURE_KINDS`); then each kind found is shrunk on its own, by a run that fails on that kind alone
    (the same seed draws the same examples up to it), so a milder failure can never stand in for a worse one
    while Hypothesis simplifies the input.  The counterexample is the worst kind's; the others follow in its
    ``others`` list, each with its own reproducer.

    ``shrink=False`` skips the shrinking and stops at the first failure: faster when only the verdict matters.
    """
    res = FamilyResult(family)
    blackbox.note_family(family)
    strat = strategies.inputs(impl.function, dtype, family=family, max_side=max_side)

    def run(target):
        """``target`` None: every example, nothing raised (but the first failure ends a run without shrinking);
        a kind: fail on that kind only, and shrink it.  Returns kind -> the last failing call of that kind."""
        found: dict = {}

        @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                  phases=(Phase.generate, Phase.shrink) if target else (Phase.generate,),
                  report_multiple_bugs=False, print_blob=False, suppress_health_check=list(HealthCheck))
        @hseed(seed)
        @given(strat)
        def probe(ex):
            out = run_call(impl, ex.args, ex.kwargs, tolerance, timeout=timeout)
            res.examples += 1
            res.max_ulp = max(res.max_ulp, out.max_ulp)
            res.max_ratio = max(res.max_ratio, out.max_ratio)
            res.max_normwise = max(res.max_normwise, out.normwise)
            if out.ok:
                return
            call = dict(args=ex.args, kwargs=ex.kwargs, outcome=out)
            if target is None:  # exploring: the first call of each kind (Hypothesis replays a raised one)
                found.setdefault(out.kind, call)
                if not shrink:
                    raise _Failed(out.reason)
            elif out.kind == target:  # shrinking one kind: its last failing call is the minimal one
                found[target] = call
                raise _Failed(out.reason)

        try:
            with strategies.reproducible():
                probe()
        except _Failed:
            pass
        return found

    first = run(None)
    if not first:
        return res, None
    res.failed = True
    res.kinds = [k for k in FAILURE_KINDS if k in first]
    calls = {k: (run(k).get(k, first[k]) if shrink else first[k]) for k in res.kinds}
    ces = [dict(_counterexample(impl, family, **calls[k]), kind=k) for k in res.kinds]
    if len(ces) > 1:
        ces[0]["others"] = ces[1:]
    return res, ces[0]


def verify(impl: Implementation, dtype: str, *, examples: int = DEFAULT_EXAMPLES, seed: int = 0,
           tolerance: Tolerance = DEFAULT_TOLERANCE, families=None, slow: bool = False, on_family=None,
           stop_on_fail: bool = False, shrink: bool = True, timeout: float | None = None) -> Record:
    """Run every family of ``impl``'s function in ``dtype``; the :class:`Record` of the outcome.

    ``stop_on_fail`` ends at the first failing family (a guard in a test suite needs no more).  ``shrink``: minimise
    the counterexamples of failures that contradict the declared expectation (every failure of a user's code);
    a family the registration declares unstable is confirmed by its first failure, unshrunk.
    """
    format_of(dtype)
    fams = tuple(families) if families else strategies.families(impl.function, slow=slow)
    results, ce = {}, None
    for fam in fams:
        # a failure the registration declares is confirmed, not minimised: shrinking is for the failures that
        # contradict the expectation, and for the user's own code (its counterexample is what they read)
        minimise = shrink and (impl.origin == "user" or not impl.declares(fam, dtype))
        res, c = verify_family(impl, dtype, fam, examples=examples, seed=seed, tolerance=tolerance, shrink=minimise,
                               timeout=timeout)
        if c is not None:
            c["shrunk"] = minimise
        results[fam] = asdict(res)
        if c is not None and (ce is None or not impl.declares(fam, dtype) and impl.declares(ce["family"], dtype)):
            ce = c  # prefer a counterexample that contradicts the expectation
        if on_family is not None:
            on_family(fam)
        if stop_on_fail and c is not None:
            break
    failed = [f for f, r in results.items() if r["failed"]]
    meets = all(impl.declares(f, dtype) for f in failed)
    return Record(
        implementation=impl.name, function=impl.function, dtype=dtype, verdict="fail" if failed else "pass",
        max_ulp=max((r["max_ulp"] for r in results.values()), default=0.0),
        max_ratio=max((r["max_ratio"] for r in results.values()), default=0.0),
        examples=sum(r["examples"] for r in results.values()), expectation=impl.expectation,
        meets_expectation=meets, failed_families=failed, library=impl.library, origin=impl.origin,
        counterexample=ce, families=results, seed=seed,
        max_normwise=max((r["max_normwise"] for r in results.values()), default=0.0))


def dtypes_for(impl: Implementation, requested=None) -> list[str]:
    """The dtypes to verify ``impl`` in: the requested ones it supports (default float32 and float64)."""
    wanted = list(requested) if requested else ["float32", "float64"]
    for d in wanted:
        format_of(d)
    have = available_dtypes()
    return [d for d in wanted if d in have and (impl.dtypes is None or d in impl.dtypes)]
