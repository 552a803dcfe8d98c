"""The bench table: tidy (one row per implementation x function x shape x dtype), saved atomically as CSV or
Parquet (when pyarrow is installed and the path ends in .parquet), read back by the report."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write

COLUMNS = ["function", "implementation", "library", "device", "shape", "dtype", "elements", "alloc", "threads",
           "median_s", "min_s", "max_s", "repeats", "gbps", "frac_copy", "elements_per_s", "frac_exp", "bound",
           "copy_gbps", "exp_elements_per_s"]


def save(df, path) -> Path:
    """Write the table atomically: Parquet for a .parquet path, CSV otherwise."""
    parquet = Path(path).suffix == ".parquet"
    return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False) if parquet else df.to_csv(tmp, index=False))


def load(path):
    import pandas as pd

    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

