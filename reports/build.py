"""Build the HTML report: verify records and bench tables (run now, or loaded), accuracy curves and the
special-value policy measured for every implementation, the BHH reproduction; drawn, rendered into one
self-contained page (``reports/templates/report.html.j2``) and written atomically.

``build(Options(...))`` is what ``python -m stability report`` calls.  The data behind the page is written beside
it (``NAME.records.json``, ``NAME.bench.csv``), so the page can be rebuilt from them in seconds with
``--records`` and ``--bench``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from stability import functions, registry
from stability.io import atomic_write_json, atomic_write_text
from stability.metrics import DEFAULT_TOLERANCE

from stability import accuracy

from . import inputs, plots, render

FULL_SHAPES = [(1, 1024), (16, 1024), (256, 1024), (4096, 1024), (4096, 4096)]
QUICK_SHAPES = [(16, 1024), (256, 1024)]


@dataclass
class Options:
    """What to put in the report.  ``user`` holds implementations resolved from ``--impl`` specs."""

    out: Path = Path("build/report.html")
    quick: bool = False
    functions: tuple = tuple(functions.FUNCTIONS)
    user: list = field(default_factory=list)
    records: Path | None = None
    bench: Path | None = None
    no_bench: bool = False
    seed: int = 0
    command: str = "python3 -m stability report"
    workers: int | None = None  # processes verifying at once (default: the number of cores)
    scheduler: str | None = None  # a Dask scheduler's address, or "synchronous" (stability.parallel)
    journal: object = None  # the finished checks kept for a resumed run (stability.journal), once verifying starts

    @property
    def dtypes(self) -> list[str]:
        return ["float32"] if self.quick else ["float32", "float64"]

    @property
    def examples(self) -> int:
        from stability.verify import DEFAULT_EXAMPLES

        return 3 if self.quick else DEFAULT_EXAMPLES

    def data_path(self, suffix: str) -> Path:
        out = Path(self.out)
        return out.with_name(out.stem + suffix)


def _implementations(o: Options) -> dict:
    impls = {}
    for f in o.functions:
        impls[f] = [i for i in registry.implementations(f) if i.library not in registry.GPU_LIBRARIES]
        impls[f] += [u for u in o.user if u.function == f]
    return impls


def _bench(o: Options, impls, step, saved):
    """``(DataFrame or None, note)``."""
    if saved is not None:
        step(f"bench table loaded from {o.bench}")
        return saved, f"loaded from {o.bench}"
    if o.no_bench:
        step("no timing (--no-bench)")
        return None, ("not measured in this run (--no-bench); time implementations with "
                      "`python3 -m stability bench --out build/bench.csv` and pass `--bench build/bench.csv`")
    from stability.bench import sweep

    flat = [i for f in impls.values() for i in f]
    shapes = QUICK_SHAPES if o.quick else FULL_SHAPES
    df = sweep.run(flat, shapes, o.dtypes, repeats=3 if o.quick else 5, seed=o.seed)
    step(f"timed {len(flat)} implementations")
    return df, f"measured now: shapes {', '.join('x'.join(map(str, s)) for s in shapes)}"


def _fmt(v) -> str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf"
    return f"{v:.3g}"


def _cell(r) -> dict:
    if r is None:
        return {"cls": "none"}
    ok = r["verdict"] == "pass"
    cls = ("pass" if r["meets_expectation"] else "pass-unexpected") if ok else (
        "fail-expected" if r["meets_expectation"] else "fail")
    return {"cls": cls, "verdict": r["verdict"].upper(), "ratio": _fmt(r["max_ratio"]), "ulp": _fmt(r["max_ulp"]),
            "examples": r["examples"], "failed": ", ".join(r["failed_families"])}


def _saved_row(name, by_dtype, dtypes) -> dict:
    r0 = next(iter(by_dtype.values()))
    return {"name": name, "origin": r0.get("origin", "user"), "library": r0.get("library", "?"),
            "description": "(from the saved records only)", "expectation": r0["expectation"],
            "cells": [_cell(by_dtype.get(d)) for d in dtypes]}


def _summary(dtypes, impls, recs):
    by = {(r["implementation"], r["dtype"]): r for r in recs}
    groups = []
    for f, fn_impls in impls.items():
        rows = []
        for i in fn_impls:
            cells = [_cell(by.get((i.name, d))) for d in dtypes]
            rows.append({"name": i.name, "origin": i.origin, "library": i.library, "description": i.description,
                         "expectation": i.expectation, "cells": cells})
        known = {i.name for i in fn_impls}
        for name in sorted({r["implementation"] for r in recs if r["function"] == f} - known):
            mine = {r["dtype"]: r for r in recs if r["implementation"] == name}  # in saved records only
            rows.append(_saved_row(name, mine, dtypes))
        groups.append({"function": f, "rows": rows})
    return groups


def _one_line(reproducer: str) -> str:
    return "; ".join(line for line in reproducer.splitlines() if line.strip())


def _short(values, limit=240) -> str:
    text = str(values)
    return text if len(text) <= limit else text[:limit] + " ..."


def _worst(recs):
    out = []
    for r in recs:
        ce = r.get("counterexample")
        if r["verdict"] != "fail" or not ce:
            continue
        w = ce.get("worst") or {}
        out.append({"implementation": r["implementation"], "function": r["function"], "dtype": r["dtype"],
                    "unexpected": not r["meets_expectation"], "family": ce.get("family", ""),
                    "reason": ce.get("reason", ""), "input": _short(ce.get("input")),
                    "expected": _short(ce.get("expected")), "got": _short(ce.get("got")),
                    "ulp": _fmt(w["ulp"]) if w else "-", "kappa": _fmt(w["kappa"]) if w else "-",
                    "allowance": _fmt(w["allowance"]) if w else "-",
                    "reproducer": _one_line(ce.get("reproducer", ""))})
    return sorted(out, key=lambda w: (not w["unexpected"], w["function"], w["implementation"], w["dtype"]))


def _speed_table(g, device, shape, dtype) -> dict:
    g = g.sort_values("median_s")
    first = g.iloc[0]
    return {"device": device, "shape": shape, "dtype": dtype, "copy_gbps": _fmt(first.copy_gbps),
            "exp_rate": _fmt(first.exp_elements_per_s / 1e6), "bound": first.get("bound", "-"),
            "rows": [{"variant": v["variant"], "threads": v.get("threads", "-"), "ms": _fmt(v["median_s"] * 1e3),
                      "gbps": _fmt(v.get("gbps", float("nan"))), "frac_copy": _fmt(v["frac_copy"]),
                      "frac_exp": _fmt(v["frac_exp"])} for v in g.to_dict("records")]}


def _pareto(d, ratio, title):
    big = d[d.dtype == "float32"]
    if big.empty:
        return None
    top = big[big.elements == big.elements.max()]
    pts = [(v.variant, float(v.median_s), float(ratio[(v.implementation.split("[")[0], "float32")]))
           for v in top.itertuples() if (v.implementation.split("[")[0], "float32") in ratio]
    return plots.pareto(pts, f"{title}, float32, shape {top['shape'].iloc[0]}: accuracy against speed")


def _speed(df, recs, impls):
    """Per function: a table per device, shape and dtype; speed-against-size and Pareto plots per device."""
    if df is None:
        return []
    df = df.copy()
    if "device" not in df.columns:
        df["device"] = "cpu"
    df["variant"] = df.implementation + df.alloc.map(lambda a: " (out=)" if a == "out=" else "")
    ratio = {(r["implementation"], r["dtype"]): r["max_ratio"] for r in recs}
    sections = []
    for f in [f for f in impls if f in set(df.function)]:
        d = df[df.function == f]
        tables, svgs, paretos = [], [], []
        for device, dd in d.groupby("device", sort=True):
            tables += [_speed_table(g, device, shape, dtype)
                       for (shape, dtype), g in dd.groupby(["shape", "dtype"], sort=False)]
            svgs += [s for s in (plots.speed(dd.assign(implementation=dd.variant), f, dt)
                                 for dt in sorted(set(dd.dtype))) if s]
            paretos.append(_pareto(dd, ratio, f"{f} ({device})"))
        sections.append({"function": f, "tables": tables, "plots": svgs, "paretos": [p for p in paretos if p]})
    return sections


def _paper(step):
    from stability import paper

    results = [paper.run(f) for f in ("float16", "bfloat16")]
    step("the BHH (2021) reproduction")
    rows = [row for r in results for row in r.summary()]
    for row in rows:
        for k in ("max_err_u", "median_err_u", "max_bound_u"):
            row[k] = "-" if row[k] is None else _fmt(row[k])
        row["within_bound"] = "-" if row["within_bound"] is None else f"{100 * row['within_bound']:.1f}%"
    return {"rows": rows, "plots": [plots.paper(r) for r in results], "published": paper.PUBLISHED_OVERFLOWS_FP16}


def build(o: Options, progress=None) -> dict:
    """Build the page; returns ``{"path", "bytes", "seconds", "records", "short", "bench"}`` (``short``: records
    that fall short of their implementation's declared expectation)."""
    t0 = time.perf_counter()
    # saved inputs are read first: a bad file stops the build before any work is done
    saved_recs = inputs.load_records(o.records) if o.records is not None else None
    saved_bench = inputs.load_bench(o.bench) if o.bench is not None else None
    impls = _implementations(o)
    from stability import measure, policy
    from stability.journal import Journal

    total = measure.count(impls, o.dtypes, saved_recs) + 3
    if progress is not None:
        progress.reset(total=total)

    def step(label: str = "") -> None:
        if progress is not None:
            progress.set_description(label)
            progress.update(1)

    o.journal = Journal(o.out) if saved_recs is None else None
    m = measure.measure(impls, o.dtypes, examples=o.examples, seed=o.seed, quick=o.quick, saved_records=saved_recs,
                        workers=o.workers, scheduler=o.scheduler, journal=o.journal, progress=step)
    recs = [r for r in m.records if r["function"] in o.functions]
    rec_dtypes = [d for d in ("float16", "bfloat16", "float32", "float64") if any(r["dtype"] == d for r in recs)]
    curves, special_rows = [], []
    for f in impls:
        for d in o.dtypes:
            c = m.curves[f, d]
            curves.append({"function": f, "dtype": d, "curve": plots.accuracy(c), "dist": plots.distribution(c),
                           "table": accuracy.distribution_table(c), "failed": c.failed_calls,
                           "bound": c.bound_label})
    for f, fn_impls in impls.items():
        rows = [{"name": i.name, "origin": i.origin, "cells": m.special[i.name]} for i in fn_impls]
        special_rows.append({"function": f, "cases": list(policy.cases_for(f).values()), "rows": rows})
    lost = {r["implementation"] for r in recs if r.get("lost")}  # its worker died: not timed either
    impls = {f: [i for i in v if i.name not in lost] for f, v in impls.items()}
    df, bench_note = _bench(o, impls, step, saved_bench)
    paper_ctx = _paper(step)
    ctx = {
        "options": {"quick": o.quick, "seed": o.seed, "examples": o.examples, "dtypes": ", ".join(o.dtypes),
                    "functions": ", ".join(o.functions), "records": str(o.records or "verified in this run"),
                    "bench": bench_note, "tolerance": DEFAULT_TOLERANCE},
        "counts": {"records": len(recs), "pass": sum(r["verdict"] == "pass" for r in recs),
                   "expected": sum(bool(r["meets_expectation"]) for r in recs)},
        "summary": _summary(rec_dtypes, impls, recs), "dtypes": rec_dtypes, "accuracy": curves, "special": special_rows,
        "worst": _worst(recs), "speed": _speed(df, recs, impls), "bench_note": bench_note, "paper": paper_ctx,
        "env": inputs.environment(), "command": o.command,
        "rebuild": (f"python3 -m stability report --out {o.out} --records {o.data_path('.records.json')} "
                    + (f"--bench {o.data_path('.bench.csv')}" if df is not None else "--no-bench")
                    + (" --quick" if o.quick else "")),
    }
    html = render.page(ctx)
    step("page drawn")
    # the data first, the page last: a page never points at data that is not there
    if o.records is None or o.user:
        atomic_write_json(o.data_path(".records.json"), recs)
    if df is not None and o.bench is None:
        from stability.bench import table

        table.save(df, o.data_path(".bench.csv"))
    path = atomic_write_text(o.out, html)
    if o.journal is not None:
        o.journal.clear()
    return {"path": path, "reused": o.journal.reused if o.journal is not None else 0,
            "bytes": len(html.encode("utf-8")), "seconds": time.perf_counter() - t0,
            "records": len(recs), "short": sum(not r["meets_expectation"] for r in recs), "bench": df is not None}
