"""Draw the HTML report from stored runs (``stability.store``): verdicts, accuracy curves, special values, worst
cases, speed, the BHH reproduction and, with several runs, their history, rendered into one self-contained page
(``reports/templates/report.html.j2``) and written atomically.  Nothing here measures: ``stability.measure``
measures a report's run and stores it; ``draw`` reads it back, so a page is rebuilt from a stored run in seconds
(``python3 -m stability report --run NAME``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from stability.formats import ALL_FORMATS, split_signature
from stability.io import atomic_write_text

from . import plots, render


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
            "examples": r["examples"], "failed": ", ".join(r["failed_families"]),
            "signature": r["dtype"] if ":" in r["dtype"] else ""}


def _signature_rows(name, recs) -> list[str]:
    """The kinds of signature ``name`` was checked in: "" (its own format) first, then each output suffix; an
    implementation checked only in mixed signatures has no own-format row, one checked in none keeps its row."""
    rests = {split_signature(r["dtype"])[1] for r in recs if r["implementation"] == name}
    return ([""] if "" in rests or not rests else []) + sorted(rests - {""})


def _saved_row(name, by_dtype, dtypes) -> dict:
    r0 = next(iter(by_dtype.values()))
    return {"name": name, "origin": r0.get("origin", "user"), "library": r0.get("library", "?"),
            "description": "(from the saved records only)", "expectation": r0["expectation"], "speed": "-",
            "cells": [_cell(by_dtype.get(d)) for d in dtypes]}


def _speeds(df) -> tuple:
    """``({implementation: fraction of copy bandwidth}, shape)`` on the reference shape: float32, the largest shape
    every timed implementation ran (the best of an implementation's variants: threads, out=)."""
    if df is None or df.empty:
        return {}, ""
    d = df[df.dtype == "float32"]
    if d.empty:
        return {}, ""
    shape = d.loc[d.elements.idxmax(), "shape"]
    d = d[d["shape"] == shape]
    base = d.implementation.str.split("[").str[0]
    return {k: float(v) for k, v in d.groupby(base)["frac_copy"].max().items()}, str(shape)


def _glance(df, shape: str, recs, impls) -> list[dict]:
    """The first screen: per function, its checks' verdicts and the fastest implementation that passes in float32
    on the reference shape ``shape`` (``_speeds``'s), its time, and how it compares with the fastest peer that
    passes."""
    rows = []
    for f, fn_impls in impls.items():
        mine = [r for r in recs if r["function"] == f]
        passing = {r["implementation"] for r in mine if r["dtype"] == "float32" and r["verdict"] == "pass"}
        peers = {i.name for i in fn_impls if i.origin == "peer"}
        row = {"function": f, "checks": len(mine), "pass": sum(r["verdict"] == "pass" for r in mine),
               "short": sum(not r["meets_expectation"] for r in mine), "fastest": None, "peer": None,
               "peers_timed": 0}
        if df is not None and shape:
            d = df[(df.function == f) & (df.dtype == "float32") & (df["shape"] == shape)]
            d = d.assign(base=d.implementation.str.split("[").str[0])
            row["peers_timed"] = len(set(d.base) & peers)
            # each implementation's fastest variant (threads, out=), the fastest first
            best = d[d.base.isin(passing)].sort_values("median_s").drop_duplicates("base")
            if len(best):
                top = best.iloc[0]
                row["fastest"] = {"name": top["base"], "ms": _fmt(top["median_s"] * 1e3),
                                  "gbps": _fmt(top.get("gbps", float("nan"))), "shape": shape}
                peer = best[best.base.isin(peers)]
                if len(peer):
                    p = peer.iloc[0]
                    row["peer"] = {"name": p["base"], "ms": _fmt(p["median_s"] * 1e3),
                                   "ratio": _fmt(top["median_s"] / p["median_s"])}
        rows.append(row)
    return rows


def _exact(table) -> bool:
    """Whether every implementation of a sweep's ``distribution_table`` was exact (0 ULP, no wrong special value)
    everywhere."""
    return bool(table) and all(r["max_bits"] == 0 and not r["wrong_special"] for r in table)


def _summary(dtypes, impls, recs, speeds=None):
    """The matrix: a row per implementation and kind of signature (its own format; its results widened to
    float32; ...), a column per input format, each cell naming its signature when it is a mixed one."""
    speeds = speeds or {}
    by = {(r["implementation"], r["dtype"]): r for r in recs}
    groups = []
    for f, fn_impls in impls.items():
        rows = []
        for i in fn_impls:
            for rest in _signature_rows(i.name, recs):
                cells = [_cell(by.get((i.name, f"{d}:{rest}" if rest else d))) for d in dtypes]
                rows.append({"name": i.name + (f" \u2192 {rest}" if rest else ""), "origin": i.origin,
                             "library": i.library, "description": i.description, "expectation": i.expectation,
                             "cells": cells, "speed": _fmt(speeds[i.name]) if i.name in speeds and not rest else "-"})
        known = {i.name for i in fn_impls}
        for name in sorted({r["implementation"] for r in recs if r["function"] == f} - known):
            mine = {r["dtype"]: r for r in recs if r["implementation"] == name}  # in saved records only
            for rest in _signature_rows(name, recs):
                rows.append(_saved_row(name + (f" \u2192 {rest}" if rest else ""), mine,
                                       [f"{d}:{rest}" if rest else d for d in dtypes]))
        groups.append({"function": f, "rows": rows})
    return groups


#: the longest reproducer the page prints whole; a long row's runs to 100,000 characters and more, and the stored
#: run's records.json keeps every one whole
REPRODUCER_SHOWN = 600


def _one_line(reproducer: str) -> str:
    line = "; ".join(line for line in reproducer.splitlines() if line.strip())
    if len(line) <= REPRODUCER_SHOWN:
        return line
    return (line[: REPRODUCER_SHOWN // 2] + f" ... [{len(line) - REPRODUCER_SHOWN:,} characters left out here: the "
            "whole reproducer is this record's counterexample in the stored run's records.json] ... "
            + line[-REPRODUCER_SHOWN // 2:])


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
                    "allowance": _fmt(w["allowance"]) if w else "-", "ratio": _fmt(w["ratio"]) if w else "-",
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


def _pareto(fig, d, ratio, title):
    big = d[d.dtype == "float32"]
    if big.empty:
        return None
    top = big[big.elements == big.elements.max()]
    pts = [(v.variant, float(v.median_s), float(ratio[(v.implementation.split("[")[0], "float32")]))
           for v in top.itertuples() if (v.implementation.split("[")[0], "float32") in ratio]
    return fig(plots.pareto, pts, f"{title}, float32, shape {top['shape'].iloc[0]}: accuracy against speed")


def _roofs(df) -> list[dict]:
    """This machine's roofs, once for the page: copy bandwidth and np.exp rate per device, shape and dtype."""
    if df is None or df.empty:
        return []
    d = df if "device" in df.columns else df.assign(device="cpu")
    out = []
    for (device, shape, dtype), g in d.groupby(["device", "shape", "dtype"], sort=False):
        out.append({"device": device, "shape": shape, "dtype": dtype, "copy_gbps": _fmt(g.copy_gbps.median()),
                    "exp_rate": _fmt(g.exp_elements_per_s.median() / 1e6) if "exp_elements_per_s" in g else "-",
                    "bound": str(g["bound"].iloc[0]) if "bound" in g else "-"})
    return out


def _speed(fig, df, recs, impls):
    """Per function: a table per device, shape and dtype; speed-against-size and Pareto plots per device."""
    if df is None:
        return []
    df = df.copy()
    if "device" not in df.columns:
        df["device"] = "cpu"
    df["variant"] = df.implementation + df.alloc.map(lambda a: " (out=)" if a == "out=" else "")
    ratio = {(r["implementation"], r["dtype"]): r["max_ratio"] for r in recs}
    short = {r["implementation"] for r in recs if r["verdict"] == "fail"}  # drawn dashed, hollow
    sections = []
    for f in [f for f in impls if f in set(df.function)]:
        d = df[df.function == f]
        tables, svgs, paretos = [], [], []
        for device, dd in d.groupby("device", sort=True):
            tables += [_speed_table(g, device, shape, dtype)
                       for (shape, dtype), g in dd.groupby(["shape", "dtype"], sort=False)]
            failing = {v for v in set(dd.variant) if v.split("[")[0].split(" ")[0] in short}
            svgs += [s for s in (fig(plots.speed, dd.assign(implementation=dd.variant), f, dt, failing=failing)
                                 for dt in sorted(set(dd.dtype))) if s]
            paretos.append(_pareto(fig, dd, ratio, f"{f} ({device})"))
        sections.append({"function": f, "tables": tables, "plots": svgs, "paretos": [p for p in paretos if p]})
    return sections


def _paper(fig, results, rows, published):
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    for row in rows:
        for k in ("max_err_u", "median_err_u", "max_bound_u"):
            row[k] = "-" if row[k] is None else _fmt(row[k])
        row["within_bound"] = "-" if row["within_bound"] is None else f"{100 * row['within_bound']:.1f}%"
    return {"rows": rows, "plots": [fig(plots.paper, r) for r in results], "published": published}


def _implementations(run) -> dict:
    """function -> the implementations of the run (name, origin, library, description, expectation), in order."""
    impls: dict = {}
    for i in run.blob("implementations") or []:
        impls.setdefault(i["function"], []).append(SimpleNamespace(**i))
    return impls


def _history(runs) -> dict | None:
    """Each implementation's worst stability ratio and speed (median ms of its largest float32 case) per run."""
    if len(runs) < 2:
        return None
    cols = [{"name": r.name, "date": r.meta["created"][:16].replace("T", " "),
             "commit": r.meta["environment"].get("commit", "?")} for r in runs]
    rows: dict = {}
    for k, r in enumerate(runs):
        checks = r.table("checks")
        for rec in (checks.to_dict("records") if checks is not None else []):
            row = rows.setdefault((rec["function"], rec["implementation"]), [dict() for _ in runs])
            row[k]["ratio"] = max(row[k].get("ratio", 0.0), float(rec["max_ratio"]))
            row[k]["short"] = row[k].get("short", False) or not bool(rec["meets_expectation"])
        t = r.table("timings")
        if t is not None and not t.empty:
            t = t[(t.dtype == "float32") & (t.alloc != "out=")]
            t = t.assign(implementation=t.implementation.str.split("[").str[0])  # threads=N: its best variant
            for (f, impl), g in t.groupby(["function", "implementation"]):
                big = g[g.elements == g.elements.max()]
                row = rows.setdefault((f, impl), [dict() for _ in runs])
                row[k]["ms"] = float(big.median_s.min()) * 1e3
    out = []
    for (f, impl), per in sorted(rows.items()):
        out.append({"function": f, "implementation": impl,
                    "cells": [{"ratio": _fmt(c["ratio"]) if "ratio" in c else "-", "short": c.get("short", False),
                               "ms": _fmt(c["ms"]) if "ms" in c else "-"} for c in per]})
    return {"runs": cols, "rows": out}


class Figures:
    """The page's figures, drawn at once on ``workers`` processes (default: every core).

    The page's context is built twice: first every ``fig(plots.accuracy, c)`` records the figure it asks for (and
    returns a placeholder), then :meth:`draw` draws them all, and the second build gets each one's SVG from the
    same call in the same order.  Drawing is the longest step of a redraw (matplotlib lays out every figure)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers
        self.jobs: list = []
        self.svgs: list | None = None
        self._next = 0

    def __call__(self, fn, *args, **kwargs):
        if self.svgs is None:
            self.jobs.append((fn, args, kwargs))
            return f"figure {len(self.jobs)}"
        self._next += 1
        return self.svgs[self._next - 1]

    def draw(self, progress=None) -> None:
        """Draw every figure asked for; ``progress`` (a bar) advances as each one is done."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from stability.parallel import default_workers, start_method

        jobs = [(k, fn, a, kw) for k, (fn, a, kw) in enumerate(self.jobs)]
        if progress is not None:
            progress.reset(total=len(jobs) + 1)
            progress.set_description("drawing the figures")

        def each(svgs):
            for svg in svgs:
                if progress is not None:
                    progress.update(1)
                yield svg

        n = min(self.workers or default_workers(), len(jobs))
        if n <= 1:
            self.svgs = list(each(plots.drawn(*j) for j in jobs))
            return
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(start_method())) as pool:
            self.svgs = list(each(pool.map(plots.drawn, *zip(*jobs))))

    def check(self) -> None:
        if self._next != len(self.jobs):  # the two builds asked for different figures: a bug here, not data
            raise RuntimeError(f"the page asked for {len(self.jobs)} figures, then for {self._next}")


def draw(runs, out, *, command: str = "", progress=None, workers: int | None = None) -> dict:
    """Draw the page of the last of ``runs`` (stored report runs, ``stability.store``), with a history section
    when there are several; nothing is measured.  ``workers``: processes drawing figures (default: every core).
    Returns ``{"path", "bytes", "seconds", "records", "short", "bench"}`` (``short``: records that fall short of
    their implementation's declared expectation)."""
    from stability import tables

    t0 = time.perf_counter()
    run = runs[-1]
    recs = run.blob("records") or []
    for r in recs:
        r["max_ulp"], r["max_ratio"] = float(r["max_ulp"]), float(r["max_ratio"])
    data = SimpleNamespace(run=run, runs=runs, recs=recs, opts=dict(run.blob("options") or {}),
                           impls=_implementations(run), df=run.table("timings"),
                           curves=tables.curves_back(run.table("curves"), run.arrays("curves")),
                           cells=tables.special_cells(run.table("special")),
                           paper=tables.paper_back(run.table("paper"), run.arrays("paper")),
                           paper_rows=run.table("paper").to_dict("records"))
    out = Path(out)
    fig = Figures(workers)
    _context(data, out, command, fig)  # which figures the page has
    fig.draw(progress)
    ctx = _context(data, out, command, fig)
    fig.check()
    html = render.page(ctx)
    if progress is not None:
        progress.set_description("page drawn")
        progress.update(1)
    path = atomic_write_text(out, html)
    return {"path": path, "bytes": len(html.encode("utf-8")), "seconds": time.perf_counter() - t0,
            "records": len(recs), "short": sum(not r["meets_expectation"] for r in recs), "bench": data.df is not None,
            "run": run}


def _context(data, out: Path, command: str, fig) -> dict:
    """What the template renders; ``fig(plots.X, ...)`` gives each figure (:class:`Figures`)."""
    from stability import policy

    run, recs, opts, impls = data.run, data.recs, data.opts, data.impls
    dtypes = list(opts.get("dtypes", []))
    rec_dtypes = [d for d in ALL_FORMATS if any(split_signature(r["dtype"])[0] == d for r in recs)]
    curves, special_rows = [], []
    failing: dict = {}  # (function, dtype) -> the implementations whose verdict there is FAIL
    for r in recs:
        if r["verdict"] == "fail":
            failing.setdefault((r["function"], r["dtype"]), set()).add(r["implementation"])
    for f in impls:
        for d in dtypes:
            c = data.curves.get((f, d))
            if c is None:
                continue
            table = distribution_table(c)
            exact = _exact(table)  # a chart of nothing but zeros is a sentence instead
            curves.append({"function": f, "dtype": d, "exact": exact,
                           "curve": None if exact else fig(plots.accuracy, c, failing=failing.get((f, d), set())),
                           "dist": None if exact else fig(plots.distribution, c), "table": table,
                           "failed": c.failed_calls, "bound": c.bound_label})
    for f, fn_impls in impls.items():
        rows = [{"name": i.name, "origin": i.origin, "cells": data.cells.get(i.name, [])} for i in fn_impls]
        special_rows.append({"function": f, "cases": list(policy.cases_for(f).values()), "rows": rows})
    speeds, speed_shape = _speeds(data.df)
    return {
        "options": {**opts, "dtypes": ", ".join(dtypes), "functions": ", ".join(opts.get("functions", [])),
                    "tolerance": SimpleNamespace(**opts.get("tolerance", {"a0": 8, "a1": 1, "b": 2}))},
        "counts": {"records": len(recs), "pass": sum(r["verdict"] == "pass" for r in recs),
                   "expected": sum(bool(r["meets_expectation"]) for r in recs)},
        "summary": _summary(rec_dtypes, impls, recs, speeds), "speed_shape": speed_shape, "dtypes": rec_dtypes,
        "glance": _glance(data.df, speed_shape, recs, impls),
        "accuracy": curves, "special": special_rows,
        "worst": _worst(recs), "speed": _speed(fig, data.df, recs, impls), "bench_note": opts.get("bench", ""),
        "roofs": _roofs(data.df),
        "paper": _paper(fig, data.paper, data.paper_rows, opts.get("published", {})),
        "env": run.meta["environment"] | {"date": run.meta["created"][:16]},
        "command": run.meta.get("command", command), "history": _history(data.runs),
        "atlas": _atlas(recs, data.opts.get("atlas_run")),
        "rebuild": f"python3 -m stability report --out {out} " + " ".join(f"--run {r.path}" for r in data.runs),
    }


def _atlas(recs, atlas_run: str | None = None) -> dict | None:
    """The peers' verdicts as the atlas's grid (``reports.atlas``: the same table as docs/atlas.md): the peers this
    run measured, and the libraries of the latest `stability atlas` run stored when it was measured (``atlas_run``,
    where it still exists; it wins for a library both have); its defects list narrowed to those reported publicly
    (the worst cases section has the inputs).  None when there is no peer to show."""
    from stability import libraries, store
    from stability.errors import UsageError

    from . import atlas

    peers = [r for r in recs if r.get("origin") == "peer"]
    lacks: dict = {}  # the report's own peers (SciPy, PyTorch, JAX) are registered without any
    if atlas_run:
        try:
            stored = store.load(atlas_run)
            theirs, lacks = stored.blob("records") or [], stored.blob("lacks") or {}
        except UsageError:
            theirs = []
        libs = {r.get("library") for r in theirs}
        peers = [r for r in peers if r.get("library") not in libs] + list(theirs)
    if not peers:
        return None
    g = atlas.grid(peers, lacks)
    g["defects"] = [d for d in g["defects"] if d["issues"]]
    g["atlas_run"] = atlas_run
    g["atlas_only"] = [lib.title for lib in libraries.TABLE.values() if not lib.in_report]
    return g


def distribution_table(c) -> list[dict]:
    """Per implementation: quantiles of the bits of error over every output of the sweep."""
    rows = []
    for name, b in c.bits.items():
        fin = b[np.isfinite(b)]
        q = np.percentile(fin, [50, 90, 99]) if fin.size else [np.nan] * 3
        rows.append({"implementation": name, "outputs": int(b.size), "median_bits": float(q[0]),
                     "p90_bits": float(q[1]), "p99_bits": float(q[2]),
                     "max_bits": float(np.max(b)) if b.size else np.nan,
                     "wrong_special": int(np.sum(~np.isfinite(b)))})
    return rows
