"""The special-value policy, held as data: one table, read by the reference and by the verdict.

Each :class:`Case` says, for one function and one kind of input row (or element), what the suite expects: a
*primary* answer, which the reference returns, and answers *also accepted* from an implementation.  Rules are
named; :data:`RULES` turns a name into values for a row.  ``"computed"`` means the ordinary correctly rounded
reference applies (the row has no special value, or its -inf entries are simply absent from the sums).

Rows are classified in this order: empty, NaN, +inf, all -inf, (cross-entropy) target -inf, some -inf, one
element, finite.  Elementwise functions are classified per element.

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
        ("posinf", "+inf present", "nan", ("limit",), "limit: 1 at a single +inf, 0 elsewhere"),
        ("all_neginf", "every entry -inf", "nan", ("zeros",)),
        ("some_neginf", "some -inf, not all", "computed", (), "0 there; the rest as if they were absent"),
        ("empty", "empty axis", "empty", ()),
        ("single", "one element, finite", "computed", (), "exactly 1"),
    ],
    "log_softmax": [
        ("nan", "any NaN in the row", "nan", ()),
        ("posinf", "+inf present", "nan", ("limit",), "limit: 0 at a single +inf, -inf elsewhere"),
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

_ELEMENT_CASES = {
    "sigmoid": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "one", ()), ("neginf", "-inf", "zero", ())],
    "log_sigmoid": [("nan", "NaN", "nan", ()), ("posinf", "+inf", "zero", ()), ("neginf", "-inf", "neginf", ())],
    "binary_cross_entropy_with_logits": [
        ("nan", "NaN logit or target", "nan", ()),
        ("posinf", "logit +inf", "bce_limit", ("nan",), "0 when the target is 1, else +inf; NaN accepted "
         "(the textbook stable formula computes inf*0 there)"),
        ("neginf", "logit -inf", "bce_limit", ("nan",), "0 when the target is 0, else +inf; NaN accepted"),
    ],
}

POLICY: list[Case] = [
    Case(fn, c[0], c[1], c[2], tuple(c[3]), c[4] if len(c) > 4 else "")
    for table in (_AXIS_CASES, _ELEMENT_CASES)
    for fn, cases in table.items()
    for c in cases
]


def cases_for(function: str) -> dict[str, Case]:
    return {c.case: c for c in POLICY if c.function == function}


def classify_rows(X: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    """Case name for each row of a 2-D array (rows along the last axis), in the table's order."""
    R, n = X.shape
    out = np.full(R, "finite", dtype=object)
    if n == 0:
        out[:] = "empty"
        return out
    nan = np.isnan(X).any(axis=1)
    pos = np.isposinf(X).any(axis=1)
    neg = np.isneginf(X)
    all_neg = neg.all(axis=1)
    some_neg = neg.any(axis=1)
    out[(n == 1) & ~some_neg] = "single"
    out[some_neg] = "some_neginf"
    if targets is not None and R:
        out[np.isneginf(X[np.arange(R), targets])] = "target_neginf"
    out[all_neg] = "all_neginf"
    out[pos] = "posinf"
    out[nan] = "nan"
    return out


def classify_elements(x: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    out = np.full(x.shape, "finite", dtype=object)
    out[np.isneginf(x)] = "neginf"
    out[np.isposinf(x)] = "posinf"
    nan = np.isnan(x) if targets is None else np.isnan(x) | np.isnan(targets)
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
    raise KeyError(rule)


RULES = ("computed", "nan", "zeros", "neginf", "posinf", "one", "zero", "empty", "limit", "bce_limit")


def as_markdown() -> str:
    """The policy table in Markdown (the README and the report show it)."""
    lines = ["| function | input | expected | also accepted | note |", "|---|---|---|---|---|"]
    for c in POLICY:
        lines.append(f"| {c.function} | {c.when} | {c.primary} | {', '.join(c.also) or '-'} | {c.note or '-'} |")
    return "\n".join(lines)
