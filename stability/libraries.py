"""The array libraries the suite speaks, as one table: what each is called, which packages mean it, whether it runs
on a GPU, whether it differentiates.  The registry, the adapter (``stability.adapt``), the conversions
(``stability.arraylib``) and the benchmarks read it; nothing else lists library names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    name: str
    packages: tuple = ()  # top-level packages whose functions belong to it (read from a callable's module)
    gpu: bool = False  # its arrays live on a CUDA device
    autodiff: str = ""  # how the suite differentiates its functions ("" when it does not)
    axis_keyword: str = "axis"  # how its builtins are told the axis, when their signature cannot be read


TABLE = {lib.name: lib for lib in (
    Library("numpy"),
    Library("scipy"),
    Library("torch", packages=("torch",), autodiff="torch.autograd.grad", axis_keyword="dim"),
    Library("torch_cuda", gpu=True, autodiff="torch.autograd.grad", axis_keyword="dim"),
    Library("jax", packages=("jax", "jaxlib"), autodiff="jax.vjp"),
    Library("cupy", packages=("cupy", "cupyx"), gpu=True),
    Library("array_api"),
)}

NAMES = tuple(TABLE)
GPU = tuple(n for n, lib in TABLE.items() if lib.gpu)
AUTODIFF = tuple(n for n, lib in TABLE.items() if lib.autodiff)
BY_PACKAGE = {p: n for n, lib in TABLE.items() for p in lib.packages}
