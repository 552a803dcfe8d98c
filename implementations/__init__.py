"""The implementations under test.  Importing this package registers every variant (``stability.registry``).

One small module per function family: ``softmax``, ``log_softmax``, ``logsumexp``, ``sigmoid``,
``log_sigmoid``, ``bce``, ``cross_entropy``; ``fast_cpu`` the fast blocked and threaded path; ``_shared`` holds the max-shift helpers they have in common;
``peers`` registers what users would pick instead (SciPy, PyTorch, JAX) when importable.
"""

from . import bce, cross_entropy, fast_cpu, log_sigmoid, log_softmax, logsumexp, peers, sigmoid, softmax  # noqa: F401

try:  # the Array API versions need array-api-compat (a core dependency); the suite runs without them
    from . import array_api  # noqa: F401
except ImportError:  # pragma: no cover
    pass
