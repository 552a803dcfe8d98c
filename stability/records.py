"""A verify record: the outcome of one implementation in one dtype (verdict, worst errors, failed families,
the counterexample), and its JSON form (infinities and NaN as strings)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np


@dataclass
class Record:
    implementation: str
    function: str
    dtype: str
    verdict: str  # "pass" / "fail"
    max_ulp: float
    max_ratio: float
    examples: int
    expectation: str
    meets_expectation: bool
    failed_families: list
    library: str = "numpy"
    origin: str = "builtin"
    counterexample: dict | None = None
    families: dict = field(default_factory=dict)
    seed: int = 0
    max_normwise: float = 0.0  # ||got - best|| / ||best|| over a call (best: correctly rounded), the worst call
    drift: str = ""  # a peer's undeclared failures on another version of its library than it was measured on
    version: str = ""  # the version of the implementation's library it was checked with ("" for the suite's own)
    seconds: float = 0.0  # the check's wall-clock time
    cpu_seconds: float = 0.0  # the CPU time of the process that ran it, meanwhile (its threads' included)

    def as_dict(self) -> dict:
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        """The record :meth:`as_dict` gave (from a worker, a journal or a records file)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("max_ulp", "max_ratio", "max_normwise"):
            if k in kw:
                kw[k] = float(kw[k])
        return cls(**kw)


def _json_safe(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else ("nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf"))
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj
