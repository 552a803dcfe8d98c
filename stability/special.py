"""The special-value policy evaluated for every implementation: what each returns for NaN, +inf, masked (-inf)
rows, all -inf, empty axes, single elements, and whether the policy table accepts it.

One small input per case of :data:`stability.policy.POLICY`, held as data below; each is run through
:func:`stability.verify.run_call`, so the verdict here is exactly the verdict ``verify`` gives.
"""

from __future__ import annotations

import numpy as np

from stability import policy
from stability.formats import format_of
from stability.functions import get, prepare
from stability.results import Cell
from stability.verify import run_call

NAN, INF = float("nan"), float("inf")

# case -> x: one row for the functions of rows, a few elements for the elementwise ones; the cotangent of a
# gradient is ones (an infinite one in ``g_nonfinite``); BCE's logits go with targets 0, 0.5 and 1
_ROW_INPUTS = {
    "nan": [1.0, NAN, 2.0], "posinf": [1.0, INF, 2.0], "all_neginf": [-INF, -INF, -INF],
    "some_neginf": [1.0, -INF, 2.0], "empty": [], "single": [3.0], "target_neginf": [-INF, 1.0, 2.0],
    "g_nonfinite": [1.0, 0.0, 2.0], "ties": [3.0, 1.0, 3.0], "finite": [3.0, 1.0, 2.0],
}
_CE_TARGETS = {"posinf": 1}  # the target is entry 0 unless said here
_ELEMENT_INPUTS = {"nan": [NAN], "posinf": [INF], "neginf": [-INF], "g_nonfinite": [0.5], "domain": [1.5, -0.5],
                   "boundary": [0.0, 1.0]}
_BCE_INPUTS = {  # each logit with targets 0, 0.5 and 1
    "nan": ([NAN, 0.0, NAN], [0.5, NAN, 1.0]),
    "posinf": ([INF, INF, INF], [0.0, 0.5, 1.0]),
    "neginf": ([-INF, -INF, -INF], [0.0, 0.5, 1.0]),
    "g_nonfinite": ([1.0, 1.0, 1.0], [0.0, 0.5, 1.0]),
}


def case_input(function: str, case: str, dtype: str):
    """``(args, kwargs)`` of the small call that exercises ``case`` of ``function`` in ``dtype``."""
    fn = get(function)
    dt = format_of(dtype).dtype
    if fn.probability_targets:
        x, t = _BCE_INPUTS[case]
        args = (np.array(x, dtype=dt), np.array(t, dtype=dt))
    elif fn.elementwise:
        args = (np.array(_ELEMENT_INPUTS[case], dtype=dt),)
    elif fn.class_targets:
        args = (np.array([_ROW_INPUTS[case]], dtype=dt), np.array([_CE_TARGETS.get(case, 0)]))
    else:
        args = (np.array(_ROW_INPUTS[case], dtype=dt).reshape(1, -1),)
    if fn.is_vjp:
        g = np.ones(prepare(fn.primal, *args).primal_output_shape())
        if case == "g_nonfinite":
            g.reshape(-1)[-1] = INF
        args += (g.astype(dt),)
    return args, {}


def _short(a) -> str:
    if a is None:
        return "-"
    vals = np.asarray(a, dtype=np.float64).ravel()
    return "[" + ", ".join(f"{v:.4g}" for v in vals) + "]"


def evaluate(impl, dtype: str = "float32") -> list[Cell]:
    """One :class:`Cell` per policy case of ``impl``'s function."""
    cells = []
    for case in policy.cases_for(impl.function).values():
        args, kwargs = case_input(impl.function, case.case, dtype)
        out = run_call(impl, args, kwargs)
        d = out.details
        names = get(impl.function).arg_names[1:]
        inp = _short(args[0]) + "".join(f" {n}={_short(a)}" for n, a in zip(names, args[1:]))
        got = _short(d.get("got")) if not out.reason.startswith("raised") else out.reason.split(":")[0]
        cells.append(Cell(case.case, inp, _short(d.get("expected")), got, out.ok, out.reason, _answer(case, out)))
    return cells


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def _answer(case, out) -> str:
    """Which of the policy's accepted answers an accepted output is: the primary rule's name or an also-accepted
    one's (rows are judged whole, so never some of each); "" where the case has one answer or the output failed."""
    ref = out.reference
    if not case.also or not out.ok or ref is None or out.got is None:
        return ""
    got = ref.rows(np.asarray(out.got))
    if _same(got, ref.rows(ref.value)):
        return case.primary
    for r, alts in ref.alternatives.items():
        for name, alt in zip(ref.alternative_rules.get(r, case.also), alts):
            if any(_same(row, alt) for row in got):
                return name
    return "nonfinite" if not np.isfinite(got).any() else ""
