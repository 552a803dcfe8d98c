"""What the report reads: verify records and bench tables, saved earlier or produced now, checked on the way in;
and the facts of the machine it ran on.

A file that is missing or is not what it claims to be stops the build with a :class:`stability.errors.UsageError`
that says how to make a good one; nothing is written in that case.
"""

from __future__ import annotations

import json
from pathlib import Path

from stability.errors import UsageError

RECORD_KEYS = {"implementation", "function", "dtype", "verdict", "max_ulp", "max_ratio", "examples",
               "expectation", "meets_expectation", "failed_families"}
BENCH_KEYS = {"function", "implementation", "shape", "dtype", "elements", "alloc", "median_s", "frac_copy",
              "frac_exp", "elements_per_s", "copy_gbps", "exp_elements_per_s"}


def load_records(path) -> list[dict]:
    """Verify records written by ``stability verify --json PATH`` (or by an earlier report)."""
    path = Path(path)
    fix = f"re-create it with: python3 -m stability verify --function all --json {path}"
    if not path.is_file():
        raise UsageError(f"no records file at {path}: {fix}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not a readable JSON records file ({exc}): {fix}") from None
    if not isinstance(data, list) or not data:
        raise UsageError(f"{path} holds no verify records (expected a non-empty JSON list): {fix}")
    for i, rec in enumerate(data):
        missing = RECORD_KEYS - set(rec) if isinstance(rec, dict) else RECORD_KEYS
        if missing:
            raise UsageError(f"{path}: record {i} lacks {', '.join(sorted(missing))}; it is not a verify record: "
                             f"{fix}")
        try:
            rec["max_ulp"], rec["max_ratio"] = float(rec["max_ulp"]), float(rec["max_ratio"])
        except (TypeError, ValueError):
            raise UsageError(f"{path}: record {i} has a non-numeric max_ulp or max_ratio: {fix}") from None
    return data


def load_bench(path):
    """A bench table written by ``stability bench --out PATH`` (CSV or Parquet)."""
    from stability.bench import table

    path = Path(path)
    fix = f"re-create it with: python3 -m stability bench --out {path}"
    if not path.is_file():
        raise UsageError(f"no bench table at {path}: {fix} (or leave --bench out to time a small set now)")
    try:
        df = table.load(path)
    except Exception as exc:  # pandas raises many kinds for a bad file; all mean the same to the user
        raise UsageError(f"{path} is not a readable bench table ({type(exc).__name__}: {exc}): {fix}") from None
    missing = BENCH_KEYS - set(df.columns)
    if missing or df.empty:
        what = f"lacks the columns {', '.join(sorted(missing))}" if missing else "has no rows"
        raise UsageError(f"{path} {what}; it is not a bench table: {fix}")
    return df


from stability.machine import environment  # noqa: E402,F401  (the page's last section)
