"""The results store: every measuring command keeps what it measured as data, one folder per run.

    results/                               (``--results DIR``; ``STABILITY_RESULTS`` sets the default)
      20261202T141503Z-verify-softmax/     (UTC time, command, what it measured: names sort by time)
        run.json                           schema version, command, seed, environment (machine, versions, commit)
        checks.csv                         one row per implementation x function x dtype (verdict, ratio, ...)
        families.csv                       one row per implementation x function x dtype x input family
        records.json                       the verify records whole (counterexamples and reproducers)
        timings.csv                        one row per timed case (median, min and max of the repeats)
        curves.csv, curves.npz             accuracy curves (tidy), and the error distributions behind them
        special.csv                        one row per implementation x special-value case
        paper.csv, paper.npz               the BHH reproduction: summary, and the errors and bounds
        search.json, sweep.json            what those commands found

A run is written into a hidden folder beside its final place and renamed into it when complete, so a reader never
sees half a run.  Every run names its schema version; a store written by another version is refused with a
message that says what to do, never misread.  Tables are pandas DataFrames written as CSV.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

SCHEMA = 1
RUN_FILE = "run.json"


def default_root() -> Path:
    return Path(os.environ.get("STABILITY_RESULTS") or "results")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:60] or "run"


@dataclass
class Run:
    """One stored run: its folder, and its ``run.json`` (``meta``)."""

    path: Path
    meta: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    def has(self, name: str) -> bool:
        return (self.path / name).exists()

    def table(self, name: str):
        """``NAME.csv`` as a DataFrame (None when the run has no such table)."""
        import pandas as pd

        p = self.path / f"{name}.csv"
        return pd.read_csv(p, keep_default_na=False, na_values=[""]) if p.exists() else None

    def blob(self, name: str):
        """``NAME.json`` (None when absent)."""
        p = self.path / f"{name}.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def arrays(self, name: str) -> dict:
        import numpy as np

        p = self.path / f"{name}.npz"
        if not p.exists():
            return {}
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


def save(kind: str, label: str, *, root=None, command: str = "", seed=None, environment=None, tables=None,
         blobs=None, arrays=None) -> Run:
    """Write one run atomically; returns it.  ``tables``: name -> DataFrame; ``blobs``: name -> JSON-able;
    ``arrays``: name -> {key: ndarray}."""
    import numpy as np

    from . import __version__
    from .machine import environment as env_now

    root = Path(root) if root is not None else default_root()
    root.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{kind}-{_slug(label)}"
    meta = {"schema": SCHEMA, "suite": __version__, "kind": kind, "label": label, "created": now.isoformat(),
            "command": command, "seed": seed, "environment": environment or env_now(),
            "tables": sorted(tables or {}), "blobs": sorted(blobs or {})}
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for t, df in (tables or {}).items():
            df.to_csv(tmp / f"{t}.csv", index=False)
        for b, obj in (blobs or {}).items():
            (tmp / f"{b}.json").write_text(json.dumps(obj, allow_nan=True), encoding="utf-8")
        for a, data in (arrays or {}).items():
            np.savez_compressed(tmp / f"{a}.npz", **data)
        (tmp / RUN_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")  # last: marks it complete
        os.chmod(tmp, 0o755)
        os.replace(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Run(root / name, meta)


def _read(path: Path) -> Run:
    try:
        meta = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a stored run ({exc}): runs are folders that `stability history` "
                         "lists") from None
    schema = meta.get("schema") if isinstance(meta, dict) else None
    if schema != SCHEMA:
        raise UsageError(f"{path} was stored with results schema {schema!r}, and this suite reads schema "
                         f"{SCHEMA}: measure it again with this version (or read it with the version that wrote "
                         f"it, {meta.get('suite', 'unknown') if isinstance(meta, dict) else 'unknown'})")
    return Run(path, meta)


def runs(root=None) -> list[Run]:
    """Every complete run in the store, oldest first; runs of another schema are left out (:func:`load` says
    why when one is asked for by name)."""
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and not p.name.startswith(".") and (p / RUN_FILE).exists():
            try:
                out.append(_read(p))
            except UsageError:
                continue
    return out


def load(spec, root=None) -> Run:
    """A run by its path, its name in the store, or the end of its name (``verify-softmax`` picks the latest run
    whose name ends so); UsageError naming the runs there are otherwise."""
    root = Path(root) if root is not None else default_root()
    p = Path(spec)
    if p.is_dir() and (p / RUN_FILE).exists():
        return _read(p)
    if (root / str(spec) / RUN_FILE).exists():
        return _read(root / str(spec))
    matches = [r for r in runs(root) if r.name.endswith(str(spec)) or str(spec) in r.name]
    if matches:
        return matches[-1]
    have = ", ".join(r.name for r in runs(root)[-5:]) or "none"
    raise UsageError(f"no stored run {str(spec)!r} in {root}: give a run's folder or name (`stability history "
                     f"--results {root}` lists them; the latest: {have})")
