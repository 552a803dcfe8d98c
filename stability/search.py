"""Worst-case search: drive Hypothesis towards the largest stability ratio.

Random fuzzing (``verify``) finds the common failures; this looks for the *worst* input.  Every family of the
function is searched with ``hypothesis.target(ratio)``, which makes Hypothesis hill-climb from its best examples
towards larger ratios, and the bit-pattern family samples every exponent uniformly (Herbie's sampling).  The
example database (``--database``, default ``build/.hypothesis-search``) is kept between runs, so a second search
starts from the best inputs of the first.  An input whose ratio exceeds 1 fails the verdict: Hypothesis then
shrinks it, and the search reports that minimal failing input; otherwise it reports the highest ratios seen.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed as hseed, settings, target
from hypothesis.database import DirectoryBasedExampleDatabase

from . import blackbox, strategies
from .metrics import DEFAULT_TOLERANCE, Tolerance
from .functions import get
from .refine import climb, climb_each
from .registry import Implementation
from .formats import signature
from .verify import _counterexample, _json_safe, run_call


class _Failed(AssertionError):
    pass


@dataclass
class SearchResult:
    implementation: str
    function: str
    dtype: str
    budget: int
    worst: list = field(default_factory=list)  # dicts, highest ratio first

    @property
    def max_ratio(self) -> float:
        return self.worst[0]["ratio"] if self.worst else 0.0

    def as_dict(self) -> dict:
        return _json_safe({"implementation": self.implementation, "function": self.function, "dtype": self.dtype,
                           "budget": self.budget, "max_ratio": self.max_ratio, "worst": self.worst})


def _positions(x, outcome, limit=8):
    """Which entries of ``x`` to move first: those whose own output is worst (same-shape outputs), else the
    largest in magnitude (a reduction's error comes from the entries that dominate it)."""
    j, ref = outcome.judgement, outcome.reference
    if j is not None and ref.output(j.ratio).shape == x.shape:
        r = np.nan_to_num(ref.output(j.ratio).reshape(-1), nan=np.inf)
        return list(np.argsort(-r, kind="stable")[:limit])
    mag = np.nan_to_num(np.abs(x.astype(np.float64)).reshape(-1), nan=-1.0)
    return list(np.argsort(-mag, kind="stable")[:limit])


def _refine(impl, ex, outcome, tolerance, evals, timeout=None, out=None):
    """Climb from one example (:mod:`stability.refine`); ``(args, outcome, evals used)`` (``out``: the
    signature's output format)."""
    args = ex.args
    if args[0].size == 0 or not math.isfinite(outcome.max_ratio):
        return args, outcome, 0

    def score(x):
        return run_call(impl, (x, *args[1:]), ex.kwargs, tolerance, timeout=timeout, out=out).max_ratio

    def score_each(x):
        res = run_call(impl, (x, *args[1:]), ex.kwargs, tolerance, timeout=timeout, out=out)
        j = res.judgement
        return np.full(x.shape, np.inf) if j is None else res.reference.output(j.ratio).reshape(x.shape)

    if get(impl.function).elementwise:
        x, used = climb_each(score_each, args[0], evals=evals)
    else:
        x, _, used = climb(score, args[0], _positions(args[0], outcome), evals=evals)
    new_args = (x, *args[1:])
    return new_args, run_call(impl, new_args, ex.kwargs, tolerance, timeout=timeout, out=out), used


def search(impl: Implementation, dtype: str, *, budget: int = 400, seed: int = 0, keep: int = 5,
           database: str | None = "build/.hypothesis-search", tolerance: Tolerance = DEFAULT_TOLERANCE,
           families=None, refine: int | None = None, timeout: float | None = None) -> SearchResult:
    """Search every family of ``impl``'s function with ``budget`` examples in all; the ``keep`` worst inputs.

    Then ``refine`` more calls (default: ``budget``) climb from each family's best example
    (:mod:`stability.refine`): Hypothesis finds the neighbourhood of a bad region, the climb finds its peak.
    """
    sig = signature(dtype, impl.function)
    dtype = sig.name
    fams = tuple(families) if families else strategies.families(impl.function, signature=sig)
    per = max(10, budget // len(fams))
    db = DirectoryBasedExampleDatabase(database) if database else None
    heap: list = []  # (ratio, counter, record)
    best: dict = {}  # family -> its best (ratio, counter, record): where the climbs start
    counter = 0
    result = SearchResult(impl.name, impl.function, dtype, budget)
    for fam in fams:
        blackbox.note_family(fam)
        strat = strategies.inputs(impl.function, dtype, family=fam)
        failing: dict = {}

        @settings(max_examples=per, database=db, deadline=None, derandomize=False, report_multiple_bugs=False,
                  phases=(Phase.reuse, Phase.generate, Phase.target, Phase.shrink), print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @hseed(seed)
        @given(strat)
        def probe(ex):
            nonlocal counter
            out = run_call(impl, ex.args, ex.kwargs, tolerance, timeout=timeout, out=sig.output)
            ratio = out.max_ratio if math.isfinite(out.max_ratio) else 1e300
            target(min(ratio, 1e300), label="stability ratio")
            counter += 1
            rec = (ratio, counter, (ex, out))
            if ratio >= best.get(fam, (-1.0,))[0]:
                best[fam] = rec
            if len(heap) < keep:
                heapq.heappush(heap, rec)
            elif ratio > heap[0][0]:
                heapq.heapreplace(heap, rec)
            if not out.ok:
                failing.update(ex=ex, out=out)
                raise _Failed(out.reason)

        # a distinct database key per implementation, dtype and family
        probe.hypothesis.inner_test._hypothesis_internal_add_digest = f"{impl.name}|{dtype}|{fam}".encode()
        try:
            with strategies.reproducible():
                probe()
        except _Failed:
            ex, out = failing["ex"], failing["out"]
            ce = _counterexample(impl, fam, args=ex.args, kwargs=ex.kwargs, outcome=out, signature=sig.name)
            ce.update(ratio=out.max_ratio, ulp=out.max_ulp, shrunk=True)
            result.worst.append(ce)
    evals = budget if refine is None else refine
    for ratio, _, (ex, out) in sorted(best.values(), key=lambda r: -r[0]):
        if evals <= 0:
            break
        new_args, new_out, used = _refine(impl, ex, out, tolerance, max(20, evals // len(best)), timeout,
                                          out=sig.output)
        evals -= used
        if new_out.max_ratio > ratio:
            ce = _counterexample(impl, ex.family, args=new_args, kwargs=ex.kwargs, outcome=new_out,
                                 signature=sig.name)
            ce.update(ratio=new_out.max_ratio, ulp=new_out.max_ulp, shrunk=False, refined=True)
            result.worst.append(ce)
    seen = {tuple(map(str, w["input"])) for w in result.worst}
    for ratio, _, (ex, out) in sorted(heap, key=lambda r: -r[0]):
        ce = _counterexample(impl, ex.family, args=ex.args, kwargs=ex.kwargs, outcome=out, signature=sig.name)
        if tuple(map(str, ce["input"])) in seen:
            continue
        ce.update(ratio=out.max_ratio, ulp=out.max_ulp, shrunk=False)
        result.worst.append(ce)
    result.worst.sort(key=lambda w: -(w["ratio"] if np.isfinite(w["ratio"]) else 1e308))
    result.worst = result.worst[:keep]
    return result
