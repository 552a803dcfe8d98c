"""What the measuring modules hand to the drawing ones, as plain data: accuracy curves (``stability.accuracy``),
special-value cells (``stability.special``) and the BHH reproduction's per-vector errors (``stability.paper``).
Nothing here measures, so ``reports/``, which only draws, reads these without importing a measuring module."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Curves:
    """Max and median ULP error of every implementation of a function over a sweep of input scales."""

    function: str
    dtype: str
    xlabel: str
    x: np.ndarray  # scale (axis functions) or bin centre (elementwise)
    max_ulp: dict = field(default_factory=dict)  # implementation -> array over x
    median_ulp: dict = field(default_factory=dict)
    bits: dict = field(default_factory=dict)  # implementation -> log2(1 + ulp) of every output
    bound: np.ndarray | None = None
    bound_label: str = ""
    failed_calls: dict = field(default_factory=dict)  # implementation -> reason, for calls that could not be judged


@dataclass
class Cell:
    """One special-value case of one implementation: its input, the policy's answer, what it gave, the verdict."""

    case: str
    input: str
    expected: str
    got: str
    ok: bool
    reason: str = ""
    answer: str = ""  # where the policy accepts several answers: the one given (e.g. max_vjp at ties: split_g)

    @property
    def raised(self) -> bool:
        return self.reason.startswith("raised")


@dataclass
class PaperErrors:
    """The BHH reproduction in one format, as drawn: per algorithm, each vector's error and bound (units of u)."""

    fmt: str
    overflows: dict  # algorithm -> number of vectors with an inf/NaN result
    errors: dict  # algorithm -> array of errors / u (NaN where it overflowed)
    bounds: dict  # algorithm -> array of bounds / u
    compared: np.ndarray  # the vectors where basic LSE stayed finite
