"""The special-value policy, held as data: one table, read by the reference and by the verdict.

Each :class:`Case` says, for one function and one kind of input row (or element), what the suite expects: a
*primary* answer, which the reference returns, and answers *also accepted* from an implementation.  Rules are
named; :data:`RULES` turns a name into values for a row.  ``"computed"`` means the ordinary correctly rounded
reference applies (the row has no special value, or its -inf entries are simply absent from the sums).

Rows are classified in this order: empty, NaN (in x, or in the cotangent g of a VJP), +inf, all -inf,
(cross-entropy) target -inf, an infinite cotangent, some -inf, one element, finite.  Elementwise functions are
classified per element: NaN, then (logit) outside the domain [0, 1] and its ends 0 and 1, then +-inf, then an
infinite cotangent.

A row with also-accepted answers is judged as a whole (``stability.metrics.judge``): it is the primary answer, or
one also-accepted answer, never some positions of each.

Rows holding +inf.  The axis functions and their gradients see a row only through the differences
``x_j - max(x)``.  With a +inf in the row the maximum is +inf: at every finite entry the difference is -inf,
and the output there has the value its limit gives whatever the infinite entries do (softmax 0, log_softmax
-inf, a gradient's weight 0); at a +inf entry the difference is ``inf - inf``, which has no value, and neither
has the output there.  Three answers follow, each accepted for the whole row, forward and gradient alike:

* ``nan``: no answer (the primary; what ``exp(x - max)`` gives once the NaN of ``inf - inf`` reaches a sum);
* ``limit`` (``vjp_limit``, ``onehot_g``, ``zeros``): the limit as the one +inf entry grows, which exists only
  for a single +inf (softmax ``[0, 1, 0]`` at ``[1, inf, 2]``);
* ``pointwise``: the value at every finite entry, NaN at every +inf entry -- what an autodiff library computes
  from ``exp(x - lse)`` (``[0, nan, 0]`` for softmax and for logsumexp's gradient at ``[1, inf, 2]``).

A mix of these (``[0, 1, nan]``, ``[nan, nan, 0]``, a limit at one +inf and NaN at another) or any other number
at a finite entry fails.  The forward ``[0, nan, 0]`` of softmax is accepted by the same argument as the
gradient's, although the middle limit exists (1): the entry's own difference has no value, and a rule that
accepted it for ``exp(x - lse)`` in one function and not in the other would judge one formula two ways.
With an infinite cotangent in the row the pointwise answer is not defined (``0 * inf`` at the finite entries).

Gradients: a NaN anywhere in a row's x or g gives a NaN row.  An infinite cotangent (a diverged run) is answered
by any non-finite gradient (``nonfinite``: NaN primary, +-inf accepted): a finite number would hide it.  At
masked (-inf) entries the gradient of softmax, logsumexp and cross-entropy is exactly 0 and that of log_softmax
is ``g_i`` itself (``d log_softmax_j / d x_i = delta_ij - s_i`` with ``s_i = 0``).  ``max_vjp`` puts the cotangent
at the first maximum (the first NaN when there is one, as argmax); where several entries tie at the maximum the
even split ``g / c`` over the c tied entries is accepted too (``torch.amax`` does that), judged on the whole row.

Formats without infinities (``float8_e4m3fn``, whose largest number is 448): every answer above, computed or
given by the table, is rounded to the output format, and an answer beyond its range -- a finite overflow, or
+-inf (a masked log_softmax entry, the log-sum-exp of a +inf row) -- is NaN there, as ``ml_dtypes``' cast and
OCP's non-saturating conversion give it.  The saturated +-448 of the answer's sign is accepted too, per
position: PyTorch 2.13's cast to ``float8_e4m3fn`` saturates (1000 and +inf both become 448), as OCP's satfinite
conversion does.  A wrong sign, or any other number, fails.  An e4m3fn *input* cannot be +-inf (its casts make
NaN), so the families made of masks and +inf do not apply to it (``stability.strategies.INFINITY_FAMILIES``).
``float8_e5m2`` is IEEE-like: it overflows to +-inf.

Bad input (out-of-range targets, shape mismatch) is not in this table: it raises (``stability.functions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Case:
    function: str
    case: str
    when: str
    primary: str
    also: tuple[str, ...] = field(default=())
    note: str = ""


_AXIS_CASES = {
    "softmax": [
        ("nan", "any NaN in the row", "nan", ()),
        ("posinf", "+inf present", "nan", ("limit", "pointwise"),
         "limit: 1 at a single +inf, 0 elsewhere; pointwise: 0 at every finite entry, NaN at every +inf"),
        ("all_neginf", "every entry -inf", "nan", ("zeros",)),
        ("some_neginf", "some -inf, not all", "computed", (), "0 there; the rest as if they were absent"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "computed", (), "exactly 1"),
    ],
    "log_softmax": [
        ("nan", "any NaN in the row", "nan", ()),
        ("posinf", "+inf present", "nan", ("limit", "pointwise"),
         "limit: 0 at a single +inf, -inf elsewhere; pointwise: -inf at every finite entry, NaN at every +inf"),
        ("all_neginf", "every entry -inf", "nan", ("neginf",)),
        ("some_neginf", "some -inf, not all", "computed", (), "-inf there; the rest as if absent"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "computed", (), "exactly 0"),
    ],
    "logsumexp": [
        ("nan", "any NaN in the row", "nan", ()),
        ("posinf", "+inf present", "posinf", ()),
        ("all_neginf", "every entry -inf", "neginf", ()),
        ("some_neginf", "some -inf, not all", "computed", (), "as if they were absent"),
        ("empty", "empty axis", "neginf", ()),
        ("single", "one element, finite", "computed", (), "exactly x"),
    ],
    "cross_entropy": [
        ("nan", "any NaN in the row", "nan", ()),
        ("posinf", "+inf present", "nan", ("limit",), "limit: 0 if the target is the single +inf, else +inf"),
        ("all_neginf", "every logit -inf", "nan", ("posinf",)),
        ("target_neginf", "target logit -inf, some logit finite", "posinf", ()),
        ("some_neginf", "some -inf (not the target)", "computed", (), "as if they were absent"),
        ("single", "one class", "computed", (), "exactly 0"),
    ],
}

_VJP_CASES = {
    "softmax_vjp": [
        ("nan", "NaN in x or g", "nan", ()),
        ("posinf", "+inf present", "nan", ("zeros", "pointwise"),
         "zeros: the limit at a single +inf; pointwise: 0 at every finite entry, NaN at every +inf"),
        ("all_neginf", "every entry -inf", "nan", ("zeros",)),
        ("g_nonfinite", "an infinite cotangent", "nan", ("nonfinite",)),
        ("some_neginf", "some -inf, not all", "computed", (), "exactly 0 there"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "zeros", (), "exactly 0"),
    ],
    "log_softmax_vjp": [
        ("nan", "NaN in x or g", "nan", ()),
        ("posinf", "+inf present", "nan", ("vjp_limit", "pointwise"),
         "limit at a single +inf k: g_i off k, -sum_{j!=k} g_j at k; pointwise: g_i at every finite entry, NaN "
         "at every +inf"),
        ("all_neginf", "every entry -inf", "nan", ()),
        ("g_nonfinite", "an infinite cotangent", "nan", ("nonfinite",)),
        ("some_neginf", "some -inf, not all", "computed", (), "g_i there (its weight is 0)"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "zeros", (), "exactly 0"),
    ],
    "logsumexp_vjp": [
        ("nan", "NaN in x or g", "nan", ()),
        ("posinf", "+inf present", "nan", ("onehot_g", "split_g", "pointwise"),
         "limit: g at a single +inf, 0 elsewhere; pointwise: 0 at every finite entry, NaN at every +inf"),
        ("all_neginf", "every entry -inf", "nan", ("zeros",)),
        ("g_nonfinite", "an infinite cotangent", "nan", ("nonfinite",)),
        ("some_neginf", "some -inf, not all", "computed", (), "exactly 0 there"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "onehot_g", (), "exactly g"),
    ],
    "cross_entropy_vjp": [
        ("nan", "NaN in the logits or g", "nan", ()),
        ("posinf", "+inf present", "nan", ("vjp_limit", "pointwise"),
         "limit at a single +inf k: g at k, -g at the target; pointwise: -g at a finite target, 0 at the other "
         "finite entries, NaN at every +inf"),
        ("all_neginf", "every logit -inf", "nan", ()),
        ("target_neginf", "target logit -inf, some logit finite", "computed", ("nan",),
         "the limit: -g at the target, g s_j elsewhere; NaN accepted (the loss is +inf)"),
        ("g_nonfinite", "an infinite cotangent", "nan", ("nonfinite",)),
        ("some_neginf", "some -inf (not the target)", "computed", (), "exactly 0 there"),
        ("single", "one class", "zeros", (), "exactly 0"),
    ],
    "max_vjp": [
        ("nan", "NaN in x or g", "onehot_g", ("nan",), "g at the first NaN (the argmax), or a NaN row"),
        ("ties", "several entries equal the maximum", "onehot_g", ("split_g",),
         "g at the first maximum, or g / c at each of the c maxima (whole row)"),
        ("empty", "empty axis", "empty", ()),
        ("finite", "one maximum (+-inf included)", "onehot_g", (), "g at the maximum, exactly"),
    ],
    "max": [
        ("nan", "NaN in the row", "nan", ()),
        ("empty", "empty axis", "neginf", (), "the identity of max"),
        ("finite", "otherwise (+-inf included)", "max", (), "the largest entry, exactly"),
    ],
    "argmax": [
        ("nan", "NaN in the row", "argmax", (), "the index of the first NaN, as NumPy and PyTorch"),
        ("finite", "otherwise (+-inf included)", "argmax", (), "the index of the first maximum, exactly"),
    ],
}

_ELEMENT_CASES = {
    "sigmoid": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "one", ()), ("neginf", "-inf", "zero", ())],
    "log_sigmoid": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "zero", ()), ("neginf", "-inf", "neginf", ())],
    "binary_cross_entropy_with_logits": [
        ("nan", "NaN logit or target", "nan", ()),
        ("posinf", "logit +inf", "bce_limit", ("nan",), "0 when the target is 1, else +inf; NaN accepted "
         "(the textbook stable formula computes inf*0 there)"),
        ("neginf", "logit -inf", "bce_limit", ("nan",), "0 when the target is 0, else +inf; NaN accepted"),
    ],
    "softplus": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "posinf", ()), ("neginf", "-inf", "zero", ())],
    "logit": [("nan", "NaN", "nan", ()), ("domain", "p < 0 or p > 1 (+-inf too)", "nan", ()),
              ("boundary", "p = 0 or p = 1", "logit_end", (), "-inf at 0, +inf at 1")],
    "logit_of_sigmoid": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "posinf", ()),
                         ("neginf", "-inf", "neginf", ())],
    "sigmoid_vjp": [("nan", "NaN in x or g", "nan", ()),
                    ("posinf", "x = +inf", "limit", (), "g * 0: 0 (NaN for an infinite g)"),
                    ("neginf", "x = -inf", "limit", (), "g * 0: 0 (NaN for an infinite g)"),
                    ("g_nonfinite", "an infinite g, finite x", "limit", ("nan",), "+-inf; NaN accepted")],
    "log_sigmoid_vjp": [("nan", "NaN in x or g", "nan", ()),
                        ("posinf", "x = +inf", "limit", (), "g * 0: 0 (NaN for an infinite g)"),
                        ("neginf", "x = -inf", "limit", (), "g * 1: g"),
                        ("g_nonfinite", "an infinite g, finite x", "limit", ("nan",), "+-inf; NaN accepted")],
    "softplus_vjp": [("nan", "NaN in x or g", "nan", ()),
                     ("posinf", "x = +inf", "limit", (), "g * 1: g"),
                     ("neginf", "x = -inf", "limit", (), "g * 0: 0 (NaN for an infinite g)"),
                     ("g_nonfinite", "an infinite g, finite x", "limit", ("nan",), "+-inf; NaN accepted")],
    "logit_vjp": [("nan", "NaN in p or g", "nan", ()), ("domain", "p < 0 or p > 1 (+-inf too)", "nan", ()),
                  ("boundary", "p = 0 or p = 1", "limit", (), "g / 0: +-inf (NaN for g = 0)"),
                  ("g_nonfinite", "an infinite g, p in (0, 1)", "limit", ("nan",), "+-inf; NaN accepted")],
    "binary_cross_entropy_with_logits_vjp": [
        ("nan", "NaN in the logit, target or g", "nan", ()),
        ("posinf", "logit +inf", "limit", ("nan",), "g (1 - y), correctly rounded; NaN accepted"),
        ("neginf", "logit -inf", "limit", ("nan",), "-g y, correctly rounded; NaN accepted"),
        ("g_nonfinite", "an infinite g, finite logit", "limit", ("nan",), "+-inf (NaN where sigma(x) = y); "
         "NaN accepted")],
}

POLICY: list[Case] = [
    Case(fn, c[0], c[1], c[2], tuple(c[3]), c[4] if len(c) > 4 else "")
    for table in (_AXIS_CASES, _VJP_CASES, _ELEMENT_CASES)
    for fn, cases in table.items()
    for c in cases
]


def cases_for(function: str) -> dict[str, Case]:
    return {c.case: c for c in POLICY if c.function == function}


def classify_rows(X: np.ndarray, targets: np.ndarray | None = None, G: np.ndarray | None = None) -> np.ndarray:
    """Case name for each row of a 2-D array (rows along the last axis), in the table's order; ``G``: the
    cotangent of a VJP, (R, n) or (R,)."""
    R, n = X.shape
    out = _cases(R)
    if n == 0:
        out[:] = "empty"
        return out
    nan = np.isnan(X).any(axis=1)
    if G is not None:
        Gr = G.reshape(R, -1)
        nan = nan | np.isnan(Gr).any(axis=1)
        out[np.isinf(Gr).any(axis=1)] = "g_nonfinite"
    pos = np.isposinf(X).any(axis=1)
    neg = np.isneginf(X)
    all_neg = neg.all(axis=1)
    some_neg = neg.any(axis=1)
    plain = out == "finite"
    out[(n == 1) & ~some_neg & plain] = "single"
    out[some_neg & plain] = "some_neginf"
    if targets is not None and R:
        out[np.isneginf(X[np.arange(R), targets])] = "target_neginf"
    out[all_neg] = "all_neginf"
    out[pos] = "posinf"
    out[nan] = "nan"
    return out


def classify_max_rows(X: np.ndarray, G: np.ndarray | None = None) -> np.ndarray:
    """Cases of max, argmax and max_vjp rows: empty, NaN (in x or g), ties at the maximum, finite."""
    R, n = X.shape
    out = _cases(R)
    if n == 0:
        out[:] = "empty"
        return out
    with np.errstate(invalid="ignore"):
        ties = (X == X.max(axis=1, keepdims=True)).sum(axis=1) > 1
    out[ties] = "ties"
    nan = np.isnan(X).any(axis=1)
    if G is not None:
        nan = nan | np.isnan(G.reshape(R))
    out[nan] = "nan"
    return out


def _cases(shape) -> np.ndarray:
    """An object array of ``shape`` holding "finite": filled, not ``np.full`` (which converts the string once per
    entry, 70 ms a million; a float32 sweep classifies 2^32)."""
    out = np.empty(shape, dtype=object)
    out.fill("finite")
    return out


def plain_elements(x: np.ndarray, targets: np.ndarray | None = None, g: np.ndarray | None = None, *,
                   unit_domain: bool = False) -> np.ndarray:
    """Where an element is certainly of the "finite" case of :func:`classify_elements`: every argument finite and,
    for a probability, inside (0, 1).  A numeric test, ten times faster than comparing case strings; an element
    it leaves out may still be "finite" (an infinite BCE target is), so where it is not true everywhere, the
    cases decide."""
    with np.errstate(invalid="ignore"):
        plain = (x > 0) & (x < 1) if unit_domain else np.isfinite(x)
    for a in (targets, g):
        if a is not None:
            plain &= np.isfinite(a)
    return plain


def classify_elements(x: np.ndarray, targets: np.ndarray | None = None, g: np.ndarray | None = None, *,
                      unit_domain: bool = False) -> np.ndarray:
    """Case of each element; ``unit_domain``: the input is a probability (logit), whose domain is [0, 1]."""
    out = _cases(x.shape)
    if g is not None:
        out[np.isinf(g)] = "g_nonfinite"
    if unit_domain:
        out[(x == 0) | (x == 1)] = "boundary"
        out[(x < 0) | (x > 1)] = "domain"
    else:
        out[np.isneginf(x)] = "neginf"
        out[np.isposinf(x)] = "posinf"
    nan = np.isnan(x) if targets is None else np.isnan(x) | np.isnan(targets)
    if g is not None:
        nan = nan | np.isnan(g)
    out[nan] = "nan"
    return out


def _limit(function, row, target):
    pos = np.isposinf(row)
    if function == "cross_entropy":
        if not pos[target]:
            return np.array(np.inf)
        return np.array(0.0) if pos.sum() == 1 else None
    if pos.sum() != 1:
        return None  # no limit with several +inf
    if function == "softmax":
        return np.where(pos, 1.0, 0.0)
    return np.where(pos, 0.0, -np.inf)  # log_softmax


def rule_values(rule: str, function: str, row, target=None, out_len=None):
    """Values of a named rule for one row (or element); None when the rule gives no answer for this row."""
    n = np.shape(row)[-1] if np.ndim(row) else 1
    size = n if out_len is None else out_len
    const = {"nan": np.nan, "zeros": 0.0, "neginf": -np.inf, "posinf": np.inf, "one": 1.0, "zero": 0.0}
    if rule in const:
        return np.full(size, const[rule]) if np.ndim(row) else np.array(const[rule])
    if rule == "empty":
        return np.zeros(0)
    if rule == "limit":
        return _limit(function, np.asarray(row), target)
    if rule == "bce_limit":
        p = 1.0 if row > 0 else 0.0
        return np.array(0.0 if target == p else np.inf)
    if rule == "logit_end":
        return np.array(-np.inf if row == 0 else np.inf)
    if rule == "pointwise":
        return pointwise(function, row, None, target)
    raise KeyError(rule)


def row_rule(rule: str, row, g):
    """Values of the rules that need a VJP row's cotangent ``g`` (a scalar for logsumexp and max):
    ``onehot_g`` (g at the argmax, NaN-aware), ``split_g`` (g / c at each of the c maxima), ``nonfinite`` (the
    +-inf rows, accepted beside NaN); None when the rule has no answer for this row."""
    row = np.asarray(row, dtype=np.float64)
    n = row.size
    if rule == "onehot_g":
        out = np.zeros(n)
        out[int(np.argmax(row))] = g
        return out
    if rule == "split_g":
        with np.errstate(invalid="ignore"):
            top = row == np.max(row)
        c = int(top.sum())
        return None if c < 2 else np.where(top, g / c, 0.0)  # g / c: see round_split in the reference
    if rule == "nonfinite":
        return [np.full(n, np.inf), np.full(n, -np.inf)]
    return None


#: the value at a finite entry of a row holding +inf (its weight is 0), by function: see the module docstring
_POINTWISE = {"softmax": lambda g, t, n: np.zeros(n), "log_softmax": lambda g, t, n: np.full(n, -np.inf),
              "softmax_vjp": lambda g, t, n: np.zeros(n), "logsumexp_vjp": lambda g, t, n: np.zeros(n),
              "log_softmax_vjp": lambda g, t, n: np.asarray(g, dtype=np.float64).copy(),
              "cross_entropy_vjp": lambda g, t, n: np.where(np.arange(n) == t, -float(g), 0.0)}


def pointwise(function: str, row, g=None, target=None):
    """The pointwise answer at a row holding +inf: each finite entry's value (its weight is 0 whatever the
    infinite entries do), NaN at each +inf entry (``inf - inf`` has no value); None where it is not defined (no
    +inf, a non-finite cotangent, a function without one)."""
    row = np.asarray(row, dtype=np.float64)
    pos = np.isposinf(row)
    if function not in _POINTWISE or not pos.any():
        return None
    if g is not None and not np.isfinite(np.asarray(g, dtype=np.float64)).all():
        return None
    out = _POINTWISE[function](g, target, row.size)
    out[pos] = np.nan
    return out


def vjp_limit(function: str, row, g, target=None):
    """The gradient's limit at a row with a single +inf (its weight 1, every other 0), exact in mpmath; None
    with several +inf.  log_softmax: ``g_i`` off k and ``-sum_{j != k} g_j`` at k; cross-entropy: ``g`` at k and
    ``-g`` at the target (0 when they coincide)."""
    import mpmath

    row = np.asarray(row, dtype=np.float64)
    pos = np.isposinf(row)
    if pos.sum() != 1:
        return None
    k = int(np.argmax(pos))
    if function == "log_softmax_vjp":
        out = np.asarray(g, dtype=object).copy()
        with mpmath.workprec(4000):  # exact for any float64 terms
            out[k] = -mpmath.fsum(mpmath.mpf(v) for j, v in enumerate(g) if j != k)
        return out
    if function == "cross_entropy_vjp":
        out = np.zeros(row.size)
        out[k] += g
        out[target] -= g
        return out
    return None


#: rules a row of a VJP can name beside the constants of :func:`rule_values` (``max`` and ``argmax`` name the
#: exact answers that ``reference._max_reference`` computes for the whole array; no rule function evaluates them)
G_RULES = ("onehot_g", "split_g", "nonfinite", "vjp_limit", "pointwise")
RULES = ("computed", "nan", "zeros", "neginf", "posinf", "one", "zero", "empty", "limit", "bce_limit",
         "logit_end", "max", "argmax", "onehot_g", "split_g", "nonfinite", "vjp_limit", "pointwise")


def as_markdown() -> str:
    """The policy table in Markdown (the README and the report show it)."""
    lines = ["| function | input | expected | also accepted | note |", "|---|---|---|---|---|"]
    for c in POLICY:
        lines.append(f"| {c.function} | {c.when} | {c.primary} | {', '.join(c.also) or '-'} | {c.note or '-'} |")
    return "\n".join(lines)
