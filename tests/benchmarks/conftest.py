"""pytest-benchmark machine info: library versions and thread counts, so a saved run says what it measured."""

import os


def pytest_benchmark_update_machine_info(config, machine_info):
    import numpy

    info = {"numpy": numpy.__version__, "cpu_count": os.cpu_count(),
            "SOFTMAX_STABILITY_THREADS": os.environ.get("SOFTMAX_STABILITY_THREADS"),
            "THP_MEM_ALLOC_ENABLE": os.environ.get("THP_MEM_ALLOC_ENABLE")}
    for mod in ("scipy", "torch", "jax"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        from implementations import fast_cpu

        info["fast_cpu_threads"] = fast_cpu.THREADS
    except ImportError:
        pass
    machine_info["softmax_stability"] = info
