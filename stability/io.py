"""Writing result files atomically: a temporary file in the same folder, then a rename, so a reader never sees a
half-written file and an interrupted run leaves the previous file intact."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import UsageError


def check_output(path, option: str, *, folder: bool = False) -> Path:
    """Raise :class:`UsageError` now, before any work, when ``path`` (a file, or a folder with ``folder=True``) cannot
    be written: a folder on its way is a file, a file is where a folder should be, or the place is read-only.
    ``option`` names the command-line option for the message (``--json``)."""
    path = Path(path)
    if not folder and path.is_dir():
        example = path / ("out" + (path.suffix or ".json"))
        raise UsageError(f"{option} {path} is a folder: name a file in it, e.g. {example}")
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder: name a folder (it is made if missing)")
    anc = path if folder else path.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise UsageError(f"{option} {path}: the folder {path if folder else path.parent} cannot be made because "
                         f"{anc} is a file: choose another path")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {anc} is not writable: choose another path")
    return path


def check_table_path(path, option: str) -> Path:
    """:func:`check_output` for a table, which is CSV, or Parquet when the name ends in .parquet and pyarrow (or
    fastparquet) is installed."""
    import importlib.util

    path = check_output(path, option)
    if path.suffix.lower() == ".parquet" and not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        raise UsageError(f"{option} {path}: writing Parquet needs pyarrow (pip install pyarrow); or give a .csv path")
    return path


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` to fill a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, write)


def atomic_write_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=True) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
