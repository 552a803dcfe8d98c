"""Reproducers: Python source that replays one failing call and raises AssertionError while it still fails."""

from __future__ import annotations

import math

import numpy as np

from .formats import ML_DTYPES_FORMATS


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
    dtype = f"ml_dtypes.{dt}" if dt in ML_DTYPES_FORMATS else f"np.{dt}"
    shape = "" if a.ndim == 1 else (".reshape(())" if a.ndim == 0 else f".reshape{a.shape}")  # 0-d: a reduced cotangent
    return f"np.array({body}, dtype={dtype}){shape}"


def call_fields(spec: str, function: str, args, kwargs, *, object_name: str | None = None,
                signature: str | None = None) -> dict:
    """A counterexample's description of one call: its input as lists, shape, keyword arguments and reproducer."""
    return {"input": [np.asarray(a).astype(np.float64).tolist() if np.asarray(a).dtype.kind in "fV"
                      else np.asarray(a).tolist() for a in args],
            "shape": list(np.shape(args[0])), "kwargs": dict(kwargs),
            "reproducer": reproducer(spec, function, args, kwargs, object_name=object_name, signature=signature)}


def reproducer(spec: str, function: str, args, kwargs, *, object_name: str | None = None,
               signature: str | None = None) -> str:
    """Python source that replays one call and raises AssertionError if it still fails.

    ``spec`` names the implementation (a registered name, ``module:qualname`` or ``file.py:qualname``); a function
    object that no SPEC can name (a lambda, a function defined inside another) is passed as the object itself,
    by ``object_name``, which the pasted code must have in scope.  ``signature``: a mixed-precision signature
    (``bfloat16:float32``), passed on so that the call is judged in its output format."""
    lines = ["import numpy as np"]
    if any(np.asarray(a).dtype.name in ML_DTYPES_FORMATS for a in args):
        lines.append("import ml_dtypes")
    lines.append("from stability.testing import assert_example")
    from .functions import get

    names = list(get(function).arg_names)
    names[0] = "x"
    for n, a in zip(names, args):
        lines.append(f"{n} = {_array_src(a)}")
    call_args = ", ".join(names[: len(args)])
    kw = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    if signature is not None and ":" in signature:
        kw += f", signature={signature!r}"
    target = repr(spec)
    if object_name is not None:
        lines.append(f"# {object_name}: the function object you passed (a SPEC cannot name it)")
        target = object_name
    lines.append(f"assert_example({function!r}, {target}, {call_args}{kw})")
    return "\n".join(lines)
