"""Moving inputs to an implementation's array library and its results back to NumPy."""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np


@contextmanager
def precision_scope(library: str, dtype):
    """The scope a call of ``library`` in ``dtype`` runs in; a library's process-wide settings are never changed.

    JAX computes float64 only in its 64-bit mode, a process-wide setting: it is enabled for this call alone
    (``jax.enable_x64``), never left on, so a user's own JAX code judged in the same run sees the setting it chose.
    MLX runs on its CPU stream for the call (``mx.stream(mx.cpu)``), whatever ``mx.default_device()`` says; the
    TensorFlow, PaddlePaddle and tinygrad inputs are placed on the CPU explicitly (:func:`to_library`), never by
    ``paddle.set_device`` or tinygrad's ``DEV``, which tinygrad writes into the environment when it first picks a
    device and is put back after the call."""
    if library == "jax" and any(np.dtype(d) == np.float64 for d in np.atleast_1d(np.asarray(dtype, dtype=object))):
        import jax

        with jax.enable_x64(True):
            yield
    elif library == "mlx":
        import mlx.core as mx

        with mx.stream(mx.cpu):
            yield
    elif library == "tensorflow":
        with tensorflow().device("/CPU:0"):
            yield
    elif library == "tinygrad":  # it writes the device it picked into os.environ["DEV"] (for its children)
        saved = os.environ.get("DEV")
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("DEV", None)
            else:
                os.environ["DEV"] = saved
    else:
        yield


def tensorflow():
    """TensorFlow, imported in one place: its C++ informational lines (the CPU feature guard's) silenced by
    ``TF_CPP_MIN_LOG_LEVEL=2``, read at its first import, the variable put back as it was after the import (a
    user's own setting wins, and no child process inherits ours).  TensorFlow 2.21 still prints oneDNN's notice
    through absl whatever that level says; it goes to the worker's standard error."""
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    saved = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    finally:
        if saved is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return tf


def _ml_dtypes_name(a: np.ndarray) -> str | None:
    """``a``'s format name when it is one of ml_dtypes' (bfloat16, FP8): those travel through float32, exactly."""
    from .formats import ML_DTYPES_FORMATS

    return a.dtype.name if a.dtype.name in ML_DTYPES_FORMATS else None


def to_library(a: np.ndarray, library: str):
    """``a`` as an array of ``library`` (numpy, scipy: unchanged; torch_cuda: a torch tensor on the GPU)."""
    if library in ("numpy", "scipy"):
        return a
    if library in ("torch", "torch_cuda"):  # torch_cuda: the same tensor on the current CUDA device
        import torch

        # np.ascontiguousarray turns a 0-d array into shape (1,): reshape back (a reduced cotangent is 0-d)
        from .formats import ML_DTYPES_FORMATS

        if a.dtype.name in ML_DTYPES_FORMATS:  # ml_dtypes' bfloat16 and FP8: exact through float32, as torch's own
            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).reshape(a.shape)).to(
                getattr(torch, a.dtype.name))
        else:
            t = torch.from_numpy(np.ascontiguousarray(a).reshape(a.shape))
        return t.to("cuda") if library == "torch_cuda" else t
    if library == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    if library == "cupy":
        import cupy

        return cupy.asarray(a)
    if library == "array_api":
        import array_api_strict as xp

        return xp.asarray(a)
    if library == "onnxruntime":  # an InferenceSession takes NumPy arrays (ml_dtypes' bfloat16 too)
        return a
    if library == "tensorflow":
        tf = tensorflow()
        with tf.device("/CPU:0"):
            return tf.constant(a)  # ml_dtypes' bfloat16 is TensorFlow's own
    name = _ml_dtypes_name(a)
    # np.ascontiguousarray turns a 0-d array into shape (1,): reshape back (a reduced cotangent is 0-d)
    wide = (np.ascontiguousarray(a, dtype=np.float32) if name else np.ascontiguousarray(a)).reshape(a.shape)
    if library == "mlx":
        import mlx.core as mx

        # mx.array of a float64 array is float32 unless the dtype is named
        t = mx.array(wide, dtype=getattr(mx, wide.dtype.name)) if wide.dtype.kind == "f" else mx.array(wide)
        return t.astype(getattr(mx, name)) if name else t
    if library == "paddle":
        import warnings

        with warnings.catch_warnings():  # its "No ccache found" at first import: it compiles nothing here
            warnings.simplefilter("ignore", UserWarning)
            import paddle
        t = paddle.to_tensor(wide, place=paddle.CPUPlace())
        return t.astype(name) if name else t
    if library == "tinygrad":
        from tinygrad import Tensor, dtypes

        t = Tensor(wide, device="CPU")
        return t.cast(getattr(dtypes, name)) if name else t
    raise ValueError(f"unknown array library {library!r}")


def from_python(out, dtype):
    """A Python list, tuple or number returned for ``dtype`` input, as NumPy would read it (``numpy.asarray``); it
    carries no dtype of its own, so Python floats are rounded once to ``dtype`` (a list of NumPy scalars keeps
    theirs, integers stay integers: argmax's indices).  None when ``out`` is none of these, or not numbers."""
    if isinstance(out, bool) or not isinstance(out, (list, tuple, float, int)):
        return None
    try:
        arr = np.asarray(out)
    except (ValueError, TypeError):  # ragged lists
        return None
    if arr.dtype != np.float64 or _holds_numpy_scalars(out):
        return arr if arr.dtype.kind in "fiu" else None
    from .formats import format_of, round_float64, to_dtype

    fmt = format_of(dtype)
    return to_dtype(round_float64(arr, fmt), fmt)


def _holds_numpy_scalars(out) -> bool:
    while isinstance(out, (list, tuple)) and out:
        out = out[0]
    return isinstance(out, np.generic)


def to_numpy(out):
    """An implementation's result as a NumPy array, or None when it is not an array of any known library."""
    if isinstance(out, np.ndarray):
        return out
    if isinstance(out, np.generic):  # a NumPy scalar carries its dtype: accept it as a 0-d array
        return np.asarray(out)
    mod = type(out).__module__.split(".")[0]
    if mod == "torch":
        import torch

        out = out.detach().cpu()
        from .formats import ML_DTYPES_FORMATS

        name = str(out.dtype).removeprefix("torch.")
        if name in ML_DTYPES_FORMATS:  # exact: bfloat16 and the FP8 formats are in float32
            import ml_dtypes

            return out.to(torch.float32).numpy().astype(getattr(ml_dtypes, name))
        return out.numpy()
    if mod == "cupy":
        return out.get()
    if mod in ("jax", "jaxlib") or mod.startswith("array_api"):
        return np.asarray(out)
    if mod in ("tensorflow", "keras"):
        return out.numpy() if hasattr(out, "numpy") else None
    if mod == "mlx":
        return _narrowed(str(out.dtype).removeprefix("mlx.core."), lambda: np.array(out), lambda w: np.array(w),
                         lambda: out.astype(__import__("mlx.core", fromlist=["float32"]).float32))
    if mod == "paddle":
        return _narrowed(str(out.dtype).removeprefix("paddle."), lambda: out.numpy(), lambda w: w.numpy(),
                         lambda: out.astype("float32"))
    if mod == "tinygrad":
        from tinygrad import dtypes

        return _narrowed(out.dtype.name, lambda: out.numpy(), lambda w: w.numpy(), lambda: out.cast(dtypes.float32))
    return None


def _narrowed(name: str, plain, read, widen):
    """A library's result as NumPy: ``plain()`` for the formats NumPy has, else (bfloat16, FP8) ``read(widen())`` in
    float32, narrowed again exactly to ml_dtypes' format of that name."""
    from .formats import ML_DTYPES_FORMATS

    if name not in ML_DTYPES_FORMATS:
        return plain()
    import ml_dtypes

    return read(widen()).astype(getattr(ml_dtypes, name))
