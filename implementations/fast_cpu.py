"""The fast CPU path: softmax, log_softmax and logsumexp, cache-blocked NumPy on worker threads.

What makes it fast without a compiler:

* **one exp per element** and no temporary the size of the input: rows are processed in blocks of about
  :data:`BLOCK_BYTES`, so the shifted values, their exponentials and the sums stay in the core's L2 cache;
  every ufunc writes in place (``out=``) into the output or a per-thread scratch block;
* **threads**: NumPy releases the GIL inside ufuncs, so blocks run in parallel on a thread pool
  (:data:`THREADS` workers, ``SOFTMAX_STABILITY_THREADS`` to override); small inputs stay on the caller's thread;
* **long rows** (more than :data:`SEGMENT` elements) are cut into segments: a parallel max, then a parallel
  exp-and-partial-sum that writes the exponentials to the output, then a parallel scale.

Numerics are those of the careful algorithms: max-shifted division for softmax, Blanchard-Higham-Higham's
log1p form (max term kept out of the sum) for log_softmax and logsumexp, so ``verify`` passes them like their
plain counterparts.  Each function takes ``out=`` for a preallocated result.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from stability.registry import register

from . import _buffers, _native
from ._shared import accumulator, row_sum

BLOCK_BYTES = 1 << 20  # measured: 2**16 78 ms, 2**18 33 ms, 2**20 27 ms on (4096, 4096) float32
SEGMENT = 1 << 16
PARALLEL_MIN = 1 << 17
THREADS = int(os.environ.get("SOFTMAX_STABILITY_THREADS", os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The worker threads: exactly :data:`THREADS` of them (made again when it has changed)."""
    global _POOL
    if _POOL is None or _POOL._max_workers != THREADS:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="stability-fast")
    return _POOL


@contextlib.contextmanager
def threads(k: int):
    """Run the fast path on at most ``k`` threads inside the block (the bench times it at 1 and at all)."""
    global THREADS
    before, THREADS = THREADS, max(1, int(k))
    try:
        yield
    finally:
        THREADS = before


def _run(fn, ranges, total):
    """``[fn(a, b) for a, b in ranges]``, on up to :data:`THREADS` threads when the work is large enough.

    As the compiled kernels' shared call (:func:`_shared`): the caller works through the ranges itself, the pool's
    workers join when they wake, each range handed out once, and the caller waits only for the workers that
    joined -- yielding, not sleeping, so that its own vCPU stays awake -- never for one that has not started (it
    finds the call closed when it does).  The results keep the ranges' order, so a sum over them rounds alike on
    any number of threads; an exception in any range is raised here."""
    k = min(THREADS, len(ranges))
    if k < 2 or total < PARALLEL_MIN:
        return [fn(a, b) for a, b in ranges]
    errstate = np.geterr()  # NumPy's error state is per thread: the workers take the caller's
    results, errors = [None] * len(ranges), []
    todo = iter(range(len(ranges)))  # next() holds the GIL: each range is handed out once
    lock = threading.Lock()
    inside, closed = [0], [False]

    def work():
        with lock:
            if closed[0]:
                return
            inside[0] += 1
        try:
            with np.errstate(**errstate):
                for i in todo:
                    results[i] = fn(*ranges[i])
        except BaseException as exc:  # noqa: BLE001  (raised again by the caller)
            errors.append(exc)
        finally:
            with lock:
                inside[0] -= 1

    for _ in range(k - 1):
        _pool().submit(work)
    work()
    with lock:
        closed[0] = True
    while True:
        with lock:
            if not inside[0]:
                break
        time.sleep(0)
    if errors:
        raise errors[0]
    return results


def _row_ranges(R, n, itemsize):
    rb = max(1, BLOCK_BYTES // max(n * itemsize, 1))
    return [(r, min(r + rb, R)) for r in range(0, R, rb)]


def _as_rows(x, axis):
    """(R, n) rows view (a copy only when the axis is not the last contiguous one) and the moved shape."""
    xm = np.moveaxis(np.asarray(x), axis, -1)
    return np.ascontiguousarray(xm).reshape(math.prod(xm.shape[:-1]), xm.shape[-1]), xm.shape


def _segments(n):
    return [(a, min(a + SEGMENT, n)) for a in range(0, n, SEGMENT)]


def _long_row_max(row):
    """``(max, first index of the max)`` of a long row, segments in parallel (one pass)."""

    def seg(a, b):
        k = int(np.argmax(row[a:b]))
        return row[a + k], a + k

    best = _run(seg, _segments(row.size), row.size)
    m = max(v for v, _ in best)
    if np.isnan(m) or any(np.isnan(v) for v, _ in best):
        return np.nan, next(k for v, k in best if np.isnan(v))
    return m, next(k for v, k in best if v == m)


def _softmax_rows(X, O):
    R, n = X.shape
    if n > SEGMENT:
        for r in range(R):
            x, o = X[r], O[r]
            m, _ = _long_row_max(x)
            segs = _segments(n)

            def exp_sum(a, b):
                np.subtract(x[a:b], m, out=o[a:b])
                np.exp(o[a:b], out=o[a:b])
                return o[a:b].sum(dtype=accumulator(o.dtype))

            s = accumulator(o.dtype).type(sum(_run(exp_sum, segs, n)))  # float32 for 2-byte rows: never inf
            _run(lambda a, b: np.divide(o[a:b], s, out=o[a:b]), segs, n)
        return

    def block(a, b):
        xb, ob = X[a:b], O[a:b]
        m = xb.max(axis=1, keepdims=True, initial=-np.inf)
        np.subtract(xb, m, out=ob)
        np.exp(ob, out=ob)
        np.divide(ob, row_sum(ob, 1), out=ob)

    _run(block, _row_ranges(R, n, X.itemsize), R * n)


def _log1p_long_rows(X, O, want_lse):
    R, n = X.shape
    segs = _segments(n)
    for r in range(R):
        x = X[r]
        m, k = _long_row_max(x)

        def exp_sum(a, b):
            d = np.subtract(x[a:b], m)  # a segment-sized scratch
            if not want_lse:
                O[r, a:b] = d
            np.exp(d, out=d)
            if a <= k < b:
                d[k - a] = 0  # the max term, exactly 1, is kept out of the sum
            return float(d.sum(dtype=accumulator(d.dtype)))

        t = sum(_run(exp_sum, segs, n))
        lp = np.log1p(t)
        if want_lse:
            O[r] = m if np.isinf(m) else m + lp
        else:
            o = O[r]
            _run(lambda a, b: np.subtract(o[a:b], o.dtype.type(lp), out=o[a:b]), segs, n)
            if np.isnan(m) or m == np.inf:
                o[:] = np.nan


def _log1p_rows(X, O, want_lse):
    """log_softmax (``O`` of X's shape) or logsumexp (``O`` of shape (R,)) in the log1p form."""
    R, n = X.shape
    if n > SEGMENT:
        return _log1p_long_rows(X, O, want_lse)

    def block(a, b):
        xb = X[a:b]
        m = xb.max(axis=1, keepdims=True, initial=-np.inf)
        scratch = np.empty_like(xb)
        d = scratch if want_lse else O[a:b]  # log_softmax keeps x - m in its output
        np.subtract(xb, m, out=d)
        np.exp(d, out=scratch)
        if n:
            scratch[np.arange(b - a), xb.argmax(axis=1)] = 0  # the max term, exactly 1, is kept out of the sum
        t = row_sum(scratch, 1)
        lp = np.log1p(t)
        if want_lse:
            O[a:b] = np.where(np.isinf(m), m, m + lp)[:, 0]
        else:
            np.subtract(d, lp, out=d)
            d[np.isnan(m[:, 0]) | (m[:, 0] == np.inf)] = np.nan  # a NaN or +inf row: all NaN (the policy's row)

    _run(block, _row_ranges(R, n, X.itemsize), R * n)


def _finish(O, moved_shape, axis, out):
    res = np.moveaxis(O.reshape(moved_shape), -1, axis)
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


SMALL = 1 << 13  # below this many elements the blocking machinery costs more than it saves


def _compiled(X) -> bool:
    """Whether the compiled kernels take these rows."""
    return _native.LIB is not None and X.dtype == np.float32 and X.shape[1] <= _native.MAX_ROW


def settle() -> None:
    """Wait until the pool's workers are awake and have taken every job handed to them so far (a worker that woke
    after its call ended finds it closed and returns at once): the bench calls this between cases, outside the
    timed calls, so that a late worker's wake-up never lands in the next case's time."""
    if _POOL is not None:
        for f in [_POOL.submit(lambda: None) for _ in range(_POOL._max_workers)]:
            f.result()


#: rows a thread takes at a time in a shared kernel call: about this many bytes of input
CHUNK_BYTES = 1 << 18


def _shared(name, X, O, G=None, flags=None):
    """Kernel ``name`` (a forward one, or a VJP with cotangents ``G`` and row ``flags``) over the rows of ``X`` into
    ``O``, on up to :data:`THREADS` threads: the caller runs the kernel itself, the pool's workers join it when they
    wake, the rows handed out in chunks of about :data:`CHUNK_BYTES` inside the compiled code
    (``_native.shared``), and the caller waits only for the workers that joined.  Waiting for a worker to start
    cost more than its share here: this VM wakes an idle vCPU in milliseconds, and two threads were no faster than
    one at (65536, 128), 1000x1000 (``docs/guide/speed.md``)."""
    R, n = X.shape
    k = max(1, min(THREADS, R)) if X.size >= PARALLEL_MIN else 1
    chunk = R if k == 1 else max(1, CHUNK_BYTES // max(n * X.itemsize, 1))
    call = _native.shared(name, X, O, G, flags, chunk)
    for _ in range(k - 1):
        _pool().submit(call)  # holds the arrays until it has run, however late
    call()
    _native.close(call)


@register("softmax", "softmax.fast", "cache-blocked, threaded max-shifted softmax, one exp per element")
def softmax(x, axis=-1, out=None):
    if x.size <= SMALL and not (_native.LIB is not None and x.dtype == np.float32):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf), out=out)
        return np.divide(e, row_sum(e, axis), out=e)
    X, moved = _as_rows(x, axis)
    use_out = out is not None and axis in (-1, x.ndim - 1) and out.flags.c_contiguous
    O = out.reshape(X.shape) if use_out else _buffers.empty_like(X)
    if _compiled(X):
        _shared("softmax", X, O)
    else:
        _softmax_rows(X, O)
    return out if use_out else _finish(O, moved, axis, out)


@register("log_softmax", "log_softmax.fast", "cache-blocked, threaded log1p-form log_softmax, one exp per element")
def log_softmax(x, axis=-1, out=None):
    X, moved = _as_rows(x, axis)
    use_out = out is not None and axis in (-1, x.ndim - 1) and out.flags.c_contiguous
    O = out.reshape(X.shape) if use_out else _buffers.empty_like(X)
    if _compiled(X):
        _shared("log_softmax", X, O)
    elif X.size:
        _log1p_rows(X, O, want_lse=False)
    return out if use_out else _finish(O, moved, axis, out)


@register("logsumexp", "logsumexp.fast", "cache-blocked, threaded log1p-form logsumexp, one exp per element")
def logsumexp(x, axis=-1, out=None):
    X, moved = _as_rows(x, axis)
    use_out = out is not None and out.flags.c_contiguous  # else out.reshape would write into a copy
    O = out.reshape(-1) if use_out else np.empty(X.shape[0], dtype=X.dtype)
    if _compiled(X):
        _shared("logsumexp", X, O)
    elif X.shape[1] == 0:  # the empty sum: log 0
        O[...] = -np.inf
    else:
        _log1p_rows(X, O, want_lse=True)
    res = O.reshape(moved[:-1])
    if out is None:
        return res
    if not use_out:
        out[...] = res
    return out
