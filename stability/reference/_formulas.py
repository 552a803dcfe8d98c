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
