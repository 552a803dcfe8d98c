"""Componentwise relative condition numbers of the softmax family.

For an output ``y_i = f(x)``, ``kappa_i = sum_j |dy_i/dx_j| |x_j| / |y_i|``: how much a relative perturbation of
size eps in every input can move ``y_i``, relative to ``|y_i|``.  A backward-stable algorithm run in unit
roundoff u makes errors of about ``kappa * u`` (plus its own final roundings); anything beyond that is the
algorithm's fault, which is what the verdict in ``stability.metrics`` measures.

Closed forms (s = softmax(x), all sums over the row):

=================  ====================================================================
softmax            ``sum_j |delta_ij - s_j| |x_j| = |x_i| (1 - s_i) + sum_{j!=i} s_j |x_j|``
log_softmax        the same, divided by ``|y_i|``
logsumexp          ``sum_j s_j |x_j| / |lse|``
cross_entropy      ``sum_j |s_j - delta_jt| |x_j| / loss``
sigmoid            ``|x| (1 - sigma(x)) = |x| sigma(-x)``
log_sigmoid        ``|x| sigma(-x) / |log sigma(x)|``
BCE with logits    ``(|x| |sigma(x) - y| + |x| |y|) / loss`` (targets are perturbed too)
=================  ====================================================================

Gradients (componentwise, with respect to relative perturbations of x *and* of the cotangent g; y the exact
gradient, ``N_i(a) = sum_j |delta_ij - s_j| a_j``, so ``N_i(|x|)`` is softmax's numerator above):

=====================  ==========================================================================================
softmax_vjp            ``(|y_i| |1 - 2 s_i| |x_i| + sum_{j!=i} |s_j y_i + s_i y_j| |x_j| + s_i N_i(|g|)) / |y_i|``
log_softmax_vjp        ``(|sum g| s_i N_i(|x|) + |g_i| (1 - s_i) + s_i sum_{j!=i} |g_j|) / |y_i|``
logsumexp_vjp          ``1 + N_i(|x|)``
cross_entropy_vjp      ``1 + |g| s_j N_j(|x|) / |y_j|``
sigmoid_vjp            ``1 + |x| |tanh(x / 2)|``  (``d/dx log(sigma sigma(-x)) = 1 - 2 sigma``)
log_sigmoid_vjp        ``1 + |x| sigma(x)``;  softplus_vjp: ``1 + |x| sigma(-x)``
logit_vjp              ``1 + |1 - 2p| / (1 - p)``
BCE_vjp                ``(|y| + |g| (|x| sigma(x) sigma(-x) + |t|)) / |y|``
softplus, logit        ``|x| sigma(x) / softplus(x)``;  ``1 / ((1 - p) |logit(p)|)``
=====================  ==========================================================================================

The pair sum of softmax_vjp (from ``d y_i / d x_j = -(s_j y_i + s_i y_j)``, j != i) costs n^2 per row; rows
longer than :data:`PAIR_LIMIT` use its triangle bound ``|y_i| sum s_j |x_j| + s_i sum |y_j| |x_j|`` instead (at
most a factor 2 above it, and only on the long-row families).  The 1 in the VJPs is the cotangent's own
contribution (``y`` is linear in g).

At an exact zero of a gradient (``g`` constant, or ``sigma(x) = y``) the relative condition number is infinite,
and with it the allowance would forgive any finite answer.  There kappa is taken as ``N 2^(1-p) / ulp(0)``
instead (N its numerator, p the format's precision, ulp(0) its smallest subnormal): the verdict rule then allows
an absolute error of ``B N 2^(1-p)``, the limit of what it allows at tiny non-zero outputs.

Numerators are formed without cancellation: ``1 - s_i`` is the sum of the other weights at the row's maximum
(where it would round to 0 when one entry dominates) and ``sum_{j != k} s_j |x_j|`` is summed directly there.
Denominators are the reference's exact outputs, passed in, so that ``lse ~ 0`` gives the huge kappa it should.
Only a few correct digits matter, so float64 suffices for the numerators.
"""

from __future__ import annotations

import numpy as np

from .functions import get


def _div(num, den, fmt=None):
    """``num / |den|``; with ``fmt``, an exact zero ``den`` gives the finite ``num 2^(1-p) / ulp(0)``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # huge or infinite kappa is data
        k = num / np.abs(den)
        if fmt is not None:
            k = np.where(den == 0, num * (2.0 * fmt.u / fmt.smallest_subnormal), k)
    return np.where(num == 0, 0.0, k)


PAIR_LIMIT = 1024


def _weights(X, neg):
    """Softmax weights of the finite entries of each row, the sum of the non-max weights, and the max index."""
    Xf = np.where(neg, -np.inf, X)
    m = Xf.max(axis=1, keepdims=True)
    k = Xf.argmax(axis=1)
    e = np.exp(Xf - m)
    rows = np.arange(X.shape[0])
    others = e.copy()
    others[rows, k] = 0.0
    t = others.sum(axis=1)
    s = e / (1.0 + t)[:, None]
    return s, t, k


def spread(X, neg):
    """``|x_j - max(x)|`` in float64 (0 at masked entries): what a shift-invariant function sees of each x_j."""
    X = np.asarray(X, dtype=np.float64)
    m = np.max(np.where(neg, -np.inf, X), axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.where(neg, 0.0, np.abs(X - m))


def softmax_numerator(X, neg, a=None):
    """``sum_j |delta_ij - s_j| a_j`` (default ``a = |x_j - max(x)|``, :func:`spread`) for every entry of every
    row; 0 at masked (-inf) entries. Returns it and the weights s."""
    s, t, k = _weights(X, neg)
    rows = np.arange(X.shape[0])
    ax = np.where(neg, 0.0, spread(X, neg) if a is None else a)
    w = s * ax
    total = w.sum(axis=1, keepdims=True)
    w_others_k = np.sum(np.where(np.arange(X.shape[1]) == k[:, None], 0.0, w), axis=1)
    one_minus = 1.0 - s
    one_minus[rows, k] = t / (1.0 + t)
    rest = total - w
    rest[rows, k] = w_others_k
    num = ax * one_minus + np.maximum(rest, 0.0)
    return np.where(neg, 0.0, num), s


def _pair_sum(s, y, ax):
    """``sum_{j != i} |s_j y_i + s_i y_j| |x_j|`` per entry (blocked n^2; the triangle bound past PAIR_LIMIT)."""
    R, n = s.shape
    if n > PAIR_LIMIT:
        w = s * ax
        return np.abs(y) * (w.sum(axis=1, keepdims=True) - w) + s * ((np.abs(y) * ax).sum(axis=1, keepdims=True)
                                                                    - np.abs(y) * ax)
    out = np.empty((R, n))
    step = max(1, (1 << 22) // max(n * n, 1))
    diag = np.arange(n)
    for r0 in range(0, R, step):
        sl = slice(r0, r0 + step)
        pair = np.abs(s[sl, None, :] * y[sl, :, None] + s[sl, :, None] * y[sl, None, :]) * ax[sl, None, :]
        pair[:, diag, diag] = 0.0
        out[sl] = pair.sum(axis=2)
    return out


def _vjp_kappa(function, X, neg, exact, G, fmt, targets=None):
    s, t, k = _weights(X, neg)
    ax = spread(X, neg)  # every gradient of a row function is shift-invariant
    rows = np.arange(X.shape[0])
    one_minus = 1.0 - s
    one_minus[rows, k] = t / (1.0 + t)
    with np.errstate(invalid="ignore", over="ignore"):
        if function == "softmax_vjp":
            y = np.where(neg, 0.0, exact)
            ng, _ = softmax_numerator(X, neg, np.abs(G))
            diag = np.abs(y) * np.abs(one_minus - s) * ax
            num = diag + _pair_sum(s, y, ax) + s * ng
            return np.where(neg, 0.0, _div(num, exact, fmt))
        num_x, _ = softmax_numerator(X, neg)
        if function == "log_softmax_vjp":
            aG = np.abs(G)
            others = aG.sum(axis=1, keepdims=True) - aG
            num = np.abs(G.sum(axis=1, keepdims=True)) * s * num_x + aG * one_minus + s * np.maximum(others, 0.0)
            return _div(num, exact, fmt)
        if function == "logsumexp_vjp":
            return np.where(G[:, None] == 0, 0.0, 1.0 + num_x)
        if function == "cross_entropy_vjp":
            num = np.abs(exact) + np.abs(G)[:, None] * s * num_x
            kappa = _div(num, exact, fmt)
            if targets is not None:
                kappa = _ce_vjp_kappa_past_underflow(kappa, X, neg, targets, s, num_x, ax, exact)
            return kappa
    raise KeyError(function)


def _ce_vjp_kappa_past_underflow(kappa, X, neg, targets, s, num_x, ax, exact):
    """Cross-entropy's gradient where float64 weights underflow: ``|g| s_j N_j / |y_j|`` is ``N_j`` off the
    target (``y_j = g s_j``) and, at it (``y_t = -g sum_{i != t} s_i``), ``s_t |d_t| + s_t`` times the mean of
    ``|d_i|`` over the other classes weighted by ``s_i``; both are free of the weights' scale, so they are taken
    in that form wherever the exact gradient is nonzero.  Formed from ``s`` directly, a weight below float64's
    range (``x_j - max`` under -745) made kappa 1 where it is about ``|x_j - max|``: 189 ULP of a float64
    gradient at ``x_j - max = -1023`` (cotangent 3.5e305) were then judged against an allowance of 12."""
    rows = np.arange(X.shape[0])
    live = ~neg & (exact != 0)
    off = np.where(live, 1.0 + num_x, kappa)
    d = np.where(neg, -np.inf, -ax)  # x_j - max, -inf where masked
    d[rows, targets] = -np.inf
    top = d.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        w = np.where(np.isfinite(d), np.exp(d - top), 0.0)
        mean = (w * ax).sum(axis=1) / w.sum(axis=1)
        st = s[rows, targets]
        at = 1.0 + st * ax[rows, targets] + st * mean
    off[rows, targets] = np.where(live[rows, targets] & np.isfinite(top[:, 0]), at, kappa[rows, targets])
    return off


def axis_kappa(function, X, neg, exact, targets=None, G=None, fmt=None):
    """kappa for the axis functions' rows ``X`` (rows along the last axis) and their gradients (cotangent
    ``G``: (R, n) or per row; ``fmt``: the output format, for exact zeros)."""
    if get(function).is_vjp:
        return _vjp_kappa(function, X, neg, exact, G, fmt, targets)
    num, s = softmax_numerator(X, neg)
    if function == "softmax":
        return num
    if function == "log_softmax":
        return np.where(neg, 0.0, _div(num, exact))
    if function == "logsumexp":  # lse(x + c) = lse(x) + c: not shift-invariant, so the magnitudes of x
        w = np.where(neg, 0.0, s * np.abs(X)).sum(axis=1)
        return _div(w, exact)
    if function == "cross_entropy":
        return _div(num[np.arange(X.shape[0]), targets], exact)
    raise KeyError(function)


def _sigmoid(x):
    """sigma(x) without overflow or cancellation on either side."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def _sig_neg(x):
    return _sigmoid(-x)


def _sigma_over_softplus(z):
    """``sigma / softplus`` at ``log z``, i.e. ``z / ((1 + z) log1p(z))`` for ``z = e^{-|x|} <= 1``: the ratio
    that the tails of log_sigmoid and BCE need, where numerator and denominator both underflow (limit 1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = z / ((1 + z) * np.log1p(z))
    return np.where(z == 0, 1.0, r)


def soft_target(y):
    """``|y|`` where a BCE target is soft (0 < y < 1), 0 at the labels 0 and 1.

    A label is exact: nothing perturbs it, and ``g (sigma(x) - 1)`` at x = 20 is owed ``-2.06e-9 g`` to within
    the rule.  A soft target (label smoothing's ``1 - eps``, a probability from another model) is itself a
    rounded number, so a relative perturbation of it is part of the problem: ``|dL/dy| |y| = |x| |y|`` for the
    loss, ``|g| |y|`` for its gradient (docs/condition.md).
    """
    y = np.asarray(y, dtype=np.float64)
    return np.where((y > 0) & (y < 1), np.abs(y), 0.0)


def elementwise_kappa(function, x, exact, y=None, g=None, fmt=None):
    ax = np.abs(x)
    if g is not None:
        live = g != 0  # a zero cotangent gives an exact zero: nothing to perturb
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if function == "sigmoid_vjp":
                k = 1.0 + ax * np.abs(np.tanh(x / 2))
            elif function == "log_sigmoid_vjp":
                k = 1.0 + ax * _sigmoid(x)
            elif function == "softplus_vjp":
                k = 1.0 + ax * _sig_neg(x)
            elif function == "logit_vjp":
                k = 1.0 + np.abs(1 - 2 * x) / (1 - x)
            elif function == "binary_cross_entropy_with_logits_vjp":
                # g (sigma(x) - y): perturbations of g and x, and of a soft target only (a label is exact)
                z = np.exp(-ax)
                k = _div(np.abs(exact) + np.abs(g) * (ax * z / (1 + z) ** 2 + soft_target(y)), exact, fmt)
            else:
                raise KeyError(function)
        return np.where(live, k, 0.0)
    if function == "softplus":
        tail = ax * _sigma_over_softplus(np.exp(-ax))
        return np.where(x < 0, tail, _div(ax * _sigmoid(x), exact))
    if function == "logit":
        with np.errstate(divide="ignore"):
            return _div(1.0 / (1.0 - x), exact, fmt)
    if function == "sigmoid":
        return ax * _sig_neg(x)
    if function == "log_sigmoid":
        # x >= 0: |x| sigma(-x) / softplus(-x) underflows both ways; x < 0: the denominator is >= |x|
        tail = ax * _sigma_over_softplus(np.exp(-ax))
        return np.where(x >= 0, tail, _div(ax * _sig_neg(x), exact))
    if function == "binary_cross_entropy_with_logits":
        sig = _sigmoid(x)
        with np.errstate(over="ignore"):  # |x| near the format's max: an infinite kappa is data
            k = _div(ax * np.abs(sig - y) + ax * soft_target(y), exact)
        # a label on the side the logit points to (y = 0, x < 0; y = 1, x > 0): the loss is softplus(-|x|) and
        # the numerator |x| sigma(-|x|): both underflow together
        tail = ((y == 0) & (x < 0)) | ((y == 1) & (x > 0))
        return np.where(tail, ax * _sigma_over_softplus(np.exp(-ax)), k)
    raise KeyError(function)
