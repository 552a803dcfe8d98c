"""Everything the report shows about accuracy, measured in worker processes: verify records, accuracy curves and
special-value cells of every implementation (``stability.parallel``), so that code under test that crashes or
hangs loses its own results, never the page, and the measuring runs on every core.  ``reports/`` only draws what
this returns.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import functions, parallel, policy, registry, timesheet
from .accuracy import Curves, curves, merge
from .special import Cell, evaluate
from .verify import signatures_for, verify


@dataclass
class Measured:
    records: list  # verify records (dicts), implementation by implementation, dtype by dtype
    curves: dict = field(default_factory=dict)  # (function, dtype) -> Curves
    special: dict = field(default_factory=dict)  # implementation name -> list of Cell
    reused: int = 0  # records reused from an interrupted run


def resolvable(impl) -> bool:
    """Whether a worker process can find ``impl`` by its name (registered, or a SPEC it was resolved from)."""
    if impl.origin == "user":  # resolved from its SPEC already; resolving again would load the user's file again
        return ":" in impl.name
    try:
        return registry.resolve(impl.name, impl.function).fn is impl.fn
    except Exception:
        return False


def measure(impls: dict, dtypes, *, examples: int, seed: int, quick: bool, saved_records=None, workers=None,
            scheduler=None, journal=None, progress=None, dashboard=False) -> Measured:
    """Measure ``impls`` (function -> implementations) in ``dtypes``; ``saved_records`` replaces verifying.

    ``progress(label)`` after each check, curve and row of cells."""
    say = progress or (lambda label: None)
    flat = [i for fn_impls in impls.values() for i in fn_impls]
    named = [i for i in flat if resolvable(i)]  # a worker finds these by name; the rest run here
    have = {(r["implementation"], r["dtype"]) for r in saved_records or []}
    verify_opts = dict(examples=examples, seed=seed, shrink=not quick)
    tasks = [parallel.task("verify", i, d) for i in named for d in signatures_for(i, dtypes) if (i.name, d) not in have
             and (saved_records is None or i.origin == "user")]
    tasks += [parallel.task("curves", i, d) for i in named for d in dtypes]
    tasks += [parallel.task("special", i, "float32") for i in named]

    def step(t, res):
        what = {"verify": "verified", "curves": "accuracy curves of", "special": "special values of"}[t.kind]
        verdict = f": {res['verdict']}" if t.kind == "verify" else ""
        say(f"{what} {t.name} {t.dtype}{verdict}")

    results = parallel.run(tasks, options={"verify": verify_opts, "curves": dict(quick=quick, seed=seed)},
                           workers=workers, scheduler=scheduler, journal=journal, progress=step,
                           dashboard=dashboard)
    done = {(t.kind, t.name, t.dtype): r for t, r in zip(tasks, results)}
    # saved records are shown as saved (peers that are not installed now included), the user's code added
    out = Measured(records=list(saved_records or []), reused=journal.reused if journal is not None else 0)
    for impl in flat:  # in the order of the page; the code no worker can find runs here
        for d in signatures_for(impl, dtypes):
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
    checks = 0 if saved_records is not None else sum(len(signatures_for(i, dtypes)) for i in flat)
    return checks + len(flat) * len(list(dtypes)) + len(flat)


#: the report's timing: one row to 2^21 elements (8 MiB in float32, past a core's L2 here), in both dtypes.  Timing
#: runs one case at a time on a quiet machine, so it is the part of a report no worker shortens; the full sweep
#: (up to 2^24 elements, the issue's shapes) is ``stability bench``, whose table ``report --bench PATH`` draws.
FULL_SHAPES = [(1, 1024), (16, 1024), (256, 1024), (2048, 1024)]
QUICK_SHAPES = [(16, 1024), (256, 1024)]


@dataclass
class ReportOptions:
    """What a report measures.  ``user`` holds implementations resolved from ``--impl`` specs; ``records`` and
    ``bench`` are saved files used instead of verifying and timing now."""

    out: Path = Path("build/report.html")
    quick: bool = False
    functions: tuple = tuple(functions.FUNCTIONS)
    user: list = field(default_factory=list)
    records: list | None = None  # saved verify records, already read (reports.inputs.load_records)
    bench: object = None  # a saved bench DataFrame, already read
    bench_source: str = ""
    no_bench: bool = False
    seed: int = 0
    command: str = "python3 -m stability report"
    workers: int | None = None  # processes measuring at once (default: the number of cores)
    scheduler: str | None = None  # a Dask scheduler's address, or "synchronous" (stability.parallel)
    dashboard: bool = False  # the local cluster serves Dask's dashboard
    results: Path | None = None  # the results store (default: stability.store.default_root())
    journal: object = None  # the finished checks kept for a resumed run (stability.journal), once verifying starts

    @property
    def dtypes(self) -> list[str]:
        return ["float32"] if self.quick else ["float32", "float64"]

    @property
    def examples(self) -> int:
        from .verify import DEFAULT_EXAMPLES

        return 3 if self.quick else DEFAULT_EXAMPLES


def report_implementations(o: ReportOptions) -> dict:
    """Per function, what the report measures: the registered implementations on the CPU, the peers of the
    libraries marked ``in_report`` (``stability.libraries``: SciPy, PyTorch, JAX; the others are the atlas's), and
    the user's own."""
    from . import libraries

    impls = {}
    for f in o.functions:
        impls[f] = [i for i in registry.implementations(f) if i.library not in registry.GPU_LIBRARIES
                    and (i.origin != "peer" or i.library in libraries.IN_REPORT)]
        impls[f] += [u for u in o.user if u.function == f]
    return impls


def _latest_atlas(root) -> str | None:
    """The folder of the latest stored `stability atlas` run in ``root`` (the page's libraries section shows it),
    or None."""
    from . import store

    atlases = [r for r in store.runs(root) if r.kind == "atlas"]
    return str(atlases[-1].path) if atlases else None


def _bench(o: ReportOptions, impls, step):
    """``(DataFrame or None, note)``."""
    if o.bench is not None:
        step(f"bench table loaded from {o.bench_source}")
        return o.bench, f"loaded from {o.bench_source}"
    if o.no_bench:
        step("no timing (--no-bench)")
        return None, ("not measured in this run (--no-bench); time implementations with "
                      "`python3 -m stability bench` and pass its stored run to `report --run`")
    from .bench import sweep

    flat = [i for f in impls.values() for i in f]
    shapes = QUICK_SHAPES if o.quick else FULL_SHAPES
    # at most about a second of timed calls per case (never fewer than 3 repeats): the slowest careful gradients
    # (long double) would otherwise take most of the report's time
    df = sweep.run(flat, shapes, o.dtypes, repeats=3 if o.quick else 5, seed=o.seed, budget=1.0)
    step(f"timed {len(flat)} implementations")
    return df, f"measured now: shapes {', '.join('x'.join(map(str, s)) for s in shapes)}"


def report_run(o: ReportOptions, progress=None):
    """Measure everything a report shows and keep it in the results store; returns the stored
    :class:`stability.store.Run` (the page is drawn from it by ``reports.build.draw``)."""
    from . import paper, store, tables
    from .journal import Journal
    from .machine import environment
    from .metrics import DEFAULT_TOLERANCE

    t0 = time.perf_counter()
    impls = report_implementations(o)
    total = count(impls, o.dtypes, o.records) + 2
    if progress is not None:
        progress.reset(total=total)

    def step(label: str = "") -> None:
        if progress is not None:
            progress.set_description(label)
            progress.update(1)

    o.journal = Journal(o.out) if o.records is None else None
    stages, clock = {}, time.perf_counter()

    def lap(stage: str) -> None:  # the stage just ended (stability.timesheet)
        nonlocal clock
        stages[stage], clock = time.perf_counter() - clock, time.perf_counter()

    m = measure(impls, o.dtypes, examples=o.examples, seed=o.seed, quick=o.quick, saved_records=o.records,
                workers=o.workers, scheduler=o.scheduler, journal=o.journal, progress=step,
                dashboard=o.dashboard)
    lap(timesheet.STAGES[0])
    recs = [r for r in m.records if r["function"] in o.functions]
    lost = {r["implementation"] for r in recs if r.get("lost")}  # its worker died: not timed either
    timed = {f: [i for i in v if i.name not in lost] for f, v in impls.items()}
    df, bench_note = _bench(o, timed, step)
    lap(timesheet.STAGES[1])
    results = [paper.run(f) for f in ("float16", "bfloat16")]
    step("the BHH (2021) reproduction")
    lap(timesheet.STAGES[2])
    curves_df, curves_arrays = tables.curves(m.curves)
    paper_df, paper_arrays = tables.paper(results)
    names = {i.name: i.function for v in impls.values() for i in v}
    implementations = [{"name": i.name, "function": i.function, "library": i.library, "origin": i.origin,
                        "description": i.description, "expectation": i.expectation} for v in impls.values()
                       for i in v]
    options = {"quick": o.quick, "seed": o.seed, "examples": o.examples, "dtypes": list(o.dtypes),
               "functions": list(o.functions), "records": "loaded" if o.records is not None else "verified in this run",
               "bench": bench_note, "tolerance": asdict(DEFAULT_TOLERANCE), "seconds": time.perf_counter() - t0,
               "stages": stages,
               "published": paper.PUBLISHED_OVERFLOWS_FP16, "atlas_run": _latest_atlas(o.results)}
    tbls = {"checks": tables.checks(recs), "families": tables.families(recs), "curves": curves_df,
            "special": tables.special(m.special, names), "paper": paper_df}
    if df is not None:
        tbls["timings"] = df
    run = store.save("report", "quick" if o.quick else ",".join(o.functions) if len(o.functions) < 4 else "all",
                     root=o.results, command=o.command, seed=o.seed, environment=environment(), tables=tbls,
                     blobs={"records": recs, "implementations": implementations, "options": options},
                     arrays={"curves": curves_arrays, "paper": paper_arrays})
    run.reused = m.reused
    return run
