"""Command line: ``python -m stability verify`` and ``python -m stability list`` (also the ``stability`` script).

Exit status: 0 when every implementation meets its expectation, 1 when any falls short, 2 for usage errors
(the message says how to fix the call; no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

from . import __version__, functions, jitcache, registry, timesheet
from .formats import available_formats, format_of, signature
from .memory import keep_freed_memory
from .errors import UsageError, did_you_mean
from .io import atomic_write_json, check_output, check_table_path
from .metrics import Tolerance
from .progress import progress


def _fmt_num(v) -> str:
    try:
        v = float(v)  # records from workers and files carry "inf" and "nan" as strings
    except (TypeError, ValueError):
        return str(v)
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf"
    return f"{v:.3g}"


#: arrays longer than this are printed shortened (the reproducer and --json hold them whole)
SHORT = 12


def _flat(values) -> list:
    out, stack = [], [values]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        else:
            out.append(v)
    return out


def _short(values, worst: int | None = None) -> str:
    """``values`` (nested lists), the whole of it when short, else its first and last entries, the length and the
    worst position."""
    if not isinstance(values, (list, tuple)):
        return repr(values)
    flat = _flat(values)
    if len(flat) <= SHORT:
        return str(values)
    ends = ", ".join(map(repr, flat[:3])) + ", ..., " + ", ".join(map(repr, flat[-3:]))
    at = f"; worst at [{worst}]: {flat[worst]!r}" if worst is not None and 0 <= worst < len(flat) else ""
    return f"[{ends}] ({len(flat):,} entries{at})"


def _input_size(args) -> int:
    return sum(len(_flat(a)) if isinstance(a, (list, tuple)) else 1 for a in args or [])


def _results_option(p) -> None:
    p.add_argument("--results", metavar="DIR", help="the results store this run is kept in (default: results/, or "
                   "$STABILITY_RESULTS); `stability history` lists its runs, `stability compare` compares two")


def _store(args, kind: str, label: str, argv, **data):
    """Keep this command's results as a run in the store; returns the run."""
    from pathlib import Path

    from . import store

    command = "python3 -m stability " + " ".join(argv if argv is not None else sys.argv[1:])
    return store.save(kind, label, root=Path(args.results) if args.results else None, command=command,
                      seed=getattr(args, "seed", None), **data)


def _isolation_options(p, also: str = "") -> None:
    p.add_argument("--workers", type=int, help="worker processes running checks at once, on a Dask local cluster "
                   "(default: the number of cores); each check runs in a worker, so code under test that exits, "
                   "crashes or hangs fails its check instead of ending the run" + also)
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786) instead of a local "
                   "cluster; 'synchronous': every check in this process, one after another (no isolation)")
    _dashboard_option(p)


def _dashboard_option(p) -> None:
    p.add_argument("--dashboard", action="store_true", help="the local cluster serves Dask's dashboard (its address "
                   "is printed); without it none is started")


def _run_checks(args, tasks, options, unit, describe):
    """``(journal, results)`` of ``tasks`` (all of one kind) in worker processes, one progress line per task, kept
    in a journal beside ``--json`` (resumable)."""
    from . import parallel
    from .journal import Journal

    journal = Journal(args.json) if args.json else None
    _KEPT.append(journal)
    with progress(len(tasks), unit=unit) as bar:
        def step(t, res):
            bar.set_description(f"{t.name} {t.dtype}: {describe(res)}")
            bar.update(1)

        results = parallel.run(tasks, options={tasks[0].kind if tasks else "verify": options}, workers=args.workers,
                               scheduler=args.scheduler, journal=journal, progress=step,
                               dashboard=args.dashboard)
    return journal, results


def _check_isolation(args) -> None:
    if args.dashboard:
        _check_dashboard()
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.workers is not None and args.scheduler:
        raise UsageError("--workers sizes the local cluster; a --scheduler has its own workers: give one of them")


def _check_dashboard() -> None:
    import importlib.util

    if importlib.util.find_spec("bokeh") is None:
        raise UsageError("--dashboard: Dask serves its dashboard with Bokeh, which is not installed: "
                         "pip install -e '.[dashboard]', or leave --dashboard out")


#: the journals of the running command: what Ctrl-C says was kept
_KEPT: list = []


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stability", description="Is this softmax-family implementation accurate?")
    p.add_argument("--version", action="version", version=f"softmax-stability {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="fuzz implementations against the correctly rounded reference")
    v.add_argument("--function", required=True, help=f"one of: {', '.join(functions.FUNCTIONS)}; or 'all'")
    v.add_argument("--impl", action="append", default=[], metavar="SPEC",
                   help="registered name, package.module:attr or path/to/file.py:attr (repeatable; "
                        "default: every registered implementation of the function)")
    v.add_argument("--library", action="append", default=[], metavar="NAME",
                   help="only the registered implementations of this library (repeatable: numpy, scipy, torch, "
                        "jax, ...; as `stability atlas --library`)")
    v.add_argument("--dtype", action="append", default=[], metavar="IN[:OUT]",
                   help="a format (float16, bfloat16, float32, float64, float8_e4m3fn, float8_e5m2) or a "
                   "signature IN:OUT (bfloat16:float32: bfloat16 data, float32 results; gradients: x:g or x:g:result) "
                   "(repeatable; default float32, float64 and the mixed signatures a registration declares)")
    v.add_argument("--examples", type=int, default=None, help="Hypothesis examples per input family and dtype "
                   "(default 25)")
    v.add_argument("--seed", type=int, default=0, help="the seed of the examples drawn (default 0): the same seed "
                   "draws the same inputs")
    v.add_argument("--family", action="append", default=[], help="restrict to these input families")
    v.add_argument("--slow", action="store_true", help="add the long-row family (rows up to 10^5)")
    v.add_argument("--no-shrink", action="store_true", help="the verdicts only: stop each family at its first "
                   "failure, unshrunk (faster; the counterexample is the first failing input, not a minimal one)")
    v.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="a call of the implementation "
                   "that runs longer fails with 'did not return within N s' (default 60)")
    v.add_argument("--json", metavar="PATH", help="write the records to PATH (atomically); a run killed midway and "
                   "started again with the same PATH resumes, reusing the checks that had finished")
    _results_option(v)
    _isolation_options(v)
    _strict_option(v)
    v.add_argument("--tolerance", nargs=3, type=float, metavar=("A0", "A1", "B"),
                   help="verdict rule ulp <= A0 + A1*log2(n) + B*kappa (default 8 1 2)")

    b = sub.add_parser("bench", help="time implementations against the copy and exp roofs (CPU)")
    b.add_argument("--function", action="append", default=[], help="repeatable; default softmax, log_softmax, "
                   "logsumexp, sigmoid, log_sigmoid")
    b.add_argument("--impl", action="append", default=[], metavar="SPEC", help="repeatable (needs one --function "
                   "for unregistered code); default: every registered CPU implementation of the functions")
    b.add_argument("--shape", action="append", default=[], help="like 4096x4096 (repeatable; default: the "
                   "issue's shapes (1,2^24) (4096,4096) (2^16,128) (2^20,10) (10,) (1000,) (100,100))")
    b.add_argument("--dtype", action="append", default=[], metavar="DTYPE", help="a format to time in "
                   "(repeatable; default float32 and float64)")
    b.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 5 on the CPU, 50 on "
                   "the GPU)")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: the CuPy implementations, "
                   "timed with CUDA events against a device-to-device copy (default shapes (4096,4096), "
                   "(16384,1024), (1024,32768))")
    _results_option(b)
    b.add_argument("--out", default="build/bench.csv", help="the table: CSV, or Parquet with a .parquet suffix "
                   "(default build/bench.csv; `report --bench PATH` draws it)")
    b.add_argument("--json", metavar="PATH", help="write the records (one per timed case) to PATH too (atomically)")

    se = sub.add_parser("search", help="drive Hypothesis towards the largest stability ratio (worst cases)")
    se.add_argument("--function", required=True, help=f"the function the code computes: one of "
                    f"{', '.join(functions.FUNCTIONS)}")
    se.add_argument("--impl", required=True, metavar="SPEC", help="registered name, package.module:attr or "
                    "path/to/file.py:attr")
    se.add_argument("--budget", type=int, default=400, help="examples in all, split over the families")
    se.add_argument("--dtype", action="append", default=[], metavar="IN[:OUT]", help="a format or signature, as "
                    "for verify (repeatable; default float32 and float64)")
    se.add_argument("--seed", type=int, default=0, help="the seed of the search (default 0)")
    se.add_argument("--database", default="build/.hypothesis-search",
                    help="Hypothesis example database kept between runs ('' for none)")
    se.add_argument("--json", metavar="PATH", help="write the worst inputs to PATH (atomically); resumable like "
                    "verify's")
    se.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                    help="per-call time limit, as for verify (default 60)")
    _results_option(se)
    _isolation_options(se)

    pp = sub.add_parser("paper", help="reproduce Blanchard, Higham & Higham (2021), Sec. 6: MNIST logits in fp16 "
                        "and bfloat16")
    pp.add_argument("--dtype", action="append", default=[], choices=["float16", "bfloat16"],
                    help="the low-precision format (repeatable; default both)")
    pp.add_argument("--format", action="append", dest="dtype", choices=["float16", "bfloat16"],
                    help=argparse.SUPPRESS)  # the earlier name, still accepted
    _results_option(pp)
    pp.add_argument("--json", metavar="PATH", help="write the summary rows to PATH (atomically)")

    rp = sub.add_parser("report", help="one self-contained HTML page: verdicts, accuracy, special values, worst "
                        "cases, speed, environment")
    rp.add_argument("--out", default="build/report.html", help="where the page goes (default build/report.html); "
                    "what it shows is kept as a run in the results store (--results), from which --run redraws it")
    rp.add_argument("--quick", action="store_true", help="a small page: 3 examples per family, "
                    "float32 only, no shrinking, two small bench shapes")
    rp.add_argument("--function", action="append", default=[], help="repeatable; default every function")
    rp.add_argument("--impl", action="append", default=[], metavar="SPEC", help="your own implementation beside "
                    "the registered ones: package.module:attr or path/to/file.py:attr (repeatable; needs exactly one "
                    "--function)")
    rp.add_argument("--run", action="append", default=[], metavar="RUN", help="draw the page from a stored report "
                    "run (its folder, or its name in the results store; repeatable: the last one's page, with a "
                    "history section across them) instead of measuring now")
    rp.add_argument("--results", metavar="DIR", help="the results store (default: results/, or $STABILITY_RESULTS); "
                    "every report run is kept there")
    rp.add_argument("--records", metavar="PATH", help="use saved verify records (stability verify --json PATH) "
                    "instead of verifying now")
    rp.add_argument("--bench", metavar="PATH", help="use a saved bench table (stability bench --out PATH) instead "
                    "of timing now")
    rp.add_argument("--no-bench", action="store_true", help="no timing: the speed section says what is missing")
    rp.add_argument("--seed", type=int, default=0, help="the seed of the examples drawn (default 0)")
    _isolation_options(rp, "; the page's figures are drawn on as many processes")

    sw = sub.add_parser("sweep", help="exhaustive check of an elementwise function over every input of a format, "
                        "in chunks on Dask (resumable)")
    elementwise = ", ".join(n for n, f in functions.FUNCTIONS.items() if f.elementwise)
    sw.add_argument("--function", required=True, help=f"an elementwise function or its gradient: {elementwise} "
                    "(BCE's targets held at 0, 0.5 and 1, a gradient's cotangent at 1 and -0.3)")
    sw.add_argument("--impl", required=True, metavar="SPEC", help="registered name, package.module:attr or "
                    "path/to/file.py:attr")
    sw.add_argument("--dtype", default="float16", metavar="IN[:OUT]", help="the inputs' format: float8_e4m3fn, "
                    "float8_e5m2 (256 inputs), float16, bfloat16 (65,536) or float32 (2^32); IN:OUT judges results in "
                    "another format (bfloat16:float32)")
    sw.add_argument("--out", help="folder for the chunk results (default build/sweep/IMPL-DTYPE); a killed sweep "
                    "run again with the same --out resumes")
    sw.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786); default: a local "
                    "cluster; 'synchronous': no Dask, one chunk after another in this process")
    sw.add_argument("--workers", type=int, help="local cluster size (default: the number of cores)")
    _dashboard_option(sw)
    sw.add_argument("--chunk", type=int, default=None, help="bit patterns per chunk (default 4096 for 16-bit "
                    "formats, 2^22 for float32)")
    sw.add_argument("--range", metavar="LO:HI", help="only these bit patterns (ints, 0x-hex allowed; HI "
                    "exclusive), e.g. 0:0x1000000 to time a slice")
    _results_option(sw)
    sw.add_argument("--json", metavar="PATH", help="write the summary to PATH (atomically)")

    at = sub.add_parser("atlas", help="every installed library's peers side by side in four formats (and their "
                        "mixed signatures): a cross-library table, as Markdown and in the results store")
    at.add_argument("--library", action="append", default=[], metavar="NAME", help="repeatable; default every "
                    "library with peers installed here (the extras: pip install -e '.[atlas]')")
    at.add_argument("--examples", type=int, default=None, help="examples per input family (default 25)")
    at.add_argument("--seed", type=int, default=0, help="the seed of the examples drawn (default 0)")
    at.add_argument("--out", metavar="PATH", default="build/atlas.md", help="the page: the table as Markdown, "
                    "written atomically (default build/atlas.md; docs/atlas.md is this file from the published run)")
    at.add_argument("--markdown", metavar="PATH", dest="out", help=argparse.SUPPRESS)  # the earlier name
    at.add_argument("--json", metavar="PATH", help="write the records to PATH too; a run killed midway and started "
                    "again with the same PATH resumes")
    at.add_argument("--declarations", action="store_true", help="also print what was measured as the EXPECT "
                    "entries of the peer modules (for declaring a new version of a library)")
    _results_option(at)
    _isolation_options(at)
    _strict_option(at)

    hi = sub.add_parser("history", help="list the runs in the results store")
    hi.add_argument("--results", metavar="DIR", help="the results store (default: results/, or $STABILITY_RESULTS)")
    hi.add_argument("--json", action="store_true", help="print JSON")

    cp = sub.add_parser("compare", help="what changed between two stored runs: verdicts, stability ratios, "
                        "special values, timings beyond their noise (exit 1 when anything regressed)")
    cp.add_argument("runs", nargs="*", metavar="RUN", help="two runs (folders, or names in the store); default: the "
                    "latest two runs that measured the same thing")
    cp.add_argument("--results", metavar="DIR", help="the results store (default: results/, or $STABILITY_RESULTS)")
    cp.add_argument("--ratio-factor", type=float, default=2.0, help="a stability ratio that grew by more than this "
                    "factor (and to at least --ratio-floor) is a regression (default 2)")
    cp.add_argument("--ratio-floor", type=float, default=0.25, help="ratios below this are far inside the allowance "
                    "and not compared (default 0.25)")
    cp.add_argument("--time-tolerance", type=float, default=0.05, help="a timing whose range of repeats lies wholly "
                    "above the older run's and whose median grew by more than this fraction is slower (default 0.05)")
    cp.add_argument("--json", action="store_true", help="print JSON")

    ls = sub.add_parser("list", help="list the registered implementations")
    ls.add_argument("--function", help="only this function's implementations")
    ls.add_argument("--json", action="store_true", help="print JSON")
    return p


def _cmd_list(args) -> int:
    if args.function:
        functions.get(args.function)
    impls = registry.implementations(args.function)
    if args.json:
        print(json.dumps([i.as_dict() for i in impls], indent=2))
        return 0
    w = max((len(i.name) for i in impls), default=10)
    for i in impls:
        ep = i.extra.get("entry_point")
        print(f"{i.name:<{w}}  {i.function:<34} {i.library:<6} {i.expectation}" + (f"  [entry point {ep}]" if ep
                                                                                      else ""))
    return 0


def _cmd_verify(args, argv=None) -> int:
    from .verify import DEFAULT_EXAMPLES, dtypes_for

    from .strategies import families

    names = list(functions.FUNCTIONS) if args.function == "all" else [functions.get(args.function).name]
    if args.function == "all" and args.impl:
        raise UsageError("--impl needs one --function (which function does the code compute?), not 'all'")
    if args.library and args.impl:
        raise UsageError("--library selects registered implementations; --impl names them: use one of the two")
    for lib in args.library:
        known = sorted({i.library for i in registry.implementations()})
        if lib not in known:
            raise UsageError(f"no registered implementation of library {lib!r}{did_you_mean(lib, known)}: "
                             f"use one of {', '.join(known)}")
    for d in args.dtype:
        signature(d)
    examples = DEFAULT_EXAMPLES if args.examples is None else args.examples
    if examples < 1:
        raise UsageError("--examples must be at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0, e.g. --timeout 30")
    tol = Tolerance(*args.tolerance) if args.tolerance else Tolerance()
    if args.json:
        check_output(args.json, "--json")
    fams = args.family or None
    impls = []
    for name in names:
        specs = args.impl or [i.name for i in registry.implementations(name)
                              if not args.library or i.library in args.library]
        impls += [registry.resolve(s, name) for s in specs]
        for f in fams or ():
            if f not in families(name, slow=True, optional=True):
                known = families(name, slow=True, optional=True)
                raise UsageError(f"family {f!r} does not apply to {name}{did_you_mean(f, known)}: use one of "
                                 f"{', '.join(families(name, slow=True, optional=True))}")
    plan = [(i, d) for i in impls for d in dtypes_for(i, args.dtype)]
    if not plan:
        supported = sorted({d for i in impls for d in (i.dtypes or ())})
        raise UsageError("nothing to verify: none of the implementations supports the requested dtypes "
                         f"({', '.join(args.dtype)}); "
                         + (f"they declare {', '.join(supported)}" if supported else
                            f"formats here: {', '.join(available_formats())}"))
    from . import parallel
    from .verify import Record

    _check_isolation(args)
    options = dict(examples=examples, seed=args.seed, tolerance=tol, families=fams, slow=args.slow,
                   **({"shrink": False} if args.no_shrink else {}),
                   timeout=args.timeout)
    t0 = time.perf_counter()
    journal, dicts = _run_checks(args, [parallel.task("verify", i, d) for i, d in plan], options, "check",
                                 lambda rec: rec["verdict"])
    records = [Record.from_dict(d) for d in dicts]
    ok = meets_all(records, args.strict_peers)
    for rec in records:
        _print_record(rec, args.json)
    reused = f" ({journal.reused} reused from an interrupted run)" if journal is not None and journal.reused else ""
    print(f"{len(records)} checks in {time.perf_counter() - t0:.1f} s{reused}: {summary(records, args.strict_peers)}")
    from . import tables

    dicts = [r.as_dict() for r in records]
    run = _store(args, "verify", args.function if not args.impl else f"{args.function}-{args.impl[0]}", argv,
                 tables={"checks": tables.checks(dicts), "families": tables.families(dicts)}, blobs={"records": dicts})
    print(f"stored as {run.path}")
    if args.json:
        path = atomic_write_json(args.json, dicts)
        journal.clear()
        print(f"records written to {path}")
    return 0 if ok else 1


def meets_all(records, strict_peers: bool = False) -> bool:
    """Whether every record met its expectation; a peer's drift (another version of its library than it was
    measured on) fails only with ``--strict-peers``."""
    return all(r.meets_expectation and not (strict_peers and r.drift) for r in records)


def summary(records, strict_peers: bool = False) -> str:
    """``"N as expected, M short of their expectation"``, and the drifted peers when there are any."""
    short = sum(not r.meets_expectation or bool(strict_peers and r.drift) for r in records)
    drifted = sum(bool(r.drift) for r in records)
    drift = (f"; {drifted} peer{'s' if drifted != 1 else ''} drifted from the measurement on another version"
             f"{' (failures: --strict-peers)' if strict_peers else ' (not failures without --strict-peers)'}"
             if drifted else "")
    return f"{len(records) - short} as expected, {short} short of their expectation{drift}"


def _strict_option(p) -> None:
    p.add_argument("--strict-peers", action="store_true", help="a peer whose results differ from its declaration "
                   "measured on another version of its library (drift) fails the run; without it drift is shown, "
                   "stored and compared, and the exit status ignores it")


def _print_record(rec, json_path=None) -> None:
    verdict = rec.verdict.upper()
    note = "" if rec.meets_expectation and rec.expectation == "stable" else (
        f"  (expected: {rec.expectation})" if rec.meets_expectation else f"  ** expected {rec.expectation} **")
    if rec.drift:
        note = f"  DRIFT: {rec.drift}"
    print(f"{rec.implementation:<32} {rec.dtype:<{max(8, len(rec.dtype))}} {verdict:<4}  max {_fmt_num(rec.max_ulp):>8} ULP  "
          f"ratio {_fmt_num(rec.max_ratio):>8}  {rec.examples:>4} examples{note}")
    if rec.verdict == "fail":
        print(f"    families failed: {', '.join(rec.failed_families)}")
        ce = rec.counterexample
        if ce is not None and (not rec.meets_expectation or rec.origin == "user" or rec.drift):
            for i, c in enumerate([ce] + ce.get("others", [])):  # distinct kinds of failure, worst first
                w = c.get("worst", {})
                print(f"    {'counterexample' if i == 0 else 'also'} ({c['family']}): {c['reason']}")
                if w:
                    print(f"      worst output: expected {w['expected']!r}, {_fmt_num(w['ulp'])} ULP "
                          f"(allowed {_fmt_num(w['allowance'])}), kappa {_fmt_num(w['kappa'])}")
                pos = w.get("position")
                if c.get("input") is not None:
                    print("      input    " + ", ".join(_short(a) for a in c["input"]))
                if c.get("expected") is not None or c.get("got") is not None:
                    print(f"      expected {_short(c.get('expected'), pos)}")
                    print(f"      got      {_short(c.get('got'), pos)}")
                nw = c.get("narrow")
                if nw and nw.get("passes"):
                    print(f"      judged as {nw['format']} (the input's format) it passes: {_fmt_num(nw['max_ulp'])} "
                          f"ULP of {nw['format']}, ratio {_fmt_num(nw['max_ratio'])}: no more accurate than "
                          f"{nw['format']} holds (computed in {nw['format']} and widened?)")
                if _input_size(c.get("input")) > 4 * SHORT:
                    where = f"in {json_path}" if json_path else "with --json PATH"
                    print(f"    reproducer: the whole input, {where} (counterexample.reproducer)")
                elif c.get("reproducer"):
                    print("    reproducer:\n" + "\n".join("      " + line for line in c["reproducer"].splitlines()))


def _cmd_bench(args, argv=None) -> int:
    import os

    # OpenMP workers (PyTorch's) spin after each call by default and steal the cores from whatever runs next
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .bench import sweep, table

    names = args.function or sweep.DEFAULT_FUNCTIONS
    for n in names:
        functions.get(n)
    if args.impl and len(names) != 1:
        raise UsageError("--impl needs exactly one --function (which function does the code compute?)")
    if args.repeats is not None and args.repeats < 1:
        raise UsageError("--repeats must be at least 1")
    check_table_path(args.out, "--out")
    if args.json:
        check_output(args.json, "--json")
    if args.device == "cuda":
        return _bench_cuda(args, names, argv)
    dtypes = args.dtype or ["float32", "float64"]
    for d in dtypes:
        format_of(d)
    shapes = [sweep.parse_shape(s) for s in args.shape] if args.shape else sweep.DEFAULT_SHAPES
    if args.impl:
        impls = [registry.resolve(s, names[0]) for s in args.impl]
    else:
        impls = [i for n in names for i in registry.implementations(n) if i.library not in registry.GPU_LIBRARIES]
    with progress(len(shapes) * len(dtypes), unit="shape x dtype") as bar:
        df = sweep.run(impls, shapes, dtypes, repeats=args.repeats or 5, progress=bar.update)
    path = table.save(df, args.out)
    _bench_records(df, args.json)
    show = table.against(df)[["function", "implementation", "alloc", "shape", "dtype", "median_s", "gbps",
                              "frac_copy", "frac_exp", "bound", "x_torch"]].copy()
    show["median_ms"] = show.pop("median_s") * 1e3
    print(show.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for note in df.attrs.get("skipped", []):
        print(f"not timed: {note}")
    print(f"bench table written to {path}")
    run = _store(args, "bench", ",".join(names) if len(names) < 4 else "all", argv, tables={"timings": df},
                 blobs={"skipped": df.attrs.get("skipped", [])})
    print(f"stored as {run.path}")
    return 0


def _bench_records(df, path) -> None:
    """``bench --json PATH``: the table's rows as JSON records, written atomically."""
    from .io import atomic_write_text

    if path:
        atomic_write_text(path, df.to_json(orient="records", indent=1))
        print(f"bench records written to {path}")


def _bench_cuda(args, names, argv=None) -> int:
    from .bench import gpu, sweep, table

    impls = ([registry.resolve(s, names[0]) for s in args.impl] if args.impl else
             [i for n in names for i in registry.implementations(n) if i.library in registry.GPU_LIBRARIES])
    if not impls:
        raise UsageError("no GPU implementation is registered: they need CuPy and a CUDA device "
                         "(pip install -e '.[gpu]' on a machine with a GPU)")
    shapes = ([sweep.parse_shape(s) for s in args.shape] if args.shape else
              [(4096, 4096), (16384, 1024), (1024, 32768)])
    df = gpu.run(impls, shapes, args.dtype or ["float32", "float16"], repeats=args.repeats or 50)
    path = table.save(df, args.out)
    _bench_records(df, args.json)
    show = df[["function", "implementation", "shape", "dtype", "median_s", "gbps", "frac_copy", "copy_gbps"]].copy()
    show["median_us"] = show.pop("median_s") * 1e6
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"bench table written to {path}")
    print(f"stored as {_store(args, 'bench', 'cuda', argv, tables={'timings': df}).path}")
    return 0


def _cmd_search(args, argv=None) -> int:
    from . import parallel
    from .verify import dtypes_for

    fn = functions.get(args.function)
    impl = registry.resolve(args.impl, fn.name)
    if args.budget < 1:
        raise UsageError("--budget must be at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError("--timeout must be a number of seconds above 0, e.g. --timeout 30")
    _check_isolation(args)
    if args.json:
        check_output(args.json, "--json")
    database = os.path.abspath(args.database) if args.database else None
    options = dict(budget=args.budget, seed=args.seed, database=database, timeout=args.timeout)
    journal, results = _run_checks(args, [parallel.task("search", impl, d) for d in dtypes_for(impl, args.dtype)],
                                   options, "dtype", lambda res: f"worst ratio {_fmt_num(res['max_ratio'])}")
    for res in results:
        print(f"{res['implementation']} {res['dtype']}: worst stability ratio {_fmt_num(res['max_ratio'])}")
        if res.get("lost"):
            print(f"  the search did not finish: {res['lost']['reason']}")
            if res["lost"].get("input") is not None:
                print("  input " + ", ".join(_short(a) for a in res["lost"]["input"]))
        for w in res["worst"]:
            pos = (w.get("worst") or {}).get("position")
            print(f"  ratio {_fmt_num(w['ratio']):>8}  {_fmt_num(w['ulp']):>8} ULP  {w['family']:<10} "
                  f"{'shrunk ' if w['shrunk'] else ''}input " + ", ".join(_short(a) for a in w["input"])
                  + (f" (worst output at [{pos}])" if pos is not None and _input_size(w["input"]) > SHORT else ""))
    if any(_input_size(w["input"]) > SHORT for r in results for w in r["worst"]):
        print("  (long inputs shortened: " + (f"{args.json} holds them whole)" if args.json else
                                              "add --json PATH for them whole, with reproducers)"))
    print(f"stored as {_store(args, 'search', f'{fn.name}-{impl.name}', argv, blobs={'search': results}).path}")
    if args.json:
        path = atomic_write_json(args.json, results)
        journal.clear()
        print(f"worst inputs written to {path}")
    return 0


def _parse_range(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 0
    try:
        lo, hi = (int(v, 0) for v in text.split(":"))
    except ValueError:
        raise UsageError(f"--range wants LO:HI as integers (0x-hex allowed), e.g. 0:0x10000, got {text!r}") from None
    return lo, hi


def _cmd_sweep(args, argv=None) -> int:
    import re

    from . import sweep as sw

    fn = functions.get(args.function)
    if fn.elementwise:
        args.dtype = signature(args.dtype, fn.name).name
    impl = registry.resolve(args.impl, fn.name)
    from .verify import dtypes_for

    if not dtypes_for(impl, [args.dtype]):
        raise UsageError(f"{impl.name} is not judged in {args.dtype} (it supports {', '.join(impl.dtypes or [])}): "
                         "pick one of those with --dtype")
    lo, hi = _parse_range(args.range)
    wide = signature(args.dtype, fn.name).input.dtype.itemsize > 2
    plan = sw.Plan(fn.name, args.impl, args.dtype, args.chunk or (1 << 22 if wide else 4096), lo, hi)
    _check_isolation(args)
    out = args.out or f"build/sweep/{re.sub(r'[^A-Za-z0-9_.-]+', '_', f'{impl.name}-{args.dtype}')}"
    check_output(out, "--out", folder=True)
    if args.json:
        check_output(args.json, "--json")
    with progress(len(plan.chunks), unit="chunk") as bar:
        s = sw.sweep(plan, out, scheduler=args.scheduler, workers=args.workers, progress=bar.update,
                     dashboard=args.dashboard)
    print(f"{impl.name} {args.dtype}: {s.inputs:,} inputs in {s.chunks} chunks ({s.resumed} from an earlier run) "
          f"in {s.seconds:.1f} s on {s.workers} worker(s)")
    print(f"  max error {_fmt_num(s.max_ulp)} ULP, max stability ratio {_fmt_num(s.max_ratio)}, "
          f"{s.failed:,} outputs fail the verdict")
    print("  outputs above " + ", ".join(f"{k} ULP: {v:,}" for k, v in s.above.items()))
    for e in s.errors:
        print(f"  error: {e}")
    for w in s.worst:
        t = "".join(f", {k} {w[k]!r}" for k in ("target", "g") if w.get(k) is not None)
        print(f"  worst: x = {w['x']!r}{t}: got {w['got']!r}, expected {w['expected']!r}, "
              f"{_fmt_num(w['ulp'])} ULP (ratio {_fmt_num(w['ratio'])})")
    if s.inputs_now:
        rate = s.per_core_rate
        full32 = 2**32 * len(sw.fixed_arguments(fn.name)) / (rate * (os.cpu_count() or 1))
        whole = plan.signature.input.name == "float32" and s.inputs_now == s.inputs and plan.lo == 0 and plan.hi == 2**32
        took = f"{full32 / 3600:.1f} h" if full32 >= 5400 else f"{full32 / 60:.1f} min"
        tail = "" if whole else f"; a full float32 sweep would take about {took} on this machine's {os.cpu_count()} cores"
        print(f"  throughput {rate / 1e6:.2f} M inputs/s per core{tail}")
    run = _store(args, "sweep", f"{fn.name}-{impl.name}-{args.dtype}", argv, blobs={"sweep": s.as_dict()})
    print(f"  stored as {run.path}")
    if args.json:
        path = atomic_write_json(args.json, s.as_dict())
        print(f"summary written to {path}")
    declared = sw.declared_failures(impl, args.dtype)
    if s.failed and declared:
        print(f"  as expected: {impl.name} is declared unstable on {', '.join(declared)} in {args.dtype}")
    elif s.failed:
        print(f"  ** expected stable in {args.dtype}: {s.failed:,} outputs fail **")
    elif declared:
        print(f"  as expected (declared unstable on {', '.join(declared)} in {args.dtype}, yet no input failed here, "
              "with the fixed targets and cotangents of a sweep)")
    return 0 if s.failed == 0 or declared else 1


def _cmd_paper(args, argv=None) -> int:
    from . import paper

    if args.json:
        check_output(args.json, "--json")
    results = [paper.run(f) for f in (args.dtype or ["float16", "bfloat16"])]
    print(paper.table(results))
    fp16 = [r for r in results if r.fmt == "float16"]
    if fp16:
        got = {k: fp16[0].overflows[k] for k in paper.PUBLISHED_OVERFLOWS_FP16}
        print(f"published (fp16): {paper.PUBLISHED_OVERFLOWS_FP16}; reproduced: {got}")
    from . import tables

    df, arrays = tables.paper(results)
    run = _store(args, "paper", "-".join(r.fmt for r in results), argv, tables={"paper": df},
                 arrays={"paper": arrays})
    print(f"stored as {run.path}")
    if args.json:
        path = atomic_write_json(args.json, [row for r in results for row in r.summary()])
        print(f"summary written to {path}")
    return 0


def _cmd_report(args, argv) -> int:
    from pathlib import Path

    from reports.build import draw

    from . import store

    out = Path(args.out)
    _check_isolation(args)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--out {out} should name an .html file, e.g. build/report.html")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder: name the file, e.g. {out / 'report.html'}")
    check_output(out, "--out")
    root = Path(args.results) if args.results else None
    if args.run:  # draw stored runs: nothing is measured
        clash = [o for o, v in (("--impl", args.impl), ("--records", args.records), ("--bench", args.bench),
                                ("--quick", args.quick), ("--no-bench", args.no_bench), ("--function", args.function))
                 if v]
        if clash:
            raise UsageError(f"--run draws stored runs as they were measured; {', '.join(clash)} would change what "
                             "is measured: leave them out, or measure a new run without --run")
        runs = [store.load(r, root) for r in args.run]
        for r in runs:
            if r.kind != "report":
                raise UsageError(f"{r.name} is a {r.kind} run; a page is drawn from report runs "
                                 "(`stability history` shows each run's kind)")
        with progress(1, unit="figure") as bar:
            res = draw(runs, out, workers=_draw_workers(args), progress=bar)
        print(f"report drawn from {len(runs)} stored run(s) into {res['path'].resolve()} "
              f"({res['bytes'] / 1024:.0f} KiB, {res['seconds']:.1f} s)")
        return 0 if res["short"] == 0 else 1
    run = _measure_report(args, argv, root)
    with progress(1, unit="figure") as bar:
        res = draw([run], out, workers=_draw_workers(args), progress=bar)
    print(f"report written to {res['path'].resolve()} ({res['bytes'] / 1024:.0f} KiB, "
          f"{(run.blob('options') or {}).get('seconds', 0) + res['seconds']:.1f} s); its data: {run.path}")
    reused = f" ({run.reused} reused from an interrupted run)" if getattr(run, "reused", 0) else ""
    print(f"{res['records']} checks{reused}: {res['records'] - res['short']} as expected, {res['short']} short of "
          f"their expectation{'' if res['bench'] else '; no timing'}")
    stages = dict((run.blob("options") or {}).get("stages") or {})
    stages[timesheet.STAGES[-1]] = res["seconds"]  # drawing the page
    for line in timesheet.lines(stages, run.blob("records") or []):
        print(line)
    if run.journal is not None:
        run.journal.clear()
    return 0 if res["short"] == 0 else 1


def _draw_workers(args) -> int | None:
    """Processes drawing the page's figures: ``--workers``, one with ``--scheduler synchronous``, else every core
    (figures are drawn here, not on a remote scheduler)."""
    from .parallel import SYNCHRONOUS

    return 1 if args.scheduler == SYNCHRONOUS else args.workers


def _measure_report(args, argv, root):
    from pathlib import Path

    from reports import inputs

    from .measure import ReportOptions, report_run

    names = [functions.get(f).name for f in args.function] or list(functions.FUNCTIONS)
    if args.impl and len(names) != 1:
        raise UsageError("--impl needs exactly one --function (which function does your code compute?)")
    if args.bench and args.no_bench:
        raise UsageError("--bench and --no-bench contradict each other: give one")
    # saved inputs are read first: a bad file stops the report before any work is done
    records = inputs.load_records(args.records) if args.records else None
    bench = inputs.load_bench(args.bench) if args.bench else None
    user = [registry.resolve(s, names[0]) for s in args.impl]
    opts = ReportOptions(out=Path(args.out), quick=args.quick, functions=tuple(names), user=user, records=records,
                         bench=bench, bench_source=str(args.bench or ""), no_bench=args.no_bench, seed=args.seed,
                         workers=args.workers, scheduler=args.scheduler, dashboard=args.dashboard, results=root,
                         command="python3 -m stability " + " ".join(argv if argv is not None else sys.argv[1:]))
    with progress(1, unit="step") as bar:
        _KEPT.append(opts)  # its journal, once verifying starts
        run = report_run(opts, progress=bar)
    run.journal = opts.journal
    return run


def _cmd_atlas(args, argv=None) -> int:
    from . import atlas, libraries, parallel, tables
    from .verify import DEFAULT_EXAMPLES, Record

    have = atlas.peer_libraries()
    for name in args.library:
        if name not in libraries.TABLE:
            raise UsageError(f"unknown library {name!r}{did_you_mean(name, libraries.NAMES)}: use one of "
                             f"{', '.join(have)}")
        if name not in have:
            extra = libraries.TABLE[name].extra
            raise UsageError(f"{name} has no peers here: install it (pip install -e '.[{extra or name}]') or leave "
                             f"it out; installed: {', '.join(have) or 'none'}")
    examples = DEFAULT_EXAMPLES if args.examples is None else args.examples
    if examples < 1:
        raise UsageError("--examples must be at least 1")
    check_output(args.out, "--out")
    if args.json:
        check_output(args.json, "--json")
    _check_isolation(args)
    plan = atlas.plan(args.library or None)
    if not plan:
        raise UsageError("no library with peers is installed here: pip install -e '.[atlas]' (or one extra: "
                         + ", ".join(f"[{lib.extra}]" for lib in libraries.TABLE.values() if lib.extra) + ")")
    t0 = time.perf_counter()
    options = dict(examples=examples, seed=args.seed, shrink=f"all@{atlas.SHOWN_FORMAT}")
    journal, dicts = _run_checks(args, [parallel.task("verify", i, d) for i, d in plan], options, "check",
                                 lambda rec: rec["verdict"])
    records = [Record.from_dict(d) for d in dicts]
    dicts = [r.as_dict() for r in records]
    for lib in dict.fromkeys(r.library for r in records):
        mine = [r for r in records if r.library == lib]
        version = next((r.version for r in mine if r.version), "?")
        print(f"{libraries.TABLE[lib].title or lib:<14} {version:<10} {len(mine):>4} checks, "
              f"{sum(r.verdict == 'pass' for r in mine):>4} pass; {summary(mine, args.strict_peers)}")
        for r in mine:
            if not r.meets_expectation or r.drift:
                _print_record(r, args.json)
    print(f"{len(records)} checks in {time.perf_counter() - t0:.1f} s: {summary(records, args.strict_peers)}")
    lacks = {lib: atlas.lacks(lib) for lib in dict.fromkeys(r.library for r in records)}
    run = _store(args, "atlas", "+".join(args.library) or "all", argv, tables={"checks": tables.checks(dicts),
                 "families": tables.families(dicts)}, blobs={"records": dicts, "lacks": lacks})
    from reports import atlas as draw

    from .io import atomic_write_text

    page = atomic_write_text(args.out, draw.markdown(dicts, command=run.meta.get("command", ""),
                                                          created=run.meta.get("created", ""), lacks=lacks))
    print(f"stored as {run.path}\natlas written to {page}")
    if args.declarations:
        print(atlas.declarations(dicts))
    if args.json:
        atomic_write_json(args.json, dicts)
        journal.clear()
    return 0 if meets_all(records, args.strict_peers) else 1


def _cmd_history(args) -> int:
    from pathlib import Path

    from . import store

    root = Path(args.results) if args.results else store.default_root()
    runs = store.runs(root)
    rows = []
    for r in runs:
        checks = r.table("checks")
        timings = r.table("timings")
        env = r.meta.get("environment", {})
        rows.append({"name": r.name, "kind": r.kind, "created": r.meta["created"], "label": r.meta.get("label"),
                     "checks": 0 if checks is None else len(checks),
                     "short": 0 if checks is None else int((~checks.meets_expectation.astype(bool)).sum()),
                     "timings": 0 if timings is None else len(timings), "host": env.get("host"),
                     "commit": env.get("commit"), "command": r.meta.get("command"), "path": str(r.path)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no runs in {root} yet: every verify, bench, search, sweep, paper and report run is kept there")
        return 0
    for row in rows:
        what = f"{row['checks']} checks, {row['short']} short" if row["checks"] else (
            f"{row['timings']} timings" if row["timings"] else row["kind"])
        print(f"{row['name']:<58} {what:<26} {row['host']} {row['commit']}")
    print(f"{len(rows)} runs in {root}")
    return 0


def _cmd_compare(args) -> int:
    from pathlib import Path

    from . import compare as cmp
    from . import store

    root = Path(args.results) if args.results else store.default_root()
    chosen = not args.runs
    if len(args.runs) == 2:
        a, b = (store.load(r, root) for r in args.runs)
    elif not args.runs:
        pair = cmp.default_pair(store.runs(root))
        if pair is None:
            raise UsageError(f"no two comparable runs in {root} (the same kind of run, measuring the same thing): "
                             "name two runs, `stability compare RUN_A RUN_B` (`stability history` lists them)")
        a, b = pair
    else:
        for r in args.runs:  # an unknown name is named as unknown before the count is
            store.load(r, root)
        raise UsageError(f"give two runs to compare, not {len(args.runs)} (or none: the latest two comparable ones)")
    if not cmp.related(a, b):
        raise UsageError(f"these runs measured nothing in common ({cmp.measured(a)}; {cmp.measured(b)}): compare "
                         "two runs of the same command (`stability history` lists them; with no names, `stability "
                         "compare` takes the latest two comparable runs)")
    if args.ratio_factor <= 1 or args.ratio_floor < 0 or args.time_tolerance < 0:
        raise UsageError("--ratio-factor must be above 1, --ratio-floor and --time-tolerance at least 0")
    c = cmp.compare(a, b, factor=args.ratio_factor, floor=args.ratio_floor, time_tolerance=args.time_tolerance)
    if args.json:
        print(json.dumps(c.as_dict(), indent=2))
        return 1 if c.regressions else 0
    if chosen:
        print(f"the latest two comparable runs in {root} (name two runs to compare others):")
    print(f"from {a.name}\n  to {b.name}")
    if c.note:
        print(f"note: {c.note}")
    for kind in ("verdict", "families", "drift", "ratio", "special", "timing", "new", "missing"):
        mine = [x for x in c.changes if x.kind == kind]
        for x in mine:
            print(f"  {'REGRESSION ' if x.regression else ''}{kind}: {x.what}: {x.before} -> {x.after}")
    n = len(c.regressions)
    print(f"{len(c.changes)} changes, {n} regression{'' if n == 1 else 's'}"
          + ("" if c.timings_compared else " (accuracy only)"))
    return 1 if n else 0


def main(argv=None) -> int:
    _KEPT.clear()
    keep_freed_memory()  # the CLI's process and the workers it forks: arrays' memory reused, not faulted in anew
    jitcache.enable()  # and JAX's compiled programs kept for the next run (before JAX is imported)
    parser = _parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # an entry point that failed to load is said once, at the end, in words
        warnings.simplefilter("ignore", registry.RegistrationWarning)
        try:
            return _main(args, argv)
        finally:
            for where, why in registry.LOAD_ERRORS.items():
                print(f"stability: the entry point {where} of {registry.ENTRY_POINT_GROUP} could not be loaded, "
                      f"its implementations are left out: {why}", file=sys.stderr)


def _main(args, argv) -> int:
    try:
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "bench":
            return _cmd_bench(args, argv)
        if args.command == "paper":
            return _cmd_paper(args, argv)
        if args.command == "search":
            return _cmd_search(args, argv)
        if args.command == "sweep":
            return _cmd_sweep(args, argv)
        if args.command == "history":
            return _cmd_history(args)
        if args.command == "atlas":
            return _cmd_atlas(args, argv)
        if args.command == "compare":
            return _cmd_compare(args)
        if args.command == "report":
            return _cmd_report(args, argv)
        return _cmd_verify(args, argv)
    except UsageError as exc:
        print(f"stability: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = [getattr(j, "journal", j) for j in _KEPT]
        kept = [j for j in kept if j is not None]
        kept_to = (args.command in ("verify", "search") and args.json) or (args.command == "report" and not args.run)
        said = "".join(f"; {j.count()} finished checks are kept in {j.folder}: run the same command again to resume"
                       for j in kept) or ("; no check had finished: nothing was kept" if kept_to else
                                          "; nothing was kept (give --json PATH to keep finished checks)")
        print("stability: interrupted" + said, file=sys.stderr)
        return 130
