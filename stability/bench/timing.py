"""Interleaved timing: cases run in turn (A B C A B C ...), so that drift (clock, thermal, a neighbour on the
machine) hits every case alike; warm-up rounds first; statistics are medians with min and max."""

from __future__ import annotations

import time

import numpy as np


def interleaved(cases: dict, *, repeats: int = 7, warmup: int = 1) -> dict:
    """Time each zero-argument callable in ``cases``; returns name -> array of seconds (``repeats`` each)."""
    names = list(cases)
    for _ in range(warmup):
        for n in names:
            cases[n]()
    times = {n: [] for n in names}
    for _ in range(repeats):
        for n in names:
            t0 = time.perf_counter()
            cases[n]()
            times[n].append(time.perf_counter() - t0)
    return {n: np.asarray(v) for n, v in times.items()}


def summary(seconds: np.ndarray) -> dict:
    return {"median_s": float(np.median(seconds)), "min_s": float(np.min(seconds)), "max_s": float(np.max(seconds)),
            "repeats": int(seconds.size)}
