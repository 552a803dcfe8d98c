"""JAX's persistent compilation cache, for the suite's own processes.

A JAX peer is judged jitted, as users run it, so every new shape a check draws is a new XLA program: about 100 ms
of lowering and compiling on this project's machine for a softmax VJP, and 59% of a default report's check time
(729 of 1,228 CPU seconds at 199a47c, ``stability report``'s own summary).  The same seed draws the same shapes in
every run, so a run after the first finds its programs already compiled in JAX's persistent cache: a JAX check
took about 40% of its time with a warm cache, and no longer with a cold one; a default report 8:22 against 13:06
(``docs/guide/install.md``, "Where a report's time goes").  A cached program is the executable XLA compiled for
the same program, options and versions of JAX and XLA, so nothing judged changes.

:func:`enable` sets JAX's own environment variables, in the CLI's process before JAX is imported (its workers
inherit them): the cache in ``build/.jax-cache`` under the working directory, every program kept (JAX keeps only
those that took a second to compile by default).  The cache is not bounded: a run on the same seed compiles the
same shapes, so it adds nothing; delete the folder to reclaim its space.  (JAX's bound, its
``jax_compilation_cache_max_size``, lists and stats every entry at each write, under a file lock: quadratic in
the thousands of small programs a report compiles.)  Two processes may write one entry at once; JAX reads an
entry it cannot decompress as a miss, with a warning, and compiles again, as it does where the folder cannot be
made (a ``verify`` of jax.softmax with the cache in ``/proc`` wrote the records it writes with no cache).  A
variable the user set wins; ``SOFTMAX_STABILITY_JIT_CACHE=0`` leaves the cache off.  Code that imports the suite
as a library (its pytest plugin, ``stability.testing``) is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

#: where the cache lives, under the working directory (generated output goes to ``build/``)
FOLDER = Path("build") / ".jax-cache"
#: set to 0 to leave the cache off
ENV = "SOFTMAX_STABILITY_JIT_CACHE"


def enable(folder: Path | str | None = None) -> str | None:
    """Turn JAX's persistent compilation cache on for this process and the processes it starts; returns the
    cache's folder, or None where it stays off (``SOFTMAX_STABILITY_JIT_CACHE=0``, or the user's own
    ``JAX_COMPILATION_CACHE_DIR``, which JAX then uses as the user set it)."""
    if os.environ.get(ENV, "1") == "0" or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return None
    where = str(Path(folder or FOLDER).resolve())
    os.environ["JAX_COMPILATION_CACHE_DIR"] = where
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    return where
