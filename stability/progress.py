"""Progress for long commands: a tqdm bar on a terminal; one line per finished step elsewhere (CI logs, pipes),
so a five-minute report is never silent and a log shows where a run stopped.

    with progress(total=len(plan), unit="check") as bar:
        bar.set_description("softmax.naive float32")
        ...
        bar.update(1)
"""

from __future__ import annotations

import sys
import time


def progress(total: int, *, unit: str, desc: str = "", leave: bool = False):
    """A bar (``update``, ``reset``, ``set_description``, a context manager) on stderr: tqdm when stderr is a
    terminal, :class:`Lines` otherwise."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, unit=unit, desc=desc or None, leave=leave, file=sys.stderr)
    return Lines(total, unit=unit, desc=desc)


class Lines:
    """tqdm's interface, printing ``[k/N unit] desc (elapsed)`` to stderr after each finished step."""

    def __init__(self, total: int, *, unit: str, desc: str = "", stream=None):
        self.total, self.unit, self.desc, self.n = total, unit, desc, 0
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.perf_counter()

    def update(self, k: int = 1) -> None:
        self.n += k
        what = f" {self.desc}" if self.desc else ""
        print(f"[{self.n}/{self.total} {self.unit}]{what} ({time.perf_counter() - self.t0:.1f} s)",
              file=self.stream, flush=True)

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = desc

    def reset(self, total: int | None = None) -> None:
        self.n = 0
        if total is not None:
            self.total = total

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
