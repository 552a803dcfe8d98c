"""The functions under test and their calling convention (fixed: the CLI and user plug-ins rely on it).

==================================  =========================  =====================================
function                            call                       output
==================================  =========================  =====================================
softmax, log_softmax                ``f(x, axis=axis)``        shape of x
logsumexp                           ``f(x, axis=axis)``        x reduced over axis (no keepdims)
sigmoid, log_sigmoid                ``f(x)``                   shape of x
binary_cross_entropy_with_logits    ``f(logits, targets)``     elementwise loss, targets in [0, 1]
cross_entropy                       ``f(logits, targets)``     logits (N, C), integer targets (N,):
                                                               per-sample loss (N,)
==================================  =========================  =====================================

The output dtype equals the input dtype (float16, float32, float64, and bfloat16 with ``ml_dtypes``).
:func:`prepare` validates a call's arguments the same way for the reference and the verifier: out-of-range
targets and shape mismatches are bad input (``ValueError`` saying how to fix the call); NaN and infinities
inside the arrays are data, judged by the policy in ``stability.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError

from .formats import Format, format_of


@dataclass(frozen=True)
class Function:
    name: str
    kind: str  # "axis" (softmax-like), "reduce" (logsumexp), "elementwise", "bce", "ce"
    summary: str

    @property
    def has_axis(self) -> bool:
        return self.kind in ("axis", "reduce")

    @property
    def has_targets(self) -> bool:
        return self.kind in ("bce", "ce")


FUNCTIONS = {
    f.name: f
    for f in (
        Function("softmax", "axis", "exp(x_i) / sum_j exp(x_j) along an axis"),
        Function("log_softmax", "axis", "x_i - logsumexp(x) along an axis"),
        Function("logsumexp", "reduce", "log sum_j exp(x_j), reduced over an axis"),
        Function("sigmoid", "elementwise", "1 / (1 + exp(-x))"),
        Function("log_sigmoid", "elementwise", "-log(1 + exp(-x))"),
        Function("binary_cross_entropy_with_logits", "bce", "-(y log sigmoid(x) + (1-y) log sigmoid(-x))"),
        Function("cross_entropy", "ce", "-log softmax(logits)[target], per sample"),
    )
}


def get(name: str) -> Function:
    """The :class:`Function` called ``name``; ValueError listing the valid names otherwise."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise UsageError(f"unknown function {name!r}: use one of {', '.join(FUNCTIONS)}") from None


@dataclass
class Call:
    """A validated call: the function, the float input array, targets (or None), the axis, and the format."""

    function: Function
    x: np.ndarray
    targets: np.ndarray | None
    axis: int | None
    fmt: Format

    @property
    def args(self) -> tuple:
        return (self.x,) if self.targets is None else (self.x, self.targets)

    @property
    def kwargs(self) -> dict:
        return {"axis": self.axis} if self.function.has_axis else {}

    def output_shape(self) -> tuple:
        if self.function.kind == "reduce":
            return tuple(s for i, s in enumerate(self.x.shape) if i != self.axis)
        if self.function.kind == "ce":
            return self.x.shape[:1]
        return self.x.shape


def prepare(function, x, targets=None, *, axis=-1) -> Call:
    """Validate the arguments of ``function`` and return a :class:`Call`.

    Raises ValueError with the fix when: the array is not of a supported float dtype, targets are missing or
    superfluous, shapes disagree, BCE targets leave [0, 1], or cross-entropy targets are not integers in [0, C).
    """
    fn = get(function) if isinstance(function, str) else function
    x = np.asarray(x)
    fmt = format_of(x.dtype)
    if fn.has_targets and targets is None:
        raise UsageError(f"{fn.name} needs targets: call {fn.name}(logits, targets)")
    if not fn.has_targets and targets is not None:
        raise UsageError(f"{fn.name} takes no targets: call {fn.name}(x{', axis=...' if fn.has_axis else ''})")
    ax = None
    if fn.has_axis:
        if x.ndim == 0:
            raise UsageError(f"{fn.name} needs an array with at least one dimension, got a scalar: pass x[None]")
        if not -x.ndim <= int(axis) < x.ndim:
            raise UsageError(f"axis {axis} is out of range for an array of {x.ndim} dimension(s)")
        ax = int(axis) % x.ndim
    if fn.kind == "bce":
        targets = np.asarray(targets)
        if targets.shape != x.shape:
            raise UsageError(f"targets must have the logits' shape {x.shape}, got {targets.shape}")
        if targets.dtype != x.dtype:
            raise UsageError(f"targets must have the logits' dtype {x.dtype}, got {targets.dtype}: cast them")
        t = targets.astype(np.float64)
        bad = (t < 0) | (t > 1)  # NaN targets are data, not bad input
        if bad.any():
            raise UsageError(f"BCE targets must lie in [0, 1]; found {t[bad].ravel()[0]!r}: clip or rescale them")
    if fn.kind == "ce":
        targets = np.asarray(targets)
        if x.ndim != 2:
            raise UsageError(f"cross_entropy takes logits of shape (N, C), got {x.shape}")
        if targets.shape != x.shape[:1]:
            raise UsageError(f"cross_entropy targets must have shape ({x.shape[0]},), got {targets.shape}")
        if not np.issubdtype(targets.dtype, np.integer):
            raise UsageError(f"cross_entropy targets must be integer class indices, got dtype {targets.dtype}")
        if targets.size and (targets.min() < 0 or targets.max() >= x.shape[1]):
            raise UsageError(f"cross_entropy targets must lie in [0, {x.shape[1]}): found out-of-range indices")
    return Call(fn, x, targets, ax, fmt)
