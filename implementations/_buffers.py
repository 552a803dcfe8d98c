"""Output buffers reused from call to call: the fast path's caching allocator.

A large array NumPy allocates afresh (``np.empty``) is memory the C library maps from the kernel for that call
(glibc maps every block above 32 MiB, 4096x4096 float32 is 64 MiB) and the kernel hands it back zeroed, a page at
a time, at the first write: 7.1 ms of page faults and zeroing for 64 MiB against 2.9 ms writing into memory already
mapped (``docs/guide/speed.md``).  A caller who lets each result go before the next call (a training step, a
benchmark) pays that on every call; PyTorch's caching allocators exist for the same reason.

:func:`empty` hands out an array on a block kept here when one of the same size is free, and takes the block back
when the last array on it (the result, any view of it) is gone: the block is owned by a small buffer object
(:func:`_lease`) that is the base of every array on it, and whose finaliser returns the memory to the free list.
At most :data:`MAX_BLOCKS` blocks and :data:`MAX_BYTES` bytes are kept; blocks below :data:`MIN_BYTES` are left to
the C library, which reuses those itself.  Nothing else changes: the arrays are ordinary writable C-contiguous
ndarrays, every element written by the caller before it is returned (a reused block holds the previous result).
"""

from __future__ import annotations

import ctypes
import math
import threading
from functools import lru_cache

import numpy as np

#: blocks smaller than this go to NumPy's allocator (the C library keeps and reuses those)
MIN_BYTES = 1 << 20
#: at most this many free blocks kept, and at most this many bytes in them (the oldest freed first dropped)
MAX_BLOCKS = 4
#: the arrays start on a cache line (NumPy's large blocks start 16 bytes into a page: every 64-byte store of the
#: AVX-512 kernels then spans two lines) ...
ALIGN = 64
#: ... and, for :func:`empty_like`, half a page from where the input starts within its page.  A store and a later
#: load whose addresses agree in their low 12 bits look alike to the CPU's store buffer (4K aliasing), so an output
#: 16 to 64 bytes past its input's page offset stalls the loads that follow each store: the softmax kernel at
#: 4096x4096 float32 took 13.6 ms writing 64 bytes past, 10.9 at the same offset, 9.9 half a page away
#: (``docs/guide/speed.md``)
APART = 2048
PAGE = 4096
MAX_BYTES = 1 << 30

_FREE: list = []  # free blocks (uint8 ndarrays), the most recently freed last
_LOCK = threading.RLock()  # reentrant: a collection inside the lock may free a lease
_STATS = {"reused": 0, "fresh": 0}


def _give_back(raw) -> None:
    with _LOCK:
        _FREE.append(raw)
        while len(_FREE) > MAX_BLOCKS or sum(b.nbytes for b in _FREE) > MAX_BYTES:
            _FREE.pop(0)


@lru_cache(maxsize=64)
def _lease(nbytes: int):
    """The buffer type of one block of ``nbytes``: a ctypes char array over the block, which keeps the block alive
    (``_raw``) and returns it to the free list when it dies.  NumPy keeps a non-ndarray base as it is, so every
    view of an array on the block keeps the lease, and the block is reused only once all of them are gone."""

    def __del__(self):
        try:
            _give_back(self._raw)
        except Exception:  # at interpreter shutdown the module's globals may be gone: nothing to keep then
            pass

    return type(f"_Lease{nbytes}", (ctypes.c_char * nbytes,), {"__del__": __del__})


def _block(nbytes: int):
    with _LOCK:
        for i in range(len(_FREE) - 1, -1, -1):
            if _FREE[i].nbytes == nbytes + PAGE:
                _STATS["reused"] += 1
                return _FREE.pop(i)
    _STATS["fresh"] += 1
    return np.empty(nbytes + PAGE, dtype=np.uint8)


def empty(shape, dtype, *, apart_from=None) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``, as ``np.empty``; on a reused block when it
    is :data:`MIN_BYTES` or more and a free block of its size is kept, starting on a cache line, and
    :data:`APART` bytes from where the array ``apart_from`` starts within its page when one is given."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    raw = _block(nbytes)
    want = 0 if apart_from is None else (apart_from.ctypes.data + APART) % PAGE // ALIGN * ALIGN
    lease = _lease(nbytes).from_address(raw.ctypes.data + (want - raw.ctypes.data) % PAGE)
    lease._raw = raw
    return np.frombuffer(lease, dtype=dtype).reshape(shape)


def empty_like(x) -> np.ndarray:
    """:func:`empty` of ``x``'s shape and dtype, :data:`APART` from ``x`` in the page (an output ``x`` is read
    alongside)."""
    return empty(x.shape, x.dtype, apart_from=x)


def stats() -> dict:
    """How many blocks were handed out reused and fresh, and how many bytes are kept free now."""
    with _LOCK:
        return dict(_STATS, kept_blocks=len(_FREE), kept_bytes=sum(b.nbytes for b in _FREE))


def clear() -> None:
    """Drop every kept block, and start the counts again."""
    with _LOCK:
        _FREE.clear()
        _STATS.update(reused=0, fresh=0)
