"""Fuzz an implementation against the reference, family by family, and shrink every failure.

For each input family of the function (``stability.strategies``) Hypothesis draws calls, the implementation
answers, the reference judges (``stability.metrics.judge``); the first failure is shrunk to a minimal
counterexample.  The outcome is a :class:`Record`: the verdict, the worst ULP error and stability ratio seen,
the families that failed, and the counterexample with a reproducer to paste into a test.

One call is judged by ``stability.call`` (guarded: raising, exiting, hanging, garbage), the outcome kept as a
``stability.records.Record``, a failure replayed by ``stability.reproducer``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, seed as hseed, settings

from . import blackbox, libraries, strategies
from .call import CALL_TIMEOUT, FAILURE_KINDS, Outcome, _details, run_call  # noqa: F401  (the names callers knew)
from .formats import available_formats, signature
from .metrics import DEFAULT_TOLERANCE, Tolerance
from .records import Record, _json_safe  # noqa: F401
from .registry import Implementation
from .reproducer import call_fields, reproducer  # noqa: F401  (reproducer: the name callers knew)

DEFAULT_EXAMPLES = 25
class _Failed(AssertionError):
    pass




@dataclass
class FamilyResult:
    family: str
    examples: int = 0
    max_ulp: float = 0.0
    max_ratio: float = 0.0
    failed: bool = False
    max_normwise: float = 0.0
    kinds: list = field(default_factory=list)  # the kinds of failure found (FAILURE_KINDS), worst first


def _counterexample(impl, family, *, args, kwargs, outcome, signature=None) -> dict:
    ce = {"family": family, "reason": outcome.reason,
          **call_fields(impl.extra.get("spec", impl.name), impl.function, args, kwargs,
                        object_name=impl.extra.get("object_name"), signature=signature)}
    ce.update(outcome.details or {})
    return ce


def verify_family(impl: Implementation, dtype: str, family: str, *, examples: int = DEFAULT_EXAMPLES,
                  seed: int = 0, tolerance: Tolerance = DEFAULT_TOLERANCE, max_side: int = 24, shrink: bool = True,
                  timeout: float | None = None):
    """Fuzz one family; returns ``(FamilyResult, counterexample or None)``.

    The family's whole budget of examples is run first, recording the first call of each kind of failure
    (:data:`FAILURE_KINDS`); then each kind found is shrunk on its own, by a run that fails on that kind alone
    (the same seed draws the same examples up to it), so a milder failure can never stand in for a worse one
    while Hypothesis simplifies the input.  The counterexample is the worst kind's; the others follow in its
    ``others`` list, each with its own reproducer.

    ``shrink=False`` skips the shrinking and stops at the first failure: faster when only the verdict matters.
    """
    res = FamilyResult(family)
    blackbox.note_family(family)
    sig = signature(dtype, impl.function)
    strat = strategies.inputs(impl.function, sig, family=family, max_side=max_side)
    # the family's explicit calls run first, on every seed, within its budget of examples: all of them at the
    # default 25 (the rest drawn), an evenly spread few at a quick check's 3 (a JIT library compiles every shape)
    always = strategies.explicit(impl.function, sig, family)
    if always:
        keep = min(len(always), max(examples - 1, 1))
        always = [always[int(i)] for i in sorted({round(j) for j in np.linspace(0, len(always) - 1, keep)})]
    drawn = max(examples - len(always), 1)

    def run(target):
        """``target`` None: every example, nothing raised (but the first failure ends a run without shrinking);
        a kind: fail on that kind only, and shrink it.  Returns kind -> the last failing call of that kind."""
        found: dict = {}

        @settings(max_examples=drawn, database=None, deadline=None, derandomize=False,
                  phases=(Phase.generate, Phase.shrink) if target else (Phase.explicit, Phase.generate),
                  report_multiple_bugs=False, print_blob=False, suppress_health_check=list(HealthCheck))
        @hseed(seed)
        @given(strat)
        def probe(ex):
            out = run_call(impl, ex.args, ex.kwargs, tolerance, timeout=timeout, out=sig.output)
            res.examples += 1
            res.max_ulp = max(res.max_ulp, out.max_ulp)
            res.max_ratio = max(res.max_ratio, out.max_ratio)
            res.max_normwise = max(res.max_normwise, out.normwise)
            if out.ok:
                return
            call = dict(args=ex.args, kwargs=ex.kwargs, outcome=out)
            if target is None:  # exploring: the first call of each kind (Hypothesis replays a raised one)
                found.setdefault(out.kind, call)
                if not shrink:
                    raise _Failed(out.reason)
            elif out.kind == target:  # shrinking one kind: its last failing call is the minimal one
                found[target] = call
                raise _Failed(out.reason)

        test = probe
        for ex in always:
            test = example(ex)(test)
        try:
            with strategies.reproducible():
                test()
        except _Failed:
            pass
        return found

    first = run(None)
    if not first:
        return res, None
    res.failed = True
    res.kinds = [k for k in FAILURE_KINDS if k in first]
    calls = {k: (run(k).get(k, first[k]) if shrink else first[k]) for k in res.kinds}
    ces = [dict(_counterexample(impl, family, **calls[k], signature=sig.name), kind=k) for k in res.kinds]
    if len(ces) > 1:
        ces[0]["others"] = ces[1:]
    return res, ces[0]


def verify(impl: Implementation, dtype: str, *, examples: int = DEFAULT_EXAMPLES, seed: int = 0,
           tolerance: Tolerance = DEFAULT_TOLERANCE, families=None, slow: bool = False, on_family=None,
           stop_on_fail: bool = False, shrink: bool = True, timeout: float | None = None) -> Record:
    """Run every family of ``impl``'s function in ``dtype``; the :class:`Record` of the outcome.

    ``dtype`` is a format or a format signature (``"bfloat16:float32"``: bfloat16 data, float32 results, see
    ``stability.formats.Signature``); the record keys the check by the signature's canonical spelling.
    ``stop_on_fail`` ends at the first failing family (a guard in a test suite needs no more).  ``shrink``: minimise
    the counterexamples of failures that contradict the declared expectation (every failure of a user's code);
    a family the registration declares unstable is confirmed by its first failure, unshrunk.  ``shrink="all"``:
    the record's counterexample is minimised whatever was declared; ``shrink="all@FORMAT"`` (the atlas, which shows
    one counterexample per implementation, float32's): so in that format, as ``shrink=True`` in the others.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    dtype = signature(dtype, impl.function).name
    fams = tuple(families) if families else strategies.families(impl.function, slow=slow, signature=dtype)
    results, ce = {}, None
    for fam in fams:
        # a failure the registration declares is confirmed, not minimised: shrinking is for the failures that
        # contradict the expectation, and for the user's own code (its counterexample is what they read)
        minimise = shrink and (impl.origin == "user" or not impl.declares(fam, dtype))
        res, c = verify_family(impl, dtype, fam, examples=examples, seed=seed, tolerance=tolerance, shrink=minimise,
                               timeout=timeout)
        if c is not None:
            c["shrunk"] = minimise
        results[fam] = asdict(res)
        if c is not None and (ce is None or not impl.declares(fam, dtype) and impl.declares(ce["family"], dtype)):
            ce = c  # prefer a counterexample that contradicts the expectation
        if on_family is not None:
            on_family(fam)
        if stop_on_fail and c is not None:
            break
    if shrink in ("all", f"all@{dtype}") and ce is not None and not ce.get("shrunk"):  # the kept counterexample minimised too
        _, small = verify_family(impl, dtype, ce["family"], examples=examples, seed=seed, tolerance=tolerance,
                                 shrink=True, timeout=timeout)
        if small is not None:
            ce = dict(small, shrunk=True)
    failed = [f for f, r in results.items() if r["failed"]]
    meets, drift = impl.judge(failed, dtype)  # a peer on another version than it was measured on: drift
    return Record(
        implementation=impl.name, function=impl.function, dtype=dtype, verdict="fail" if failed else "pass",
        max_ulp=max((r["max_ulp"] for r in results.values()), default=0.0),
        max_ratio=max((r["max_ratio"] for r in results.values()), default=0.0),
        examples=sum(r["examples"] for r in results.values()), expectation=impl.expectation,
        meets_expectation=meets, failed_families=failed, library=impl.library, origin=impl.origin,
        counterexample=ce, families=results, seed=seed,
        max_normwise=max((r["max_normwise"] for r in results.values()), default=0.0), drift=drift,
        version=(libraries.version(impl.library) or "") if impl.origin == "peer" else "",
        seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)


def dtypes_for(impl: Implementation, requested=None) -> list[str]:
    """The signatures to verify ``impl`` in: the requested ones it supports, spelt canonically for its function
    (default float32 and float64 and the mixed signatures its registration declares; for code declared in
    neither float32 nor float64, every signature it declares)."""
    if requested:
        wanted = [signature(d, impl.function).name for d in requested]
    else:
        declared = list(impl.dtypes or ())
        wanted = ["float32", "float64"] + [d for d in declared if signature(d, impl.function).mixed]
        if not any(impl.supports(d) for d in ("float32", "float64")):
            wanted += declared
    have = set(available_formats())
    ok = [d for d in dict.fromkeys(wanted) if _formats_of(d, impl.function) <= have]
    return [d for d in ok if impl.supports(d)]


def signatures_for(impl: Implementation, requested=None) -> list[str]:
    """:func:`dtypes_for` of the requested formats, and every mixed signature ``impl`` declares: what a whole
    matrix checks (the report's, the peers' tests)."""
    return list(dict.fromkeys(dtypes_for(impl, requested) + [d for d in dtypes_for(impl) if ":" in d]))


def _formats_of(sig: str, function) -> set:
    s = signature(sig, function)
    return {f.name for f in (s.input, s.output, s.cotangent) if f is not None}
