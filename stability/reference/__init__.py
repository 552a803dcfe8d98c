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
3. exact float64: where every operation was exact (error-free transformations say so), the value itself, rounded
   once -- the exact answers on a rounding boundary that no ball of positive radius can settle;
4. mpmath intervals (``_exact.py``), the precision rising until both ends round alike (Ziv).

Tiers 1 and 2 accept a rounding only when the error ball proves it (``_certify.py``), tier 3 only a zero radius;
all four run the same formulas (``_formulas.py``), which avoid cancellation.  Special values follow
``stability.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import condition, policy
from ..errors import UsageError
from ..formats import Format, round_float64, round_mpf, to_dtype
from ..functions import Call, prepare
from . import _formulas
from ._balls import DDBackend, ExactF64Backend, F64Backend
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

_F64, _DD, _EXACT = F64Backend(), DDBackend(), ExactF64Backend()
_CHUNK_ELEMENTS = 1 << 17


@dataclass
class Reference:
    """The reference answer for one call, in a rows layout: ``(R, n_out)`` arrays.

    For softmax-like functions and every axis gradient a row is one slice along the axis (``n_out = n``); for
    logsumexp, max, argmax and cross-entropy one reduced output (``n_out = 1``); for elementwise functions one
    element.  Use :meth:`rows` to bring an implementation's output into this layout and :meth:`output` for the
    reverse.  A row with also-accepted answers is judged as a whole (``stability.metrics.judge``): one answer or
    another, never some positions of each.
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
    nonfinite_rows: set = field(default_factory=set)  # rows any all-non-finite answer passes (policy ``nonfinite``)
    alternative_rules: dict = field(default_factory=dict)  # row -> the policy rule of each of its alternatives

    @property
    def fmt(self) -> Format:
        return self.call.fmt

    def _row_layout(self) -> bool:
        fn = self.call.function
        return fn.row_output and fn.has_axis

    def output(self, arr=None) -> np.ndarray:
        """Rows-layout array (default: the rounded value) back in the function's output shape and dtype."""
        arr = self.value if arr is None else arr
        call = self.call
        shape = call.output_shape()
        if self._row_layout():
            moved = list(call.x.shape)
            moved.append(moved.pop(call.axis))
            out = np.moveaxis(arr.reshape(moved), -1, call.axis)
        else:
            out = arr.reshape(shape)
        if arr is not self.value:
            return out
        return out.astype(np.int64) if call.function.integer else to_dtype(out, call.fmt)

    def rows(self, got) -> np.ndarray:
        """An implementation's output (function's output shape) in this rows layout, as float64."""
        got = np.asarray(got)
        if self._row_layout():
            return _widen(np.moveaxis(got, self.call.axis, -1)).reshape(self.value.shape)
        return _widen(got).reshape(self.value.shape)


def _widen(a) -> np.ndarray:
    """``a`` as float64, exactly. A signalling NaN (the float32 sweep meets every one) raises the FP "invalid"
    flag when widened; it is still a NaN, which is data here, so the flag is not reported."""
    with np.errstate(invalid="ignore"):
        return np.asarray(a).astype(np.float64)


def _rows_of(call: Call):
    """(R, n) float64 rows of the input, targets per row (or None), and the cotangent (None, or per row:
    (R, n) for softmax-like gradients, (R,) for logsumexp, max and cross-entropy gradients, (R,) per element)."""
    fn = call.function
    x = _widen(call.x)
    G = None if call.g is None else _widen(call.g)
    if fn.has_axis:
        X = np.moveaxis(x, call.axis, -1)
        R = int(np.prod(X.shape[:-1]))
        X = X.reshape(R, X.shape[-1])
        if G is not None:
            G = np.moveaxis(G, call.axis, -1).reshape(R, -1) if fn.kind == "axis" else G.reshape(R)
        return X, None, G
    if fn.class_targets:
        return x, call.targets.astype(np.int64), G
    t = None if call.targets is None else _widen(call.targets).reshape(-1)
    return x.reshape(-1, 1), t, None if G is None else G.reshape(-1)


_METHODS = ("auto", "mpmath")


def _tiers(fmt: Format, method: str, formula=None):
    if method == "mpmath":
        return ()
    tiers = ((_F64, _DD) if fmt.p <= 24 else (_DD,)) + (_EXACT,)
    needs = getattr(formula, "needs", ())
    return tuple(b for b in tiers if all(hasattr(b, op) for op in needs))


def _chunks(idx: np.ndarray, per_item: int):
    step = max(1, _CHUNK_ELEMENTS // max(per_item, 1))
    for i in range(0, idx.size, step):
        yield idx[i : i + step]


def _put(dst, ch, mask, src):
    """``dst[k][ch][mask] = src[k][mask]`` for each array pair (``dst[ch]`` is a copy under fancy indexing; a
    contiguous ``ch``, the common case, is written through a view instead)."""
    if ch.size and ch[-1] - ch[0] + 1 == ch.size:
        view = slice(ch[0], ch[-1] + 1)
        every = mask.all()
        for d, s in zip(dst, src):
            if every:
                d[view] = s
            else:
                d[view][mask] = s[mask]
        return
    for d, s in zip(dst, src):
        sub = d[ch]
        sub[mask] = s[mask]
        d[ch] = sub


def _settle(formula, make_args, items, n_out, fmt, stats, method, skip=None):
    """Run the tiers over ``items``; returns (value, hi, lo) arrays of shape (len(items), n_out).

    ``skip``: (len(items), n_out) entries whose answer the caller writes itself (a row's masked entries): never
    settled, left NaN.  A row whose other entries the fast path could not all settle goes to mpmath, which
    settles only those entries, not the whole row again (a row of 16,385 entries, one of them an exact zero)."""
    R = items.size
    value = np.full((R, n_out), np.nan)
    hi = np.full((R, n_out), np.nan)
    lo = np.zeros((R, n_out))
    done = np.zeros((R, n_out), dtype=bool) if skip is None else np.array(skip, dtype=bool, copy=True)
    pending = np.arange(R)
    for backend in _tiers(fmt, method, formula):
        if pending.size == 0:
            break
        for ch in _chunks(pending, make_args.width):
            with np.errstate(all="ignore"):  # overflowing radii are simply not certified
                h, l, r = backend.parts(formula(backend, *make_args(items[ch])))
            h, l, r = (a.reshape(ch.size, n_out) for a in (h, l, r))
            rounded, ok = backend.certify(h, l, r, fmt)
            new = ok & ~done[ch]
            _put((value, hi, lo), ch, new, (rounded, h, l))
            done[ch] |= ok
            stats[backend.name] = stats.get(backend.name, 0) + int(new.sum())
        pending = np.flatnonzero(~done.all(axis=1))
    if pending.size:
        batch = max(1, 64 // max(n_out, 1))
        for i in range(0, pending.size, batch):
            ch = pending[i : i + batch]
            need = ~done[ch]
            args, keep = make_args(items[ch]), getattr(make_args, "keep", None)
            if keep is not None:  # columns masked in every row here: nothing to sum, no answer wanted
                cols = keep(items[ch])
                args = tuple(a[:, cols] if np.ndim(a) == 2 and np.shape(a)[1] == cols.size else a for a in args)
            wide = keep is not None and n_out == cols.size  # row outputs: answers for the kept columns only
            v, h, l = settle(formula, args, fmt, need=need[:, cols] if wide else need)
            if wide:
                full = [np.full((ch.size, n_out), np.nan) for _ in range(3)]
                for f, a in zip(full, (v, h, l)):
                    f[:, cols] = a.reshape(ch.size, -1)
                v, h, l = full
            v, h, l = (a.reshape(ch.size, n_out) for a in (v, h, l))
            _put((value, hi, lo), ch, need, (v, h, l))
            stats["mpmath"] = stats.get("mpmath", 0) + int(need.sum())
    return value, hi, lo


def _row_special(fn, rule, row, target, g, n_out):
    """Values of a policy rule for one row: a constant or limit rule, or (VJPs) one that needs the cotangent.
    A list for rules with several answers (``nonfinite``); None when the rule has no answer for the row."""
    if rule == "vjp_limit":
        return policy.vjp_limit(fn, row, g, target)
    if rule == "pointwise":
        return policy.pointwise(fn, row, g, target)
    if rule in policy.G_RULES:
        return policy.row_rule(rule, row, g)
    return policy.rule_values(rule, fn, row, target, out_len=n_out)


def _round_row(a, n_out, fmt):
    """An also-accepted row rounded once to the format: mpmath numbers exactly (``round_mpf``), float64 ones by
    ``round_float64`` (a cotangent split g / c computed in float64 first: c is small, so the float64 quotient
    never lands on a midpoint of a narrower format unless g / c is one)."""
    a = np.broadcast_to(np.asarray(a), (n_out,))
    if a.dtype == object:
        return np.array([round_mpf(v, fmt) for v in a], dtype=np.float64)
    return round_float64(a.astype(np.float64), fmt)


def _axis_reference(call: Call, X, targets, G, with_kappa, method):
    fn = call.function.name
    fmt = call.fmt
    R, n = X.shape
    n_out = n if call.function.row_output else 1
    case = policy.classify_rows(X, targets, G)
    value = np.full((R, n_out), np.nan)
    hi, lo, kappa = value.copy(), np.zeros((R, n_out)), np.zeros((R, n_out))
    alternatives, nonfinite, rules = {}, set(), {}
    stats: dict = {}
    cases = policy.cases_for(fn)
    computed = np.array([cases.get(c, None) is None or cases[c].primary == "computed" for c in case], dtype=bool)
    g_row = (lambda r: None) if G is None else (lambda r: G[r])
    has_also = np.array([c in cases and bool(cases[c].also) for c in case], dtype=bool)
    for r in np.flatnonzero(~computed | has_also):  # the rows the table answers, or answers also
        c = cases[case[r]]
        tgt = None if targets is None else targets[r]
        if not computed[r]:
            vals = _row_special(fn, c.primary, X[r], tgt, g_row(r), n_out)
            value[r] = hi[r] = np.broadcast_to(vals, (n_out,))
        alts, names = [], []
        for a in c.also:
            if a == "nonfinite":  # an infinite cotangent: any non-finite row (NaN, +-inf, some of each) answers it
                nonfinite.add(int(r))
                continue
            v = _row_special(fn, a, X[r], tgt, g_row(r), n_out)
            got = [] if v is None else (v if isinstance(v, list) else [v])
            alts += got
            names += [a] * len(got)
        if alts:  # a cotangent split over ties (g / c), a limit's sum: rounded once to the format
            alternatives[int(r)] = [_round_row(a, n_out, fmt) for a in alts]
            rules[int(r)] = names
    items = np.flatnonzero(computed)
    if items.size and n:
        neg = np.isneginf(X)
        Xf = X
        if neg.any():  # -inf entries are absent from the sums: put the row max there, then drop them
            Xf = X.copy()
            m = np.max(np.where(neg[items], -np.inf, X[items]), axis=1)
            Xf[items] = np.where(neg[items], m[:, None], X[items])
        k = np.argmax(np.where(neg, -np.inf, X), axis=1)
        cols = np.arange(n)
        drop = neg | (cols == k[:, None])
        formula = getattr(_formulas, fn)
        make_args = _formula_args(call.function, Xf, drop, neg, k, targets, G)
        masked = call.function.row_output and neg.any()
        if masked:  # masked entries have exact answers: not settled, written here
            fill = _masked_fill(fn, items, neg, G, targets)
            live = neg[items] if targets is None else neg[items] & (cols != targets[items][:, None])
        v, h, l = _settle(formula, make_args, items, n_out, fmt, stats, method, skip=live if masked else None)
        if masked:
            v, h, l = (np.where(live, f, a) for f, a in ((fill, v), (fill, h), (np.zeros_like(fill), l)))
        value[items], hi[items], lo[items] = v, h, l
        if with_kappa:
            exact = h + l if call.function.row_output else (h + l)[:, 0]
            tg = None if targets is None else targets[items]
            Gi = None if G is None else G[items]
            kappa[items] = condition.axis_kappa(fn, Xf[items], neg[items], exact, tg, Gi, fmt).reshape(items.size, n_out)
        if masked:
            kappa[items] = np.where(live, fn == "log_softmax_vjp", kappa[items])
    return Reference(call, value, hi, lo, kappa, case, max(n, 1), alternatives, stats, nonfinite, rules)


def _formula_args(function, Xf, drop, neg, k, targets, G):
    """The arguments of the function's formula for the rows ``idx``, as a callable with a ``width`` and ``keep``."""
    name = function.name
    n = Xf.shape[1]
    cols = np.arange(n)
    if name == "softmax_vjp":
        Gk = G[np.arange(G.shape[0]), k]

        def make(idx):
            return Xf[idx], drop[idx], G[idx], Gk[idx]
    elif name in ("log_softmax_vjp", "logsumexp_vjp"):
        def make(idx):
            return Xf[idx], drop[idx], G[idx]
    elif name == "cross_entropy_vjp":
        tmask = cols == targets[:, None]
        rest = (~drop | (cols == k[:, None])) & ~tmask & ~neg

        def make(idx):
            return Xf[idx], drop[idx], rest[idx], tmask[idx], G[idx]
    elif targets is not None:
        def make(idx):
            return Xf[idx], drop[idx], Xf[idx, targets[idx]]
    else:
        def make(idx):
            return Xf[idx], drop[idx]
    make.width = n

    def keep(idx):
        """The columns the interval tier evaluates for the rows ``idx``: all but those masked (-inf) in every one
        of them and no row's target (exact answers written elsewhere, absent from every sum); every column for
        log_softmax's gradient, whose ``sum(g)`` takes the cotangent at masked entries too."""
        if name == "log_softmax_vjp":
            return np.ones(n, dtype=bool)
        k = ~neg[idx].all(axis=0)
        if targets is not None:
            k[targets[idx]] = True
        return k

    make.keep = keep
    return make


def _masked_fill(fn, items, neg, G, targets):
    """The exact answers at masked (-inf) entries of the rows ``items``: 0 for softmax and the gradients whose
    weight vanishes there, -inf for log_softmax, and ``g_i`` for log_softmax's gradient."""
    shape = (items.size, neg.shape[1])
    if fn == "log_softmax":
        return np.full(shape, -np.inf)
    if fn == "log_softmax_vjp":
        return G[items].copy()
    return np.zeros(shape)


def _max_reference(call: Call, X, G):
    """max, argmax and max_vjp: exact answers, no rounding (kappa 0, allowance 0)."""
    fn = call.function.name
    R, n = X.shape
    n_out = n if call.function.row_output else 1
    case = policy.classify_max_rows(X, G)
    value = np.zeros((R, n_out))
    alternatives = {}
    if n:
        with np.errstate(invalid="ignore"):
            k = np.argmax(X, axis=1)  # NumPy: the first NaN, else the first maximum
            top = X.max(axis=1)
    if fn == "max":
        value[:, 0] = top if n else -np.inf
    elif fn == "argmax":
        value[:, 0] = k if n else 0
    elif n:
        value[np.arange(R), k] = G
        for r in np.flatnonzero((case == "ties") | (case == "nan")):
            alts = [np.full(n_out, np.nan)] if case[r] == "nan" else []
            split = policy.row_rule("split_g", X[r], G[r])  # g / c at each of c tied maxima (None: no tie)
            alts += [] if split is None else [round_float64(split, call.fmt)]
            if alts:
                alternatives[int(r)] = alts
    return Reference(call, value, value.copy(), np.zeros((R, n_out)), np.zeros((R, n_out)), case, max(n, 1),
                     alternatives, {"exact": int(value.size)})


def _alike(special, case, x, targets, g):
    """``special`` (element indices) in groups of the same case and the same arguments, NaNs of any payload
    alike: a float32 sweep meets 2^24 NaN bit patterns, and the policy's rules answer all of them at once."""
    if special.size == 0:
        return []
    cols = [a[special].astype(np.float64) for a in (x, targets, g) if a is not None]
    kinds = case[special]
    names = sorted(set(kinds))
    # the bits of each argument (-0.0 and 0.0 apart), every NaN as the same NaN: one key per distinct input
    key = np.stack([np.where(np.isnan(a), np.nan, a).view(np.int64) for a in cols]
                   + [np.searchsorted(names, kinds)], axis=1)
    if (key == key[0]).all():  # a block of NaNs
        return [special]
    order = np.lexsort(key.T[::-1])  # (np.unique(axis=0) sorts rows as bytes: 20 times slower)
    key = key[order]
    return np.split(special[order], np.flatnonzero((key[1:] != key[:-1]).any(axis=1)) + 1)


def _elementwise_reference(call: Call, X, targets, g, with_kappa, method):
    fn = call.function.name
    x = X[:, 0]
    N = x.size
    if fn == "logit_of_sigmoid":  # the composition is the identity: the truth is x itself, kappa 1
        return Reference(call, x[:, None].copy(), x[:, None].copy(), np.zeros((N, 1)),
                         np.where(np.isfinite(x), 1.0, 0.0)[:, None], policy.classify_elements(x), 1, {},
                         {"exact": N})
    unit = fn in ("logit", "logit_vjp")
    case = policy.classify_elements(x, targets, g, unit_domain=unit)
    value = np.full((N, 1), np.nan)
    hi, lo, kappa = value.copy(), np.zeros((N, 1)), np.zeros((N, 1))
    cases = policy.cases_for(fn)
    stats: dict = {}
    finite = policy.plain_elements(x, targets, g, unit_domain=unit)
    if not finite.all():  # the cases decide; the numbers only say cheaply that every case is "finite"
        finite = case == "finite"
    special = np.flatnonzero(~finite)
    alternatives = {}
    for members in _alike(special, case, x, targets, g):  # the rules run once per distinct special input
        i = members[0]
        c = cases[case[i]]
        tgt = None if targets is None else targets[i]
        gi = None if g is None else g[i]
        if c.primary == "limit":
            value[members, 0] = hi[members, 0] = _element_limit(fn, x[i], tgt, gi, call.fmt)
        else:
            value[members, 0] = hi[members, 0] = policy.rule_values(c.primary, fn, x[i], tgt)
        alts = [policy.rule_values(a, fn, x[i], tgt) for a in c.also]
        if alts:
            alts = [np.reshape(a, (1,)).astype(np.float64) for a in alts]
            alternatives.update((int(m), alts) for m in members)
    items = np.flatnonzero(finite)
    at = slice(None) if items.size == N else items  # every input finite (a sweep's blocks): no copies by index
    if items.size:
        formula = getattr(_formulas, fn)
        extra = tuple(a for a in (targets, g) if a is not None)

        def make_args(idx):
            return (x[idx],) + tuple(a[idx] for a in extra)

        make_args.width = 1

        v, h, l = _settle(formula, make_args, items, 1, call.fmt, stats, method)
        value[at], hi[at], lo[at] = v, h, l
        if with_kappa:
            tg = None if targets is None else targets[at]
            gi = None if g is None else g[at]
            with np.errstate(invalid="ignore", over="ignore"):  # an overflowing gradient's exact value is inf
                kappa[at, 0] = condition.elementwise_kappa(fn, x[at], (h + l)[:, 0], tg, gi, call.fmt)
    return Reference(call, value, hi, lo, kappa, case, 1, alternatives, stats)


def _element_limit(fn, x, y, g, fmt):
    """The exact answer of an elementwise gradient at an infinite input or cotangent (or logit's ends),
    correctly rounded: ``g`` times the derivative's value or limit, in mpmath (inf * 0 is NaN there)."""
    import mpmath

    with mpmath.workprec(400):
        X, Y, Gm = mpmath.mpf(x), None if y is None else mpmath.mpf(y), mpmath.mpf(g)

        def sig(v):
            return 1 / (1 + mpmath.exp(-v)) if v >= 0 else mpmath.exp(v) / (1 + mpmath.exp(v))

        if fn == "sigmoid_vjp":
            w = sig(X) * sig(-X)
        elif fn == "log_sigmoid_vjp":
            w = sig(-X)
        elif fn == "softplus_vjp":
            w = sig(X)
        elif fn == "logit_vjp":
            w = mpmath.inf if X in (0, 1) else 1 / (X * (1 - X))
        elif fn == "binary_cross_entropy_with_logits_vjp":  # sigma(x) - y without cancellation: at x = 709.78,
            # y = 1 it is -sigma(-x) = -5e-309, not 0 (an infinite g gives -inf there, not NaN)
            w = ((1 - Y) - sig(-X)) if X >= 0 else (sig(X) - Y)
        else:
            raise KeyError(fn)
        return round_mpf(Gm * w, fmt)


def evaluate(function, x, *rest, axis=-1, with_kappa=True, method="auto", out=None) -> Reference:
    """The full reference for one call of ``function``: rounded values, exact values, condition numbers.

    Parameters
    ----------
    function : str
        One of ``stability.functions.FUNCTIONS``.
    x : array_like
        Input (logits, probabilities for logit) of a supported float dtype; NaN and infinities are data (see
        ``stability.policy``).
    *rest : array_like
        The arguments after the first, as the function takes them (``stability.functions``): for the two losses
        their targets (BCE: of x's shape and dtype in [0, 1]; cross-entropy: class indices (N,)); for a gradient
        ``NAME_vjp`` then the cotangent ``g``, shaped like NAME's output.
    axis : int
        For the axis functions and their gradients.
    with_kappa : bool
        Compute condition numbers (left at 0 otherwise; the plain value functions below skip them).
    method : {"auto", "mpmath"}
        ``"mpmath"`` settles every value with mpmath alone (slow): the check on the certified fast path.
    out : str or Format, optional
        The output format (default: x's): the exact value of the inputs, exact in their own formats, is rounded
        once to it, and condition numbers and allowances are in its unit roundoff (``bfloat16`` in, ``float32``
        out: a mixed-precision kernel's truth).
    """
    if method not in _METHODS:
        raise UsageError(f"method must be one of {_METHODS}, got {method!r}")
    call = prepare(function, x, *rest, axis=axis, out=out)
    X, t, G = _rows_of(call)
    if call.function.exact:
        ref = _max_reference(call, X, G)
    elif call.function.elementwise:
        ref = _elementwise_reference(call, X, t, G, with_kappa, method)
    else:
        ref = _axis_reference(call, X, t, G, with_kappa, method)
    return _in_output_format(ref)


def _in_output_format(ref: Reference) -> Reference:
    """The answers the policy gives exactly (an input's or a cotangent's value, +-inf) rounded to the output format
    when it is not theirs: a mixed signature (a float32 cotangent passed through to a bfloat16 gradient, a
    float32 maximum returned in float8), or a format without infinities (-inf is NaN in float8_e4m3fn).  The
    computed answers are rounded already.  max, argmax and max_vjp stay exact: their truth is the rounded
    value itself, and it must be returned exactly."""
    call, fmt = ref.call, ref.fmt
    same = call.x.dtype == fmt.dtype and (call.g is None or call.g.dtype == fmt.dtype)
    if call.function.integer or (same and fmt.infinite):
        return ref
    ref.value = round_float64(ref.value, fmt)
    if call.function.exact:
        ref.exact_hi = np.where(np.isnan(ref.value), ref.exact_hi, ref.value)
    ref.alternatives = {r: [round_float64(a, fmt) for a in alts] for r, alts in ref.alternatives.items()}
    return ref


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
