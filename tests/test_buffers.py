"""The fast path's reused output blocks (``implementations._buffers``): a block is handed out again only once every
array on it is gone, so no result ever shares memory with another one that is alive."""

import gc

import numpy as np
import pytest

from implementations import _buffers, fast_cpu, fast_grad

BIG = (512, 1024)  # 2 MiB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def _empty_free_list():
    _buffers.clear()
    yield
    _buffers.clear()


def test_an_array_on_a_block_is_an_ordinary_writable_c_contiguous_array_on_a_cache_line():
    a = _buffers.empty(BIG, np.float32)
    assert type(a) is np.ndarray and a.shape == BIG and a.dtype == np.float32
    assert a.flags.writeable and a.flags.c_contiguous and a.ctypes.data % _buffers.ALIGN == 0
    a[...] = 3.0
    assert float(a.sum()) == 3.0 * a.size


def test_a_block_comes_back_only_when_its_last_view_is_gone():
    a = _buffers.empty(BIG, np.float32)
    where = a.ctypes.data
    row = a[7]  # a view keeps the block
    del a
    gc.collect()
    b = _buffers.empty(BIG, np.float32)
    assert b.ctypes.data != where and not np.shares_memory(b, row)
    del row
    gc.collect()
    c = _buffers.empty(BIG, np.float32)
    assert c.ctypes.data == where  # now reused
    assert _buffers.stats()["reused"] == 1


def test_only_a_block_of_the_same_size_is_reused_and_small_arrays_are_numpys():
    a = _buffers.empty(BIG, np.float32)
    where = a.ctypes.data
    del a
    b = _buffers.empty((BIG[0] + 1, BIG[1]), np.float32)
    assert b.ctypes.data != where
    small = _buffers.empty((16, 16), np.float32)
    assert small.flags.owndata  # NumPy's own
    assert _buffers.stats()["reused"] == 0


def test_at_most_max_blocks_are_kept():
    arrays = [_buffers.empty((BIG[0] + k, BIG[1]), np.float32) for k in range(_buffers.MAX_BLOCKS + 3)]
    del arrays
    gc.collect()
    assert _buffers.stats()["kept_blocks"] == _buffers.MAX_BLOCKS


@pytest.mark.parametrize("fn", [fast_cpu.softmax, fast_cpu.log_softmax])
def test_a_result_kept_alive_is_never_overwritten_by_the_next_call(fn):
    rng = np.random.default_rng(0)
    x1, x2 = (rng.normal(0, 4, BIG).astype(np.float32) for _ in range(2))
    first = fn(x1)
    kept = first.copy()
    for _ in range(3):  # blocks freed and reused around the live result
        fn(x2)
    second = fn(x2)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(second, fn(x2))


def test_a_gradient_kept_alive_is_never_overwritten_by_the_next_call():
    rng = np.random.default_rng(1)
    x, g = rng.normal(0, 4, BIG).astype(np.float32), rng.normal(0, 1, BIG).astype(np.float32)
    first = fast_grad.softmax_vjp(x, g, axis=-1)
    kept = first.copy()
    for _ in range(3):
        fast_grad.softmax_vjp(x[::-1].copy(), g, axis=-1)
    np.testing.assert_array_equal(first, kept)


def test_an_output_starts_half_a_page_from_its_input_within_the_page():
    # 4K aliasing: an output 16-64 bytes past its input's page offset made the softmax kernel 1.25x slower
    x = np.ones(BIG, np.float32)
    o = _buffers.empty_like(x)
    assert (o.ctypes.data - x.ctypes.data) % _buffers.PAGE == (_buffers.APART - x.ctypes.data % _buffers.ALIGN)
    assert o.ctypes.data % _buffers.ALIGN == 0 and o.shape == x.shape and o.dtype == x.dtype
