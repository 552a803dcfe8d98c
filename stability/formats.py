"""Binary floating-point formats and correct rounding into them.

Every output of the reference is rounded *once*, from an exact or certified value, to the output format with
round-to-nearest-even, gradual underflow and overflow to infinity.  NumPy's casts are correct for float32 and
float16 from float64, but ``ml_dtypes`` casts float64 to bfloat16 through float32, which rounds twice
(``1 + 2**-8 + 2**-30`` becomes 1.0 instead of ``1 + 2**-7``).  So this module rounds by arithmetic on the
format's parameters instead of trusting casts:

* :func:`round_float64` rounds float64 values (exactly, by scaling by powers of two and ``numpy.rint``),
* :func:`round_mpf` rounds an mpmath number (exactly, on its integer mantissa).

A :class:`Format` is identified by its precision ``p`` (significand bits, hidden bit included), the exponent
``emin`` of its smallest normal number and ``emax`` of its largest binade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError, did_you_mean

try:  # bfloat16 is optional
    import ml_dtypes

    BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - exercised only without ml_dtypes
    BFLOAT16 = None


@dataclass(frozen=True)
class Format:
    """An IEEE-style binary format: precision ``p`` bits, normal exponents ``emin..emax``."""

    name: str
    p: int
    emin: int
    emax: int

    @property
    def dtype(self) -> np.dtype:
        if self.name == "bfloat16":
            if BFLOAT16 is None:
                raise UsageError("bfloat16 needs the ml_dtypes package: pip install ml_dtypes")
            return BFLOAT16
        return np.dtype(self.name)

    @property
    def u(self) -> float:
        """Unit roundoff 2**-p."""
        return 2.0**-self.p

    @property
    def max(self) -> float:
        return float((2.0 - 2.0 ** (1 - self.p)) * 2.0**self.emax)

    @property
    def tiny(self) -> float:
        """Smallest positive normal number."""
        return 2.0**self.emin

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.p + 1)


FORMATS = {
    "float16": Format("float16", 11, -14, 15),
    "bfloat16": Format("bfloat16", 8, -126, 127),
    "float32": Format("float32", 24, -126, 127),
    "float64": Format("float64", 53, -1022, 1023),
}


def available_dtypes() -> list[str]:
    """Names of the output dtypes this installation can judge (bfloat16 only with ml_dtypes)."""
    return [n for n in FORMATS if n != "bfloat16" or BFLOAT16 is not None]


def format_of(dtype) -> Format:
    """The :class:`Format` of a NumPy dtype (or dtype name); ValueError naming the supported ones otherwise."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in FORMATS or (name == "bfloat16" and BFLOAT16 is None):
        raise UsageError(
            f"unsupported dtype {dtype!r}{did_you_mean(name, available_dtypes())}: use one of "
            f"{', '.join(available_dtypes())}"
            + ("" if BFLOAT16 is not None else " (install ml_dtypes for bfloat16)")
        )
    return FORMATS[name]


_EXACT_CASTS = ("float32", "float16")


def round_float64(x, fmt: Format) -> np.ndarray:
    """Round float64 values to ``fmt`` with round-to-nearest-even; returns float64 holding the rounded values.

    Exact: the value is scaled by a power of two so that the format's quantum at its binade becomes 1, rounded
    with ``numpy.rint`` (ties to even) and scaled back.  Overflow gives ±inf, NaN stays NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if fmt.name == "float64":
        return x.copy()
    if fmt.name in _EXACT_CASTS:  # NumPy's casts round correctly (tests/test_formats.py checks against below)
        with np.errstate(over="ignore"):
            return x.astype(fmt.name).astype(np.float64)
    return _round_generic(x, fmt)


def _round_generic(x: np.ndarray, fmt: Format) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        _, e = np.frexp(x)  # x = f * 2**e, 0.5 <= |f| < 1, so the binade exponent is e - 1
        q = np.maximum(e - 1, fmt.emin) - (fmt.p - 1)  # exponent of the quantum (ulp) at x
        r = np.ldexp(np.rint(np.ldexp(x, -q)), q)
        r = np.where(np.abs(r) > fmt.max, np.copysign(np.inf, x), r)
    return np.where(np.isfinite(x), r, x)


def to_dtype(values_f64, fmt: Format) -> np.ndarray:
    """Cast float64 values that are already representable in ``fmt`` to its dtype (an exact cast)."""
    return np.asarray(values_f64, dtype=np.float64).astype(fmt.dtype)


def round_mpf(v, fmt: Format) -> float:
    """Round an mpmath ``mpf`` (or int/float) to ``fmt`` exactly; returns a Python float holding the result.

    Works on the integer mantissa and exponent of the number (``v = man * 2**exp``), so no intermediate
    rounding happens whatever ``v``'s magnitude.
    """
    import mpmath

    v = mpmath.mpf(v)
    if mpmath.isnan(v):
        return float("nan")
    if mpmath.isinf(v):
        return float(v)
    if v == 0:  # mpmath has no signed zero
        return 0.0
    neg, man, exp, _ = v._mpf_  # v = (-1)**neg * man * 2**exp, man odd
    sign = -1 if neg else 1
    top = exp + man.bit_length() - 1  # v in [2**top, 2**(top+1))
    q = max(top, fmt.emin) - (fmt.p - 1)
    if exp >= q:
        m_int = man << (exp - q)
    else:
        s = q - exp
        if s > man.bit_length():  # below half the quantum: rounds to zero (and 1 << s could be astronomic)
            return -0.0 if sign < 0 else 0.0
        m_int, rem = man >> s, man & ((1 << s) - 1)
        half = 1 << (s - 1)
        if rem > half or (rem == half and (m_int & 1)):
            m_int += 1
    if m_int == 0:
        return -0.0 if sign < 0 else 0.0
    # m_int * 2**q is representable in fmt (or overflows it); build it without rounding
    if q + m_int.bit_length() - 1 > fmt.emax:
        return sign * float("inf")
    return sign * float(np.ldexp(float(m_int), q))
