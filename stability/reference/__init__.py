"""Correctly rounded references for the softmax family.

Each public function has the signature of the function it checks (``stability.functions``) and returns the exact
result rounded once, to nearest-even, to the input's dtype, subnormals and overflow included::

    >>> from stability import reference
    >>> reference.softmax(np.array([0.0, 0.0, 0.0], dtype=np.float32))
    array([0.33333334, 0.33333334, 0.33333334], dtype=float32)

:func:`evaluate` returns more: the exact value to float64-and-a-remainder precision (for the error at the exact
value), the condition number of every output, and the policy's also-accepted answers for special rows.

How a value is settled, cheapest first (each tier hands what it cannot prove to the next):

1. float64 ball arithmetic (outputs of 24 bits or fewer), radius ~2**-50 relative;
2. double-double ball arithmetic, radius ~2**-90 relative;
3. mpmath, evaluated at two precisions and accepted when both round alike (Ziv), the precision rising otherwise.

Tiers 1 and 2 accept a rounding only when the error ball proves it (``_certify.py``); all three run the same
formulas (``_formulas.py``), which avoid cancellation.  Special values follow ``stability.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import condition, policy
from ..errors import UsageError
from ..formats import Format, to_dtype
from ..functions import Call, prepare
from . import _formulas
from ._balls import DDBackend, F64Backend
from ._certify import certify
from ._exact import settle

__all__ = [
    "Reference",
    "evaluate",
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "log_sigmoid",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
]

_F64, _DD = F64Backend(), DDBackend()
_CHUNK_ELEMENTS = 1 << 17


@dataclass
class Reference:
    """The reference answer for one call, in a rows layout: ``(R, n_out)`` arrays.

    For softmax-like functions a row is one slice along the axis (``n_out = n``); for logsumexp and
    cross-entropy one reduced output (``n_out = 1``); for elementwise functions one element.  Use
    :meth:`rows` to bring an implementation's output into this layout and :meth:`output` for the reverse.
    """

    call: Call
    value: np.ndarray  # float64 holding the correctly rounded outputs
    exact_hi: np.ndarray  # float64 nearest the exact value (NaN/inf for special outputs)
    exact_lo: np.ndarray  # exact - exact_hi, as float64
    kappa: np.ndarray  # condition numbers (0 for special outputs)
    case: np.ndarray  # policy case of every row
    n: int  # reduction length (1 for elementwise functions)
    alternatives: dict = field(default_factory=dict)  # row -> list of also-accepted (n_out,) arrays
    settled_by: dict = field(default_factory=dict)  # tier -> number of outputs it settled

    @property
    def fmt(self) -> Format:
        return self.call.fmt

    def output(self, arr=None) -> np.ndarray:
        """Rows-layout array (default: the rounded value) back in the function's output shape and dtype."""
        arr = self.value if arr is None else arr
        call = self.call
        shape = call.output_shape()
        if call.function.kind == "axis":
            moved = list(call.x.shape)
            moved.append(moved.pop(call.axis))
            out = np.moveaxis(arr.reshape(moved), -1, call.axis)
        else:
            out = arr.reshape(shape)
        return to_dtype(out, call.fmt) if arr is self.value else out

    def rows(self, got) -> np.ndarray:
        """An implementation's output (function's output shape) in this rows layout, as float64."""
        got = np.asarray(got)
        call = self.call
        if call.function.kind == "axis":
            return _widen(np.moveaxis(got, call.axis, -1)).reshape(self.value.shape)
        return _widen(got).reshape(self.value.shape)


def _widen(a) -> np.ndarray:
    """``a`` as float64, exactly. A signalling NaN (the float32 sweep meets every one) raises the FP "invalid"
    flag when widened; it is still a NaN, which is data here, so the flag is not reported."""
    with np.errstate(invalid="ignore"):
        return np.asarray(a).astype(np.float64)


def _rows_of(call: Call):
    """(R, n) float64 rows of the input, and targets per row (or None)."""
    fn = call.function
    x = _widen(call.x)
    if fn.has_axis:
        X = np.moveaxis(x, call.axis, -1)
        return X.reshape(-1, X.shape[-1]) if X.shape[-1] else X.reshape(int(np.prod(X.shape[:-1])), 0), None
    if fn.kind == "ce":
        return x, call.targets.astype(np.int64)
    t = None if call.targets is None else _widen(call.targets).reshape(-1)
    return x.reshape(-1, 1), t


_METHODS = ("auto", "mpmath")


def _tiers(fmt: Format, method: str):
    if method == "mpmath":
        return ()
    return (_F64, _DD) if fmt.p <= 24 else (_DD,)


def _chunks(idx: np.ndarray, per_item: int):
    step = max(1, _CHUNK_ELEMENTS // max(per_item, 1))
    for i in range(0, idx.size, step):
        yield idx[i : i + step]


def _put(dst, ch, mask, src):
    """``dst[k][ch][mask] = src[k][mask]`` for each array pair (``dst[ch]`` is a copy under fancy indexing)."""
    for d, s in zip(dst, src):
        sub = d[ch]
        sub[mask] = s[mask]
        d[ch] = sub


def _settle(formula, make_args, items, n_out, fmt, stats, method):
    """Run the tiers over ``items``; returns (value, hi, lo) arrays of shape (len(items), n_out)."""
    R = items.size
    value = np.full((R, n_out), np.nan)
    hi = np.full((R, n_out), np.nan)
    lo = np.zeros((R, n_out))
    done = np.zeros((R, n_out), dtype=bool)
    pending = np.arange(R)
    for backend in _tiers(fmt, method):
        if pending.size == 0:
            break
        for ch in _chunks(pending, make_args.width):
            with np.errstate(all="ignore"):  # overflowing radii are simply not certified
                h, l, r = backend.parts(formula(backend, *make_args(items[ch])))
            h, l, r = (a.reshape(ch.size, n_out) for a in (h, l, r))
            rounded, ok = certify(h, l, r, fmt)
            new = ok & ~done[ch]
            _put((value, hi, lo), ch, new, (rounded, h, l))
            done[ch] |= ok
            stats[backend.name] = stats.get(backend.name, 0) + int(new.sum())
        pending = np.flatnonzero(~done.all(axis=1))
    if pending.size:
        batch = max(1, 64 // max(n_out, 1))
        for i in range(0, pending.size, batch):
            ch = pending[i : i + batch]
            v, h, l = settle(formula, make_args(items[ch]), fmt)
            v, h, l = (a.reshape(ch.size, n_out) for a in (v, h, l))
            need = ~done[ch]
            _put((value, hi, lo), ch, need, (v, h, l))
            stats["mpmath"] = stats.get("mpmath", 0) + int(need.sum())
    return value, hi, lo


def _axis_reference(call: Call, X, targets, with_kappa, method):
    fn = call.function.name
    fmt = call.fmt
    R, n = X.shape
    n_out = n if call.function.kind == "axis" else 1
    case = policy.classify_rows(X, targets)
    value = np.full((R, n_out), np.nan)
    hi, lo, kappa = value.copy(), np.zeros((R, n_out)), np.zeros((R, n_out))
    alternatives = {}
    stats: dict = {}
    cases = policy.cases_for(fn)
    computed = np.array([cases.get(c, None) is None or cases[c].primary == "computed" for c in case], dtype=bool)
    for r in np.flatnonzero(~computed):
        c = cases[case[r]]
        tgt = None if targets is None else targets[r]
        vals = policy.rule_values(c.primary, fn, X[r], tgt, out_len=n_out)
        value[r] = hi[r] = np.broadcast_to(vals, (n_out,))
        alts = [policy.rule_values(a, fn, X[r], tgt, out_len=n_out) for a in c.also]
        alts = [np.broadcast_to(a, (n_out,)).astype(np.float64) for a in alts if a is not None]
        if alts:
            alternatives[int(r)] = alts
    items = np.flatnonzero(computed)
    if items.size and n:
        neg = np.isneginf(X)
        Xf = X
        if neg.any():  # -inf entries are absent from the sums: put the row max there, then drop them
            Xf = X.copy()
            m = np.max(np.where(neg[items], -np.inf, X[items]), axis=1)
            Xf[items] = np.where(neg[items], m[:, None], X[items])
        k = np.argmax(np.where(neg, -np.inf, X), axis=1)
        drop = neg | (np.arange(n) == k[:, None])
        formula = getattr(_formulas, fn)

        def make_args(idx):
            args = (Xf[idx], drop[idx])
            return args + (Xf[idx, targets[idx]],) if targets is not None else args

        make_args.width = n

        v, h, l = _settle(formula, make_args, items, n_out, fmt, stats, method)
        value[items], hi[items], lo[items] = v, h, l
        if with_kappa:
            exact = h + l if call.function.kind == "axis" else (h + l)[:, 0]
            tg = None if targets is None else targets[items]
            kappa[items] = condition.axis_kappa(fn, Xf[items], neg[items], exact, tg).reshape(items.size, n_out)
        if call.function.kind == "axis" and neg.any():  # masked entries: exactly 0 (softmax) or -inf
            fill = np.full((items.size, n_out), 0.0 if fn == "softmax" else -np.inf)
            _put((value, hi, lo), items, neg[items], (fill, fill, np.zeros_like(fill)))
    return Reference(call, value, hi, lo, kappa, case, max(n, 1), alternatives, stats)


def _elementwise_reference(call: Call, X, targets, with_kappa, method):
    fn = call.function.name
    x = X[:, 0]
    case = policy.classify_elements(x, targets)
    N = x.size
    value = np.full((N, 1), np.nan)
    hi, lo, kappa = value.copy(), np.zeros((N, 1)), np.zeros((N, 1))
    cases = policy.cases_for(fn)
    stats: dict = {}
    special = np.flatnonzero(case != "finite")
    alternatives = {}
    for i in special:
        c = cases[case[i]]
        tgt = None if targets is None else targets[i]
        value[i, 0] = hi[i, 0] = policy.rule_values(c.primary, fn, x[i], tgt)
        alts = [policy.rule_values(a, fn, x[i], tgt) for a in c.also]
        if alts:
            alternatives[int(i)] = [np.reshape(a, (1,)).astype(np.float64) for a in alts]
    items = np.flatnonzero(case == "finite")
    if items.size:
        formula = getattr(_formulas, fn)

        def make_args(idx):
            return (x[idx],) if targets is None else (x[idx], targets[idx])

        make_args.width = 1

        v, h, l = _settle(formula, make_args, items, 1, call.fmt, stats, method)
        value[items], hi[items], lo[items] = v, h, l
        if with_kappa:
            tg = None if targets is None else targets[items]
            kappa[items, 0] = condition.elementwise_kappa(fn, x[items], (h + l)[:, 0], tg)
    return Reference(call, value, hi, lo, kappa, case, 1, alternatives, stats)


def evaluate(function, x, targets=None, *, axis=-1, with_kappa=True, method="auto") -> Reference:
    """The full reference for one call of ``function``: rounded values, exact values, condition numbers.

    Parameters
    ----------
    function : str
        One of ``stability.functions.FUNCTIONS``.
    x : array_like
        Input (logits) of a supported float dtype; NaN and infinities are data (see ``stability.policy``).
    targets : array_like, optional
        For the two losses: BCE targets in [0, 1] of x's shape and dtype; cross-entropy class indices (N,).
    axis : int
        For softmax, log_softmax and logsumexp.
    with_kappa : bool
        Compute condition numbers (left at 0 otherwise; the plain value functions below skip them).
    method : {"auto", "mpmath"}
        ``"mpmath"`` settles every value with mpmath alone (slow): the check on the certified fast path.
    """
    if method not in _METHODS:
        raise UsageError(f"method must be one of {_METHODS}, got {method!r}")
    call = prepare(function, x, targets, axis=axis)
    X, t = _rows_of(call)
    if call.function.kind in ("elementwise", "bce"):
        return _elementwise_reference(call, X, t, with_kappa, method)
    return _axis_reference(call, X, t, with_kappa, method)


def softmax(x, axis=-1):
    """Correctly rounded softmax of ``x`` along ``axis``."""
    return evaluate("softmax", x, axis=axis, with_kappa=False).output()


def log_softmax(x, axis=-1):
    """Correctly rounded log-softmax of ``x`` along ``axis``."""
    return evaluate("log_softmax", x, axis=axis, with_kappa=False).output()


def logsumexp(x, axis=-1):
    """Correctly rounded log-sum-exp of ``x`` over ``axis`` (the axis is removed)."""
    return evaluate("logsumexp", x, axis=axis, with_kappa=False).output()


def sigmoid(x):
    """Correctly rounded logistic sigmoid, elementwise."""
    return evaluate("sigmoid", x, with_kappa=False).output()


def log_sigmoid(x):
    """Correctly rounded log of the logistic sigmoid, elementwise."""
    return evaluate("log_sigmoid", x, with_kappa=False).output()


def binary_cross_entropy_with_logits(logits, targets):
    """Correctly rounded elementwise binary cross-entropy of logits against targets in [0, 1]."""
    return evaluate("binary_cross_entropy_with_logits", logits, targets, with_kappa=False).output()


def cross_entropy(logits, targets):
    """Correctly rounded per-sample cross-entropy of (N, C) logits against integer class targets."""
    return evaluate("cross_entropy", logits, targets, with_kappa=False).output()
