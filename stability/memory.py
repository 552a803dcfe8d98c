"""glibc's allocator set for array work: freed memory is kept for the next array, not given back to the system.

NumPy allocates each temporary array with ``malloc``.  By default glibc serves a block above its mmap threshold
(128 KiB, rising with use up to 32 MiB) with a fresh ``mmap`` and unmaps it on ``free``, and gives the top of the
heap back to the system once more than twice the threshold is free there.  The suite's work is passes over
arrays of a few MiB, allocated and freed by the thousand: each fresh block is faulted in page by page, and an
exhaustive float32 sweep spent as much time in the kernel doing that as in its own arithmetic (1.45 s of system
time beside 2.35 s of user time for 2^23 inputs).  :func:`keep_freed_memory` raises both thresholds so the blocks
are reused; the process's peak memory is unchanged, only kept until it exits.

It changes the allocator of the whole process, so it is called where the process is the suite's own: the CLI,
its worker processes, a sweep's chunks.  Elsewhere (not glibc, or ``mallopt`` refused) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks up to 32 MiB come from the heap and are reused
TRIM_THRESHOLD = 1 << 30  # free memory at the heap's top is kept up to 1 GiB
TOP_PAD = 64 << 20  # the heap grows 64 MiB at a time

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's thresholds once in this process; True where they are set (and were before)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = all(mallopt(p, v) == 1 for p, v in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                                                 (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD)))
    return _done
