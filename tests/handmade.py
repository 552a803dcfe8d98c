"""Hand-made implementations for the verdict tests: careful ones and the classic mistakes, one each."""

import numpy as np


# --- careful ------------------------------------------------------------------------------------------

def softmax_shifted(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_log1p(x, axis=-1):
    """Blanchard, Higham & Higham: the max term kept out of the sum, log1p of the rest."""
    x = np.moveaxis(x, axis, -1)
    m = np.max(x, axis=-1, keepdims=True)
    k = np.argmax(x, axis=-1)[..., None]
    e = np.exp(x - m)
    np.put_along_axis(e, k, 0, axis=-1)
    out = (x - m) - np.log1p(np.sum(e, axis=-1, keepdims=True))
    out = np.where(np.isnan(out).any(axis=-1, keepdims=True), np.nan, out)  # a +inf or NaN row: the NaN row, whole
    return np.moveaxis(out, -1, axis)


def logsumexp_log1p(x, axis=-1):
    """Blanchard, Higham & Higham's Algorithm: lse = m + log1p(sum of the other terms)."""
    x = np.moveaxis(x, axis, -1)
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    np.put_along_axis(e, np.argmax(x, axis=-1)[..., None], 0, axis=-1)
    lse = np.where(np.isinf(m), m, m + np.log1p(np.sum(e, axis=-1, keepdims=True)))  # all -inf / +inf rows
    return lse[..., 0]


def sigmoid_stable(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


def log_sigmoid_stable(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def bce_stable(x, y):
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


# --- careless: one classic mistake each -----------------------------------------------------------------

def softmax_naive(x, axis=-1):
    """exp overflows past log(max float)."""
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_of_softmax(x, axis=-1):
    """log of a softmax that rounded to zero: -inf where a finite number belongs."""
    return np.log(softmax_shifted(x, axis))


def log_sigmoid_naive(x):
    """log(sigmoid): sigmoid rounds to 1 for large x and the log of it to 0."""
    return np.log(1 / (1 + np.exp(-x)))


def bce_naive(x, y):
    """1 - sigma cancels: log(1 - sigma(x)) is -inf or inaccurate for large x."""
    s = 1 / (1 + np.exp(-x))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s))


def logsumexp_shifted(x, axis=-1):
    """m + log(sum exp(x - m)): when m ~ 0 and one entry dominates, log(1 + t) loses t (BHH 2021, Sec. 3)."""
    m = np.max(x, axis=axis)
    return m + np.log(np.sum(np.exp(x - np.expand_dims(m, axis)), axis=axis))


def softmax_half_accumulation(x, axis=-1):
    """Accumulates the sum in float16 whatever the data's precision."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return (e / np.sum(e.astype(np.float16), axis=axis, keepdims=True, dtype=np.float16)).astype(x.dtype)


def softmax_running_sum(x, axis=-1):
    """The shifted softmax with its row sum run one term at a time in the data's own format (np.cumsum; a
    kernel's sequential loop): in float16 the sum stops growing once it reaches 2^11 times a term."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    s = np.take(np.cumsum(e, axis=axis, dtype=e.dtype), [-1], axis=axis) if e.shape[axis] else e.sum(axis, keepdims=True)
    return e / s


def softmax_nan_dropped_and_single(x, axis=-1):
    """Two bugs at once: NaN entries treated as -inf (the NaN vanishes), and the answer rounded through float32
    (a float64 result 10^8 ULPs off everywhere): each must be shown with its own input."""
    x = np.where(np.isnan(x), -np.inf, x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32).astype(x.dtype)


def cross_entropy_nan_on_masked(logits, targets):
    """A careful cross-entropy that gives NaN on every row holding a -inf (masked) logit."""
    m = logits.max(axis=1, keepdims=True)
    ls = (logits - m) - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    out = -np.take_along_axis(ls, targets[:, None], axis=1)[:, 0]
    return np.where(np.isneginf(logits).any(axis=1), np.nan, out).astype(logits.dtype)


def softmax_nan_vanishes(x, axis=-1):
    """nansum drops a NaN logit: the row's other outputs come out finite."""
    e = np.exp(x - np.nanmax(x, axis=axis, keepdims=True))
    return e / np.nansum(e, axis=axis, keepdims=True)


# --- defects that only long rows show (the `lengths` family) ---------------------------------------------

def softmax_tiles_unscaled(x, axis=-1):
    """Online softmax over tiles of 64: a tile's partial sum joins the running sum without its rescale
    exp(m_tile - m_new). Exact for rows of one tile; wrong as soon as a later tile has a larger max."""
    xm = np.moveaxis(x, axis, -1).astype(np.float64)
    m = np.full(xm.shape[:-1], -np.inf)
    s = np.zeros(xm.shape[:-1])
    for a in range(0, xm.shape[-1], 64):
        t = xm[..., a:a + 64]
        mt = t.max(axis=-1)
        mn = np.maximum(m, mt)
        with np.errstate(invalid="ignore"):
            s = s * np.where(m == mn, 1, np.exp(m - mn)) + np.exp(t - mt[..., None]).sum(axis=-1)  # BUG
        m = mn
    with np.errstate(invalid="ignore"):
        out = np.exp(xm - m[..., None]) / s[..., None]
    return np.moveaxis(out, -1, axis).astype(x.dtype)


def _online_tiles(xm, tile):
    """Running (max, sum) over tiles, initialised from the first tile without a guard for a tile that has no
    finite entry: exp(-inf - (-inf)) is NaN there, and the NaN spreads to the whole row. Later tiles are
    guarded, as the kernels that shipped this had it."""
    with np.errstate(invalid="ignore"):
        first = xm[..., :tile]
        m = first.max(axis=-1)
        s = np.exp(first - m[..., None]).sum(axis=-1)  # BUG: NaN when the first tile is all -inf
        for a in range(tile, xm.shape[-1], tile):
            t = xm[..., a:a + tile]
            mn = np.maximum(m, t.max(axis=-1))
            safe = np.where(np.isneginf(mn), 0.0, mn)
            s = s * np.exp(m - safe) + np.exp(t - safe[..., None]).sum(axis=-1)
            m = mn
    return m, s


def softmax_online_masked_first_tile(x, axis=-1):
    """Online softmax over tiles of 1,024 that breaks on a fully masked first tile (NaN rows)."""
    xm = np.moveaxis(x, axis, -1).astype(np.float64)
    m, s = _online_tiles(xm, 1024)
    with np.errstate(invalid="ignore"):
        out = np.exp(xm - m[..., None]) / s[..., None]
    return np.moveaxis(out, -1, axis).astype(x.dtype)


def logsumexp_online_masked_first_tile(x, axis=-1):
    """Online log-sum-exp over tiles of 256 in the log1p form (the running max's own term kept out of the
    running sum, so lse = m + log1p(rest)), careful but for a fully masked first tile: NaN there."""
    xm = np.moveaxis(x, axis, -1).astype(np.float64)
    tile = 256
    with np.errstate(invalid="ignore", divide="ignore"):
        first = xm[..., :tile]
        m = first.max(axis=-1)
        e = np.exp(first - m[..., None])  # BUG: NaN when the first tile is all -inf
        np.put_along_axis(e, first.argmax(axis=-1)[..., None], 0.0, axis=-1)
        rest = e.sum(axis=-1)
        for a in range(tile, xm.shape[-1], tile):
            t = xm[..., a:a + tile]
            mt = t.max(axis=-1)
            raised = mt > m
            mn = np.maximum(m, mt)
            et = np.exp(t - mn[..., None])
            without_max = et.copy()
            np.put_along_axis(without_max, t.argmax(axis=-1)[..., None], 0.0, axis=-1)
            rest = np.where(raised, (rest + 1) * np.exp(m - mn) + without_max.sum(axis=-1), rest + et.sum(axis=-1))
            m = mn
        out = np.where(np.isposinf(m), m, m + np.log1p(rest))
        # rows it does guard: every entry -inf (-inf), a +inf entry (+inf); a NaN stays NaN
        out = np.where(np.isneginf(xm).all(axis=-1), -np.inf, out)
        out = np.where(np.isposinf(xm).any(axis=-1) & ~np.isnan(xm).any(axis=-1), np.inf, out)
    return out.astype(x.dtype)


def softmax_long_rows_half_sum(x, axis=-1):
    """A "fast path" for rows past 256 entries that keeps its running sum in float16."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    if x.shape[axis] <= 256:
        return e / np.sum(e, axis=axis, keepdims=True)
    s = np.add.accumulate(e.astype(np.float16), axis=axis).take([-1], axis=axis)
    return (e / s.astype(e.dtype)).astype(x.dtype)


def softmax_working_precision_sum(x, axis=-1):
    """The textbook shifted softmax, summing in the input's dtype: NumPy sums bfloat16 term by term, and the
    running bfloat16 sum stagnates on long rows (float16 and wider are summed pairwise and stay accurate)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True, dtype=e.dtype)


def softmax_max_as_complement(x, axis=-1):
    """Shifted softmax that sets the largest weight to 1 - (sum of the others), "so the row sums to 1": when
    every weight is near 1/n that subtraction cancels, and the error grows like n u."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    p = e / np.sum(e, axis=axis, keepdims=True)
    k = np.expand_dims(np.argmax(x, axis=axis), axis)
    others = np.sum(p, axis=axis, keepdims=True) - np.take_along_axis(p, k, axis)
    np.put_along_axis(p, k, (1 - others).astype(p.dtype), axis=axis)
    return p


def softmax_overwrites_input(x, axis=-1):
    """Right values, computed in the caller's array: the input is lost."""
    x -= np.max(x, axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= np.sum(x, axis=axis, keepdims=True)
    return x.copy()


def _lse_working(x, axis):
    """m + log(sum(exp(x - m))) in the input's dtype, keepdims."""
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def log_softmax_minus_lse(x, axis=-1):
    """x - (m + log(sum)): the log-sum-exp rounded at x's magnitude before it is subtracted, so two equal
    logits of 1e8 give [0, 0] in float32 (log(1/2) belongs there), as two libraries shipped."""
    return x - _lse_working(x, axis)


def softmax_exp_of_x_minus_lse(x, axis=-1):
    """exp(x - lse) with lse rounded at x's magnitude: the rounding of lse becomes a relative error of the
    weights as large as u |x|."""
    return np.exp(x - _lse_working(x, axis))


def cross_entropy_lse_minus_logit(logits, targets):
    """lse(logits) - logits[target], lse rounded at the logits' magnitude first: cancels for large logits."""
    lse = _lse_working(logits, 1)[:, 0]
    return lse - np.take_along_axis(logits, targets[:, None], axis=1)[:, 0]


# --- gradients: careful ones and planted defects (tests/test_gradients.py) -----------------------------

def _w(x):
    return np.float64 if np.dtype(x.dtype).itemsize < 8 else np.longdouble


def softmax_vjp_centred(x, g, axis=-1):
    """s (h - <h, s>), h = g - g[argmax], in a wider format."""
    w = _w(x)
    X, G = np.moveaxis(x, axis, -1).astype(w), np.moveaxis(g, axis, -1).astype(w)
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    s = e / e.sum(axis=-1, keepdims=True)
    h = G - np.take_along_axis(G, X.argmax(axis=-1)[..., None], axis=-1)
    return np.moveaxis(s * (h - (h * s).sum(axis=-1, keepdims=True)), -1, axis).astype(x.dtype)


def sigmoid_vjp_stable(x, g):
    w = _w(x)
    z = np.exp(-np.abs(x.astype(w)))
    return (g.astype(w) * z / (1 + z) ** 2).astype(x.dtype)


def ce_vjp_complement(logits, targets, g):
    w = _w(logits)
    X = logits.astype(w)
    e = np.exp(X - X.max(axis=1, keepdims=True))
    S = e.sum(axis=1, keepdims=True)
    rows = np.arange(X.shape[0])
    others = e.copy()
    others[rows, targets] = 0
    out = e / S
    out[rows, targets] = -others.sum(axis=1) / S[:, 0]
    return (g.astype(w)[:, None] * out).astype(logits.dtype)


def softmax_vjp_textbook(x, g, axis=-1):  # planted: g_k - <g, s> cancels at a dominant entry
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    s = e / e.sum(axis=axis, keepdims=True)
    return s * (g - (g * s).sum(axis=axis, keepdims=True))


def softmax_vjp_forgets_shift(x, g, axis=-1):  # planted: no max shift in the forward part
    e = np.exp(x)
    s = e / e.sum(axis=axis, keepdims=True)
    return s * (g - (g * s).sum(axis=axis, keepdims=True))


def softmax_vjp_sign_flipped(x, g, axis=-1):  # planted: s (<g, s> - g)
    return -softmax_vjp_centred(x, g, axis=axis)


def log_softmax_vjp_textbook(x, g, axis=-1):  # planted: 1 - s_k rounds to 0
    m = x.max(axis=axis, keepdims=True)
    ls = (x - m) - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return g - np.exp(ls) * g.sum(axis=axis, keepdims=True)


def logsumexp_vjp_exp_lse(x, g, axis=-1):  # planted: PyTorch's g * exp(x - lse), lse with log(sum)
    m = x.max(axis=axis, keepdims=True)
    lse = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return np.expand_dims(g, axis) * np.exp(x - lse)


def sigmoid_vjp_one_minus(x, g):  # planted: s (1 - s)
    z = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1, z) / (1 + z)
    return (g * s * (1 - s)).astype(x.dtype)


def log_sigmoid_vjp_one_minus(x, g):  # planted: 1 - sigma(x)
    z = np.exp(-np.abs(x))
    return (g * (1 - np.where(x >= 0, 1, z) / (1 + z))).astype(x.dtype)


def ce_vjp_textbook(logits, targets, g):  # planted: softmax - onehot
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    s[np.arange(len(targets)), targets] -= 1
    return g[:, None] * s


def ce_vjp_ignores_g(logits, targets, g):  # planted: the cotangent dropped (a mean-reduction gradient)
    return ce_vjp_complement(logits, targets, np.ones_like(g))


def max_vjp_last_max(x, g, axis=-1):  # planted: the cotangent at the last maximum
    xr = np.flip(x, axis=axis)
    k = x.shape[axis] - 1 - np.argmax(xr, axis=axis)
    out = np.zeros_like(x)
    np.put_along_axis(out, np.expand_dims(k, axis), np.expand_dims(g, axis), axis=axis)
    return out


def argmax_ignores_nan(x, axis=-1):  # planted: nanargmax-like, the NaN skipped
    return np.argmax(np.where(np.isnan(x), -np.inf, x), axis=axis)


def bce_vjp_float16_weights(x, y, g):  # planted: sigma(x) computed in float16 for every input
    z = np.exp(-np.abs(x.astype(np.float16)))
    s = (np.where(x >= 0, 1, z) / (1 + z)).astype(x.dtype)
    return (g * (s - y)).astype(x.dtype)


# --- mixed precision: 2-byte (or float32) data, float32 work, the result in another format ----------------

def _rows32(x, axis):
    """``x`` widened to float32, rows last and contiguous (NumPy then sums them pairwise)."""
    return np.array(np.moveaxis(x, axis, -1), dtype=np.float32, order="C")


def softmax_f32_out(x, axis=-1):
    """careful: float32 work, float32 result"""
    X = _rows32(x, axis)
    e = np.exp(X - np.max(X, axis=-1, keepdims=True))
    return np.moveaxis(e / np.sum(e, axis=-1, keepdims=True), -1, axis)


def softmax_in_input_format(x, axis=-1):
    """careful in the input's format: every step rounded to it (the sum accumulated in float32, then rounded)"""
    r = lambda a: a.astype(x.dtype).astype(np.float32)  # noqa: E731
    X = _rows32(x, axis)
    e = r(np.exp(r(X - np.max(X, axis=-1, keepdims=True))))
    return np.moveaxis(r(e / r(np.sum(e, axis=-1, keepdims=True))), -1, axis).astype(x.dtype)


def softmax_upcast(x, axis=-1):  # planted: computed in the input's format, then widened to float32
    return softmax_in_input_format(x, axis).astype(np.float32)


def softmax_half_sum_f32_out(x, axis=-1):  # planted: float32 exponentials, summed in the 2-byte input format
    X = _rows32(x, axis)
    e = np.exp(X - np.max(X, axis=-1, keepdims=True))
    s = np.sum(e.astype(x.dtype), axis=-1, keepdims=True, dtype=x.dtype).astype(np.float32)
    return np.moveaxis(e / s, -1, axis)


def log_softmax_shift_in_input_format(x, axis=-1):  # planted: x - max rounded to the input's format
    X = _rows32(x, axis)
    d = (X - np.max(X, axis=-1, keepdims=True)).astype(x.dtype).astype(np.float32)
    return np.moveaxis(d - np.log(np.sum(np.exp(d), axis=-1, keepdims=True)), -1, axis)


def cross_entropy_f32(logits, targets):
    """careful: float32 work, log1p(sum of the terms but the max's) - (x_t - max), a float32 loss"""
    X = np.asarray(logits, dtype=np.float32)
    d = X - np.max(X, axis=1, keepdims=True)
    e = np.exp(d)
    np.put_along_axis(e, np.argmax(X, axis=1)[:, None], 0, axis=1)
    return np.log1p(np.sum(e, axis=1)) - np.take_along_axis(d, targets[:, None], axis=1)[:, 0]


def cross_entropy_through_probability(logits, targets):  # planted: -log of a float32 probability
    return -np.log(np.take_along_axis(softmax_f32_out(logits, 1), targets[:, None], axis=1)[:, 0])


def softmax_to_fp8(x, axis=-1):
    """careful: float32 work, probabilities rounded once to float8_e4m3fn (the FP8-attention P tile)"""
    import ml_dtypes

    return softmax_f32_out(x, axis).astype(ml_dtypes.float8_e4m3fn)


def softmax_fp8_unshifted(x, axis=-1):  # planted: exp(x) stored in float8_e4m3fn before the max shift: NaN above
    # ln 464, where the answer is finite
    import ml_dtypes

    X = _rows32(x, axis)
    e = np.exp(X).astype(ml_dtypes.float8_e4m3fn).astype(np.float32)
    return np.moveaxis(e / np.sum(e, axis=-1, keepdims=True), -1, axis).astype(ml_dtypes.float8_e4m3fn)


# --- verification power, round 3: long 2-byte sums, block-plus-one tiles, thresholds, BCE's gradient, +inf ----

def _wide_softmax(X):
    """softmax along the last axis of a float64 (or wider) array, NaN rows for +inf and all -inf rows."""
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax_vjp(x, g, axis, round_sum):
    """g - s sum(g) in a wider format; at the row's maximum k, where 1 - s_k cancels, g_k (sum of the other
    weights) - s_k (sum of the other cotangents).  ``round_sum``: the cotangent's sum stored in the data's format."""
    w = _w(x)
    X, G = np.moveaxis(x, axis, -1).astype(w), np.moveaxis(g, axis, -1).astype(w)
    with np.errstate(over="ignore", invalid="ignore"):
        s = _wide_softmax(X)
        total = G.sum(axis=-1, keepdims=True)
        if round_sum:
            total = total.astype(x.dtype).astype(w)  # BUG: inf in float16 past 65,519 unit cotangents
        out = G - s * total
        k = np.argmax(np.where(np.isnan(X), -np.inf, X), axis=-1)[..., None]
        s_others, g_others = s.copy(), G.copy()
        np.put_along_axis(s_others, k, 0, axis=-1)
        np.put_along_axis(g_others, k, 0, axis=-1)
        g_k, s_k = np.take_along_axis(G, k, axis=-1), np.take_along_axis(s, k, axis=-1)
        at_k = g_k * s_others.sum(axis=-1, keepdims=True) - s_k * g_others.sum(axis=-1, keepdims=True)
        np.put_along_axis(out, k, np.where(np.isnan(out).any(axis=-1, keepdims=True), np.nan, at_k), axis=-1)
    return np.moveaxis(out, -1, axis).astype(x.dtype)


def log_softmax_vjp_wide(x, g, axis=-1):
    """careful: g - s sum(g) in a wider format, the complement at the maximum."""
    return _log_softmax_vjp(x, g, axis, round_sum=False)


def log_softmax_vjp_half_gsum(x, g, axis=-1):
    """planted: as log_softmax_vjp_wide, but the cotangent's sum is stored in the data's format: inf in float16
    once a row holds 65,520 unit cotangents, and -inf or NaN everywhere after."""
    return _log_softmax_vjp(x, g, axis, round_sum=True)


def softmax_sum_in_format(x, axis=-1):
    """planted: exponentials summed in float32, the sum stored in the data's format: inf past 65,519 flat
    entries in float16, and every output 0."""
    X = np.moveaxis(x, axis, -1).astype(np.float32)
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    with np.errstate(over="ignore"):
        total = e.sum(axis=-1, keepdims=True).astype(x.dtype).astype(np.float32)  # BUG: rounded to float16
    return np.moveaxis(e / total, -1, axis).astype(x.dtype)


def _blocked_remainder_one(tile):
    """planted: a blocked softmax, careful on every length but ``tile + 1``: there one full tile and a
    remainder of one entry, merged from the first tile's (max, sum) without a guard for a tile with no finite
    entry (exp(-inf - (-inf)) is NaN)."""
    def softmax_blocked(x, axis=-1):
        X = np.moveaxis(x, axis, -1).astype(_w(x))
        if X.shape[-1] != tile + 1:
            return np.moveaxis(_wide_softmax(X), -1, axis).astype(x.dtype)
        with np.errstate(invalid="ignore"):
            first, last = X[..., :tile], X[..., tile]
            m = first.max(axis=-1)
            s = np.exp(first - m[..., None]).sum(axis=-1)  # BUG: NaN when the first tile is all -inf
            mn = np.maximum(m, last)
            s = s * np.exp(m - mn) + np.exp(last - mn)
            out = np.exp(X - mn[..., None]) / s[..., None]
        return np.moveaxis(out, -1, axis).astype(x.dtype)

    softmax_blocked.__name__ = f"softmax_blocked_{tile}_remainder_one"
    return softmax_blocked


softmax_blocked_256 = _blocked_remainder_one(256)
softmax_blocked_2048 = _blocked_remainder_one(2048)
softmax_blocked_16384 = _blocked_remainder_one(16384)


def softplus_stable(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_threshold_20(x):
    """planted: PyTorch's default switch, x for x > 20: drops log1p(e^-x) > u x in float64 up to x ~ 36."""
    with np.errstate(over="ignore"):
        return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20)))).astype(x.dtype)


def log_sigmoid_threshold_15(x):
    """planted: log sigma(x) = x below -15, dropping -log1p(e^x) (e^-15 ~ 3e-7 of 15: fine in float32, not in
    float64)."""
    return np.where(x < -15, x, log_sigmoid_stable(np.maximum(x, -15))).astype(x.dtype)


def sigmoid_threshold_30(x):
    """planted: sigma(x) = 1 above 30 (and 0 below -30): 1 - 9e-14 is 800 ULPs from 1 in float64."""
    return np.where(x > 30, 1.0, np.where(x < -30, 0.0, sigmoid_stable(np.clip(x, -30, 30)))).astype(x.dtype)


def bce_vjp_textbook(x, y, g):
    """planted: g (sigma(x) - y) in the data's format: 0 at x = 20, y = 1 where -2.06e-9 g belongs."""
    return (g * (sigmoid_stable(x) - y)).astype(x.dtype)


def bce_vjp_careful(x, y, g):
    """careful: sigma(x) - y = (1 - y) - sigma(-x) for x >= 0 (1 - y exact for y >= 1/2), sigma(x) - y below,
    in a wider format (g sigma(x) at x = -104 is a normal float32 number, sigma(x) alone is not)."""
    w = _w(x)
    X, Y, G = x.astype(w), y.astype(w), g.astype(w)
    with np.errstate(invalid="ignore"):
        d = np.where(X >= 0, (1 - Y) - sigmoid_stable(-X), sigmoid_stable(X) - Y)
    return (G * d).astype(x.dtype)


def softmax_inf_onehot(x, axis=-1):
    """planted: a row holding +inf answered by a one-hot at its first +inf: the limit for one +inf, but with two
    neither the limit (there is none) nor the pointwise answer (NaN at each +inf)."""
    X = np.moveaxis(x, axis, -1).astype(_w(x))
    out = _wide_softmax(X)
    pos = np.isposinf(X)
    hot = np.arange(X.shape[-1]) == np.argmax(pos, axis=-1)[..., None]
    out = np.where(pos.any(axis=-1, keepdims=True) & ~np.isnan(X).any(axis=-1, keepdims=True), hot * 1.0, out)
    return np.moveaxis(out, -1, axis).astype(x.dtype)


def logsumexp_vjp_pointwise(x, g, axis=-1):
    """careful: g softmax(x) in a wider format, and at a row holding +inf what ``g exp(x - lse)`` gives there:
    0 at the finite entries, NaN at each +inf (the policy's pointwise answer)."""
    X = np.moveaxis(x, axis, -1).astype(_w(x))
    G = np.asarray(g, dtype=X.dtype)[..., None]
    out = G * _wide_softmax(X)
    pos = np.isposinf(X)
    with np.errstate(invalid="ignore"):
        pointwise = np.where(pos, np.nan, 0.0 * G)
    keep = pos.any(axis=-1, keepdims=True) & ~np.isnan(X).any(axis=-1, keepdims=True) & np.isfinite(G)
    out = np.where(keep, pointwise, out)
    return np.moveaxis(out, -1, axis).astype(x.dtype)
