"""Calling code the user points the suite at by the suite's convention.

The suite calls every implementation as ``stability.functions`` says: ``f(x, axis=axis)`` for the axis functions,
``f(x)`` for the elementwise ones, ``f(logits, targets)`` for the per-sample losses.  Code from elsewhere follows its
own library's convention instead -- ``torch.softmax(input, dim)``, ``F.cross_entropy(..., reduction='mean')``, a
``softmax(v)`` written for one vector -- and would fail every example on a ``TypeError`` that says nothing about its
numerics.  :func:`adapt` wraps such a callable, and says how in a note that the records and the report carry:

* **array library**: the callable's ``__stability_library__`` attribute; else the top-level package of the module
  that defines it, or that the SPEC imported it from (``torch``, ``jax``, ``cupy``); else NumPy.  Inputs are moved
  to that library and results back by ``stability.arraylib``.
* **axis**: passed as ``axis=`` to a callable that takes ``axis`` (or ``**kwargs``); as ``dim=`` to one that takes
  ``dim``, and to PyTorch builtins, whose signature cannot be read.  A callable that takes neither is taken to
  compute the function of one vector: it is called on each 1-D lane along the axis and the results are stacked
  (its timings then include that loop, and the note says so).
* **losses**: ``reduction='none'`` is passed to a callable that takes ``reduction`` (a batch mean is not a
  per-sample loss).

* **gradients**: a callable of a library with autodiff (PyTorch, JAX, TensorFlow, MLX, PaddlePaddle, tinygrad:
  ``stability.libraries``) given for ``NAME_vjp`` is taken as the *forward* function NAME, called by the rules
  above, and differentiated by its own library: ``torch.autograd.grad(y, x, grad_outputs=g)``, ``jax.vjp``,
  ``tf.GradientTape.gradient(..., output_gradients=g)``, ``mx.vjp``, ``paddle.grad`` or ``y.backward(g)``.  So ``--function softmax_vjp --impl torch:softmax`` judges PyTorch's backward of softmax.  A
  hand-written VJP in those libraries says so with ``__stability_vjp__ = True`` and is called as it is; NumPy
  code is always called as the VJP itself (it has no autodiff).

Nothing else is changed: the output's dtype, shape and values are judged as returned.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable

from . import libraries
from .functions import get

_TOP_LEVEL = libraries.BY_PACKAGE  # package -> array library (stability/libraries.py)
AUTODIFF_LIBRARIES = libraries.AUTODIFF


def library_of(fn: Callable, where: str | None = None) -> str:
    """The array library ``fn`` takes (see the module docstring); ``where``: the module the SPEC named."""
    declared = getattr(fn, "__stability_library__", None)
    if declared:
        return declared
    for module in (getattr(fn, "__module__", None), where):
        top = (module or "").split(".")[0]
        if top in _TOP_LEVEL:
            return _TOP_LEVEL[top]
    return "numpy"


def _parameters(fn: Callable):
    """(names, takes **kwargs), or None when the signature cannot be read (C builtins)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    return set(params), any(p.kind is p.VAR_KEYWORD for p in params.values())


def axis_mode(fn: Callable, library: str, params=False) -> str:
    """How ``fn`` is told the axis: ``axis``, ``dim`` or ``lanes`` (it takes neither: called per 1-D lane);
    ``params``: :func:`_parameters` of ``fn`` when the caller has it."""
    params = _parameters(fn) if params is False else params
    if params is None:
        return libraries.TABLE[library].axis_keyword if library in libraries.TABLE else "axis"
    names, var_kw = params
    if "axis" in names or var_kw:
        return "axis"
    if "dim" in names:
        return "dim"
    return "lanes"


def adapt(fn: Callable, function: str, library: str) -> tuple[Callable, str]:
    """``(callable by the suite's convention, note)``; the note is ``""`` when ``fn`` is used as it is."""
    f = get(function)
    if f.is_vjp and library in AUTODIFF_LIBRARIES and not getattr(fn, "__stability_vjp__", False):
        forward, note = adapt(fn, f.primal, library)
        how = libraries.TABLE[library].autodiff
        return autodiff_vjp(forward, library), "; ".join(filter(None, [note, f"differentiated with {how}"]))
    params = _parameters(fn)
    fixed = {"reduction": "none"} if f.has_targets and params is not None and "reduction" in params[0] else {}
    mode = axis_mode(fn, library, params) if f.has_axis else "axis"
    if mode == "axis" and not fixed:
        return fn, ""
    notes = []
    if fixed:
        notes.append("called with reduction='none'")
    if mode == "dim":
        notes.append("the axis passed as dim=")
    if mode == "lanes":
        notes.append("takes no axis: called on each 1-D lane along it, the loop included in its timings")

    if mode == "lanes":
        reduces = f.kind == "reduce"

        def call(x, axis=-1):
            return _per_lane(fn, x, axis, reduces)
    elif mode == "dim":
        def call(*args, axis=-1, **kwargs):
            return fn(*args, dim=axis, **fixed, **kwargs)
    else:
        def call(*args, **kwargs):
            return fn(*args, **fixed, **kwargs)

    call.__doc__ = fn.__doc__
    return call, "; ".join(notes)


def _per_lane(fn, x, axis, reduces):
    """``fn`` applied to every 1-D lane of ``x`` along ``axis``; the results stacked in its place."""
    from array_api_compat import array_namespace

    if x.ndim == 1:
        return fn(x)
    xp = array_namespace(x)
    moved = xp.moveaxis(x, axis, -1)
    lanes_shape = tuple(moved.shape[:-1])
    n = moved.shape[-1]
    lanes = xp.reshape(moved, (math.prod(lanes_shape), n))
    out_shape = lanes_shape + (() if reduces else (n,))
    outs = [_lane_result(fn(lanes[i, ...]), x.dtype) for i in range(lanes.shape[0])]
    # no lane at all: the output is as empty as the input (lanes[:, :0] has no element either way)
    stacked = xp.reshape(xp.stack(outs) if outs else lanes[:, :0], out_shape)
    return stacked if reduces else xp.moveaxis(stacked, -1, axis)


def _lane_result(out, dtype):
    """One lane's result; a Python list or number (``def softmax(v): return [...]``) read as NumPy would."""
    from .arraylib import from_python

    arr = from_python(out, dtype)
    return out if arr is None else arr


def autodiff_vjp(forward: Callable, library: str) -> Callable:
    """The VJP of ``forward`` (called by the suite's convention: ``forward(x, *targets, **axis)``) by its library's
    autodiff (``stability.libraries``): ``vjp(x, *targets, g, **axis)`` returns the gradient of
    ``sum(g * forward(x, ...))`` with respect to x, as the library computes it."""
    pullback = _PULLBACKS[library]

    def vjp(x, *rest, **kwargs):
        *targets, g = rest
        return pullback(lambda v: forward(v, *targets, **kwargs), x, g)
    vjp.__doc__ = forward.__doc__
    return vjp


def _torch_pullback(f, x, g):
    import torch

    v = x.detach().clone().requires_grad_(True)
    (dx,) = torch.autograd.grad(f(v), v, grad_outputs=g)
    return dx


def _jax_pullback(f, x, g):
    import jax

    return jax.vjp(f, x)[1](g)[0]


def _tf_pullback(f, x, g):
    from .arraylib import tensorflow

    tf = tensorflow()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x, output_gradients=g)


def _mlx_pullback(f, x, g):
    import mlx.core as mx

    return mx.vjp(f, [x], [g])[1][0]


def _paddle_pullback(f, x, g):
    import paddle

    v = x.detach()
    v.stop_gradient = False
    (dx,) = paddle.grad([f(v)], [v], grad_outputs=[g])
    return dx


def _tinygrad_pullback(f, x, g):
    # Tensor.gradient: the functional form (backward() needs requires_grad_(True); assigning requires_grad = True
    # leaves grad None in tinygrad 0.14)
    v = x.detach().contiguous().realize()
    (dx,) = f(v).gradient(v, gradient=g)
    return dx.realize()


_PULLBACKS = {"torch": _torch_pullback, "torch_cuda": _torch_pullback, "jax": _jax_pullback,
              "tensorflow": _tf_pullback, "mlx": _mlx_pullback, "paddle": _paddle_pullback,
              "tinygrad": _tinygrad_pullback}
assert set(_PULLBACKS) == set(AUTODIFF_LIBRARIES), "every library with autodiff in stability.libraries has one"
