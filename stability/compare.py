"""What changed between two stored runs (``stability.store``): the command a user puts in CI around a library
upgrade or a kernel change.

* **verdicts** that flipped: a check (implementation x function x dtype) that met its declared expectation and no
  longer does is a regression; the reverse an improvement; families that newly fail are listed;
* **stability ratios** that grew past a threshold: by ``factor`` (default 2) and to at least ``floor`` (default
  0.25: below that a ratio is far inside the allowance, and doubling it is noise of the examples drawn);
* **drift**: a peer checked on another version of its library than its declaration was measured on, whose
  undeclared failures (or their absence) changed between the runs, with the versions;
* **special-value answers** that changed: a case the policy accepted and no longer does is a regression; an accepted
  answer exchanged for another accepted one (say ``onehot_g`` for ``split_g``) is reported, not a regression;
* **timings** that moved beyond their measured noise: each case's repeats give a range (min..max) around the median;
  a case is slower when its whole range lies above the other run's range and its median grew by more than
  ``time_tolerance`` (default 5%), faster the other way round.  Timings of runs made on different machines are not
  compared (the report says so), only accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .machine import same_machine
from .tables import _text


@dataclass
class Change:
    kind: str  # verdict, families, drift, ratio, special, timing, new (only in the newer run), missing (only older)
    what: str  # the check or case, in words
    before: str
    after: str
    regression: bool = False

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Comparison:
    a: object  # the older run (stability.store.Run)
    b: object
    changes: list
    timings_compared: bool
    note: str = ""

    @property
    def regressions(self) -> list:
        return [c for c in self.changes if c.regression]

    def as_dict(self) -> dict:
        return {"a": self.a.name, "b": self.b.name, "timings_compared": self.timings_compared, "note": self.note,
                "regressions": len(self.regressions), "changes": [c.as_dict() for c in self.changes]}


def _f(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _fmt(v) -> str:
    v = _f(v)
    return "nan" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.3g}")


def _families(cell) -> set:
    """The failed families of a check ("" reads back from CSV as NaN; "nan" is a family's name)."""
    return set() if isinstance(cell, float) and math.isnan(cell) else set(str(cell).split())


def _text_of(row, column: str) -> str:
    """A text cell of a checks row; "" when the column is missing (runs stored before it) or empty (NaN)."""
    v = row.get(column, "") if hasattr(row, "get") else ""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _checks(a, b, factor: float, floor: float) -> list:
    out = []
    ta, tb = a.table("checks"), b.table("checks")
    if ta is None or tb is None:
        return out
    key = ["implementation", "function", "dtype"]
    ia, ib = ta.set_index(key), tb.set_index(key)
    for k in ia.index.union(ib.index):
        what = f"{k[0]} ({k[1]}, {k[2]})"
        if k not in ib.index:
            out.append(Change("missing", what, "checked", "not in the newer run"))
            continue
        if k not in ia.index:
            out.append(Change("new", what, "not in the older run", "checked"))
            continue
        ra, rb = ia.loc[k], ib.loc[k]
        ma, mb = bool(ra["meets_expectation"]), bool(rb["meets_expectation"])
        if ma != mb or ra["verdict"] != rb["verdict"]:
            out.append(Change("verdict", what, f"{ra['verdict']}{'' if ma else ' (short of its expectation)'}",
                              f"{rb['verdict']}{'' if mb else ' (short of its expectation)'}",
                              regression=ma and not mb))
        fa, fb = _families(ra["failed_families"]), _families(rb["failed_families"])
        if fb - fa:
            out.append(Change("families", what, " ".join(sorted(fa)) or "-", "newly failing: "
                              + " ".join(sorted(fb - fa)), regression=not mb))
        da, db = _text_of(ra, "drift"), _text_of(rb, "drift")
        if da != db:  # a peer whose library moved: what it does now that its measurement did not
            va, vb = _text_of(ra, "version"), _text_of(rb, "version")
            out.append(Change("drift", what, (da or "as measured") + (f" [{va}]" if va else ""),
                              (db or "as measured") + (f" [{vb}]" if vb else "")))
        xa, xb = _f(ra["max_ratio"]), _f(rb["max_ratio"])
        grew = (xb > floor and (xb > factor * xa or (math.isinf(xb) and not math.isinf(xa)))) if not \
            math.isnan(xb) else False
        if grew:
            out.append(Change("ratio", what, _fmt(xa), _fmt(xb), regression=True))
    return out


def _special(a, b) -> list:
    out = []
    sa, sb = a.table("special"), b.table("special")
    if sa is None or sb is None:
        return out
    key = ["implementation", "case"]
    cols = ["got", "answer", "reason"]
    ia = {tuple(r[k] for k in key): r for r in _text(sa, cols).to_dict("records")}
    for r in _text(sb, cols).to_dict("records"):
        k = tuple(r[x] for x in key)
        old = ia.get(k)
        if old is None:
            continue
        what = f"{k[0]} at {k[1]}"
        if bool(old["ok"]) and not bool(r["ok"]):
            out.append(Change("special", what, f"{old['got']} (accepted)", f"{r['got']} ({r['reason']})",
                              regression=True))
        elif not bool(old["ok"]) and bool(r["ok"]):
            out.append(Change("special", what, f"{old['got']} ({old['reason']})", f"{r['got']} (accepted)"))
        elif str(old["got"]) != str(r["got"]) or str(old["answer"]) != str(r["answer"]):
            out.append(Change("special", what, f"{old['got']} {old['answer']}".strip(),
                              f"{r['got']} {r['answer']}".strip()))
    return out


_CASE = ["implementation", "function", "shape", "dtype", "alloc"]


def _timings(a, b, tolerance: float) -> list:
    out = []
    ta, tb = a.table("timings"), b.table("timings")
    if ta is None or tb is None:
        return out
    cols = [c for c in _CASE + ["threads"] if c in ta.columns and c in tb.columns]
    ia = {tuple(r[c] for c in cols): r for r in ta.to_dict("records")}
    for r in tb.to_dict("records"):
        k = tuple(r[c] for c in cols)
        old = ia.get(k)
        if old is None:
            continue
        what = f"{k[0]} ({k[1]}, {k[2]}, {k[3]}{', out=' if k[4] == 'out=' else ''})"
        ma, mb = _f(old["median_s"]), _f(r["median_s"])
        span = (f"{ma * 1e3:.3g} ms [{_f(old['min_s']) * 1e3:.3g}..{_f(old['max_s']) * 1e3:.3g}]",
                f"{mb * 1e3:.3g} ms [{_f(r['min_s']) * 1e3:.3g}..{_f(r['max_s']) * 1e3:.3g}]")
        if _f(r["min_s"]) > _f(old["max_s"]) and mb > ma * (1 + tolerance):
            out.append(Change("timing", what + f": {mb / ma:.2f}x slower", *span, regression=True))
        elif _f(r["max_s"]) < _f(old["min_s"]) and ma > mb * (1 + tolerance):
            out.append(Change("timing", what + f": {ma / mb:.2f}x faster", *span))
    return out


def compare(a, b, *, factor: float = 2.0, floor: float = 0.25, time_tolerance: float = 0.05) -> Comparison:
    """What changed from run ``a`` to run ``b`` (see the module docstring)."""
    changes = _checks(a, b, factor, floor) + _special(a, b)
    ea, eb = a.meta.get("environment", {}), b.meta.get("environment", {})
    timed = same_machine(ea, eb)
    note = "" if timed else (f"the runs were made on different machines ({ea.get('host')}: {ea.get('cpu')}, "
                             f"{eb.get('host')}: {eb.get('cpu')}): accuracy compared, timings not")
    if timed:
        changes += _timings(a, b, time_tolerance)
    return Comparison(a, b, changes, timed, note)


def _check_keys(run) -> set:
    t = run.table("checks")
    return set() if t is None else set(map(tuple, t[["implementation", "function", "dtype"]].astype(str).values))


def measured(run) -> str:
    """What a run measured, in words: its kind, label and number of checks (to say why two are not compared)."""
    n = len(_check_keys(run))
    return f"{run.name}: a {run.kind} run of {run.meta.get('label') or '-'}, {n} check{'' if n == 1 else 's'}"


def related(a, b) -> bool:
    """Whether runs ``a`` and ``b`` can be compared: the same kind of run measuring the same thing, or at least
    one check (implementation x function x format) in common.  Two runs with nothing in common would compare as a
    list of everything each has that the other lacks."""
    same = a.kind == b.kind and a.meta.get("label") == b.meta.get("label")
    return same or bool(_check_keys(a) & _check_keys(b))


def default_pair(runs) -> tuple:
    """The two latest runs that can be compared: the latest run that has an earlier one of the same kind and label
    (what it measured), and the latest such earlier run; None when no two runs measured the same thing."""
    for i in range(len(runs) - 1, 0, -1):
        b = runs[i]
        for a in reversed(runs[:i]):
            if a.kind == b.kind and a.meta.get("label") == b.meta.get("label"):
                return a, b
    return None
