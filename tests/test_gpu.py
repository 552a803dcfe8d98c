"""The CuPy kernels on a CUDA device: verified against the same truth, special values per the policy, timed.
Skipped, with the reason, where CuPy or a device is missing (CI has none; see scripts/gpu_check.sh)."""

import numpy as np
import pytest

from stability import registry

cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pip install -e '.[gpu]' on a GPU machine)")
try:
    _DEVICES = cupy.cuda.runtime.getDeviceCount()
except Exception:  # no driver
    _DEVICES = 0
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_DEVICES == 0, reason="no CUDA device")]

FUSED = ["cupy.softmax_fused", "cupy.log_softmax_fused", "cupy.logsumexp_fused"]


@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_fused_kernels_pass_verify(name, dtype):
    from stability.verify import verify

    rec = verify(registry.resolve(name), dtype, examples=25, seed=0)
    assert rec.verdict == "pass", (rec.failed_families, rec.counterexample)


@pytest.mark.parametrize("name", FUSED)
def test_block_kernel_on_long_rows(name):
    from stability.verify import verify

    rec = verify(registry.resolve(name), "float32", examples=10, seed=1, families=["long"], slow=True)
    assert rec.verdict == "pass", rec.counterexample


@pytest.mark.parametrize("name", FUSED)
def test_special_values_follow_the_policy(name):
    from stability import special

    cells = special.evaluate(registry.resolve(name), "float32")
    assert all(c.ok for c in cells), [(c.case, c.got, c.reason) for c in cells if not c.ok]


def test_vectorised_and_scalar_block_paths_agree():
    from implementations.cupy_kernels import launch

    x = cupy.asarray(np.random.default_rng(0).normal(0, 4, (3, 4100)).astype(np.float32))
    a = launch("softmax", x)  # 4100 * 4 bytes: a multiple of 16, 16-byte loads
    b = launch("softmax", x[:, :4099])  # scalar loads
    assert a.shape == (3, 4100) and b.shape == (3, 4099)
    assert float(cupy.abs(a.sum(axis=1) - 1).max()) < 1e-5 and float(cupy.abs(b.sum(axis=1) - 1).max()) < 1e-5


def test_gpu_timing_rows():
    from stability.bench import gpu

    df = gpu.run([registry.resolve(n) for n in FUSED], [(256, 1024)], ["float32"], repeats=5)
    assert len(df) == 3 and (df.device == "cuda").all() and (df.median_s > 0).all()


def test_fastmath_build_declares_its_flush():
    impl = registry.resolve("cupy.softmax_fused_fastmath")
    assert impl.flushes_subnormals and "flushes subnormals" in impl.expectation


def test_torch_on_the_gpu_is_a_peer_and_is_timed_beside_the_kernels():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional peer (pip install torch==2.13.0)")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch build has no CUDA (the CPU wheel): no GPU peer")
    from stability.bench import gpu
    from stability.verify import verify

    peer = registry.resolve("torch.softmax_cuda")
    assert verify(peer, "float32", examples=10, seed=0).meets_expectation
    df = gpu.run([peer, registry.resolve("cupy.softmax_fused")], [(256, 1024)], ["float32"], repeats=5)
    assert set(df.library) == {"torch_cuda", "cupy"} and (df.median_s > 0).all()
