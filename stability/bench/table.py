"""The bench table: tidy (one row per implementation x function x shape x dtype), saved atomically as CSV or
Parquet (when pyarrow is installed and the path ends in .parquet), read back by the report."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write

COLUMNS = ["function", "implementation", "library", "device", "shape", "dtype", "elements", "alloc", "threads",
           "median_s", "min_s", "max_s", "repeats", "gbps", "frac_copy", "elements_per_s", "frac_exp", "bound",
           "copy_gbps", "exp_elements_per_s", "exp_threads_elements_per_s"]
# frac_exp: the exp roof's time on the row's own thread count over the row's time (exp_threads_elements_per_s is
# that roof's rate; exp_elements_per_s the one-thread roof's, which the report draws)


def save(df, path) -> Path:
    """Write the table atomically: Parquet for a .parquet path, CSV otherwise."""
    parquet = Path(path).suffix == ".parquet"
    return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False) if parquet else df.to_csv(tmp, index=False))


def load(path):
    import pandas as pd

    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)



def against(df, library: str = "torch"):
    """``df`` with a column ``x_<library>``: each row's median time over that of ``<library>.<function>`` (the
    library's own version of the same function: ``torch.softmax_vjp`` for ``softmax_vjp``) at the same shape,
    dtype and thread count, allocating.  Above 1 is slower.  NaN where the library was not timed."""
    base = df[df.implementation.str.startswith(f"{library}.") & (df.alloc == "allocating")].copy()
    base = base[base.implementation.str.split("[").str[0] == library + "." + base.function]
    keys = ["function", "shape", "dtype", "threads"]
    ref = base.groupby(keys, as_index=False)["median_s"].min().rename(columns={"median_s": "_base"})
    out = df.merge(ref, on=keys, how="left")
    out[f"x_{library}"] = out["median_s"] / out.pop("_base")
    return out
