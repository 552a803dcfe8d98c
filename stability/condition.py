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

Numerators are formed without cancellation: ``1 - s_i`` is the sum of the other weights at the row's maximum
(where it would round to 0 when one entry dominates) and ``sum_{j != k} s_j |x_j|`` is summed directly there.
Denominators are the reference's exact outputs, passed in, so that ``lse ~ 0`` gives the huge kappa it should.
Only a few correct digits matter, so float64 suffices for the numerators.
"""

from __future__ import annotations

import numpy as np


def _div(num, den):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # huge or infinite kappa is data
        k = num / np.abs(den)
    return np.where(num == 0, 0.0, k)


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


def softmax_numerator(X, neg):
    """``sum_j |delta_ij - s_j| |x_j|`` for every entry of every row; 0 at masked (-inf) entries."""
    s, t, k = _weights(X, neg)
    rows = np.arange(X.shape[0])
    ax = np.where(neg, 0.0, np.abs(X))
    w = s * ax
    total = w.sum(axis=1, keepdims=True)
    w_others_k = np.sum(np.where(np.arange(X.shape[1]) == k[:, None], 0.0, w), axis=1)
    one_minus = 1.0 - s
    one_minus[rows, k] = t / (1.0 + t)
    rest = total - w
    rest[rows, k] = w_others_k
    num = ax * one_minus + np.maximum(rest, 0.0)
    return np.where(neg, 0.0, num), s


def axis_kappa(function, X, neg, exact, targets=None):
    """kappa for softmax / log_softmax / logsumexp / cross_entropy rows ``X`` (rows along the last axis)."""
    num, s = softmax_numerator(X, neg)
    if function == "softmax":
        return num
    if function == "log_softmax":
        return np.where(neg, 0.0, _div(num, exact))
    if function == "logsumexp":
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


def elementwise_kappa(function, x, exact, y=None):
    ax = np.abs(x)
    if function == "sigmoid":
        return ax * _sig_neg(x)
    if function == "log_sigmoid":
        # x >= 0: |x| sigma(-x) / softplus(-x) underflows both ways; x < 0: the denominator is >= |x|
        tail = ax * _sigma_over_softplus(np.exp(-ax))
        return np.where(x >= 0, tail, _div(ax * _sig_neg(x), exact))
    if function == "binary_cross_entropy_with_logits":
        sig = _sigmoid(x)
        with np.errstate(over="ignore"):  # |x| near the format's max: an infinite kappa is data
            k = _div(ax * np.abs(sig - y) + ax * np.abs(y), exact)
        # y = 0, x < 0: the loss is softplus(x) and the numerator |x| sigma(x): both underflow together
        return np.where((y == 0) & (x < 0), ax * _sigma_over_softplus(np.exp(-ax)), k)
    raise KeyError(function)
