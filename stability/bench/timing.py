"""Interleaved timing: cases run in turn (A B C A B C ...), so that drift (clock, thermal, a neighbour on the
machine) hits every case alike; warm-up rounds first; statistics are medians with min and max."""

from __future__ import annotations

import time

import numpy as np


def interleaved(cases: dict, *, repeats: int = 7, warmup: int = 1, budget: float | None = None,
                min_repeats: int = 3, errors: dict | None = None, between=None) -> dict:
    """Time each zero-argument callable in ``cases``; returns name -> array of seconds (``repeats`` each).

    ``budget``: seconds of timed calls a case may take; a slow case (its first warm-up call times it) gets fewer
    repeats, never fewer than ``min_repeats`` (pytest-benchmark's ``max_time``, asv's ``sample_time``).
    ``errors``: a case that raises in its warm-up is left out, its exception kept here by name (code under test
    that cannot take the input is not timed).  ``between()``, when given, runs after every timed call, untimed
    (the sweep lets the fast path's late-waking workers finish there, so that they never run in the next case)."""
    names = list(cases)
    first: dict = {}
    for w in range(max(warmup, 1 if (budget or errors is not None) else 0)):
        for n in list(names):
            t0 = time.perf_counter()
            try:
                cases[n]()
            except Exception as exc:
                if errors is None:
                    raise
                errors[n] = exc
                names.remove(n)
                continue
            first.setdefault(n, time.perf_counter() - t0)
    want = {n: repeats if not budget else max(min_repeats, min(repeats, int(budget / max(first[n], 1e-9))))
            for n in names}
    times = {n: [] for n in names}
    for k in range(repeats):
        for n in names:
            if k >= want[n]:
                continue
            t0 = time.perf_counter()
            cases[n]()
            times[n].append(time.perf_counter() - t0)
            if between is not None:
                between()
    return {n: np.asarray(v) for n, v in times.items()}


def summary(seconds: np.ndarray) -> dict:
    return {"median_s": float(np.median(seconds)), "min_s": float(np.min(seconds)), "max_s": float(np.max(seconds)),
            "repeats": int(seconds.size)}
