"""Exhaustive sweeps of the elementwise functions over every input of a format, in chunks, on Dask.

A correctly-rounded libm certifies a binary32 function by trying all 2^32 inputs; for every elementwise function of
the table (``stability.functions``: sigmoid, log_sigmoid, softplus, logit, logit_of_sigmoid, BCE with logits and
their gradients) the suite does the same: every bit pattern of float16 or bfloat16 (65,536) in seconds, every
float32 (2^32) on a cluster.  The other arguments are held at a few values (:func:`fixed_arguments`): BCE's
targets 0, 0.5 and 1, a gradient's cotangent 1 (the derivative itself) and -0.3 (a product that must round).
The bit patterns are cut into chunks; each chunk is an independent
task (:func:`run_chunk`) whose result is written to ``OUT/chunk-NNNNNN.json`` (atomically) as soon as it
finishes, so a sweep that is killed resumes where it stopped: chunks already on disk are not run again.

Dask runs the chunks: a ``dask.distributed.LocalCluster`` by default, or the cluster at ``scheduler`` (an address
such as ``tcp://10.0.0.5:8786``), whose workers must be able to import the suite and the implementation (a spec
``path/to/file.py:attr`` must be readable at that path on every worker).  ``scheduler="synchronous"`` runs the
chunks one by one in this process, without Dask.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import UsageError
from .formats import signature
from .functions import FUNCTIONS
from .io import atomic_write_json

SWEEP_FUNCTIONS = tuple(name for name, f in FUNCTIONS.items() if f.elementwise)
BCE_TARGETS = (0.0, 0.5, 1.0)
COTANGENTS = (1.0, -0.3)
THRESHOLDS = (0.5, 1, 2, 4, 8, 64, 1024)  # ULPs; "above 0.5" is "not correctly rounded"
KEEP = 8  # worst inputs kept per chunk and overall
# inputs judged at once inside a chunk: its float64 arrays (2 MiB) stay in the heap glibc reuses
# (stability.memory) and near the cache; 2^16 to 2^18 measured fastest, 2^14 and 2^20 10% slower
BLOCK = 1 << 18
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32}


@dataclass
class Plan:
    function: str
    impl: str
    dtype: str  # a format, or a signature IN:OUT (bfloat16:float32: every bfloat16 input, float32 results)
    chunk: int  # bit patterns per chunk
    lo: int = 0
    hi: int = 0  # exclusive; 0: the whole format

    def __post_init__(self):
        if self.function not in SWEEP_FUNCTIONS:
            raise UsageError(f"an exhaustive sweep covers the elementwise functions only ({', '.join(SWEEP_FUNCTIONS)}), "
                             f"not {self.function}: use `stability verify` or `stability search` for it")
        self.dtype = signature(self.dtype, self.function).name
        size = self.signature.input.dtype.itemsize
        if size not in _UINT:
            raise UsageError(f"{self.signature.input.name} has 2^{8 * size} inputs, too many to sweep: use an FP8 "
                             "format, float16, bfloat16 or float32 inputs (IN:OUT takes any output format)")
        full = 1 << (8 * size)
        self.hi = self.hi or full
        if not 0 <= self.lo < self.hi <= full:
            raise UsageError(f"--range must lie within 0:{full:#x} for {self.dtype}, got {self.lo:#x}:{self.hi:#x}")
        if self.chunk < 1:
            raise UsageError("--chunk must be at least 1")

    @property
    def signature(self):
        return signature(self.dtype, self.function)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        return [(a, min(a + self.chunk, self.hi)) for a in range(self.lo, self.hi, self.chunk)]


def inputs(dtype: str, lo: int, hi: int) -> np.ndarray:
    """The floats whose bit patterns are ``lo .. hi-1`` (of a format, or of a signature's input format)."""
    dt = signature(dtype).input.dtype
    return np.arange(lo, hi, dtype=np.uint64).astype(_UINT[dt.itemsize]).view(dt)


def fixed_arguments(function: str) -> list[dict]:
    """The values the arguments after the first are held at, one dict per pass over the inputs: ``targets``
    for BCE, ``g`` for a gradient, both for BCE's gradient, none for the rest."""
    fn = FUNCTIONS[function]
    targets = [{"target": t} for t in BCE_TARGETS] if fn.has_targets else [{}]
    return [dict(t, g=g) for t in targets for g in COTANGENTS] if fn.is_vjp else targets


def _worst(entries, keep=KEEP):
    return sorted(entries, key=lambda e: (-e["ulp"], e["x"]))[:keep]


def _top(ulp: np.ndarray, k: int = KEEP, bar: float = 0.0) -> np.ndarray:
    """The indices of the ``k`` largest errors above ``bar``, largest first, the lowest index first among equals:
    what a stable sort of ``-ulp`` puts first, found by a partition (a full sort of a million errors took a third
    of a chunk).  ``bar``: the k-th largest error of the chunk's earlier blocks; what is not above it cannot enter
    the chunk's worst, so a block with few such errors needs no partition."""
    if np.isnan(ulp.max(initial=0)):  # a NaN error (none is made today) sorts last: the sort says where
        return np.argsort(-ulp, kind="stable")[:k]
    candidates = np.flatnonzero(ulp > bar)
    if candidates.size > 4 * k:
        kth = np.partition(ulp, ulp.size - k)[ulp.size - k]  # the k-th largest
        candidates = np.flatnonzero(ulp >= kth)
    return candidates[np.argsort(-ulp[candidates], kind="stable")][:k]


def run_chunk(plan: Plan, lo: int, hi: int) -> dict:
    """Judge the implementation on every input with bit pattern in ``[lo, hi)``; a JSON-ready summary."""
    from . import registry
    from .memory import keep_freed_memory
    from .verify import run_call

    keep_freed_memory()  # a worker of a cluster elsewhere: the CLI that set it is not its parent
    t0 = time.perf_counter()
    impl = registry.resolve(plan.impl, plan.function)
    res = {"lo": lo, "hi": hi, "inputs": 0, "max_ulp": 0.0, "max_ratio": 0.0, "failed": 0, "errors": [],
           "above": {str(t): 0 for t in THRESHOLDS}, "worst": []}
    for a in range(lo, hi, BLOCK):
        _judge_block(plan, impl, a, min(a + BLOCK, hi), res, run_call)
    res["worst"] = _worst(res["worst"])
    res["seconds"] = time.perf_counter() - t0
    return _json(res)


def _judge_block(plan: Plan, impl, lo: int, hi: int, res: dict, run_call) -> None:
    """Judge the inputs ``[lo, hi)`` (at most :data:`BLOCK`) and add what was found to the chunk's ``res``."""
    x = inputs(plan.dtype, lo, hi)
    sig = plan.signature
    for held in fixed_arguments(plan.function):
        args = (x,) + tuple(np.full(x.shape, held[k], dtype=(sig.cotangent if k == "g" else sig.input).dtype)
                            for k in ("target", "g") if k in held)
        out = run_call(impl, args, {}, out=sig.output)
        res["inputs"] += x.size
        j = out.judgement
        if j is None:  # raised, or wrong shape/dtype: every input of the chunk counts as failed
            res["failed"] += x.size
            if out.reason not in res["errors"]:
                res["errors"].append(out.reason)
            res["max_ulp"] = res["max_ratio"] = math.inf
            continue
        ulp, ratio = j.ulp.ravel(), j.ratio.ravel()
        res["max_ulp"] = max(res["max_ulp"], float(ulp.max(initial=0)))
        res["max_ratio"] = max(res["max_ratio"], float(ratio.max(initial=0)))
        res["failed"] += int((~j.passed).sum())
        for th in THRESHOLDS:
            res["above"][str(th)] += int((ulp > th).sum())
        res["worst"] = _worst(res["worst"])
        bar = res["worst"][-1]["ulp"] if len(res["worst"]) == KEEP else 0.0
        top = _top(ulp, bar=bar)
        got, expected = np.asarray(out.got).ravel(), out.reference.value.ravel()
        res["worst"] += [{"x": float(x[i]), **held, "ulp": float(ulp[i]), "ratio": float(ratio[i]),
                          "got": float(got[i]), "expected": float(expected[i])} for i in top if ulp[i] > 0]


def _json(obj):
    from .verify import _json_safe

    return _json_safe(obj)


def _chunk_path(out: Path, lo: int) -> Path:
    return out / f"chunk-{lo:010x}.json"


def _manifest(out: Path, plan: Plan) -> None:
    path = out / "sweep.json"
    mine = asdict(plan)
    if path.exists():
        try:
            theirs = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            theirs = None
        if theirs != mine:
            raise UsageError(f"{out} holds a different sweep ({theirs}): give another --out, or delete it to start "
                             "over")
        return
    atomic_write_json(path, mine)


def _load_chunk(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # half-written files cannot exist (atomic rename), but a damaged one is simply run again


@dataclass
class Summary:
    plan: dict
    inputs: int = 0
    chunks: int = 0
    resumed: int = 0  # chunks found on disk from an earlier run
    max_ulp: float = 0.0
    max_ratio: float = 0.0
    failed: int = 0
    above: dict = field(default_factory=dict)
    worst: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    seconds: float = 0.0  # wall time of this run
    chunk_seconds: float = 0.0  # summed over the chunks run now (core-seconds)
    inputs_now: int = 0  # inputs of the chunks run now
    workers: int = 1

    @property
    def per_core_rate(self) -> float:
        """Inputs judged per second per core, over the chunks run now."""
        return self.inputs_now / self.chunk_seconds if self.chunk_seconds else math.nan

    def as_dict(self) -> dict:
        from .verify import _json_safe

        return _json_safe({**asdict(self), "per_core_rate": self.per_core_rate})


def declared_failures(impl, dtype: str) -> list[str]:
    """The families whose failures ``impl``'s registration declares in ``dtype``, among those the sweep covers:
    every family of the input ``x`` (a sweep visits every value of the format; its other arguments are fixed, so
    the cotangent families are not among them)."""
    from .strategies import COTANGENT_FAMILIES, families

    return [f for f in families(impl.function) if f not in COTANGENT_FAMILIES and impl.declares(f, dtype)]


def _numbers(w: dict) -> dict:
    """A worst-input entry read back from JSON, where inf and NaN are written as strings."""
    return {k: float(v) for k, v in w.items()}


def _merge(s: Summary, c: dict, fresh: bool) -> None:
    s.inputs += c["inputs"]
    s.chunks += 1
    s.max_ulp = max(s.max_ulp, float(c["max_ulp"]))
    s.max_ratio = max(s.max_ratio, float(c["max_ratio"]))
    s.failed += c["failed"]
    for k, v in c["above"].items():
        s.above[k] = s.above.get(k, 0) + v
    s.worst = _worst(s.worst + [_numbers(w) for w in c["worst"]])
    s.errors = sorted(set(s.errors) | set(c.get("errors", [])))
    if fresh:
        s.chunk_seconds += c["seconds"]
        s.inputs_now += c["inputs"]
    else:
        s.resumed += 1


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int, dashboard: bool = False):
    """A client of the cluster at ``scheduler``, or of a local cluster of ``workers`` processes, closed after use
    (the local cluster with it: a client does not close a cluster it was handed, which was then left to close at
    exit, its workers' heartbeats failing with tracebacks)."""
    from dask.distributed import Client, LocalCluster

    from .parallel import cluster_options, say_dashboard

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach a Dask scheduler at {scheduler!r} ({exc}): start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS`, or leave --scheduler out "
                             "for a local cluster") from None
        with client:
            yield client
        return
    # silenced as in stability.parallel: a worker's "Failed to communicate with scheduler during heartbeat", and its
    # traceback, says nothing about the sweep
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, **cluster_options(dashboard),
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        if dashboard:
            say_dashboard(client)
        yield client


def sweep(plan: Plan, out, *, scheduler: str | None = None, workers: int | None = None, progress=None,
          dashboard: bool = False) -> Summary:
    """Run every chunk of ``plan`` not already in ``out``; merge all of them into a :class:`Summary`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _manifest(out, plan)
    workers = workers or os.cpu_count() or 1
    s = Summary(asdict(plan), workers=workers)
    t0 = time.perf_counter()
    pending = []
    for lo, hi in plan.chunks:
        done = _load_chunk(_chunk_path(out, lo)) if _chunk_path(out, lo).exists() else None
        if done is not None and done.get("lo") == lo and done.get("hi") == hi:
            _merge(s, done, fresh=False)
            if progress:
                progress(1)
        else:
            pending.append((lo, hi))

    def finished(c):
        atomic_write_json(_chunk_path(out, c["lo"]), c)
        _merge(s, c, fresh=True)
        if progress:
            progress(1)

    if pending and scheduler == "synchronous":
        s.workers = 1
        for lo, hi in pending:
            finished(run_chunk(plan, lo, hi))
    elif pending:
        from dask.distributed import as_completed

        with _client(scheduler, workers, dashboard) as client:
            s.workers = len(client.scheduler_info().get("workers", {})) or workers
            futures = [client.submit(run_chunk, plan, lo, hi, pure=False) for lo, hi in pending]
            for fut in as_completed(futures):
                finished(fut.result())
    s.seconds = time.perf_counter() - t0
    return s
