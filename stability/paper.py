"""Reproducing Blanchard, Higham & Higham (2021), Section 6: log-sum-exp and softmax of MNIST logits in fp16
and bfloat16.

The experiment: each of the 2,500 logit vectors (n = 10) is rounded to the low-precision format, and the
unshifted ("basic") and shifted algorithms are run with *every operation rounded to that format*, as the
authors' ``chop`` does (the operation in double precision, then one rounding).  Here the rounding is
``stability.formats.round_float64``, exact round-to-nearest-even with the format's subnormals and overflow, so
float16 and bfloat16 are simulated the same way (``ml_dtypes`` would round bfloat16 twice through float32).

Algorithms (names as in the paper's scripts):

* basic LSE ``log(sum exp(x_i))``; basic softmax ``exp(x_i) / s``; its division-free variant ``exp(x_i - lse)``;
* shifted LSE ``a + log1p(sum_{i != k} exp(x_i - a))`` with ``a = max x = x_k``; shifted softmax
  ``e_i / (1 + s)``; its division-free variant ``exp(x_i - lse)``.

Errors are in units of the format's unit roundoff u: ``|lse_hat - lse| / (u |lse|)`` and, for softmax,
``max_i |g_hat_i - g_i| / (u max_i |g_i|)``, against this suite's correctly rounded reference (the authors used
single precision).  Bounds are the leading-order terms of the paper's Theorems 3.2, 3.3, 3.4, 4.2, 4.3, 4.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from .formats import FORMATS, round_float64

#: what the paper reports (fp16, the authors' chop_test_softmax.m): overflowing vectors of the 2,500
PUBLISHED_OVERFLOWS_FP16 = {"basic LSE": 475, "shifted LSE": 0}


def load_logits() -> np.ndarray:
    """The (2500, 10) float64 MNIST logits (vendored with their licence in ``stability/data``)."""
    from scipy.io import loadmat

    with resources.as_file(resources.files("stability") / "data" / "mnist_presoftmax.mat") as path:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the file holds a duplicate MATLAB variable name, irrelevant here
            return np.asarray(loadmat(str(path), variable_names=["softmat"])["softmat"], dtype=np.float64).T


def _algorithms(X, chop):
    """All six algorithms on every chopped vector (rows of X) at once, every operation rounded by ``chop``.

    Vectorized across vectors only: within a vector the loops run in the paper's order (a sequential sum)."""
    R, n = X.shape
    rows = np.arange(R)
    with np.errstate(over="ignore", invalid="ignore"):
        e = chop(np.exp(X))
        s = np.zeros(R)
        for i in range(n):  # sequential, as the paper's loops
            s = chop(s + e[:, i])
        lse_b = chop(np.log(s))
        sm_b = chop(e / s[:, None])
        alt_b = chop(np.exp(chop(X - lse_b[:, None])))

        k = np.argmax(X, axis=1)
        a = X[rows, k]
        es = chop(np.exp(chop(X - a[:, None])))
        es[rows, k] = 0.0
        s = np.zeros(R)
        for i in range(n):
            s = chop(s + es[:, i])  # adding the excluded max term's 0 changes nothing
        lse_s = chop(a + chop(np.log1p(s)))
        alt_s = chop(np.exp(chop(X - lse_s[:, None])))
        es[rows, k] = 1.0
        sm_s = chop(es / chop(1 + s)[:, None])
    return {"basic LSE": lse_b, "basic softmax": sm_b, "basic alt. softmax": alt_b,
            "shifted LSE": lse_s, "shifted softmax": sm_s, "shifted alt. softmax": alt_s}


def _bounds(X, y, n):
    """Leading-order error bounds (in units of u) of the paper's theorems, for every vector."""
    ay = np.abs(y)
    dev = np.max(np.abs(X - y[:, None]), axis=1)
    return {
        "basic LSE": 1 + (n + 1) / ay,  # Thm 3.2
        "basic softmax": np.full(len(y), n + 3.0),  # Thm 3.3
        "basic alt. softmax": ay + dev + n + 2,  # Thm 3.4
        "shifted LSE": np.abs(y + n - X.min(axis=1)) / ay,  # Thm 4.2
        "shifted softmax": n + 2 + 2 * (X.max(axis=1) - X.min(axis=1)),  # Thm 4.3
        "shifted alt. softmax": 1 + dev + np.abs(y + n - X.min(axis=1)),  # Thm 4.4
    }


@dataclass
class PaperResult:
    fmt: str
    vectors: int
    overflows: dict  # algorithm -> number of vectors with an inf/NaN result
    errors: dict  # algorithm -> array of errors / u (NaN where it overflowed)
    bounds: dict  # algorithm -> array of bounds / u
    compared: np.ndarray  # the vectors where basic LSE stayed finite: the paper's error plots use only these

    def summary(self) -> list[dict]:
        rows = []
        for a, err in self.errors.items():
            e, b = err[self.compared], self.bounds[a][self.compared]
            ok = np.isfinite(e)
            rows.append({"format": self.fmt, "algorithm": a, "overflow": self.overflows[a],
                         "compared": int(ok.sum()), "max_err_u": float(np.max(e[ok])) if ok.any() else None,
                         "median_err_u": float(np.median(e[ok])) if ok.any() else None,
                         "max_bound_u": float(np.max(b[ok])) if ok.any() else None,
                         "within_bound": float(np.mean(e[ok] <= b[ok])) if ok.any() else None})
        return rows


def run(fmt_name: str = "float16", logits: np.ndarray | None = None) -> PaperResult:
    """Run the experiment in ``fmt_name`` (float16 or bfloat16)."""
    from . import reference

    fmt = FORMATS[fmt_name]
    X = load_logits() if logits is None else np.asarray(logits, dtype=np.float64)
    chop = lambda v: round_float64(v, fmt)  # noqa: E731
    Xc = round_float64(X, fmt)  # the logits rounded to the format, as the paper's xchop
    lse_ref = reference.evaluate("logsumexp", Xc)
    sm_ref = reference.evaluate("softmax", Xc)
    y = (lse_ref.exact_hi + lse_ref.exact_lo)[:, 0]
    g = sm_ref.exact_hi + sm_ref.exact_lo
    res = _algorithms(Xc, chop)
    bounds = _bounds(Xc, y, X.shape[1])
    errors, overflows = {}, {}
    u = fmt.u
    for a, val in res.items():
        val = val.reshape(len(X), -1)
        finite = np.isfinite(val).all(axis=1)
        overflows[a] = int((~finite).sum())
        with np.errstate(invalid="ignore"):
            if a.endswith("LSE"):
                err = np.abs(val[:, 0] - y) / (u * np.abs(y))
            else:
                err = np.max(np.abs(val - g), axis=1) / (u * np.max(np.abs(g), axis=1))
        errors[a] = np.where(finite, err, np.nan)
    return PaperResult(fmt_name, len(X), overflows, errors, bounds, np.isfinite(errors["basic LSE"]))


def table(results) -> str:
    """Overflows over all vectors; errors (in units of u) against the bounds over the vectors where basic LSE
    stayed finite, as in the paper's figures."""
    lines = [f"{'format':<9} {'algorithm':<21} {'overflow':>8} {'compared':>8} {'max err/u':>10} {'median':>8} "
             f"{'max bound':>10} {'err <= bound':>13}"]
    for res in results:
        for row in res.summary():
            f = lambda v, w: f"{v:>{w}.3g}" if v is not None else f"{'-':>{w}}"  # noqa: E731
            within = "-" if row["within_bound"] is None else f"{100 * row['within_bound']:.1f}%"
            lines.append(f"{row['format']:<9} {row['algorithm']:<21} {row['overflow']:>8d} {row['compared']:>8d} "
                         f"{f(row['max_err_u'], 10)} {f(row['median_err_u'], 8)} {f(row['max_bound_u'], 10)} "
                         f"{within:>13}")
    return "\n".join(lines)
