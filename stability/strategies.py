"""Hypothesis strategies for the softmax family: adversarial input families, each a named strategy.

Every family draws its values through Hypothesis (never from a hidden random generator), so a failing input
shrinks to a minimal counterexample: fewer, shorter rows and simpler numbers.  Values are drawn in float64 and
rounded once to the dtype under test, so float16, bfloat16 and float32 inputs are exactly representable.

Use :func:`inputs` to get a strategy of complete calls for a function::

    >>> from stability import strategies
    >>> strat = strategies.inputs("softmax", "float32", family="dominant")
    >>> # each example is an Example(args=(x,), kwargs={"axis": ...}, family="dominant")

Families for the softmax-like functions (rows along the drawn axis):

==============  ======================================================================================
standard        logits ~ a few units
wide            |x| up to 1e4, and up to the dtype's max
offset          a large common offset (1e2..1e4, either sign) plus small differences
shifted         equal and near-equal logits at a large magnitude: a common c up to a tenth of the format's
                largest power of ten, plus a few of c's ULPs (often none: exact ties) or small differences
                that round to c's grid; shift-invariant functions must not see c
overflow        spread past log(max float): 11.09 (fp16), 88.72 (fp32), 709.78 (fp64)
underflow       every entry below log(smallest subnormal)
dominant        one dominant entry, the others below it by gaps around -ln(u)
ties            several entries tied at the max
lse_zero        rows whose log-sum-exp is close to 0
ascending       sorted ascending, the max late in the row (worst case for online rescaling)
masked          -inf entries, some rows fully masked
posinf          +inf entries
nan             NaN entries
tiny            +-0 and subnormals
bits            uniform over the dtype's bit patterns (Herbie's sampling), NaN and inf excluded
lengths         rows of 25 .. 4096 entries, often a power of two or one off it, where tiled, blocked and
                warp-per-row code changes path or merges partial (max, sum) pairs; the values follow a
                drawn pattern: spread normal, ascending (every tile raises the max), a late dominant entry,
                a large offset, or flat (every weight near 1/n)
tile_masks      rows of 1,023 .. 16,385 entries (a power of two or one off it, along the last axis) under a
                -inf mask, where a tiled or online kernel meets a tile with no finite entry: a leading run
                (all but the last few entries, the largest power of two below n, any power of two, any
                length), a trailing or middle run, a causal mask (row r of the block sees the first
                q0 + r + 1 entries), or every tile of a power-of-two size but one (often the last) masked;
                the leading runs most often
accumulation    rows of 255 .. 8,193 entries (along the last axis) whose running sum stagnates in a 2-byte
                format: flat rows (a sum of n terms near 1 stops growing at 2^11 in float16, 2^8 in
                bfloat16), or one maximum followed by terms just below half an ULP of 1 in float16
                (bfloat16 for bfloat16 data), each lost when added to the running sum one by one; exact in
                a float32 running sum
block_plus_one  rows of 2^k + 1 entries for every tile 2^k from 256 to 16,384 (along the last axis) whose first
                2^k entries (or a shorter power-of-two run) are masked: a blocked kernel's full first tile holds
                no finite entry and its second holds one.  One row for each k is always run first
                (:func:`explicit`; 7 of the family's 25 examples, the rest drawn), so every tile size is met on
                every seed
sum_overflow    rows just past the length where a sum of ones overflows a format narrower than 2^20 (65,520
                entries and more in float16, 464 in float8_e4m3fn): flat logits (their exponentials sum to
                n), normal ones or one dominant entry, and (gradients) constant or one-hot cotangents; run by
                default only where the signature holds such a format (vocabulary-sized rows in float16)
long            long rows (10^3 .. 10^5; the slow profile), normal or under one of tile_masks' masks
==============  ======================================================================================

A mixed-precision signature (``bfloat16:float32``: ``stability.formats.Signature``) draws every input in the
input format, and adds the families that tell a kernel's working format apart (:data:`MIXED_FAMILIES`; in one
format they would add nothing the families above do not):

================  ====================================================================================
shift_rounding    a maximum M in [8, 32) and the rest in 1/8 <= |x| < 4, each with its last significand bit
                  set, so that ``x_j - M`` needs more bits than the input format has: shifting in the input
                  format rounds every difference, an error of 2^-p_in that a wider output's allowance does not
                  cover (axis functions and cross-entropy)
target_underflow  cross-entropy targets whose probability e^-d underflows in the output (or the input) format
                  but whose loss d is an ordinary number: d near -ln of the format's smallest normal and
                  smallest subnormal number (``-log(softmax(x)[t])`` computed through a rounded probability
                  gives inf)
================  ====================================================================================

A format without infinities (``float8_e4m3fn``) cannot hold a -inf mask or a +inf: the families made of them
(:data:`INFINITY_FAMILIES`) do not apply to inputs in it.

Gradients (``NAME_vjp``) draw their forward inputs from NAME's families and, beside them, a cotangent ``g``
shaped like NAME's output: within NAME's families g follows a drawn pattern (normal, ones, sparse one-hot,
nearly constant, mixed sign); the cotangent families below fix the pattern and draw x from a few telling
families (standard, dominant, offset, wide for rows; standard and thresholds for elements):

===================  ====================================================================================
g_ones               every g_i = 1 (a constant: softmax's gradient is exactly 0)
g_onehot             one (or a few) g_i = 1, the rest 0: the gradient of a single output
g_nearly_constant    every g_i within a few ULPs of one value: ``g - <g, s>`` cancels
g_mixed_sign         signs and magnitudes mixed over six decades
g_huge               magnitudes near the format's max / (64 n)
g_tiny               subnormal and near-subnormal magnitudes
g_special            NaN and +-inf among the numbers
===================  ====================================================================================

logit's input is a probability: families standard (uniform in (0, 1)), centre (near 1/2, where logit ~ 0),
tails (10^-k and 1 - 10^-k), tiny, special (0, 1, NaN, +-inf, outside [0, 1]) and bits (every bit pattern in
[0, 1]).

Elementwise functions: standard, wide, thresholds (near +-15, +-17, +-20, +-30, +-37, +-88, +-710 and the
dtype's own overflow points, where libraries switch softplus-like formulas, and anywhere in 20 < |x| < 37, where
a switch at 20 is still wrong in float64), tiny, special (+-inf, NaN among numbers), bits.  BCE draws targets 0, 0.5, 1 or uniform in
[0, 1]; cross-entropy draws targets at the row's min or max logit or anywhere.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .errors import UsageError
from hypothesis import strategies as st

from .formats import ALL_FORMATS as FORMATS, Signature, round_float64, to_dtype
from .formats import signature as signature_of
from .functions import get

AXIS_FAMILIES = ("standard", "wide", "offset", "shifted", "overflow", "underflow", "dominant", "ties", "lse_zero",
                 "ascending", "masked", "posinf", "nan", "tiny", "bits", "lengths", "tile_masks", "accumulation",
                 "block_plus_one", "sum_overflow")
# Families whose rows are too long to draw value by value: a drawn seed and pattern make them (still shrinkable:
# the length, the seed and the pattern each shrink).
SEEDED_FAMILIES = ("lengths", "tile_masks", "accumulation", "block_plus_one", "sum_overflow", "long")
# Rows of thousands of entries laid out along the last axis, contiguous: NumPy reduces a strided axis one row at
# a time (recursive summation, error growing like n u, beyond A(n) = 8 + log2(n) past a few thousand entries),
# which would fail careful NumPy code for NumPy's choice; `lengths` keeps both layouts up to 4,097 entries.
_CONTIGUOUS_FAMILIES = ("tile_masks", "accumulation", "block_plus_one", "sum_overflow")
LENGTH_PATTERNS = ("normal", "ascending", "dominant_late", "offset", "flat")
# -inf masks of the long rows (tile_masks, long): where a tiled or online kernel meets a tile with no finite
# entry (exp(-inf - (-inf)) is NaN), see _mask
MASK_PATTERNS = ("masked_prefix", "masked_suffix", "masked_middle", "causal", "one_tile_live")
ELEMENT_FAMILIES = ("standard", "wide", "thresholds", "tiny", "special", "bits")
SLOW_FAMILIES = ("long",)
PROBABILITY_FAMILIES = ("standard", "centre", "tails", "tiny", "special", "bits")
COTANGENT_FAMILIES = ("g_ones", "g_onehot", "g_nearly_constant", "g_mixed_sign", "g_huge", "g_tiny", "g_special")
# the patterns a cotangent follows inside the forward families (drawn per example)
COTANGENT_PATTERNS = ("normal", "ones", "onehot", "nearly_constant", "mixed_sign")
# the forward families x is drawn from in the cotangent families
_X_FOR_COTANGENT = {"rows": ("standard", "dominant", "offset", "wide"), "elements": ("standard", "thresholds")}
# Families a mixed-precision signature adds (see the module docstring), by the kind of function they apply to
MIXED_FAMILIES = {"axis": ("shift_rounding",), "reduce": ("shift_rounding",),
                  "ce": ("shift_rounding", "target_underflow")}
# Families made of -inf masks or +inf entries: none applies to inputs in a format without infinities
INFINITY_FAMILIES = ("masked", "posinf", "tile_masks", "block_plus_one", "long")
# Rows past the length where a sum of ones overflows a narrow format: by default only where the signature holds a
# format whose largest number is below SUM_OVERFLOW_MAX (float16, the float8 formats); bfloat16 and wider would
# need rows of 10^38 entries
SUM_OVERFLOW_FAMILY = "sum_overflow"
SUM_OVERFLOW_MAX = 2.0**20
# the tiles of block_plus_one: 2^8 .. 2^14
BLOCK_EXPONENTS = tuple(range(8, 15))
# An empty reduction axis (softmax, log_softmax, logsumexp; cross-entropy has no 0-class case): opt-in, with
# `--family empty`, since raising on an empty axis, as NumPy's own max and SciPy's softmax do, is a choice a
# careful implementation may make; the report's special-values section shows what each one does there.
EMPTY_FAMILY = "empty"


@contextmanager
def reproducible():
    """Hypothesis draws with the suite's strategies alone, whatever else is imported.

    Hypothesis (6.13x and later) occasionally draws a numeric constant harvested from every *local* module in
    ``sys.modules`` -- the project's tests, a user's own code -- so the examples one seed gives depended on which
    modules happened to be imported: a test passed alone and failed in the full run.  Inside this block that pool
    is empty (Hypothesis' own global constants stay), so a seed means the same examples in every process; outside
    it Hypothesis behaves as usual.  The input families already aim at the thresholds constants would find.
    """
    try:
        from hypothesis.internal.conjecture import providers

        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE
        empty = providers.Constants()
    except (ImportError, AttributeError):  # a Hypothesis without local constants: nothing to pin
        yield
        return
    providers._get_local_constants = lambda: empty
    cache.cache.clear()  # entries filled with the harvested constants
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


@dataclass
class Example:
    """One drawn call: positional args, keyword args, and the family it came from."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    family: str = ""


def families(function: str, *, slow: bool = False, optional: bool = False, signature=None) -> tuple[str, ...]:
    """The input families that apply to ``function``: ``slow`` adds the long-row family, ``optional`` the
    opt-in ones (the empty axis) and every signature's (the mixed-precision families); ``signature`` (a
    :class:`~stability.formats.Signature` or its string) adds the families of a mixed signature and drops those
    its input format cannot hold."""
    fn = get(function)
    sig = None if signature is None else signature_of(signature, function)
    if fn.is_vjp:
        primal_sig = None if sig is None else Signature(sig.input, sig.cotangent)
        return families(fn.primal, slow=slow, optional=optional, signature=primal_sig) + COTANGENT_FAMILIES
    if fn.name == "logit":
        return PROBABILITY_FAMILIES
    if fn.elementwise:
        return ELEMENT_FAMILIES
    empty = (EMPTY_FAMILY,) if optional and fn.has_axis and not fn.integer else ()
    mixed = MIXED_FAMILIES.get(fn.kind, ()) if optional or (sig is not None and sig.mixed) else ()
    fams = AXIS_FAMILIES + (SLOW_FAMILIES if slow else ()) + mixed + empty
    if sig is not None and not sig.input.infinite:
        fams = tuple(f for f in fams if f not in INFINITY_FAMILIES)
    if sig is not None and not optional and _narrow(sig) is None:
        fams = tuple(f for f in fams if f != SUM_OVERFLOW_FAMILY)
    return fams


def _narrow(sig):
    """The narrowest-ranged format of a signature whose sum of ones overflows on a row of a length worth drawing
    (largest number below :data:`SUM_OVERFLOW_MAX`), or None."""
    small = [f for f in (sig.input, sig.output) if f is not None and f.max < SUM_OVERFLOW_MAX]
    return min(small, key=lambda f: f.max) if small else None


def overflow_length(fmt) -> int:
    """The shortest row whose sum of ones overflows ``fmt``: the first integer that rounds past its largest
    number (65,520 in float16, whose largest is 65,504 and whose spacing there is 32)."""
    top = 2.0 ** (np.floor(np.log2(fmt.max)) - (fmt.p - 1))  # the spacing at the largest number
    return int(np.ceil(fmt.max + top / 2))


def _cast(values, dtype: str) -> np.ndarray:
    """float64 values rounded once to ``dtype`` (overflow to inf kept only where asked for by the family)."""
    fmt = FORMATS[dtype]
    return to_dtype(round_float64(np.asarray(values, dtype=np.float64), fmt), fmt)


#: The strategy builders are cached (``functools.lru_cache`` on their hashable arguments): Hypothesis validates and
#: analyses every new strategy object it meets, which cost a third of each draw when a composite built its parts
#: afresh for every example.  A strategy is immutable, so drawing from one object many times draws the same
#: values as drawing from fresh copies.
_STRATEGY_CACHE = 4096


def _num(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@lru_cache(maxsize=_STRATEGY_CACHE)
def _row_values(dtype: str, family: str, n: int):
    """A strategy for ``n`` float64 values of one family (rows of the softmax-like functions)."""
    fmt = FORMATS[dtype]
    lnu = float(-np.log(fmt.u))
    lmax = float(np.log(fmt.max))
    lsub = float(np.log(fmt.smallest_subnormal))
    vec = lambda s: st.lists(s, min_size=n, max_size=n).map(np.array)  # noqa: E731
    if family == "standard":
        return vec(_num(-8, 8))
    if family == "wide":
        return st.sampled_from([1e4, fmt.max / 4]).flatmap(lambda b: vec(_num(-b, b)))
    if family == "offset":
        return st.tuples(st.sampled_from([-1, 1]), _num(2, 4), vec(_num(-3, 3))).map(
            lambda t: t[0] * 10.0 ** t[1] + t[2])
    if family == "shifted":
        return st.tuples(st.sampled_from([-1.0, 1.0]), st.integers(1, int(np.log10(fmt.max)) - 1),
                         st.booleans(), vec(st.integers(-3, 3)), vec(_num(-3, 3))).map(lambda t: _shifted(fmt, *t))
    if family == "overflow":
        return vec(_num(-1.5 * lmax, 2.5 * lmax))
    if family == "underflow":
        return vec(_num(lsub - 50, lsub - 0.01))
    if family == "dominant":
        return st.tuples(_num(-2, 2), vec(_num(0.5 * lnu, 2.5 * lnu)), st.integers(0, n - 1)).map(
            lambda t: _dominant(*t))
    if family == "ties":
        return st.tuples(vec(_num(-10, 10)), st.integers(2, max(n, 2))).map(lambda t: _ties(*t))
    if family == "lse_zero":
        return vec(_num(-1, 1)).map(lambda v: v - np.log(np.exp(v).sum()))  # then rounded: lse ~ 0
    if family == "ascending":
        return vec(_num(-30, 30)).map(np.sort)
    if family == "masked":
        return st.tuples(vec(_num(-10, 10)), vec(st.booleans())).map(lambda t: np.where(t[1], -np.inf, t[0]))
    if family == "posinf":
        return st.tuples(vec(_num(-10, 10)), vec(st.sampled_from([0, 0, 0, 1, 2]))).map(
            lambda t: np.where(t[1] == 1, np.inf, np.where(t[1] == 2, -np.inf, t[0])))
    if family == "nan":
        return st.tuples(vec(_num(-10, 10)), vec(st.sampled_from([0, 0, 1, 2]))).map(
            lambda t: np.where(t[1] == 1, np.nan, np.where(t[1] == 2, np.inf, t[0])))
    if family == "tiny":
        k = 2 ** min(fmt.p, 20)
        return vec(st.integers(-k, k)).map(lambda v: v * fmt.smallest_subnormal)
    if family == "bits":
        return vec(_bits(dtype))
    if family == "shift_rounding":  # x_j - M needs more bits than the input format: see the module docstring
        return st.tuples(st.integers(3, 4).flatmap(lambda e: _last_bit_set(fmt, e)),
                         vec(st.integers(-3, 1).flatmap(lambda e: _last_bit_set(fmt, e, signed=True))),
                         st.integers(0, n - 1)).map(lambda t: _with_max(*t))
    raise UsageError(f"unknown family {family!r} for rows: use one of "
                     f"{', '.join(f for f in AXIS_FAMILIES if f not in SEEDED_FAMILIES)}")


def _shifted(fmt, sign, k, in_ulps, steps, small):
    """``c = sign 10^k`` plus ``steps`` of c's ULPs in the format, or plus ``small`` (which rounds to c's grid)."""
    c = sign * 10.0 ** k
    if not in_ulps:
        return c + small
    ulp = 2.0 ** (np.floor(np.log2(abs(c))) - (fmt.p - 1))
    return c + steps * ulp


def _last_bit_set(fmt, e, signed=False):
    """Numbers of ``fmt`` in [2^e, 2^(e+1)) (either sign if ``signed``) whose last significand bit is set: the
    difference of one with e <= 1 and a number of 4 or more then needs a bit below its own quantum, so it is
    never exact in ``fmt`` (Hypothesis' favourite simple floats would often make it exact)."""
    half = max(2 ** (fmt.p - 2), 1)
    sign = st.sampled_from([-1.0, 1.0]) if signed else st.just(1.0)
    return st.tuples(st.integers(0, half - 1), sign).map(
        lambda t: t[1] * (1 + (2 * t[0] + 1) * 2.0 ** (1 - fmt.p)) * 2.0**e)


def _with_max(top, v, pos):
    v = v.copy()
    v[pos] = top
    return v


def _dominant(top, gaps, pos):
    v = top - gaps
    v[pos] = top
    return v


def _ties(v, k):
    v = v.copy()
    v[: min(k, v.size)] = v.max()
    return v


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _bits(dtype: str):
    """Uniform over the bit patterns of ``dtype`` (every exponent equally likely), finite values only."""
    fmt = FORMATS[dtype]
    width = fmt.dtype.itemsize

    def decode(b):
        with np.errstate(invalid="ignore"):  # a signalling NaN pattern widens with a warning; it is filtered out
            v = np.array([b], dtype=_UINT[width]).view(fmt.dtype).astype(np.float64)[0]
        return float(v)

    return st.integers(0, 2 ** (8 * width) - 1).map(decode).filter(np.isfinite)


@lru_cache(maxsize=_STRATEGY_CACHE)
def _element_values(dtype: str, family: str, n: int):
    fmt = FORMATS[dtype]
    vec = lambda s: st.lists(s, min_size=n, max_size=n).map(np.array)  # noqa: E731
    if family == "standard":
        return vec(_num(-20, 20))
    if family == "wide":
        return st.sampled_from([1e4, fmt.max]).flatmap(lambda b: vec(_num(-b, b)))
    if family == "thresholds":
        # where libraries switch formulas (softplus: 20 in PyTorch, 15, 30, 37), the overflow points, and the
        # float64 window 20 < |x| < 37 where a switch at 20 drops e^-x > u |x|
        centers = sorted({15.0, 17.0, 20.0, 30.0, 37.0, 88.0, 104.0, 710.0, 745.0, float(np.log(fmt.max)),
                          float(-np.log(fmt.smallest_subnormal)), float(-np.log(fmt.u))})
        near = st.tuples(st.sampled_from(centers), _num(-1.5, 1.5)).map(lambda t: t[0] + t[1])
        window = _num(20.0, 37.0)
        one = st.tuples(st.one_of(near, near, window), st.sampled_from([-1.0, 1.0])).map(lambda t: t[0] * t[1])
        return vec(one)
    if family == "tiny":
        k = 2 ** min(fmt.p, 20)
        return vec(st.integers(-k, k)).map(lambda v: v * fmt.smallest_subnormal)
    if family == "special":
        return vec(st.one_of(_num(-50, 50), st.sampled_from([np.inf, -np.inf, np.nan])))
    if family == "bits":
        return vec(_bits(dtype))
    raise UsageError(f"unknown family {family!r} for elementwise functions: use one of {', '.join(ELEMENT_FAMILIES)}")


@lru_cache(maxsize=_STRATEGY_CACHE)
def _probability_values(dtype: str, family: str, n: int):
    """Probabilities for logit: see the module docstring."""
    fmt = FORMATS[dtype]
    vec = lambda s: st.lists(s, min_size=n, max_size=n).map(np.array)  # noqa: E731
    if family == "standard":
        return vec(_num(0, 1))
    if family == "centre":
        return vec(st.tuples(_num(-1, 1), st.integers(1, fmt.p + 2)).map(lambda t: 0.5 + t[0] * 2.0 ** -t[1]))
    if family == "tails":
        k = st.integers(1, int(-np.log10(fmt.smallest_subnormal)))
        return vec(st.tuples(k, st.booleans(), _num(1, 9)).map(
            lambda t: (1 - t[2] * 10.0 ** -t[0]) if t[1] else t[2] * 10.0 ** -t[0]))
    if family == "tiny":
        k = 2 ** min(fmt.p, 20)
        return vec(st.integers(0, k)).map(lambda v: v * fmt.smallest_subnormal)
    if family == "special":
        return vec(st.one_of(_num(0, 1), st.sampled_from([0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, -0.5, 1.5])))
    if family == "bits":
        return vec(_bits(dtype).filter(lambda v: 0 <= v <= 1))
    raise UsageError(f"unknown family {family!r} for logit: use one of {', '.join(PROBABILITY_FAMILIES)}")


def _cotangent_values(draw, dtype: str, pattern: str, size: int, n: int) -> np.ndarray:
    """``size`` float64 cotangent values following ``pattern`` (a :data:`COTANGENT_PATTERNS` name or a cotangent
    family; ``n``: the row length, which bounds a huge g so that the row's sums stay finite). Long cotangents come
    from a drawn seed, like the long rows."""
    fmt = FORMATS[dtype]
    pattern = pattern.removeprefix("g_")
    top = fmt.max / (64 * max(n, 1))
    if size > 64:  # too many to draw one by one: a drawn seed (still shrinkable), as for the long rows
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        sign = rng.choice([-1.0, 1.0], size)
        v = {"ones": lambda: np.ones(size),
             "onehot": lambda: (rng.random(size) < 2.0 / size).astype(np.float64),
             "nearly_constant": lambda: 1.0 + rng.integers(-3, 4, size) * 2 * fmt.u,
             "mixed_sign": lambda: sign * 10.0 ** rng.uniform(-3, 3, size),
             "huge": lambda: sign * top * rng.uniform(0.5, 1, size),
             "tiny": lambda: rng.integers(-64, 65, size) * fmt.smallest_subnormal,
             }.get(pattern, lambda: rng.normal(0, 1, size))()
        if pattern == "special":
            v[rng.integers(0, size)] = rng.choice([np.nan, np.inf, -np.inf])
        return v
    first, values = _small_cotangent(dtype, pattern, size, top)
    if pattern == "ones":
        return np.full(size, draw(first))
    c = draw(first) if pattern == "nearly_constant" else None  # c plus a few of the format's ULPs at c
    v = np.array(draw(values), dtype=np.float64)
    if pattern == "nearly_constant":
        return c + v * np.spacing(np.float64(c)) * 2.0 ** (53 - fmt.p)
    return v * fmt.smallest_subnormal if pattern == "tiny" else v


@lru_cache(maxsize=_STRATEGY_CACHE)
def _small_cotangent(dtype: str, pattern: str, size: int, top: float):
    """The strategies :func:`_cotangent_values` draws ``size`` (at most 64) values from one by one: a constant
    first (``ones``, ``nearly_constant``), then the list.  Drawn as they always were (a ``map`` more would add
    a span and move the examples Hypothesis mutates later in a run, so a seed would draw other calls)."""
    signed = lambda lo, hi: st.tuples(st.sampled_from([-1.0, 1.0]), _num(lo, hi))  # noqa: E731
    first = {"ones": st.sampled_from([1.0, -1.0, 0.5, 3.0]),
             "nearly_constant": st.sampled_from([1.0, -1.0, 0.1, 7.0])}.get(pattern)
    element = {"ones": None,
               "onehot": st.sampled_from([0.0, 0.0, 0.0, 1.0]),
               "nearly_constant": st.integers(-3, 3),
               "mixed_sign": signed(-3, 3).map(lambda t: t[0] * 10.0 ** t[1]),
               "huge": signed(0.5, 1).map(lambda t: t[0] * t[1] * top),
               "tiny": st.integers(-64, 64),
               "special": st.one_of(_num(-4, 4), st.sampled_from([np.nan, np.inf, -np.inf])),
               }.get(pattern, _num(-4, 4))
    return first, None if element is None else st.lists(element, min_size=size, max_size=size)


@st.composite
def _vjp_input(draw, function, sig, family, max_side):
    """A gradient call: the forward function's arguments (x in the input format), then a cotangent shaped like
    its output (in the cotangent's format)."""
    fn = get(function)
    primal = get(fn.primal)
    g_dtype = sig.cotangent.name
    if family in COTANGENT_FAMILIES:
        pool = (PROBABILITY_FAMILIES[:2] if primal.name == "logit" else
                _X_FOR_COTANGENT["elements" if primal.elementwise else "rows"])
        x_family, pattern = draw(st.sampled_from(pool)), family
    elif family == SUM_OVERFLOW_FAMILY:  # a unit cotangent sums to n: constant or one-hot
        x_family, pattern = family, draw(st.sampled_from(("ones", "ones", "onehot", "nearly_constant")))
    else:
        x_family, pattern = family, draw(st.sampled_from(COTANGENT_PATTERNS))
    ex = draw(inputs(primal.name, Signature(sig.input, sig.cotangent), family=x_family, max_side=max_side))
    from .functions import prepare

    shape = prepare(primal, *ex.args, **ex.kwargs).primal_output_shape()
    x = ex.args[0]
    n = x.shape[ex.kwargs["axis"]] if "axis" in ex.kwargs else (x.shape[-1] if primal.class_targets else 1)
    g = _cotangent_values(draw, g_dtype, pattern, int(np.prod(shape)), n).reshape(shape)
    return Example(ex.args + (_cast(g, g_dtype),), ex.kwargs, family)


@lru_cache(maxsize=_STRATEGY_CACHE)
def _row_length(family: str, sig=None):
    """Row lengths of the seeded families: ``long`` 10^3..10^5; ``lengths`` 25..4096, half the time a power of
    two or one either side of it, where tiled and blocked code changes path; ``tile_masks`` and
    ``accumulation`` always so, 1,023..16,385 and 255..8,193; ``block_plus_one`` 2^k + 1 for k = 8..14;
    ``sum_overflow`` the shortest row whose sum of ones overflows the signature's narrow format (float16 without
    one), the power of two at or above it, one more, and twice that."""
    if family == "long":
        return st.integers(1000, 100_000)
    if family == "block_plus_one":
        return st.sampled_from([2**k + 1 for k in BLOCK_EXPONENTS])
    if family == SUM_OVERFLOW_FAMILY:
        n0 = overflow_length((sig is not None and _narrow(sig)) or FORMATS["float16"])
        p = 1 << (n0 - 1).bit_length()
        return st.sampled_from(sorted({n0, p, p + 1, 2 * p}))
    if family in ("tile_masks", "accumulation"):  # long: uniform over the exponents, not biased small
        low, top = (10, 14) if family == "tile_masks" else (8, 13)
        return st.tuples(st.sampled_from(range(low, top + 1)), st.sampled_from([0, -1, 1])).map(
            lambda t: 2 ** t[0] + t[1])
    near_pow2 = st.tuples(st.integers(5, 12), st.sampled_from([0, -1, 1])).map(lambda t: 2 ** t[0] + t[1])
    return st.one_of(st.integers(25, 4096), near_pow2)


def _seeded_rows(draw, dtype: str, family: str, rows: int, n: int) -> np.ndarray:
    """``rows`` x ``n`` float64 values of a seeded family (see :data:`SEEDED_FAMILIES`)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if family == "accumulation":
        return _stagnating(draw, dtype, rng, rows, n)
    if family == "block_plus_one":  # the first 2^k (n - 1) entries masked, or a shorter power-of-two run
        k = int(n - 1).bit_length() - 1
        run = draw(st.one_of(st.just(n - 1), st.just(n - 1), st.sampled_from([2**j for j in range(5, k + 1)])))
        v = rng.normal(0, 8, (rows, n))
        v[:, :run] = -np.inf
        return v
    if family == SUM_OVERFLOW_FAMILY:  # flat rows: n exponentials near 1; normal; one dominant entry
        pattern = draw(st.sampled_from(("flat", "flat", "normal", "dominant")))
        if pattern == "flat":
            return draw(st.sampled_from([0.0, 3.0])) + rng.normal(0, draw(st.sampled_from([0.0, 1e-3])), (rows, n))
        v = rng.normal(0, 1, (rows, n))
        if pattern == "dominant":
            v[:, draw(st.integers(0, n - 1))] = 14.0
        return v
    if family == "tile_masks":  # the leading runs (a fully masked first tile) twice as often as the others
        pattern = draw(st.sampled_from(MASK_PATTERNS[:1] + MASK_PATTERNS))
        return _mask(draw, pattern, rng.normal(0, 8, (rows, n)))
    if family == "long":
        pattern = draw(st.sampled_from(("normal",) + MASK_PATTERNS))
        v = rng.normal(0, 8, (rows, n))
        return v if pattern == "normal" else _mask(draw, pattern, v)
    pattern = draw(st.sampled_from(LENGTH_PATTERNS))
    lnu = float(-np.log(FORMATS[dtype].u))
    if pattern == "normal":
        return rng.normal(0, draw(st.sampled_from([1.0, 8.0, 30.0])), (rows, n))
    if pattern == "ascending":
        return np.sort(rng.normal(0, 10, (rows, n)), axis=1)
    if pattern == "dominant_late":  # the max arrives in the last tile, far above the rest
        v = rng.normal(0, 2, (rows, n))
        v[:, n - 1 - draw(st.integers(0, min(n - 1, 40)))] = 6 + 0.5 * lnu
        return v
    if pattern == "flat":  # every weight near 1/n: a shortcut through 1 - (sum of the others) loses log2(n) bits
        return draw(st.sampled_from([0.0, 5.0])) + rng.normal(0, draw(st.sampled_from([0.0, 1e-3, 0.1])), (rows, n))
    return draw(st.sampled_from([-1.0, 1.0])) * 10.0 ** draw(st.integers(2, 4)) + rng.normal(0, 3, (rows, n))


def _stagnating(draw, dtype: str, rng, rows: int, n: int) -> np.ndarray:
    """Rows whose sum of exp(x - max) stagnates when run one term at a time in a 2-byte format."""
    fmt = FORMATS[dtype]
    if draw(st.booleans()):  # flat: n terms near 1
        return draw(st.sampled_from([0.0, 3.0])) + rng.normal(0, draw(st.sampled_from([0.0, 1e-3, 0.05])), (rows, n))
    # one maximum (at a drawn place), the rest at weights just below half an ULP of 1 in float16 (2^-12) or, for
    # bfloat16 data, bfloat16 (2^-9): lost one by one, worth n 2^-12 together
    half_ulp = 2.0 ** -(min(fmt.p, 11) + 1)
    v = np.log(half_ulp * rng.uniform(0.6, 0.99, (rows, n)))
    v[:, draw(st.integers(0, n - 1))] = 0.0
    return v


def _powers_of_two_below(n: int) -> list[int]:
    return [2**k for k in range(5, 15) if 2**k < n] or [max(n - 1, 1)]


def _mask(draw, pattern: str, v: np.ndarray) -> np.ndarray:
    """``v`` (rows x n) with a -inf mask of ``pattern`` (:data:`MASK_PATTERNS`); one finite entry or more is
    left in every row, so the rows are computed, not special."""
    rows, n = v.shape
    if n < 2:
        return v
    pows = _powers_of_two_below(n)
    # all but a few entries (every tile but the last masked, whatever the tile size), the largest tile, any
    # tile, any length
    tail = st.integers(1, min(32, n - 1)).map(lambda k: n - k)
    run = st.one_of(tail, tail, st.just(pows[-1]), st.sampled_from(pows), st.integers(1, n - 1))
    if pattern == "masked_prefix":  # a fully masked first tile of any size up to the run
        v[:, : draw(run)] = -np.inf
    elif pattern == "masked_suffix":
        v[:, n - draw(run):] = -np.inf
    elif pattern == "masked_middle":
        a = draw(st.integers(1, n - 1))
        v[:, a: a + draw(st.integers(1, n - a))] = -np.inf  # entry 0 stays finite
    elif pattern == "causal":  # attention: query r of the block sees keys 0 .. q0 + r
        q0 = draw(st.integers(0, max(n - rows, 0)))
        keep = np.arange(n)[None, :] <= q0 + np.arange(rows)[:, None]
        v = np.where(keep, v, -np.inf)
    else:  # one_tile_live: tiles of a power-of-two size, all masked but one
        tile = draw(st.sampled_from(_powers_of_two_below(n)))
        last = (n - 1) // tile
        live = draw(st.one_of(st.just(last), st.integers(0, last)))
        keep = np.arange(n) // tile == live
        v = np.where(keep[None, :], v, -np.inf)
    return v


@lru_cache(maxsize=_STRATEGY_CACHE)
def _shape_and_axis(max_side: int, family: str, sig=None):
    if family in SEEDED_FAMILIES:
        rows = st.integers(1, 1 if family in ("long", SUM_OVERFLOW_FAMILY) else 3)
        if family in _CONTIGUOUS_FAMILIES:
            return st.tuples(rows, _row_length(family, sig)).map(lambda t: ((t[1],), 0) if t[0] == 1 else (t, 1))
        return st.tuples(rows, _row_length(family)).flatmap(
            lambda t: st.sampled_from([((t[1],), 0)] if t[0] == 1 else [((t[0], t[1]), 1), ((t[1], t[0]), 0)]))
    one_d = st.integers(1, max_side).map(lambda n: (n,))
    two_d = st.tuples(st.integers(1, 6), st.integers(1, max_side))
    three_d = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 8))
    return st.one_of(one_d, two_d, three_d).flatmap(
        lambda s: st.tuples(st.just(tuple(s)), st.integers(0, len(s) - 1)))


@st.composite
def _axis_input(draw, sig, family, max_side):
    dtype = sig.input.name
    shape, axis = draw(_shape_and_axis(max_side, family, sig))
    moved = list(shape)
    n = moved.pop(axis)
    if family == EMPTY_FAMILY:
        n = 0
    rows = int(np.prod(moved)) if moved else 1
    if family in SEEDED_FAMILIES:  # thousands of values are too many to draw one by one
        vals = _seeded_rows(draw, dtype, family, rows, n)
    elif rows and n:
        vals = np.stack([draw(_row_values(dtype, family, n)) for _ in range(rows)])
    else:
        vals = np.zeros((rows, n))
    x = np.moveaxis(vals.reshape(moved + [n]), -1, axis)
    x = _cast(x, dtype)
    if family not in _CONTIGUOUS_FAMILIES and draw(st.booleans()) and x.ndim >= 2:  # transposed storage
        x = np.ascontiguousarray(np.swapaxes(x, 0, -1)).swapaxes(0, -1)
    return x, axis


@st.composite
def _ce_input(draw, sig, family, max_side):
    dtype = sig.input.name
    if family == "target_underflow":
        return _underflowing_targets(draw, sig, max_side)
    if family in SEEDED_FAMILIES:
        n = draw(_row_length(family, sig))
        N = draw(st.integers(1, 1 if family in ("long", SUM_OVERFLOW_FAMILY) else 3))
        X = _cast(_seeded_rows(draw, dtype, family, N, n), dtype)
    else:
        n = draw(st.integers(1, max_side))
        N = draw(st.integers(1, 6))
        X = _cast(np.stack([draw(_row_values(dtype, family, n)) for _ in range(N)]), dtype)
    how = draw(st.sampled_from(["max", "min", "any"]))
    X64 = X.astype(np.float64)
    with np.errstate(invalid="ignore"):
        if how == "max":
            t = np.nanargmax(np.where(np.isnan(X64), -np.inf, X64), axis=1)
        elif how == "min":
            t = np.nanargmin(np.where(np.isnan(X64), np.inf, X64), axis=1)
        else:
            t = np.array(draw(st.lists(st.integers(0, n - 1), min_size=N, max_size=N)), dtype=np.int64)
    return X, t.astype(np.int64)


def _underflowing_targets(draw, sig, max_side):
    """Cross-entropy rows whose target's probability e^-d underflows in the output or the input format (d near
    -ln of its smallest normal or subnormal number), the loss d itself an ordinary number."""
    fmt = sig.input
    n = draw(st.integers(2, max_side))
    N = draw(st.integers(1, 4))
    edges = sorted({float(-np.log(f.tiny)) for f in (sig.output, sig.input)}
                   | {float(-np.log(f.smallest_subnormal)) for f in (sig.output, sig.input)})
    edges = [e for e in edges if e < fmt.max / 2] or [float(np.log(fmt.max)) / 2]
    rows, t = [], []
    for _ in range(N):
        top = draw(_num(-3, 3))
        rest = np.array(draw(st.lists(_num(-2, 0), min_size=n, max_size=n))) + top
        k = draw(st.integers(0, n - 1))
        rest[k] = top - (draw(st.sampled_from(edges)) + draw(_num(-3, 3)))
        rows.append(rest)
        t.append(k)
    return _cast(np.stack(rows), fmt.name), np.array(t, dtype=np.int64)


@st.composite
def _element_input(draw, dtype, family, max_side, with_targets, probability=False):
    shape = draw(st.one_of(st.integers(1, max_side).map(lambda n: (n,)),
                           st.tuples(st.integers(1, 4), st.integers(1, 8))))
    size = int(np.prod(shape))
    values = _probability_values if probability else _element_values
    x = _cast(draw(values(dtype, family, size)).reshape(shape), dtype)
    if not with_targets:
        return (x,)
    one = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), _num(0, 1))
    y = _cast(np.array(draw(st.lists(one, min_size=size, max_size=size))).reshape(shape), dtype)
    return x, y


def explicit(function: str, dtype, family: str) -> list[Example]:
    """The calls a family always makes, before its drawn ones (``hypothesis.example``): where a defect lives at a
    few exact shapes that draws would miss on some seeds.  ``block_plus_one``: one row of 2^k + 1 entries for
    each tile 2^k of :data:`BLOCK_EXPONENTS`, its first 2^k masked; a gradient's cotangent is normal.  Other
    families: none."""
    fn = get(function)
    primal = get(fn.primal) if fn.is_vjp else fn
    if family != "block_plus_one" or not primal.has_axis and not primal.class_targets:
        return []
    sig = signature_of(dtype, function)
    rng = np.random.default_rng(0)
    out = []
    for k in BLOCK_EXPONENTS:
        n = 2**k + 1
        x = rng.normal(0, 8, n)
        x[: n - 1] = -np.inf
        if primal.class_targets:  # the target at the one finite logit
            args, kwargs = (_cast(x[None, :], sig.input.name), np.array([n - 1], dtype=np.int64)), {}
        else:
            args, kwargs = (_cast(x, sig.input.name),), {"axis": 0}
        if fn.is_vjp:
            from .functions import prepare

            shape = prepare(primal, *args, **kwargs).primal_output_shape()
            args += (_cast(rng.normal(0, 1, shape), sig.cotangent.name),)
        out.append(Example(args, kwargs, family))
    return out


def inputs(function: str, dtype, *, family: str = "standard", max_side: int = 24):
    """A Hypothesis strategy of calls of ``function`` drawn from one input family, for your own property tests.

    Each drawn :class:`Example` holds the call's positional ``args`` (NumPy arrays: ``x``; a loss's logits and
    targets; a gradient's input, cotangent and, where it has them, targets), its ``kwargs`` (``axis=`` for the
    axis functions) and the ``family`` it came from::

        from hypothesis import given
        from stability.strategies import inputs

        @given(inputs("softmax", "float32", family="overflow"))
        def test_my_softmax_sums_to_one(ex):
            p = my_softmax(*ex.args, **ex.kwargs)
            assert np.allclose(p.sum(**ex.kwargs), 1, rtol=1e-5)

    Parameters
    ----------
    function : str
        A function of ``stability.functions`` (``stability list`` names them): softmax, sigmoid,
        cross_entropy_vjp, ...
    dtype : str
        A format (``float16``, ``bfloat16``, ``float32``, ``float64``, ``float8_e4m3fn``, ``float8_e5m2``) or a
        signature (``bfloat16:float32``), whose input format the data are drawn in (a gradient's cotangent in the
        cotangent's format).
    family : str, keyword-only
        One of :func:`families` ``(function, slow=True, optional=True)``: ``standard``, ``overflow``,
        ``masked``, ``dominant``, ``thresholds``, ``g_huge``, ... (docs/method/families.md says what
        each one draws and why).  A family that does not apply to the function is refused with the list of those
        that do.
    max_side : int, keyword-only
        The largest side of the drawn arrays for the families that draw small shapes (the long-row families
        have their own lengths).
    """
    fn = get(function)
    sig = signature_of(dtype, function)
    dtype = sig.input.name
    if family not in families(function, slow=True, optional=True):
        raise UsageError(f"family {family!r} does not apply to {function}: use one of "
                         f"{', '.join(families(function, slow=True, optional=True))}")
    return _inputs(fn.name, sig, family, max_side)


@lru_cache(maxsize=_STRATEGY_CACHE)
def _inputs(function: str, sig: Signature, family: str, max_side: int):
    fn = get(function)
    dtype = sig.input.name
    if fn.is_vjp:
        return _vjp_input(function, sig, family, max_side)
    if fn.has_axis:
        return _axis_input(sig, family, max_side).map(lambda t: Example((t[0],), {"axis": t[1]}, family))
    if fn.class_targets:
        return _ce_input(sig, family, max_side).map(lambda t: Example(t, {}, family))
    return _element_input(dtype, family, max_side, fn.probability_targets, fn.name == "logit").map(
        lambda t: Example(t, {}, family))
