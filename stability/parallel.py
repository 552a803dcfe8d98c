"""Verify many (implementation, dtype) checks at once, on a Dask local cluster of worker processes.

Each check is one task: the worker resolves the implementation by its name (a registered name or a
``path/file.py:attr`` / ``module:attr`` spec, so a user's code is imported in the worker too), runs
:func:`stability.verify.verify` and sends back the record as a dict.  ``workers=1`` runs the checks one after
another in this process, without Dask.  Results come back in the order of ``tasks``, whatever order the
workers finish them in, so a run's records do not depend on the number of workers.
"""

from __future__ import annotations

import os


def default_workers() -> int:
    return os.cpu_count() or 1


def check(name: str, function: str, dtype: str, options: dict) -> dict:
    """One task: the record of ``name`` (computing ``function``) in ``dtype``, as a dict."""
    from . import registry
    from .verify import verify

    impl = registry.resolve(name, function)
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
    from dask.distributed import Client, LocalCluster, as_completed

    results: dict = {}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        futures = {client.submit(check, *t, options, pure=False): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if progress:
                progress(1)
    return [results[i] for i in range(len(tasks))]
