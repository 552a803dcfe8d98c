"""Binary floating-point formats and correct rounding into them.

Every output of the reference is rounded *once*, from an exact or certified value, to the output format with
round-to-nearest-even, gradual underflow and overflow to infinity.  NumPy's casts are correct for float32 and
float16 from float64, but ``ml_dtypes`` casts float64 to bfloat16 through float32, which rounds twice
(``1 + 2**-8 + 2**-30`` becomes 1.0 instead of ``1 + 2**-7``).  So this module rounds by arithmetic on the
format's parameters instead of trusting casts:

* :func:`round_float64` rounds float64 values (exactly, by scaling by powers of two and ``numpy.rint``),
* :func:`round_mpf` rounds an mpmath number (exactly, on its integer mantissa).

A :class:`Format` is identified by its precision ``p`` (significand bits, hidden bit included), the exponent
``emin`` of its smallest normal number and ``emax`` of its largest binade.  The two FP8 formats of ``ml_dtypes``
(OCP 8-bit floating point, 2023) are formats too: ``float8_e5m2`` is IEEE-like; ``float8_e4m3fn`` has no
infinities (its top binade stops at 448, the pattern above is NaN), so an answer that overflows it, or is
infinite, *is* NaN there -- what ``ml_dtypes``' and PyTorch's casts give (``stability.policy`` says what else is
accepted).

A :class:`Signature` gives the formats of one check: the input, the output and (gradients) the cotangent, as
mixed-precision kernels have them -- ``bfloat16:float32`` reads bfloat16 data and returns float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError, did_you_mean

try:  # bfloat16 and the FP8 formats are optional
    import ml_dtypes

    BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
    _ML_DTYPES = {n: np.dtype(getattr(ml_dtypes, n)) for n in ("bfloat16", "float8_e4m3fn", "float8_e5m2")
                  if hasattr(ml_dtypes, n)}
except ImportError:  # pragma: no cover - exercised only without ml_dtypes
    BFLOAT16 = None
    _ML_DTYPES = {}


@dataclass(frozen=True)
class Format:
    """An IEEE-style binary format: precision ``p`` bits, normal exponents ``emin..emax``."""

    name: str
    p: int
    emin: int
    emax: int
    infinite: bool = True  # False: no infinities (float8_e4m3fn): overflow and +-inf round to NaN
    largest: float | None = None  # the largest finite number, where the top binade is cut short (e4m3fn: 448)

    @property
    def dtype(self) -> np.dtype:
        if self.name in ML_DTYPES_FORMATS:
            if self.name not in _ML_DTYPES:
                raise UsageError(f"{self.name} needs the ml_dtypes package: pip install 'ml_dtypes>=0.4'")
            return _ML_DTYPES[self.name]
        return np.dtype(self.name)

    @property
    def u(self) -> float:
        """Unit roundoff 2**-p."""
        return 2.0**-self.p

    @property
    def max(self) -> float:
        if self.largest is not None:
            return self.largest
        return float((2.0 - 2.0 ** (1 - self.p)) * 2.0**self.emax)

    @property
    def overflow_value(self) -> float:
        """What an overflowing answer rounds to: inf, or NaN in a format without infinities."""
        return float("inf") if self.infinite else float("nan")

    @property
    def tiny(self) -> float:
        """Smallest positive normal number."""
        return 2.0**self.emin

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.p + 1)


#: The formats every check runs in (the report's matrix columns, the tests' dtypes), narrowest first.
FORMATS = {
    "float16": Format("float16", 11, -14, 15),
    "bfloat16": Format("bfloat16", 8, -126, 127),
    "float32": Format("float32", 24, -126, 127),
    "float64": Format("float64", 53, -1022, 1023),
}
#: The OCP FP8 formats (``ml_dtypes``): inputs and outputs of mixed-precision signatures, judged on request.
FP8_FORMATS = {
    "float8_e4m3fn": Format("float8_e4m3fn", 4, -6, 8, infinite=False, largest=448.0),
    "float8_e5m2": Format("float8_e5m2", 3, -14, 15),
}
ALL_FORMATS = {**FORMATS, **FP8_FORMATS}
#: The formats whose NumPy dtypes come from ml_dtypes (PyTorch has each under the same name)
ML_DTYPES_FORMATS = ("bfloat16",) + tuple(FP8_FORMATS)


def available_dtypes() -> list[str]:
    """Names of the formats every check can run in here (bfloat16 only with ml_dtypes)."""
    return [n for n in FORMATS if n not in ML_DTYPES_FORMATS or n in _ML_DTYPES]


def available_formats() -> list[str]:
    """Every format this installation can judge, the FP8 ones included (with ml_dtypes)."""
    return [n for n in ALL_FORMATS if n not in ML_DTYPES_FORMATS or n in _ML_DTYPES]


def format_of(dtype) -> Format:
    """The :class:`Format` of a NumPy dtype (or dtype name); UsageError naming the supported ones otherwise."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in ALL_FORMATS or name not in available_formats():
        missing = [n for n in ML_DTYPES_FORMATS if n not in _ML_DTYPES]
        raise UsageError(
            f"unsupported dtype {dtype!r}{did_you_mean(name, available_formats())}: use one of "
            f"{', '.join(available_formats())}"
            + (f" (install ml_dtypes for {', '.join(missing)})" if missing else "")
        )
    return ALL_FORMATS[name]


@dataclass(frozen=True)
class Signature:
    """The formats of one check: the input's, the output's, and (gradients) the cotangent's.

    Written ``IN`` (every format alike) or ``IN:OUT`` for a function: ``bfloat16:float32`` reads bfloat16 data
    and returns float32, as ``torch.softmax(x, dim, dtype=torch.float32)`` does.  For a gradient ``NAME_vjp``,
    ``IN:OUT`` is what autocast and ``jax.vjp`` of a widened forward produce: x in IN, the cotangent in OUT (the
    forward's output format) and the gradient in IN; ``X:G:R`` names all three (``bfloat16:float32:float32``: a
    fused backward that keeps the float32 gradient).  The truth is rounded to the output format, the allowance
    and condition numbers are in its unit roundoff, and the inputs are exact in theirs.
    """

    input: Format
    output: Format
    cotangent: Format | None = None  # gradients only

    @property
    def name(self) -> str:
        """The shortest spelling that parses back to this signature (records and the store key by it)."""
        i, o, g = self.input.name, self.output.name, self.cotangent
        if g is None:
            return i if i == o else f"{i}:{o}"
        if o == i:
            return i if g.name == i else f"{i}:{g.name}"
        return f"{i}:{g.name}:{o}"

    @property
    def mixed(self) -> bool:
        return self.name != self.input.name

    def __str__(self) -> str:
        return self.name


def signature(text, function=None) -> Signature:
    """Parse ``IN``, ``IN:OUT`` or (gradients) ``X:G:R`` into a :class:`Signature` (``function``: a name or
    ``stability.functions.Function``; without it the string is only checked).  A :class:`Signature` or a NumPy
    dtype is taken as it is.  UsageError naming what is accepted otherwise."""
    if isinstance(text, Signature):
        return text
    if not isinstance(text, str):
        text = format_of(text).name
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise UsageError(f"format signature {text!r} is not IN, IN:OUT or (gradients) X:G:R, e.g. bfloat16 or "
                         f"bfloat16:float32; formats: {', '.join(available_formats())}")
    fmts = [format_of(p) for p in parts]
    is_vjp = None
    if function is not None:
        from .functions import get

        fn = get(function) if isinstance(function, str) else function
        is_vjp = fn.is_vjp
        if fn.integer and len(parts) > 1:
            raise UsageError(f"{fn.name} returns indices, so it has no output format: give one format, not {text!r}")
    if len(parts) == 3 and is_vjp is False:
        raise UsageError(f"{text!r} names three formats (x:g:result), which only a gradient has: give IN or IN:OUT")
    if len(parts) == 1:
        fmts = fmts * 2
    if is_vjp is False:
        return Signature(fmts[0], fmts[1])
    if len(parts) == 3:
        return Signature(fmts[0], fmts[2], fmts[1])
    return Signature(fmts[0], fmts[0], fmts[1]) if is_vjp else Signature(fmts[0], fmts[1])


def split_signature(name: str) -> tuple[str, str]:
    """``(input format, the rest)`` of a signature's spelling: ``"bfloat16:float32"`` gives ``("bfloat16",
    "float32")``, ``"float32"`` gives ``("float32", "")``.  Tables put checks that differ only in the input format
    in one row, a column per input format."""
    head, _, rest = name.partition(":")
    return head, rest



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
        r = np.where(np.abs(r) > fmt.max, np.copysign(fmt.overflow_value, x), r)
    if not fmt.infinite:  # +-inf has no representation: NaN, as ml_dtypes' cast gives
        x = np.where(np.isinf(x), np.nan, x)
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
        return float(v) if fmt.infinite else float("nan")
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
    if q + m_int.bit_length() - 1 > fmt.emax or float(np.ldexp(float(m_int), q)) > fmt.max:
        return sign * fmt.overflow_value
    return sign * float(np.ldexp(float(m_int), q))
