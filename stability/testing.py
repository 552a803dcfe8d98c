"""Assertions for a user's own test suite, the way ``numpy.testing`` guards array equality::

    from stability.testing import assert_stable

    def test_my_softmax_is_stable():
        assert_stable(my_softmax, function="softmax", dtypes=["float32", "float64"])

Both raise ``AssertionError`` carrying the shrunk counterexample (input, expected, got, ULPs, kappa) and a
reproducer; both accept an implementation as a callable or a SPEC (``stability.registry.resolve``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os

import numpy as np

from .metrics import DEFAULT_TOLERANCE, Tolerance
from .registry import Implementation, resolve, user_implementation
from .verify import DEFAULT_EXAMPLES, run_call, verify


def _impl(fn, function: str) -> Implementation:
    if isinstance(fn, Implementation):
        return fn
    if isinstance(fn, str):
        return resolve(fn, function)
    if not callable(fn):
        raise TypeError(f"expected a callable or a SPEC string, got {type(fn).__name__}")
    impl = user_implementation(getattr(fn, "__qualname__", repr(fn)), function, fn)
    spec = spec_of(fn)
    impl.extra.update({"spec": spec} if spec else {"object_name": _identifier(fn)})
    return impl


def spec_of(fn) -> str | None:
    """A SPEC that names ``fn`` when pasted anywhere: ``module:qualname`` when its module is importable by that
    name, else ``path/to/file.py:qualname``; None for what no SPEC reaches (lambdas, functions made inside
    other functions, objects with no source file)."""
    qual = getattr(fn, "__qualname__", "") or ""
    if not qual or "<" in qual:
        return None
    mod = getattr(fn, "__module__", None) or ""
    if mod and mod != "__main__" and not mod.startswith("_stability_user_"):
        try:
            obj = importlib.import_module(mod)
            for part in qual.split("."):
                obj = getattr(obj, part)
        except Exception:
            obj = None
        if obj is fn or getattr(obj, "__wrapped__", None) is fn:
            return f"{mod}:{qual}"
    try:
        path = inspect.getsourcefile(fn)
    except TypeError:
        path = None
    if path and os.path.isfile(path):
        rel = os.path.relpath(path)
        return f"{rel if not rel.startswith('..') else os.path.abspath(path)}:{qual}"
    return None


def _identifier(fn) -> str:
    name = getattr(fn, "__name__", "") or ""
    return name if name.isidentifier() else "fn"


def assert_stable(fn, *, function: str, dtypes=("float32", "float64"), examples: int = DEFAULT_EXAMPLES,
                  seed: int = 0, tolerance: Tolerance = DEFAULT_TOLERANCE) -> None:
    """Fuzz ``fn`` on every input family of ``function`` and raise AssertionError on the first instability.

    Parameters
    ----------
    fn : callable or str
        The implementation, called by the convention of ``stability.functions`` (or a SPEC naming one).
    function : str
        Which function it computes: softmax, log_softmax, logsumexp, sigmoid, log_sigmoid,
        binary_cross_entropy_with_logits or cross_entropy.
    dtypes : sequence of str
        Formats or format signatures to try: ``"bfloat16"`` (bfloat16 in and out), ``"bfloat16:float32"``
        (bfloat16 data, float32 results, judged against the truth rounded to float32); gradients ``"x:g"`` or
        ``"x:g:result"`` (``stability.formats.Signature``).
    examples : int
        Hypothesis examples per input family and dtype.
    """
    impl = _impl(fn, function)
    for dtype in dtypes:
        _, failure = check(impl, function, dtype, examples=examples, seed=seed, tolerance=tolerance)
        if failure is not None:
            raise AssertionError(failure)


def check(fn, function: str, dtype: str, *, examples: int = DEFAULT_EXAMPLES, seed: int = 0,
          tolerance: Tolerance = DEFAULT_TOLERANCE) -> tuple[dict, str | None]:
    """``(record, failure)`` of ``fn`` (a callable or a SPEC) in one format: the verify record as a dict, and the
    text :func:`assert_stable` raises with when it fails (None when it passes).  The pytest plugin's checks."""
    impl = _impl(fn, function)
    rec = verify(impl, dtype, examples=examples, seed=seed, tolerance=tolerance, stop_on_fail=True)
    return rec.as_dict(), (failure_text(impl, function, dtype, rec) if rec.verdict == "fail" else None)


def failure_text(impl, function: str, dtype: str, rec) -> str:
    """What a failing check says: the families that failed, the counterexample (family, reason, input, the
    correctly rounded answer, what the code returned, ULPs, condition number) and the reproducer."""
    ce = rec.counterexample or {}
    shown = {k: ce[k] for k in ("family", "reason", "input", "kwargs", "expected", "got", "ulp", "kappa") if k in ce}
    return (f"{impl.name} is not numerically stable for {function} in {dtype} "
            f"(families failed: {', '.join(rec.failed_families)}; worst ratio {rec.max_ratio:.3g})\n"
            f"counterexample: {json.dumps(shown, default=str)}\nreproducer:\n{ce.get('reproducer', '-')}")


def assert_example(function: str, fn, *args, tolerance: Tolerance = DEFAULT_TOLERANCE, signature: str | None = None,
                   **kwargs) -> None:
    """Judge one call of ``fn`` against the reference; AssertionError with the details when it fails.

    ``signature``: the formats of a mixed-precision call (``"bfloat16:float32"``); its input format must be the
    arguments' own, and the answer is judged in its output format."""
    impl = _impl(fn, function)
    out_fmt = None
    if signature is not None:
        from .errors import UsageError
        from .formats import format_of, signature as parse

        sig = parse(signature, function)
        if format_of(np.asarray(args[0]).dtype) != sig.input:
            raise UsageError(f"signature {signature!r} reads {sig.input.name} data, but x is "
                             f"{np.asarray(args[0]).dtype}: cast x, or give the signature of its format")
        out_fmt = sig.output
    out = run_call(impl, args, kwargs, tolerance, out=out_fmt)
    if not out.ok:
        d = out.details or {}
        raise AssertionError(f"{impl.name}: {out.reason}; max {out.max_ulp:.4g} ULP, ratio {out.max_ratio:.4g}\n"
                             f"expected {d.get('expected')}\ngot      {d.get('got')}\n"
                             f"ulp      {d.get('ulp')}\nkappa    {d.get('kappa')}")
