"""Records kept as each check ends, so that a run killed midway and started again resumes where it stopped.

A command that writes its results to a path (``verify --json PATH``, ``report --out PAGE``, ``search --json
PATH``) keeps one small JSON file per finished check in a folder beside that path (``.NAME.checks``).  Run again
with the same path, it reuses every check whose key matches -- the same kind of check, implementation, function,
dtype and options, and the same source file of the implementation (an edited file is checked again) -- and says
how many it reused.  The folder is removed once the final result is written, so a completed run starts afresh.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import sys
from pathlib import Path

from . import __version__
from .io import atomic_write_text


def source_digest(impl) -> str:
    """A digest of the file that defines ``impl`` (the file or module its SPEC names, else its function's file)."""
    spec = impl.name
    path = None
    if ":" in spec:
        where = spec.rsplit(":", 1)[0]
        if where.endswith(".py") or "/" in where:
            path = where
        else:
            import importlib.util

            try:
                found = importlib.util.find_spec(where)
                path = found.origin if found else None
            except (ImportError, ValueError):
                path = None
    if path is None:
        try:
            path = inspect.getsourcefile(impl.fn)
        except TypeError:  # a callable object (a peer's Lazy): the module that made it, which holds its declaration
            module = sys.modules.get(getattr(impl.fn, "__module__", None) or "")
            path = getattr(module, "__file__", None)
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest() if path else "-"
    except OSError:
        return "-"


class Journal:
    """The finished checks of one output path (see the module docstring)."""

    def __init__(self, output):
        output = Path(output)
        self.folder = output.parent / f".{output.name}.checks"
        self.reused = 0

    def key(self, kind: str, impl, dtype: str, options: dict) -> str:
        text = json.dumps([__version__, kind, impl.name, impl.function, dtype, options, source_digest(impl)],
                          sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:20]

    def get(self, key: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict) -> None:
        atomic_write_text(self.folder / f"{key}.json", json.dumps(record, allow_nan=True))

    def count(self) -> int:
        return len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
