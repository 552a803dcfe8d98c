"""Local worst-case refinement: from an input with a high stability ratio, climb to a higher one.

Hypothesis' ``target()`` finds the neighbourhood of a bad region but rarely its peak: its mutations are not
steps of a chosen size.  This is a compass (pattern) search in units of the element's own ULP: for the
elements that carry the worst error, try moving each by +-2^k ULPs, k from p + 1 down to 0, keeping any move
that raises the ratio, until the budget of calls is spent (Kolda, Lewis & Torczon, SIAM Review 45, 2003).  Steps in ULPs make one search work at every scale
and in every format, from subnormals to the overflow threshold.
"""

from __future__ import annotations

import math

import numpy as np

from .formats import format_of, round_float64


def _levels(fmt, top):
    """Step sizes 2^k ULPs, coarse to fine, by factors of 4 (a size repeats while it pays, so every distance is
    reachable); the first, 2^(p+1) ULPs, moves a value by about 4 times its magnitude."""
    return range(fmt.p + 1 if top is None else top, -1, -2)


def _step(v: float, k: int, sign: int, fmt):
    """``v`` moved by ``sign * 2^k`` of its own ULPs, rounded to ``fmt`` (None when it leaves the finite range)."""
    e = math.frexp(abs(v))[1] - 1 if v else -(10**6)
    ulp = 2.0 ** (max(e, fmt.emin) - fmt.p + 1)
    w = float(round_float64(np.float64(v + sign * ulp * 2.0**k), fmt))
    return w if math.isfinite(w) and w != v else None


def climb(score, x: np.ndarray, positions, *, evals: int, top: int | None = None):
    """Maximise ``score(x)`` by moving ``x`` at ``positions`` (flat indices); returns ``(x, score, evals_used)``.

    Step sizes go from coarse to fine; at each size every position is tried in both directions, and a size is
    repeated while it keeps paying.  ``score`` takes an array of ``x``'s dtype and shape; a NaN score (the
    implementation broke) counts as infinite and ends the climb.
    """
    fmt = format_of(x.dtype.name)
    best_x = x.copy()
    best = score(best_x)
    used = 1
    for k in _levels(fmt, top):
        moved = True
        while moved:
            moved = False
            for pos in positions:
                for sign in (1, -1):
                    if used >= evals or not math.isfinite(best):
                        return best_x, best, used
                    w = _step(float(best_x.reshape(-1)[pos]), k, sign, fmt)
                    if w is None:
                        continue
                    cand = best_x.copy()
                    cand.reshape(-1)[pos] = w
                    s = score(cand)
                    used += 1
                    if not s <= best:  # higher, or NaN
                        best_x, best, moved = cand, (math.inf if s != s else s), True
                        break
    return best_x, best, used


def _step_all(x: np.ndarray, k: int, sign: int, fmt) -> np.ndarray:
    """Every element of ``x`` moved by ``sign * 2^k`` of its own ULPs (non-finite results keep the old value)."""
    a = np.abs(x.astype(np.float64))
    _, e = np.frexp(np.where(a > 0, a, fmt.tiny))
    ulp = np.exp2(np.maximum(e - 1, fmt.emin) - fmt.p + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        w = round_float64(x.astype(np.float64) + sign * ulp * 2.0**k, fmt)
    return np.where(np.isfinite(w) & np.isfinite(x), w, x.astype(np.float64)).astype(x.dtype)


def climb_each(score_each, x: np.ndarray, *, evals: int, top: int | None = None):
    """The compass search of :func:`climb` run on every element at once, for elementwise functions, whose
    outputs do not interact: ``score_each(x)`` returns the ratio of every element (``x``'s shape), and each
    element keeps its own moves.  One call tries one step size in one direction for all elements."""
    fmt = format_of(x.dtype.name)
    best_x = x.copy()
    best = np.nan_to_num(np.asarray(score_each(best_x), dtype=np.float64), nan=np.inf)
    used = 1
    for k in _levels(fmt, top):
        moved = True
        while moved:
            moved = False
            for sign in (1, -1):
                if used >= evals or np.isinf(best).any():
                    return best_x, used
                cand = _step_all(best_x, k, sign, fmt)
                s = np.nan_to_num(np.asarray(score_each(cand), dtype=np.float64), nan=np.inf)
                used += 1
                up = s > best
                if up.any():
                    best_x = np.where(up, cand, best_x)
                    best = np.where(up, s, best)
                    moved = True
    return best_x, used
