"""The reference formulas, written once against a backend (float64 balls, double-double balls or mpmath).

Every formula avoids cancellation, so that its error is relative to its result and a ball stays tight:

* axis functions shift by the row maximum m (first index k) and keep the max term out of the sum,
  ``t = sum_{j != k} exp(x_j - m)``, so ``lse = m + log1p(t)`` (Blanchard, Higham & Higham 2021, Alg. 3.2);
  ``softmax_i = exp(x_i - m) / (1 + t)``; ``log_softmax_i = (x_i - m) - log1p(t)``: both terms are <= 0, so
  this is an addition of like signs even at the dominant entry, where it reduces to ``-log1p(t)``;
* cross-entropy is ``log1p(t) - (x_target - m)``, again a sum of non-negative terms;
* ``sigmoid = where(x >= 0, 1, z) / (1 + z)`` and ``log_sigmoid = min(x, 0) - log1p(z)`` with ``z = exp(-|x|)``;
* binary cross-entropy with logits is ``y*max(-x, 0) + (1 - y)*max(x, 0) + log1p(exp(-|x|))``, the sum of
  ``y*softplus(-x)`` and ``(1-y)*softplus(x)``: non-negative terms only (for y in [0, 1]).

Gradients (vector-Jacobian products with cotangent g), in the same spirit (s = e / S, S = 1 + t):

* ``softmax_vjp``: ``s_i (h_i - H / S)`` with ``h = g - g_k`` (exactly 0 at the max) and ``H = sum_j e_j h_j``:
  the max's own weight, the one near 1, never meets a rounding, and equal cotangents cancel exactly;
* ``log_softmax_vjp``: ``g_i - e_i G / S`` with ``G = sum_j g_j``; ``logsumexp_vjp``: ``g e_i / S``;
* ``cross_entropy_vjp``: ``g e_j / S`` off the target and ``-g R / S`` at it, with ``R = sum_{j != target} e_j``:
  never ``s_t - 1``, which cancels when the prediction is confident;
* ``sigmoid_vjp = g z / (1 + z)^2`` (that is ``sigma(x) sigma(-x)``, never ``sigma (1 - sigma)``),
  ``log_sigmoid_vjp = g sigma(-x)``, ``softplus_vjp = g sigma(x)``, ``logit_vjp = g / (p (1 - p))``;
* ``binary_cross_entropy_with_logits_vjp = g ((1 - y) - y z) / (1 + z)`` for x >= 0 and ``g (z (1 - y) - y) /
  (1 + z)`` for x < 0, exact at y = 0 and y = 1;
* ``softplus = max(x, 0) + log1p(z)``; ``logit = log1p((2p - 1) / (1 - p))`` on [1/4, 3/4] (``2p - 1`` exact,
  so logit(1/2) = 0 exactly) and ``log(p) - log(1 - p)`` outside it.

Where a gradient's terms have mixed signs (``H``, ``G``, ``sigma(x) - y``), the cancellation is the function's
own: its condition number (``stability.condition``) says so, a ball that cannot certify hands over to mpmath.

The only cancellation left is ``m + log1p(t)`` when m < 0 (logsumexp near 0): that is the function's own
ill-conditioning, and the certification simply fails there and hands the element to mpmath's Ziv loop.
Inputs reach these formulas finite; special values are settled beforehand by ``stability.policy``.
"""

import numpy as np


def _shifted(B, X, drop):
    """d = X - m (row max m), e = exp(d), t = sum of e over the entries not in ``drop``."""
    m = X.max(axis=-1)
    d = B.sub(B.exact(X), B.col(B.exact(m)))
    e = B.exp(d)
    t = B.sum(B.where(drop, B.zero(e), e))
    return m, d, e, t


def softmax(B, X, drop):
    _, _, e, t = _shifted(B, X, drop)
    return B.div(e, B.col(B.add(B.one(t), t)))


def log_softmax(B, X, drop):
    _, d, _, t = _shifted(B, X, drop)
    return B.sub(d, B.col(B.log1p(t)))


def logsumexp(B, X, drop):
    m, _, _, t = _shifted(B, X, drop)
    return B.add(B.exact(m), B.log1p(t))


def cross_entropy(B, X, drop, x_target):
    m, _, _, t = _shifted(B, X, drop)
    return B.sub(B.log1p(t), B.sub(B.exact(x_target), B.exact(m)))


def sigmoid(B, x):
    z = B.exp(B.exact(-np.abs(x)))
    num = B.where(x >= 0, B.one(z), z)
    return B.div(num, B.add(B.one(z), z))


def log_sigmoid(B, x):
    z = B.exp(B.exact(-np.abs(x)))
    return B.sub(B.exact(np.minimum(x, 0.0)), B.log1p(z))


def binary_cross_entropy_with_logits(B, x, y):
    ball_y = B.exact(y)
    z = B.exp(B.exact(-np.abs(x)))
    a = B.mul(ball_y, B.exact(np.maximum(-x, 0.0)))
    b = B.mul(B.sub(B.one(ball_y), ball_y), B.exact(np.maximum(x, 0.0)))
    return B.add(B.add(a, b), B.log1p(z))


def _exp_rest(B, X, drop):
    """e = exp(X - m) with the max term exactly 1, and S = 1 + t."""
    _, _, e, t = _shifted(B, X, drop)
    return e, B.add(B.one(t), t)


def softmax_vjp(B, X, drop, G, Gk):
    e, S = _exp_rest(B, X, drop)
    h = B.sub(B.exact(G), B.col(B.exact(Gk)))
    H = B.ssum(B.where(drop, B.zero(e), B.mul(e, h)))
    inner = B.sub(h, B.col(B.div(H, S)))
    return B.div(B.mul(e, inner), B.col(S))


def log_softmax_vjp(B, X, drop, G):
    e, S = _exp_rest(B, X, drop)
    gsum = B.ssum(B.exact(G))
    return B.sub(B.exact(G), B.div(B.mul(e, B.col(gsum)), B.col(S)))


def logsumexp_vjp(B, X, drop, g):
    e, S = _exp_rest(B, X, drop)
    return B.div(B.mul(e, B.col(B.exact(g))), B.col(S))


def cross_entropy_vjp(B, X, drop, rest_mask, target_mask, g):
    """``rest_mask``: the live entries other than the target (the max included); ``target_mask``: the target."""
    e, S = _exp_rest(B, X, drop)
    R = B.sum(B.where(rest_mask, e, B.zero(e)))
    num = B.where(target_mask, B.neg(B.mul(B.col(R), B.one(e))), e)
    return B.div(B.mul(num, B.col(B.exact(g))), B.col(S))


def _z(B, x):
    return B.exp(B.exact(-np.abs(x)))


def sigmoid_vjp(B, x, g):
    z = _z(B, x)
    opz = B.add(B.one(z), z)
    return B.div(B.mul(B.exact(g), z), B.mul(opz, opz))


def _sigmoid_times(B, x, g, positive):
    """``g sigma(x)`` (``positive``) or ``g sigma(-x)``, without cancellation."""
    z = _z(B, x)
    big = (x >= 0) if positive else (x < 0)
    num = B.where(big, B.one(z), z)
    return B.div(B.mul(B.exact(g), num), B.add(B.one(z), z))


def log_sigmoid_vjp(B, x, g):
    return _sigmoid_times(B, x, g, positive=False)


def softplus_vjp(B, x, g):
    return _sigmoid_times(B, x, g, positive=True)


def softplus(B, x):
    return B.add(B.exact(np.maximum(x, 0.0)), B.log1p(_z(B, x)))


def logit(B, p):
    mid = (p >= 0.25) & (p <= 0.75)
    c = np.where(mid, p, 0.5)  # each branch sees only inputs it is valid for (an interval backend evaluates both)
    one_minus = B.sub(B.one(B.exact(c)), B.exact(c))
    centre = B.log1p(B.div(B.exact(2 * c - 1), one_minus))  # 2p - 1 is exact on [1/4, 3/4]
    q = np.where(mid, 0.5, p)
    tails = B.sub(B.log(B.exact(q)), B.log(B.sub(B.one(B.exact(q)), B.exact(q))))
    return B.where(mid, centre, tails)


logit.needs = ("log",)


def logit_vjp(B, p, g):
    one_minus = B.sub(B.one(B.exact(p)), B.exact(p))
    return B.div(B.exact(g), B.mul(B.exact(p), one_minus))


def binary_cross_entropy_with_logits_vjp(B, x, y, g):
    z = _z(B, x)
    ball_y = B.exact(y)
    one_minus_y = B.sub(B.one(ball_y), ball_y)
    pos = B.sub(one_minus_y, B.mul(ball_y, z))
    neg = B.sub(B.mul(z, one_minus_y), ball_y)
    num = B.where(x >= 0, pos, neg)
    return B.div(B.mul(B.exact(g), num), B.add(B.one(z), z))
