"""The bench table: tidy (one row per implementation x function x shape x dtype), saved atomically as CSV or
Parquet (when pyarrow is installed and the path ends in .parquet), read back by the report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

COLUMNS = ["function", "implementation", "library", "device", "shape", "dtype", "elements", "alloc", "threads",
           "median_s", "min_s", "max_s", "repeats", "gbps", "frac_copy", "elements_per_s", "frac_exp", "bound",
           "copy_gbps", "exp_elements_per_s"]


def save(df, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path):
    import pandas as pd

    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
