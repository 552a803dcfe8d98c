"""The special-value policy evaluated for every implementation: what each returns for NaN, +inf, masked (-inf)
rows, all -inf, empty axes, single elements, and whether the policy table accepts it.

One small input per case of :data:`stability.policy.POLICY`, held as data below; each is run through
:func:`stability.verify.run_call`, so the verdict here is exactly the verdict ``verify`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stability import policy
from stability.formats import format_of
from stability.verify import run_call

NAN, INF = float("nan"), float("inf")

# case -> (x, targets or None); rows for the axis functions, a few elements for the elementwise ones
_AXIS_INPUTS = {
    "nan": ([1.0, NAN, 2.0], None),
    "posinf": ([1.0, INF, 2.0], None),
    "all_neginf": ([-INF, -INF, -INF], None),
    "some_neginf": ([1.0, -INF, 2.0], None),
    "empty": ([], None),
    "single": ([3.0], None),
}
_CE_TARGETS = {"nan": 0, "posinf": 1, "all_neginf": 0, "target_neginf": 0, "some_neginf": 0, "single": 0}
_CE_INPUTS = dict(_AXIS_INPUTS, target_neginf=([-INF, 1.0, 2.0], None))
_ELEMENT_INPUTS = {"nan": ([NAN], None), "posinf": ([INF], None), "neginf": ([-INF], None)}
_BCE_INPUTS = {  # each logit with targets 0, 0.5 and 1
    "nan": ([NAN, 0.0, NAN], [0.5, NAN, 1.0]),
    "posinf": ([INF, INF, INF], [0.0, 0.5, 1.0]),
    "neginf": ([-INF, -INF, -INF], [0.0, 0.5, 1.0]),
}


def case_input(function: str, case: str, dtype: str):
    """``(args, kwargs)`` of the small call that exercises ``case`` of ``function`` in ``dtype``."""
    dt = format_of(dtype).dtype
    if function == "binary_cross_entropy_with_logits":
        x, t = _BCE_INPUTS[case]
        return (np.array(x, dtype=dt), np.array(t, dtype=dt)), {}
    if function == "cross_entropy":
        x, _ = _CE_INPUTS[case]
        return (np.array([x], dtype=dt), np.array([_CE_TARGETS[case]])), {}
    table = _ELEMENT_INPUTS if function in ("sigmoid", "log_sigmoid") else _AXIS_INPUTS
    x, _ = table[case]
    arr = np.array(x, dtype=dt)
    return ((arr,) if function in ("sigmoid", "log_sigmoid") else (arr.reshape(1, -1),)), {}


def _short(a) -> str:
    if a is None:
        return "-"
    vals = np.asarray(a, dtype=np.float64).ravel()
    return "[" + ", ".join(f"{v:.4g}" for v in vals) + "]"


@dataclass
class Cell:
    case: str
    input: str
    expected: str
    got: str
    ok: bool
    reason: str = ""

    @property
    def raised(self) -> bool:
        return self.reason.startswith("raised")


def evaluate(impl, dtype: str = "float32") -> list[Cell]:
    """One :class:`Cell` per policy case of ``impl``'s function."""
    cells = []
    for case in policy.cases_for(impl.function).values():
        args, kwargs = case_input(impl.function, case.case, dtype)
        out = run_call(impl, args, kwargs)
        d = out.details
        inp = _short(args[0]) + ("" if len(args) == 1 else f" t={_short(args[1])}")
        got = _short(d.get("got")) if not out.reason.startswith("raised") else out.reason.split(":")[0]
        cells.append(Cell(case.case, inp, _short(d.get("expected")), got, out.ok, out.reason))
    return cells
