"""Error against input scale, and the distribution of errors, for every implementation of a function.

The literature's way to show accuracy (Blanchard, Higham & Higham 2021, Figs. 6.1-6.2; Higham, *Accuracy and
Stability of Numerical Algorithms*, 2002) is the error of each algorithm as the input grows, beside the bound its
analysis proves.  Here:

* functions of rows (softmax, log_softmax, logsumexp, max, argmax, cross_entropy and their gradients): rows of
  ``n`` entries drawn from N(0, s^2) for scales ``s = 2^-2 .. 2^k``; at each scale the largest and the median ULP
  error over all outputs;
* elementwise functions: an even grid of ``x`` over the whole range where the function is interesting (through
  exp overflow and underflow; logit's probabilities are the sigmoid of that grid), errors taken in bins of
  neighbouring ``x``.

A gradient is measured with a cotangent ~ N(0, 1) beside the same inputs.

ULP errors are measured against the exact value (``stability.metrics.ulp_error``).  A relative error of ``e``
units of ``u`` is at most ``e`` ULPs of the output, so the bounds of BHH, stated in units of ``u``, are upper
bounds on this scale too; they are drawn for the algorithm they are proved for (the max-shifted one).
"""

from __future__ import annotations

import functools

import numpy as np

from stability import reference
from stability.formats import format_of
from stability.functions import get, prepare
from stability.results import Curves  # noqa: F401  (the data drawn; here since it began here)
from stability.verify import run_call

# how far x reaches for the elementwise grid: through exp overflow and into the subnormals
_ELEMENT_REACH = {"float16": 20.0, "bfloat16": 110.0, "float32": 110.0, "float64": 750.0}
BOUNDS = {  # function -> (label, bound in units of u for rows X with exact logsumexp y)
    "logsumexp": ("BHH Thm 4.2 (shifted LSE)",
                  lambda X, y, n: np.abs(y + n - X.min(axis=1)) / np.abs(y)),
    "softmax": ("BHH Thm 4.3 (shifted softmax)",
                lambda X, y, n: n + 2 + 2 * (X.max(axis=1) - X.min(axis=1))),
}


def _dtype(name):
    return format_of(name).dtype


def _with_cotangent(function, args, rng):
    """A gradient's call: the forward arguments and a cotangent ~ N(0, 1) shaped like the forward's output."""
    fn = get(function)
    if not fn.is_vjp:
        return args
    shape = prepare(fn.primal, *args).primal_output_shape()
    return args + (rng.standard_normal(shape).astype(args[0].dtype),)


def _axis_inputs(function, dtype, rows, n, scales, rng):
    dt = _dtype(dtype)
    for s in scales:
        X = (rng.standard_normal((rows, n)) * s).astype(dt)
        args = (X, rng.integers(0, n, rows)) if get(function).class_targets else (X,)
        yield s, _with_cotangent(function, args, rng)


def _element_inputs(function, dtype, points, bins, rng):
    """An even grid of x (for logit's probabilities, p = sigmoid(x) on that grid: x is then the logit)."""
    fn = get(function)
    dt = _dtype(dtype)
    reach = _ELEMENT_REACH[dtype]
    grid = np.linspace(-reach, reach, points)
    if (fn.primal or fn.name) == "logit":
        z = np.exp(-np.abs(grid))  # sigmoid without overflow on either side
        grid = np.where(grid >= 0, 1 / (1 + z), z / (1 + z))
    x = grid.astype(dt)
    edges = np.linspace(0, points, bins + 1).astype(int)
    for a, b in zip(edges[:-1], edges[1:]):
        xs = x[a:b]
        centre = float(np.mean(np.linspace(-reach, reach, points)[a:b]))
        args = (xs, np.full(xs.shape, 0.25, dtype=dt)) if fn.probability_targets else (xs,)
        yield centre, _with_cotangent(function, args, rng)


@functools.lru_cache(maxsize=4)
def _sweep(function: str, dtype: str, quick: bool, seed: int):
    """``(Curves without implementations, inputs, references)``: the inputs of the sweep and its bound, the same
    for every implementation (drawn from ``seed``); kept for the next implementation of the same function that a
    worker measures (the references are most of the cost).  Read only."""
    rng = np.random.default_rng(seed)
    fn = get(function)
    if not fn.elementwise:
        top = 10 if quick else 14
        scales = [2.0 ** k for k in range(-2, top + 1)]
        inputs = list(_axis_inputs(function, dtype, 8 if quick else 32, 64, scales, rng))
        xlabel = "scale s of the rows' entries, N(0, s²), 64 per row"
    else:
        inputs = list(_element_inputs(function, dtype, 800 if quick else 4000, 80 if quick else 200, rng))
        xlabel = ("logit(p)" if (fn.primal or fn.name) == "logit" else "x") + (
            " (targets 0.25)" if fn.probability_targets else "")
    if fn.is_vjp:
        xlabel += "; cotangent g ~ N(0, 1)"
    out = Curves(function, dtype, xlabel, np.array([s for s, _ in inputs]))
    refs = [reference.evaluate(function, *args) for _, args in inputs]
    if function in BOUNDS:
        label, rule = BOUNDS[function]
        bound = []
        for (_, args), ref in zip(inputs, refs):
            X = args[0].astype(np.float64)
            y = (reference.evaluate("logsumexp", args[0]).exact_hi[:, 0] if function == "softmax"
                 else ref.exact_hi[:, 0])
            with np.errstate(divide="ignore"):
                bound.append(float(np.max(rule(X, y, X.shape[1]))))
        out.bound, out.bound_label = np.array(bound), label
    return out, inputs, refs


def curves(function: str, impls, dtype: str = "float32", *, quick: bool = False, seed: int = 0) -> Curves:
    """Measure every implementation in ``impls`` (all of ``function``) over the scale sweep.  Measured one
    implementation at a time (each in its own worker, ``stability.parallel``) and joined with :func:`merge`, the
    result is the same: every implementation meets the same inputs."""
    base, inputs, refs = _sweep(function, dtype, quick, seed)
    out = Curves(base.function, base.dtype, base.xlabel, base.x, bound=base.bound, bound_label=base.bound_label)
    for impl in impls:
        mx, md, bits = [], [], []
        for (_, args), ref in zip(inputs, refs):
            res = run_call(impl, args, {}, ref=ref)
            j = res.judgement
            if j is None:
                out.failed_calls[impl.name] = res.reason
                mx.append(np.inf)
                md.append(np.inf)
                continue
            u = j.ulp.ravel()
            mx.append(float(np.max(u)) if u.size else 0.0)
            md.append(float(np.median(u)) if u.size else 0.0)
            bits.append(np.log2(1.0 + u))
        out.max_ulp[impl.name] = np.array(mx)
        out.median_ulp[impl.name] = np.array(md)
        out.bits[impl.name] = np.concatenate(bits) if bits else np.array([np.inf])
    return out


def merge(parts, order) -> Curves:
    """One :class:`Curves` from curves measured for some implementations each (same function, dtype, seed), with
    the implementations in ``order`` (names); a name no part has (its worker died) is left out."""
    parts = list(parts)
    out = Curves(parts[0].function, parts[0].dtype, parts[0].xlabel, parts[0].x, bound=parts[0].bound,
                 bound_label=parts[0].bound_label)
    for name in order:
        for p in parts:
            if name in p.max_ulp:
                out.max_ulp[name], out.median_ulp[name], out.bits[name] = p.max_ulp[name], p.median_ulp[name], \
                    p.bits[name]
            if name in p.failed_calls:
                out.failed_calls[name] = p.failed_calls[name]
    return out
