"""Hand-built adversarial inputs for the reference tests (fixed seeds, every hard regime of every dtype)."""

import numpy as np

from stability.formats import FORMATS


def rows(dtype, rng, n=6):
    """A (R, n) array of adversarial rows in ``dtype`` for the axis functions."""
    fmt = FORMATS[np.dtype(dtype).name]
    lnu = -np.log(fmt.u)  # gap at which exp(-gap) ~ u
    big = np.log(fmt.max)  # spread past which a naive exp overflows
    sub = np.log(fmt.smallest_subnormal)
    out = []
    for _ in range(4):
        out.append(rng.normal(0, 3, n))  # standard
        out.append(rng.normal(0, 1, n) * 10.0 ** rng.uniform(0, np.log10(fmt.max) - 1, n))  # wide scale
        out.append(rng.normal(0, 1, n) + rng.choice([-1, 1]) * 10.0 ** rng.uniform(1, 4))  # large offset
        out.append(np.r_[0.0, -lnu + rng.normal(0, 2, n - 1)])  # one dominant entry, gaps ~ -ln u
        out.append(np.r_[0.0, -2 * lnu + rng.normal(0, 2, n - 1)])
        out.append(rng.uniform(-2 * big, 0, n))  # spread past log(max)
        out.append(sub - rng.uniform(0, 30, n))  # all below log(smallest subnormal)
        out.append(np.full(n, -np.log(n)) + rng.normal(0, 1e-3, n) * (rng.uniform() < 0.5))  # lse ~ 0
        t = rng.normal(0, 5, n)
        t[: n // 2] = t.max()  # ties at the max
        out.append(t)
        out.append(np.sort(rng.normal(0, 30, n)))  # ascending, max last
        out.append(rng.choice([-1, 1], n) * fmt.smallest_subnormal * rng.integers(0, 4, n))  # zeros, subnormals
    X = np.array(out)
    with np.errstate(over="ignore"):
        X = X.astype(dtype)
    X[~np.isfinite(X.astype(np.float64))] = 0
    lse0 = np.array([[-np.log(2), -np.log(2)] + [-np.inf] * (n - 2)], dtype=np.float64).astype(dtype)
    return np.concatenate([X, lse0])


def elements(dtype, rng):
    """A 1-D array of adversarial logits in ``dtype`` for the elementwise functions."""
    fmt = FORMATS[np.dtype(dtype).name]
    centers = [0, 1, 17, 37, 88, 104, 710, 745, np.log(fmt.max), -np.log(fmt.smallest_subnormal), 1e4]
    xs = [c * s + rng.normal(0, 1, 20) * w for c in centers for s in (-1, 1) for w in (1e-3, 1)]
    xs.append(rng.choice([-1, 1], 20) * fmt.smallest_subnormal * rng.integers(0, 1000, 20))
    xs.append(rng.normal(0, 1, 20) * 10.0 ** rng.uniform(-30, np.log10(fmt.max), 20))
    x = np.concatenate(xs)
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    return x[np.isfinite(x.astype(np.float64))]


def bce_targets(x, rng):
    t = rng.choice([0.0, 0.5, 1.0, -1.0], x.size)
    t[t < 0] = rng.uniform(0, 1, (t < 0).sum())
    return t.astype(x.dtype)
