"""The functions under test and their calling convention (fixed: the CLI and user plug-ins rely on it).

=================================  ==================================  ======================================
function                           call                                output
=================================  ==================================  ======================================
softmax, log_softmax               ``f(x, axis=axis)``                 shape of x
logsumexp, max                     ``f(x, axis=axis)``                 x reduced over axis (no keepdims)
argmax                             ``f(x, axis=axis)``                 integer indices, x reduced over axis
sigmoid, log_sigmoid, softplus     ``f(x)``                            shape of x
logit                              ``f(p)``                            shape of p (log(p / (1 - p)))
logit_of_sigmoid                   ``f(x)``                            shape of x: logit(sigmoid(x)) = x
binary_cross_entropy_with_logits   ``f(logits, targets)``              elementwise loss, targets in [0, 1]
cross_entropy                      ``f(logits, targets)``              logits (N, C), integer targets (N,):
                                                                       per-sample loss (N,)
NAME_vjp (the gradients)           ``f(x, g, axis=axis)``,             the gradient with respect to the
                                   ``f(x, g)``,                        floating input: shape and dtype of x
                                   ``f(logits, targets, g)``           (logits)
=================================  ==================================  ======================================

A vector-Jacobian product ``NAME_vjp`` takes the forward function's inputs followed by a cotangent ``g`` shaped
like the forward output (``logsumexp_vjp``, ``max_vjp``: the reduced shape; ``cross_entropy_vjp``: ``(N,)``) and
of the input's dtype, and returns ``g^T J``, the gradient of ``sum(g * NAME(x))`` with respect to ``x``.  VJPs
exist for softmax, log_softmax, logsumexp, sigmoid, log_sigmoid, binary_cross_entropy_with_logits (w.r.t. the
logits), cross_entropy (w.r.t. the logits), max (the cotangent at the first maximum), logit and softplus.

The output dtype is the input's (float16, float32, float64, and bfloat16 with ``ml_dtypes``) unless a format
signature says otherwise (``stability.formats.Signature``: ``bfloat16:float32`` reads bfloat16 and returns
float32; the FP8 formats ``float8_e4m3fn`` and ``float8_e5m2`` too), except argmax, whose output is an integer
array.  A cotangent may have its own format (autocast's float32 cotangent of a bfloat16 input).
:func:`prepare` validates a call's arguments the same way for the
reference and the verifier: out-of-range targets, a cotangent of the wrong shape or dtype and shape mismatches
are bad input (:class:`~stability.errors.UsageError` saying how to fix the call); NaN and infinities inside the
arrays are data, judged by the policy in ``stability.policy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError, did_you_mean

from .formats import Format, format_of

#: How a function's inputs and output are laid out: the one table every module reads.
#:   axis         a row along ``axis`` in, a row out (softmax)
#:   reduce       a row in, one value out (logsumexp, max, argmax)
#:   elementwise  one element in, one out (sigmoid)
#:   bce          logits and targets of one shape in, one loss per element out
#:   ce           (N, C) logits and (N,) class indices in, (N,) losses out
KINDS = ("axis", "reduce", "elementwise", "bce", "ce")


@dataclass(frozen=True)
class Function:
    """One function under test.

    ``kind`` is the layout of its *primal* (forward) call (:data:`KINDS`); a VJP has the kind of the function it
    differentiates, ``primal`` names that function, and its output is shaped like its first input.  ``exact``:
    every output is a number of the format (or an index) and must be returned exactly (max, argmax, max_vjp);
    ``integer``: the output is an index array (argmax).
    """

    name: str
    kind: str
    summary: str
    primal: str | None = None
    exact: bool = False
    integer: bool = False

    @property
    def has_axis(self) -> bool:
        return self.kind in ("axis", "reduce")

    @property
    def has_targets(self) -> bool:
        return self.kind in ("bce", "ce")

    @property
    def class_targets(self) -> bool:
        """Its targets are class indices, one per row (cross-entropy and its gradient)."""
        return self.kind == "ce"

    @property
    def probability_targets(self) -> bool:
        """Its targets are probabilities in [0, 1], one per element (BCE with logits and its gradient)."""
        return self.kind == "bce"

    @property
    def is_vjp(self) -> bool:
        return self.primal is not None

    @property
    def elementwise(self) -> bool:
        """One output per input element, from that element alone (the exhaustive sweep covers these)."""
        return self.kind in ("elementwise", "bce")

    @property
    def reduces(self) -> bool:
        """The output has the axis removed (logsumexp, max, argmax, and cross-entropy's per-sample loss)."""
        return not self.is_vjp and self.kind in ("reduce", "ce")

    @property
    def row_output(self) -> bool:
        """One output per entry of a row that is computed from the whole row (softmax and every axis VJP)."""
        return self.kind in ("axis", "reduce", "ce") and not self.reduces

    @property
    def shift_invariant(self) -> bool:
        """``f(x + c) = f(x)`` for a constant c along the row, so f sees x only through the differences
        ``x_j - max(x)``: softmax, log_softmax, argmax, cross-entropy and the gradient of every function of rows
        (logsumexp and max shift with c; their gradients do not)."""
        if self.is_vjp:
            return self.kind in ("axis", "reduce", "ce")
        return self.kind in ("axis", "ce") or self.integer

    @property
    def arg_names(self) -> tuple[str, ...]:
        names = ("logits", "targets") if self.has_targets else ("x",)
        return names + (("g",) if self.is_vjp else ())


_FORWARD = (
    Function("softmax", "axis", "exp(x_i) / sum_j exp(x_j) along an axis"),
    Function("log_softmax", "axis", "x_i - logsumexp(x) along an axis"),
    Function("logsumexp", "reduce", "log sum_j exp(x_j), reduced over an axis"),
    Function("max", "reduce", "max_j x_j, reduced over an axis (exact)", exact=True),
    Function("argmax", "reduce", "index of the first maximum (of the first NaN), reduced over an axis",
             exact=True, integer=True),
    Function("sigmoid", "elementwise", "1 / (1 + exp(-x))"),
    Function("log_sigmoid", "elementwise", "-log(1 + exp(-x))"),
    Function("softplus", "elementwise", "log(1 + exp(x))"),
    Function("logit", "elementwise", "log(p / (1 - p)) for p in [0, 1]"),
    Function("logit_of_sigmoid", "elementwise", "logit(sigmoid(x)), which is x: the composition judged against "
             "the identity"),
    Function("binary_cross_entropy_with_logits", "bce", "-(y log sigmoid(x) + (1-y) log sigmoid(-x))"),
    Function("cross_entropy", "ce", "-log softmax(logits)[target], per sample"),
)

_GRADIENTS = {
    "softmax": "s * (g - <g, s>)",
    "log_softmax": "g - s * sum(g)",
    "logsumexp": "g * s",
    "max": "g at the first maximum, 0 elsewhere (exact)",
    "sigmoid": "g * sigmoid(x) * sigmoid(-x)",
    "log_sigmoid": "g * sigmoid(-x)",
    "softplus": "g * sigmoid(x)",
    "logit": "g / (p (1 - p))",
    "binary_cross_entropy_with_logits": "g * (sigmoid(x) - y), w.r.t. the logits",
    "cross_entropy": "g * (softmax(logits) - onehot(target)), w.r.t. the logits",
}


def _vjp(f: Function) -> Function:
    return Function(f"{f.name}_vjp", f.kind, f"vector-Jacobian product of {f.name}: {_GRADIENTS[f.name]}",
                    primal=f.name, exact=f.exact)


FUNCTIONS = {f.name: f for f in _FORWARD + tuple(_vjp(f) for f in _FORWARD if f.name in _GRADIENTS)}


def get(name: str) -> Function:
    """The :class:`Function` called ``name``; UsageError listing the valid names otherwise."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise UsageError(f"unknown function {name!r}{did_you_mean(name, FUNCTIONS)}: use one of "
                         f"{', '.join(FUNCTIONS)}") from None


def vjp_of(name: str) -> Function | None:
    """The VJP function of forward function ``name``, None when it has none."""
    return FUNCTIONS.get(f"{name}_vjp")


@dataclass
class Call:
    """A validated call: the function, the float input array, targets (or None), the cotangent (VJPs; else
    None), the axis, and the *output* format (the input's unless the signature widens or narrows it)."""

    function: Function
    x: np.ndarray
    targets: np.ndarray | None
    axis: int | None
    fmt: Format
    g: np.ndarray | None = None

    @property
    def in_fmt(self) -> Format:
        return format_of(self.x.dtype)

    @property
    def args(self) -> tuple:
        return tuple(a for a in (self.x, self.targets, self.g) if a is not None)

    @property
    def kwargs(self) -> dict:
        return {"axis": self.axis} if self.function.has_axis else {}

    def primal_output_shape(self) -> tuple:
        """The shape of the forward function's output (the cotangent's shape for a VJP)."""
        if self.function.kind == "reduce":
            return tuple(s for i, s in enumerate(self.x.shape) if i != self.axis)
        if self.function.kind == "ce":
            return self.x.shape[:1]
        return self.x.shape

    def output_shape(self) -> tuple:
        return self.x.shape if self.function.is_vjp else self.primal_output_shape()

    @property
    def output_dtype(self):
        """The dtype the output must have (argmax: any integer dtype; this is the reference's, int64)."""
        return np.dtype(np.int64) if self.function.integer else self.fmt.dtype


def prepare(function, x, *rest, axis=-1, out=None) -> Call:
    """Validate the arguments of ``function`` and return a :class:`Call`.

    ``rest`` are the arguments after the first, in the order of ``Function.arg_names``: ``targets`` for the
    losses, then ``g`` for a VJP.  Raises UsageError with the fix when: the array is not of a supported float
    dtype, an argument is missing or superfluous, shapes disagree, BCE targets leave [0, 1], cross-entropy
    targets are not integers in [0, C), or a cotangent has the wrong shape or dtype.  ``out``: the output format
    (a name or :class:`~stability.formats.Format`; default the input's).
    """
    fn = get(function) if isinstance(function, str) else function
    names = fn.arg_names
    if len(rest) > len(names) - 1 and all(r is None for r in rest[len(names) - 1:]):
        rest = rest[: len(names) - 1]  # prepare(f, x, None): no targets, as the old signature had it
    if len(rest) != len(names) - 1:
        raise UsageError(f"{fn.name} takes {len(names)} argument(s): call {fn.name}({', '.join(names)}"
                         f"{', axis=...' if fn.has_axis else ''}), got {1 + len(rest)}")
    x = np.asarray(x)
    fmt = format_of(x.dtype)
    given = dict(zip(names[1:], rest))
    targets = given.get("targets")
    if fn.has_targets and targets is None:
        raise UsageError(f"{fn.name} needs targets: call {fn.name}({', '.join(names)})")
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
        with np.errstate(invalid="ignore"):
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
    if out is not None:
        fmt = out if isinstance(out, Format) else format_of(out)
    call = Call(fn, x, targets if fn.has_targets else None, ax, fmt)
    if fn.is_vjp:
        g = np.asarray(given["g"])
        want = call.primal_output_shape()
        if g.shape != want:
            raise UsageError(f"the cotangent g of {fn.name} must have the shape of {fn.primal}'s output {want}, "
                             f"got {g.shape}")
        if g.dtype != x.dtype and out is None:
            raise UsageError(f"the cotangent g must have the input's dtype {x.dtype}, got {g.dtype}: cast it, or "
                             f"give the formats of a mixed-precision gradient as a signature (x:g:result)")
        format_of(g.dtype)
        call.g = g
    return call
