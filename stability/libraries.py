"""The array libraries the suite speaks, as one table: what each is called, which packages mean it, which
distribution carries its version, whether it runs on a GPU, whether it differentiates.  The registry, the adapter
(``stability.adapt``), the conversions (``stability.arraylib``), the atlas and the benchmarks read it; nothing else
lists library names."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    name: str
    packages: tuple = ()  # top-level packages whose functions belong to it (read from a callable's module)
    gpu: bool = False  # its arrays live on a CUDA device
    autodiff: str = ""  # how the suite differentiates its functions ("" when it does not)
    axis_keyword: str = "axis"  # how its builtins are told the axis, when their signature cannot be read
    distributions: tuple = ()  # the installed distributions that carry its version, first found wins
    title: str = ""  # how people write its name (the atlas's columns)
    extra: str = ""  # the optional-dependency group that installs it (pip install -e '.[EXTRA]')
    own_process: bool = False  # its checks run in worker processes of their own (see ``stability.parallel``)
    in_report: bool = True  # the default report measures its peers; the others are `stability atlas`'s, whose
    # latest stored run the report's libraries section shows (hundreds of checks: hours on two cores)


TABLE = {lib.name: lib for lib in (
    Library("numpy", distributions=("numpy",), title="NumPy"),
    Library("scipy", distributions=("scipy",), title="SciPy", extra="peers"),
    Library("torch", packages=("torch",), autodiff="torch.autograd.grad", axis_keyword="dim",
            distributions=("torch",), title="PyTorch", extra="torch"),
    Library("torch_cuda", gpu=True, autodiff="torch.autograd.grad", axis_keyword="dim", distributions=("torch",),
            title="PyTorch (CUDA)"),
    Library("jax", packages=("jax", "jaxlib"), autodiff="jax.vjp", distributions=("jax",), title="JAX",
            extra="peers"),
    Library("tensorflow", packages=("tensorflow", "keras", "tf_keras"), autodiff="tf.GradientTape",
            distributions=("tensorflow-cpu", "tensorflow"), title="TensorFlow", extra="tensorflow", own_process=True,
            in_report=False),
    Library("onnxruntime", packages=("onnxruntime",), distributions=("onnxruntime",), title="ONNX Runtime",
            extra="onnxruntime", in_report=False),
    Library("mlx", packages=("mlx",), autodiff="mlx.core.vjp", distributions=("mlx",), title="MLX", extra="mlx",
            in_report=False),
    Library("paddle", packages=("paddle",), autodiff="paddle.grad", distributions=("paddlepaddle",),
            title="PaddlePaddle", extra="paddle", own_process=True, in_report=False),
    Library("tinygrad", packages=("tinygrad",), autodiff="Tensor.backward", distributions=("tinygrad",),
            title="tinygrad", extra="tinygrad", in_report=False),
    Library("cupy", packages=("cupy", "cupyx"), gpu=True, distributions=("cupy-cuda12x", "cupy"), title="CuPy"),
    Library("array_api", title="Array API (strict)"),
)}

# importing PaddlePaddle 3.3.1 into a process that has imported TensorFlow 2.21.0 kills it (SIGSEGV; the other order
# works): so each of the two runs its checks on worker processes that never import the other (``own_process``)

NAMES = tuple(TABLE)
IN_REPORT = tuple(n for n, lib in TABLE.items() if lib.in_report)
GPU = tuple(n for n, lib in TABLE.items() if lib.gpu)
AUTODIFF = tuple(n for n, lib in TABLE.items() if lib.autodiff)
BY_PACKAGE = {p: n for n, lib in TABLE.items() for p in lib.packages}


def version(name: str) -> str | None:
    """The installed version of library ``name`` (its distribution's metadata: nothing is imported), its local
    part dropped (``2.13.0+cpu`` is ``2.13.0``); None when it is not installed."""
    for dist in TABLE[name].distributions:
        try:
            return importlib.metadata.version(dist).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def installed(name: str) -> bool:
    """Whether library ``name`` can be imported here (its first package, or its distribution)."""
    lib = TABLE[name]
    if lib.packages:
        return importlib.util.find_spec(lib.packages[0]) is not None
    return version(name) is not None
