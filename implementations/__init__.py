"""The implementations under test.  Importing this package registers every variant (``stability.registry``).

One small module per function family: ``softmax``, ``log_softmax``, ``logsumexp``, ``sigmoid``,
``log_sigmoid``, ``bce``, ``cross_entropy``; the gradients in ``softmax_grad`` (softmax, log_softmax,
logsumexp), ``loss_grad`` (the two losses) and ``elementwise_grad`` (with softplus, logit and logit(sigmoid));
``maximum`` max, argmax and max's gradient; ``fast_cpu`` the fast blocked and threaded path, ``fast_grad`` the careful gradients
there in the working format; ``mixed`` the
mixed-precision versions (2-byte data, float32 work, float32 or 2-byte results); ``_shared`` holds the max-shift
helpers they have in common;
``peers`` registers what users would pick instead (SciPy, PyTorch, JAX) when importable, and ``peers_tensorflow``,
``peers_onnxruntime``, ``peers_mlx``, ``peers_paddle``, ``peers_tinygrad`` the other libraries (``_peer`` holds what
they share); ``array_api`` the stable
algorithms written once for every array library; ``cupy_kernels`` the fused CUDA kernels of ``cuda/softmax.cu``.
"""

from . import bce, cross_entropy, fast_cpu, log_sigmoid, log_softmax, logsumexp, sigmoid, softmax  # noqa: F401
from . import elementwise_grad, loss_grad, maximum, softmax_grad  # noqa: F401  (gradients, max, logit)
from . import fast_grad  # noqa: F401  (the careful gradients in the working format)
from . import mixed  # noqa: F401  (mixed precision)
from . import peers  # noqa: F401
# the other libraries people use, each where it is installed (stability atlas judges them side by side)
from . import peers_mlx, peers_onnxruntime, peers_paddle, peers_tensorflow, peers_tinygrad  # noqa: F401

from . import cupy_kernels  # noqa: F401  (registers only where CuPy sees a CUDA device)

import importlib.util

# the Array API versions are judged on array-api-strict arrays: registered only where that package (a test extra,
# not a core dependency) is importable, like the PyTorch and JAX peers
if importlib.util.find_spec("array_api_strict") is not None and importlib.util.find_spec("array_api_compat"):
    from . import array_api  # noqa: F401
