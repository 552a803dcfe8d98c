"""Verify many (implementation, dtype) checks at once, on a Dask local cluster of worker processes.

Each check is one task: the worker resolves the implementation by its name (a registered name or a
``path/file.py:attr`` / ``module:attr`` spec, so a user's code is imported in the worker too), runs
:func:`stability.verify.verify` and sends back the record as a dict.  ``workers=1`` runs the checks one after
another in this process, without Dask.  Results come back in the order of ``tasks``, whatever order the
workers finish them in, so a run's records do not depend on the number of workers.
"""

from __future__ import annotations

import logging
import os


def default_workers() -> int:
    return os.cpu_count() or 1


def check(name: str, function: str, dtype: str, options: dict) -> dict:
    """One task: the record of ``name`` (computing ``function``) in ``dtype``, as a dict."""
    import warnings

    from hypothesis.errors import HypothesisDeprecationWarning

    from . import registry
    from .verify import verify

    impl = registry.resolve(name, function)
    with warnings.catch_warnings():
        # the worker's own threads (Dask's heartbeats) draw from the `random` module while Hypothesis generates,
        # and Hypothesis warns as if the strategy had: not the suite's draws, which do not use it
        warnings.filterwarnings("ignore", message="Do not use the `random` module",
                                category=HypothesisDeprecationWarning)
        return verify(impl, dtype, **options).as_dict()


def run(tasks, *, workers: int | None = None, progress=None, **options) -> list[dict]:
    """Records of ``tasks`` (``(implementation name, function, dtype)`` triples), verified with ``options``
    (``examples``, ``seed``, ``shrink``...), in the order given; ``progress(1)`` after each one finishes."""
    tasks = list(tasks)
    workers = min(workers or default_workers(), max(len(tasks), 1))
    if workers <= 1:
        out = []
        for t in tasks:
            out.append(check(*t, options))
            if progress:
                progress(1)
        return out
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    results: dict = {}
    # a task whose worker dies (os._exit, a segfault in the code under test) is not retried on the next worker
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)  # not the nanny's "still alive, killing" at close
        with cluster, Client(cluster) as client:
            futures = {client.submit(check, *t, options, pure=False): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # the worker died, or the suite itself failed there: a verdict
                    results[i] = _lost(*tasks[i], options, exc)
                if progress:
                    progress(1)
    return [results[i] for i in range(len(tasks))]


def _lost(name: str, function: str, dtype: str, options: dict, exc: Exception) -> dict:
    """The failing record of a check whose worker process died (or that could not be run there)."""
    import math

    from . import registry
    from .verify import Record

    impl = registry.resolve(name, function)
    what = f"{type(exc).__name__}: {exc}".strip()
    if type(exc).__name__ == "KilledWorker":
        what = "the worker process died during the check (os._exit, a crash in native code, or out of memory)"
    return Record(implementation=impl.name, function=function, dtype=dtype, verdict="fail", max_ulp=math.inf,
                  max_ratio=math.inf, examples=0, expectation=impl.expectation, meets_expectation=False,
                  failed_families=["(the check did not finish)"], library=impl.library, origin=impl.origin,
                  counterexample={"family": "-", "reason": what, "reproducer": ""},
                  seed=options.get("seed", 0)).as_dict()
