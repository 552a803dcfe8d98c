"""The one thing pyproject.toml cannot say: the fast path's compiled kernels, an optional C extension.

``implementations/_fastkernels.c`` is built at install (``pip install -e .`` included) with the C compiler Python
was built with; where none works, the install goes on without it and the fast path runs its NumPy version
(``python3 -m stability bench`` and ``implementations._native.WHY`` say which one runs).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "implementations._fastkernels",
            sources=["implementations/_fastkernels.c"],
            depends=["implementations/_fastkernels_body.h"],
            # -O3: GCC 12 vectorises less at -O2; -fno-trapping-math: FP compares may be if-converted (no
            # exception flags are read); never -ffast-math, which would break the NaN and inf rules and TwoSum
            extra_compile_args=["-O3", "-fno-trapping-math"],
            optional=True,
        )
    ]
)
