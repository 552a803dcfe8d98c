"""Everything the report shows about accuracy, measured in worker processes: verify records, accuracy curves and
special-value cells of every implementation (``stability.parallel``), so that code under test that crashes or
hangs loses its own results, never the page, and the measuring runs on every core.  ``reports/`` only draws what
this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import parallel, policy, registry
from .accuracy import Curves, curves, merge
from .special import Cell, evaluate
from .verify import dtypes_for, verify


@dataclass
class Measured:
    records: list  # verify records (dicts), implementation by implementation, dtype by dtype
    curves: dict = field(default_factory=dict)  # (function, dtype) -> Curves
    special: dict = field(default_factory=dict)  # implementation name -> list of Cell
    reused: int = 0  # records reused from an interrupted run


def resolvable(impl) -> bool:
    """Whether a worker process can find ``impl`` by its name (registered, or a SPEC it was resolved from)."""
    try:
        found = registry.resolve(impl.name, impl.function)
    except Exception:
        return False
    # a file's code is loaded afresh by each resolve: the same SPEC names the same code
    return found.fn is impl.fn or (impl.origin == "user" and ":" in impl.name and found.origin == "user")


def measure(impls: dict, dtypes, *, examples: int, seed: int, quick: bool, saved_records=None, workers=None,
            scheduler=None, journal=None, progress=None) -> Measured:
    """Measure ``impls`` (function -> implementations) in ``dtypes``; ``saved_records`` replaces verifying.

    ``progress(label)`` after each check, curve and row of cells."""
    say = progress or (lambda label: None)
    flat = [i for fn_impls in impls.values() for i in fn_impls]
    named = [i for i in flat if resolvable(i)]  # a worker finds these by name; the rest run here
    have = {(r["implementation"], r["dtype"]) for r in saved_records or []}
    verify_opts = dict(examples=examples, seed=seed, shrink=not quick)
    tasks = [parallel.task("verify", i, d) for i in named for d in dtypes_for(i, dtypes) if (i.name, d) not in have
             and (saved_records is None or i.origin == "user")]
    tasks += [parallel.task("curves", i, d) for i in named for d in dtypes]
    tasks += [parallel.task("special", i, "float32") for i in named]

    def step(t, res):
        what = {"verify": "verified", "curves": "accuracy curves of", "special": "special values of"}[t.kind]
        verdict = f": {res['verdict']}" if t.kind == "verify" else ""
        say(f"{what} {t.name} {t.dtype}{verdict}")

    results = parallel.run(tasks, options={"verify": verify_opts, "curves": dict(quick=quick, seed=seed)},
                           workers=workers, scheduler=scheduler, journal=journal, progress=step)
    done = {(t.kind, t.name, t.dtype): r for t, r in zip(tasks, results)}
    # saved records are shown as saved (peers that are not installed now included), the user's code added
    out = Measured(records=list(saved_records or []), reused=journal.reused if journal is not None else 0)
    for impl in flat:  # in the order of the page; the code no worker can find runs here
        for d in dtypes_for(impl, dtypes):
            if (impl.name, d) in have:
                continue
            rec = done.get(("verify", impl.name, d))
            if rec is None and saved_records is not None and impl.origin != "user":
                continue  # the saved records do not cover it: the page shows what was saved
            if rec is None:
                rec = verify(impl, d, **verify_opts).as_dict()
                say(f"verified {impl.name} {d} here")
            out.records.append(rec)
    for f, fn_impls in impls.items():
        for d in dtypes:
            parts, lost = [], {}
            for impl in fn_impls:
                got = done.get(("curves", impl.name, d))
                if got is None:
                    got = curves(f, [impl], d, quick=quick, seed=seed)
                if isinstance(got, Curves):
                    parts.append(got)
                else:
                    lost[impl.name] = got["lost"]["reason"]
            base = parts or [curves(f, [], d, quick=quick, seed=seed)]
            c = merge(base, [i.name for i in fn_impls])
            c.failed_calls.update(lost)
            out.curves[f, d] = c
        for impl in fn_impls:
            got = done.get(("special", impl.name, "float32"))
            if got is None:
                got = evaluate(impl, "float32")
            if isinstance(got, dict):  # its worker died: every case says so
                got = [Cell(c.case, "-", "-", "-", False, got["lost"]["reason"])
                       for c in policy.cases_for(f).values()]
            out.special[impl.name] = got
    for r in out.records:
        r["max_ulp"], r["max_ratio"] = float(r["max_ulp"]), float(r["max_ratio"])
    return out


def count(impls: dict, dtypes, saved_records=None) -> int:
    """How many progress steps :func:`measure` takes (for a progress bar's total)."""
    flat = [i for fn_impls in impls.values() for i in fn_impls]
    checks = 0 if saved_records is not None else sum(len(dtypes_for(i, dtypes)) for i in flat)
    return checks + len(flat) * len(list(dtypes)) + len(flat)
