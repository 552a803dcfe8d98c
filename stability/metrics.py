"""Error metrics and the stability verdict.

Metrics of an implementation's output against a :class:`stability.reference.Reference`:

* :func:`ulp_error`: ``|got - exact| / ulp(exact)`` in the output format, where ``ulp(exact)`` is the format's
  spacing at the *exact* value (the quantum of its binade; the subnormal spacing near 0).  NaN and +-inf must
  match exactly: a match is 0 ULPs, anything else is infinite.
* :func:`relative_error`: ``|got - exact| / |exact|``.
* :func:`bits_error`: ``log2(1 + ulps between got and the correctly rounded value)``, counting representable
  numbers, as Herbie and FPBench define "bits of error".

The verdict (:class:`Tolerance`): an output passes when ``ulp_error <= A(n) + B * kappa`` with ``kappa`` its
condition number (``stability.condition``) and

* ``A(n) = a0 + a1 * log2(n)``: the algorithm's own roundings, in ULPs.  A careful algorithm rounds a handful of
  times after its last data-dependent step (an exp or log of up to ~3.5 ULPs in NumPy's SIMD float32 loops, a
  division, a final rounding), and its reduction adds a relative error that grows like ``log2(n) * u`` for
  pairwise or blocked summation.  ``a0 = 8`` and ``a1 = 1`` cover every careful implementation of this suite on
  every input family with room (they measure at most ~4 ULPs plus ~0.3 per doubling of n).
* ``B = 2``: a backward-stable algorithm answers exactly for inputs perturbed by a few units of roundoff, which
  moves the output by ``kappa`` ULPs per unit; 2 allows for the one rounding of ``x - max`` (or ``-|x|``) and
  of the input itself.  Everything the input's conditioning explains is forgiven: ``lse ~ 0`` (e.g.
  ``x = [-ln 2, -ln 2]``) has a huge kappa and no algorithm is blamed for it.

Classic mistakes miss this by orders of magnitude: overflow of a naive exp (NaN/inf where a number belongs),
the log of a softmax rounded to 0 (-inf), ``1 - sigma`` cancellation (ULP errors ~ 1/u), accumulating in a
format narrower than the output (errors ~ 2**(p_out - p_acc)), a NaN that disappears (an exact-match failure).

The *stability ratio* ``ulp_error / (A + B * kappa)`` is reported for every output: <= 1 passes.

Functions whose outputs are numbers of the format by construction (max, max_vjp) or indices (argmax) are
judged exactly: their allowance is 0.  :func:`normwise_error` gives ``||got - best||_2 / ||best||_2`` over a
call's finite outputs (best: the correctly rounded answer), the measure Blanchard, Higham and Higham use for
softmax: it says whether a componentwise failure matters for the norm (``Judgement.normwise``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError

from .formats import Format


@dataclass(frozen=True)
class Tolerance:
    """``ulp_error <= a0 + a1 * log2(n) + b * kappa`` (see the module docstring for the calibration)."""

    a0: float = 8.0
    a1: float = 1.0
    b: float = 2.0

    def __post_init__(self):
        for name in ("a0", "a1", "b"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise UsageError(f"Tolerance.{name} must be a finite number >= 0, got {v!r}")

    def allowance(self, n: int, kappa) -> np.ndarray:
        with np.errstate(over="ignore"):  # an infinite or huge kappa forgives everything but special values
            return self.a0 + self.a1 * np.log2(max(n, 1)) + self.b * np.asarray(kappa)


DEFAULT_TOLERANCE = Tolerance()


def ulp_at(exact_hi, exact_lo, fmt: Format, *, flush: bool = False) -> np.ndarray:
    """The spacing of ``fmt`` at the exact value ``exact_hi + exact_lo`` (its binade's quantum).

    ``flush``: the format without subnormals, as flush-to-zero arithmetic has it: below the smallest normal
    number the neighbours are 0 and that number, so the spacing there is the smallest normal number."""
    hi = np.abs(np.asarray(exact_hi, dtype=np.float64))
    lo = np.asarray(exact_lo, dtype=np.float64) * np.sign(exact_hi)
    with np.errstate(invalid="ignore"):
        mant, e = np.frexp(hi)
        binade = e - 1 - ((mant == 0.5) & (lo < 0))  # exactly a power of two minus a bit: the binade below
    q = np.maximum(binade, fmt.emin) - (fmt.p - 1)
    spacing = np.where(hi == 0, fmt.smallest_subnormal, np.ldexp(1.0, q))
    if flush:
        spacing = np.where(hi + lo < fmt.tiny, fmt.tiny, spacing)
    return spacing


def _special_mismatch(got, value):
    """0 where an exact match is required and found, inf where required and missed, NaN where not required."""
    required = ~np.isfinite(value) | ~np.isfinite(got)
    match = (got == value) | (np.isnan(got) & np.isnan(value))
    return np.where(required, np.where(match, 0.0, np.inf), np.nan)


def ulp_error(got, ref, *, flush: bool = False) -> np.ndarray:
    """ULP error of ``got`` (rows layout, float64) against a Reference, at the exact value (``flush``: in the
    format without subnormals, see :func:`ulp_at`)."""
    got = np.asarray(got, dtype=np.float64)
    special = _special_mismatch(got, ref.value)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs((got - ref.exact_hi) - ref.exact_lo)
        err = diff / ulp_at(ref.exact_hi, ref.exact_lo, ref.fmt, flush=flush)
    return np.where(np.isnan(special), err, special)


def relative_error(got, ref) -> np.ndarray:
    got = np.asarray(got, dtype=np.float64)
    special = _special_mismatch(got, ref.value)
    exact = ref.exact_hi + ref.exact_lo
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        rel = np.abs((got - ref.exact_hi) - ref.exact_lo) / np.abs(exact)
    rel = np.where((exact == 0) & (got == 0), 0.0, rel)
    return np.where(np.isnan(special), rel, special)


_UINT_VIEW = {8: np.uint64, 4: np.uint32, 2: np.uint16}


def _ordinal(values, fmt: Format) -> np.ndarray:
    """Position of each value in the ordered sequence of the format's numbers (+0 and -0 both at 0), as float64
    (exact up to 2**53 apart, plenty for a logarithm)."""
    arr = np.asarray(values, dtype=np.float64).astype(fmt.dtype)
    width = arr.dtype.itemsize
    u = arr.view(_UINT_VIEW[width])
    sign = u >> np.array(8 * width - 1, dtype=u.dtype)
    mag = (u & ~(np.array(1, dtype=u.dtype) << np.array(8 * width - 1, dtype=u.dtype))).astype(np.float64)
    return np.where(sign == 1, -mag, mag)


def bits_error(got, ref) -> np.ndarray:
    """``log2(1 + number of format numbers between got and the correctly rounded value)``."""
    got = np.asarray(got, dtype=np.float64)
    special = _special_mismatch(got, ref.value)
    fin = np.isfinite(got) & np.isfinite(ref.value)
    g = np.where(fin, got, 0.0)
    v = np.where(fin, ref.value, 0.0)
    dist = np.abs(_ordinal(g, ref.fmt) - _ordinal(v, ref.fmt))
    bits = np.log2(1.0 + dist)
    width = 8 * ref.fmt.dtype.itemsize
    return np.where(np.isnan(special), bits, np.where(special == 0, 0.0, float(width)))


def normwise_error(g, ref) -> float:
    """``||g - best||_2 / ||best||_2`` over the outputs whose expected value is finite, ``g`` an implementation's
    output in the reference's rows layout (``ref.rows``) and ``best`` the correctly rounded answer: how far from the
    best answer the format can hold, in the norm (0 for that answer itself, also where every output underflows to
    0; inf when g is not finite where a finite answer is expected)."""
    fin = np.isfinite(ref.value)
    if not fin.any():
        return 0.0
    best = ref.value[fin]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = g[fin] - best
        if not np.isfinite(diff).all():
            return float("inf")
        scale = max(np.max(np.abs(diff)), np.max(np.abs(best)), 1e-300)
        num = np.sqrt(np.sum((diff / scale) ** 2))
        den = np.sqrt(np.sum((best / scale) ** 2))
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


@dataclass
class Judgement:
    """Per-output errors and the verdict for one call (arrays in the reference's rows layout)."""

    ulp: np.ndarray
    ratio: np.ndarray
    passed: np.ndarray
    allowance: np.ndarray
    normwise: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.passed.all())

    @property
    def max_ulp(self) -> float:
        return float(np.max(self.ulp)) if self.ulp.size else 0.0

    @property
    def max_ratio(self) -> float:
        return float(np.max(self.ratio)) if self.ratio.size else 0.0

    def worst(self) -> tuple[int, int] | None:
        """(row, column) of the output with the largest stability ratio, None when there is no output."""
        if not self.ratio.size:
            return None
        return tuple(int(i) for i in np.unravel_index(np.argmax(self.ratio), self.ratio.shape))


def judge(got, ref, tolerance: Tolerance = DEFAULT_TOLERANCE, *, flush: bool = False) -> Judgement:
    """Judge an implementation's output against the reference with the verdict rule.

    ``got`` is in the function's output shape (it is brought to the reference's rows layout here).  Where the
    policy gives also-accepted answers for a row (all zeros for an all -inf softmax row, the limit for a row with
    +inf), the row passes when it meets the rule against the primary answer or equals one accepted answer as a
    whole: softmax at ``[1, inf, 2]`` may be the NaN row, the limit ``[0, 1, 0]`` or the pointwise ``[0, nan, 0]``
    (``stability.policy``), never ``[0, 1, nan]``.

    ``flush``: the implementation declares flush-to-zero; errors are measured in the format without subnormals.
    """
    g = ref.rows(got)
    err = ulp_error(g, ref, flush=flush)
    if ref.call.function.exact:  # max, argmax, max_vjp: nothing to round, nothing to allow
        allow = np.zeros(err.shape)
    else:
        allow = np.broadcast_to(tolerance.allowance(ref.n, ref.kappa), err.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(err == 0, 0.0, np.where(np.isinf(err), np.inf, err / allow))
    passed = np.isfinite(err) & (err <= allow)  # a special-value mismatch fails even where kappa is infinite
    if flush and ref.call.function.exact:  # max of subnormals, a subnormal cotangent: flushed to 0 as declared
        flushed = ~passed & (g == 0) & (np.abs(ref.exact_hi) < ref.fmt.tiny)
        err, ratio, passed = np.where(flushed, 0.0, err), np.where(flushed, 0.0, ratio), passed | flushed
    if not ref.fmt.infinite and not ref.call.function.integer:  # float8_e4m3fn: an answer beyond its range is
        # NaN (ml_dtypes' cast, OCP's non-saturating mode) or, also accepted, the saturated +-max (PyTorch's cast,
        # OCP's satfinite): see stability.policy
        with np.errstate(invalid="ignore"):
            sat = (~passed & np.isnan(ref.value) & (np.abs(ref.exact_hi) > ref.fmt.max)
                   & (g == np.copysign(ref.fmt.max, ref.exact_hi)))
        err, ratio, passed = np.where(sat, 0.0, err), np.where(sat, 0.0, ratio), passed | sat
    for r in ref.nonfinite_rows:  # an infinite cotangent: any row of NaNs and infinities answers it
        if not passed[r].all() and not np.isfinite(g[r]).any():
            err[r], ratio[r], passed[r] = 0.0, 0.0, True
    for r, alts in ref.alternatives.items():
        if passed[r].all():
            continue
        for alt in alts:  # a whole row is one answer or another, never some of each
            same = (g[r] == alt) | (np.isnan(g[r]) & np.isnan(alt))
            if same.all():
                err[r], ratio[r], passed[r] = 0.0, 0.0, True
                break
    return Judgement(err, ratio, passed, allow, normwise_error(g, ref))
