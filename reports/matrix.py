"""The verdict matrix of a ``stability verify --json`` file as a Markdown table: one row per implementation, its
worst stability ratio in each dtype, and whether every record met its declared expectation (docs/results.md is
drawn with it).  Nothing is measured: ``python3 -m reports.matrix build/matrix.json``."""

from __future__ import annotations

import json
import math
import sys

from stability.formats import FORMATS

DTYPES = tuple(FORMATS)  # the columns, narrowest first


def _ratio(v) -> str:
    v = float(v)
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:.2g}"


def table(records) -> str:
    """Rows in the function table's order, implementations in the order they were verified."""
    from stability import functions

    by: dict = {}
    for r in records:
        by.setdefault((r["function"], r["implementation"]), {})[r["dtype"]] = r
    order = {f: k for k, f in enumerate(functions.FUNCTIONS)}
    lines = ["| function | implementation | declared | " + " | ".join(DTYPES) + " | as declared |",
             "|---|---|---|" + "---|" * len(DTYPES) + "---|"]
    for (f, impl), d in sorted(by.items(), key=lambda kv: order.get(kv[0][0], len(order))):
        declared = "stable" if next(iter(d.values()))["expectation"] == "stable" else "unstable"
        cells = [f"{d[t]['verdict']} {_ratio(d[t]['max_ratio'])}" if t in d else "-" for t in DTYPES]
        ok = all(r["meets_expectation"] for r in d.values())
        lines.append(f"| {f} | `{impl}` | {declared} | " + " | ".join(cells) + f" | {'yes' if ok else '**no**'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python3 -m reports.matrix RECORDS.json (from stability verify --json)", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as fh:
            records = json.load(fh)
        print(table(records))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"reports.matrix: {argv[0]} is not a verify records file ({exc}); make one with "
              "`python3 -m stability verify --function all --json PATH`", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
