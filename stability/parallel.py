"""Checks in worker processes: each (implementation, dtype) check of ``verify``, ``search`` or ``report`` is one task
on a Dask cluster, so whatever the code under test does ends as a verdict about that code.

* A local cluster of worker processes by default (one per core, at most one per check; ``workers=N``), a running
  Dask scheduler given by its address (``scheduler="tcp://host:8786"``), or ``scheduler="synchronous"``: every check
  in this process, one after another (no isolation; for debugging).
* The worker resolves the implementation by its SPEC (a registered name, ``module:attr``, or a file with an
  absolute path), runs the check under :mod:`stability.blackbox`, and sends back the record as a dict.
* A check whose worker dies -- the code called ``os._exit``, crashed in native code, or ran past the per-call time
  limit and was ended -- comes back as a failing record that says what happened and on which input (read from the
  black box; a remote worker's is out of reach, and the record says so).  Every other check still comes back.
* With a :class:`stability.journal.Journal`, each record is kept as it arrives and reused by a later run.

Results come back in the order of the tasks, whatever order the workers finish them in, so a run's records do not
depend on the number of workers.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass

SYNCHRONOUS = "synchronous"
#: times a check is run again when its worker died before it made its first call (it was queued behind another),
#: beyond one more for each death another check's black box explains
RETRIES = 2
# seconds to fetch the result of a check Dask reports finished: it is already computed, so this is only its
# transfer; past it the check is run again (a guard: the one such stall traced, below, is fixed at its cause)
FETCH_TIMEOUT = 120


def _fresh_offload_executor() -> None:
    """In a process just forked (a worker of the local cluster): a new thread pool for Dask's offloading.

    Dask serializes a message over ``distributed.comm.offload`` (10 MiB by ``sizeof``, or one ``sizeof`` cannot
    measure) on ``distributed.utils._offload_executor``, a one-thread pool.  A worker forked from a process whose
    pool had started its thread (this process had received a large result before) inherits the pool but not the
    thread, and the pool never starts another: the worker computed the check, but sending its result waited
    forever -- the stall of 2026-12-06/07 (both workers idle, the client waiting on a finished check's result), met
    on checks whose unshrunk counterexamples are long rows."""
    utils = sys.modules.get("distributed.utils")
    if utils is not None and hasattr(utils, "_offload_executor"):
        from concurrent.futures import ThreadPoolExecutor

        utils._offload_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="Dask-Offload")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_offload_executor)


#: a local cluster's scheduler without its dashboard, its HTTP server on a free port: the default, 8787, made Dask
#: warn "Port 8787 is already in use" whenever anything else held that port (another run, a notebook)
QUIET_SCHEDULER = dict(dashboard_address=":0", scheduler_kwargs={"dashboard": False})


def cluster_options(dashboard: bool = False) -> dict:
    """A local cluster's scheduler options: no dashboard (:data:`QUIET_SCHEDULER`) unless ``dashboard``, then
    Dask's own on a free port (its address is printed to stderr)."""
    return dict(dashboard_address=":0") if dashboard else dict(QUIET_SCHEDULER)


def say_dashboard(client) -> None:
    print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)


def default_workers() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Task:
    """One check: ``kind`` ``verify`` or ``search``, the implementation's SPEC as the user wrote it (``name``) and
    as a worker resolves it (``spec``: a file's path made absolute), its function and a dtype."""

    kind: str
    name: str
    function: str
    dtype: str
    spec: str
    library: str = "numpy"


def task(kind: str, impl, dtype: str) -> Task:
    spec = impl.name
    if ":" in spec:
        where, attr = spec.rsplit(":", 1)
        if where.endswith(".py") or "/" in where:
            spec = f"{os.path.abspath(where)}:{attr}"
    return Task(kind, impl.name, impl.function, dtype, spec, impl.library)


def _apart(todo, tasks) -> list:
    """``todo`` in groups that share worker processes: the checks of a library marked ``own_process`` in
    ``stability.libraries`` (TensorFlow, PaddlePaddle: importing both kills the process) on a cluster of their own,
    every other check together.  A remote scheduler's workers are shared whatever the grouping."""
    from . import libraries

    groups: dict = {}
    for i in todo:
        lib = libraries.TABLE.get(tasks[i].library)
        groups.setdefault(tasks[i].library if lib is not None and lib.own_process else "", []).append(i)
    return [groups[k] for k in sorted(groups)]


def _work(t: Task, index: int, options: dict, box: str | None) -> dict:
    """Run one task (in a worker, or in this process); the record or search result as a dict."""
    import warnings
    from contextlib import nullcontext

    from hypothesis.errors import HypothesisDeprecationWarning

    from . import blackbox, registry
    from .memory import keep_freed_memory

    keep_freed_memory()  # a worker of a cluster elsewhere: the CLI that set it is not its parent

    impl = registry.resolve(t.spec, t.function)
    if impl.name != t.name:  # a file's path made absolute for the worker: records and reproducers say it as given
        import dataclasses

        impl = dataclasses.replace(impl, name=t.name)
    with warnings.catch_warnings(), (blackbox.recording(box, index) if box else nullcontext()):
        # the worker's own threads (Dask's heartbeats) draw from the `random` module while Hypothesis generates,
        # and Hypothesis warns as if the strategy had: not the suite's draws, which do not use it
        warnings.filterwarnings("ignore", message="Do not use the `random` module",
                                category=HypothesisDeprecationWarning)
        return _KINDS[t.kind](impl, t, options)


def _verify(impl, t: Task, options: dict) -> dict:
    from .verify import verify

    return dict(verify(impl, t.dtype, **options).as_dict(), implementation=t.name)


def _search(impl, t: Task, options: dict) -> dict:
    from .search import search

    return dict(search(impl, t.dtype, **options).as_dict(), implementation=t.name)


def _curves(impl, t: Task, options: dict):
    from .accuracy import curves

    return curves(t.function, [impl], t.dtype, **options)


def _special(impl, t: Task, options: dict):
    from .special import evaluate

    return evaluate(impl, t.dtype)


#: what a task does, by its kind: a verify record, a search's worst inputs, accuracy curves, special-value cells
_KINDS = {"verify": _verify, "search": _search, "curves": _curves, "special": _special}
#: the kinds whose results are kept in a journal (JSON records); the rest are quick to measure again
JOURNALED = ("verify", "search")


class _Deaths(logging.Handler):
    """The nanny's messages about worker processes that ended ("Worker process 123 was killed by signal 9")."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.by_pid: dict[int, str] = {}

    def emit(self, record):
        m = re.match(r"Worker process (\d+) (.*)", record.getMessage())
        if m:
            self.by_pid[int(m.group(1))] = m.group(2)


def run(tasks, *, options: dict, workers: int | None = None, scheduler: str | None = None, journal=None,
        progress=None, dashboard: bool = False) -> list:
    """The results of ``tasks`` (:class:`Task`), in their order; ``options[kind]`` are passed to the task's function
    (``verify``, ``search``, ``accuracy.curves``; the special-value cells take none); ``progress(task, result)``
    after each one ends (reused ones included).  ``dashboard``: the local cluster serves Dask's dashboard."""
    tasks = list(tasks)
    results: dict[int, dict] = {}
    keys: dict[int, str] = {}
    if journal is not None:
        from . import registry

        for i, t in enumerate(tasks):
            if t.kind not in JOURNALED:
                continue
            keys[i] = journal.key(t.kind, registry.resolve(t.spec, t.function), t.dtype, options[t.kind])
            got = journal.get(keys[i])
            if got is not None:
                got["implementation"] = t.name
                results[i] = got
                journal.reused += 1
                if progress:
                    progress(t, got)

    def done(i, res):
        results[i] = res
        if i in keys:
            journal.put(keys[i], res)
        if progress:
            progress(tasks[i], res)

    todo = [i for i in range(len(tasks)) if i not in results]
    if todo and scheduler == SYNCHRONOUS:
        for i in todo:
            done(i, _work(tasks[i], i, options.get(tasks[i].kind, {}), None))
    elif todo:
        for group in _apart(todo, tasks):
            _on_cluster(tasks, group, options, workers, scheduler, done, dashboard)
    return [results[i] for i in range(len(tasks))]


def _on_cluster(tasks, todo, options, workers, scheduler, done, dashboard=False) -> None:
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    nanny_log = logging.getLogger("distributed.nanny")
    deaths = _Deaths()
    # a task that kills its worker is not run again on the next one; workers are forked from this process, which
    # has imported the suite already (spawned ones would each import it again: seconds before the first check)
    config = {"distributed.scheduler.allowed-failures": 0,
              "distributed.worker.multiprocessing-method": start_method(),
              # checks are submitted to as many workers as run them; moving queued ones between workers (work
              # stealing) gains nothing here, and the stall above was seen with it on
              "distributed.scheduler.work-stealing": False}
    with tempfile.TemporaryDirectory(prefix="stability-box-") as box, dask.config.set(config):
        nanny_log.addHandler(deaths)
        level = nanny_log.level
        quiet = logging.getLogger("distributed.scheduler")  # "marked as failed because 1 workers died": the
        quiet_level, quiet.level = quiet.level, logging.CRITICAL  # record says it, with what happened
        try:
            if scheduler:
                cluster, client = None, Client(scheduler)
                remote = True
            else:
                n = min(workers or default_workers(), len(todo))
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, **cluster_options(dashboard),
                                       silence_logs=logging.CRITICAL)  # not the nanny's "still alive,
                # killing" at close, nor a worker's "Failed to communicate with scheduler during heartbeat" and its
                # traceback when Ctrl-C closes the scheduler first: the suite's own failures come back as results
                nanny_log.setLevel(logging.INFO)  # but its word on how a worker ended, to our handler only
                client, remote = Client(cluster), False
                if dashboard:
                    say_dashboard(client)
            try:
                def opts(i):  # the check's options, with only the families left after a crash
                    return dict(options.get(tasks[i].kind, {}), **rest.get(i, {}))

                def submit(i):
                    fut = client.submit(_work, tasks[i], i, opts(i), None if remote else box, pure=False)
                    futures[fut] = i
                    return fut

                futures: dict = {}
                tries = dict.fromkeys(todo, 0)
                explained = 0  # worker deaths whose black box names the check that caused them
                crashes: dict = {}  # task -> the lost records of the families whose calls killed its worker
                rest: dict = {}  # task -> the families still to check after such a death
                pending = as_completed([submit(i) for i in todo])
                for fut in pending:
                    i = futures.pop(fut)
                    try:
                        res = fut.result(timeout=FETCH_TIMEOUT)
                    except TimeoutError:  # finished, but its result never came: run it again (twice at most)
                        tries[i] += 1
                        if tries[i] > RETRIES + explained:
                            raise
                        pending.add(submit(i))
                        continue
                    except Exception as exc:
                        if type(exc).__name__ != "KilledWorker":  # the suite's own failure: it fails loudly (the
                            raise  # code under test cannot raise here: run_call turns that into a verdict)
                        black = None if remote else _black_box(box, i, deaths)
                        if black is None and tries[i] < RETRIES + explained:  # it never started: it waited
                            tries[i] += 1  # on a worker that another check's code ended; run it again elsewhere
                            pending.add(submit(i))  # (each death another check explains allows one more try:
                            continue  # a check resumed after its crash may end a worker again and again)
                        if black is not None:
                            explained += 1
                        res = lost(tasks[i], opts(i), exc, black)
                        left = _families_left(tasks[i], options.get(tasks[i].kind, {}),
                                                (rest.get(i) or {}).get("families"), black)
                        if left:  # the rest of the check goes on in a fresh worker: a crash is one family's verdict
                            crashes.setdefault(i, []).append(res)
                            rest[i] = {"families": left}
                            pending.add(submit(i))
                            continue
                        if i in crashes:
                            crashes[i].append(res)
                            res = None
                    if i in crashes:
                        res = _with_crashes(tasks[i], crashes.pop(i), res)
                    done(i, res)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        finally:
            nanny_log.removeHandler(deaths)
            nanny_log.setLevel(level)
            quiet.setLevel(quiet_level)


def start_method() -> str:
    """``fork`` on Linux (the workers start with the suite already imported: no seconds of imports each) unless
    this process has started a JAX backend, whose threads do not survive a fork (importing JAX and registering its
    peers starts none); ``spawn`` elsewhere."""
    import sys

    bridge = sys.modules.get("jax._src.xla_bridge")
    jax_running = bool(getattr(bridge, "_backends", None)) if bridge is not None else False
    return "fork" if sys.platform.startswith("linux") and not jax_running else "spawn"


def _black_box(box: str, index: int, deaths: _Deaths) -> dict | None:
    from . import blackbox

    data = blackbox.read(box, index)
    if data is not None and data.get("what") is None:
        for _ in range(40):  # the nanny's message can come just after the scheduler gave the task up
            said = deaths.by_pid.get(data["pid"])
            if said:
                sig = re.match(r"was killed by signal (\d+)", said)
                data["what"] = (f"killed by {_signal_name(int(sig.group(1)))} during the call" if sig else
                                f"{said} during the call")
                break
            time.sleep(0.05)
    return data


def _signal_name(n: int) -> str:
    import signal

    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _families_left(t: Task, options: dict, remaining, box: dict | None) -> list:
    """The families of verify task ``t`` to check again after its worker died in the family the black box names:
    all of them but that one and any that killed a worker before (those before it too: their results died with
    the worker; the same seed draws the same examples).  [] for another kind of task, or when the family is
    unknown or the only one left."""
    if t.kind != "verify" or not box or not box.get("family") or box["family"] == "-":
        return []
    from .strategies import families

    fams = list(remaining or options.get("families") or families(t.function, slow=options.get("slow", False),
                                                                  signature=t.dtype))
    return [f for f in fams if f != box["family"]] if box["family"] in fams else []


def _with_crashes(t: Task, crashed: list, res: dict | None) -> dict:
    """One record of verify task ``t`` whose worker died in the families of the ``crashed`` (lost) records, the
    rest of its families checked by ``res`` (None: they too ended in a death, the last of ``crashed``): the deaths
    are failures of their families, judged against the declaration like any other."""
    from . import registry
    from .records import Record

    impl = registry.resolve(t.spec, t.function)
    first = crashed[0]
    fams = {c["failed_families"][0]: {"family": c["failed_families"][0], "examples": 0, "max_ulp": math.inf,
                                      "max_ratio": math.inf, "failed": True, "max_normwise": 0.0,
                                      "kinds": ["error"]} for c in crashed}
    rec = dict(res) if res is not None else dict(first)
    rec["families"] = fams | dict(rec.get("families") or {}) if res is not None else fams
    failed = list(dict.fromkeys([f for f in fams] + (list(res["failed_families"]) if res is not None else [])))
    meets, drift = impl.judge(failed, t.dtype)
    out = Record.from_dict(rec)
    out.verdict, out.failed_families, out.counterexample = "fail", failed, first["counterexample"]
    out.max_ulp = out.max_ratio = math.inf
    out.examples = sum(int(v.get("examples", 0)) for v in rec["families"].values())
    out.meets_expectation, out.drift = meets, drift
    return out.as_dict() | {"lost": True}


def lost(t: Task, options: dict, exc: BaseException, box: dict | None) -> dict:
    """The failing record of a check whose worker process died (or that could not be run there): what happened
    and, from the black box, the input that was running."""
    from . import registry
    from .records import Record
    from .reproducer import call_fields

    impl = registry.resolve(t.spec, t.function)
    what = (box or {}).get("what") or "the worker process died during the check (os._exit, a crash in native " \
        "code, or out of memory)"
    ce = {"family": (box or {}).get("family") or "-", "reason": what, "reproducer": "", "kind": "error"}
    if box and box.get("args") is not None:
        ce.update(call_fields(t.name, t.function, box["args"], box.get("kwargs") or {}))
    elif box is None:
        ce["reason"] = what + "; the input that was running is unknown (no call had started, or the worker is " \
                              "on another machine)"
    if t.kind in ("curves", "special"):
        return {"implementation": t.name, "lost": ce}
    if t.kind == "search":
        return {"implementation": t.name, "function": t.function, "dtype": t.dtype, "budget": options.get("budget"),
                "max_ratio": math.inf, "worst": [], "lost": ce}
    return Record(implementation=t.name, function=t.function, dtype=t.dtype, verdict="fail", max_ulp=math.inf,
                  max_ratio=math.inf, examples=0, expectation=impl.expectation, meets_expectation=False,
                  failed_families=[ce["family"] if ce["family"] != "-" else "(the check did not finish)"],
                  library=impl.library, origin=impl.origin, counterexample=ce,
                  seed=options.get("seed", 0)).as_dict() | {"lost": True}
