"""The verdict matrix of a ``stability verify --json`` file as a Markdown table: one row per implementation and
kind of signature (its own format, or results in another: ``-> float32``), its worst stability ratio in each
input format, and whether every record met its declared expectation (docs/results.md is drawn with it).  Nothing
is measured: ``python3 -m reports.matrix build/matrix.json``."""

from __future__ import annotations

import json
import math
import sys

from stability.formats import ALL_FORMATS, FORMATS, split_signature

DTYPES = tuple(FORMATS)  # the columns, narrowest first (the FP8 formats too, where a record has one)


def _ratio(v) -> str:
    v = float(v)
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:.2g}"


def table(records) -> str:
    """Rows in the function table's order, implementations in the order they were verified."""
    from stability import functions

    by: dict = {}
    for r in records:
        head, rest = split_signature(r["dtype"])
        by.setdefault((r["function"], r["implementation"], rest), {})[head] = r
    inputs = {split_signature(r["dtype"])[0] for r in records}
    cols = tuple(d for d in ALL_FORMATS if d in DTYPES or d in inputs)
    order = {f: k for k, f in enumerate(functions.FUNCTIONS)}
    lines = ["| function | implementation | declared | " + " | ".join(cols) + " | as declared |",
             "|---|---|---|" + "---|" * len(cols) + "---|"]
    seen = {k[1]: n for n, k in reversed(list(enumerate(by)))}  # an implementation's rows stay together
    for (f, impl, rest), d in sorted(by.items(), key=lambda kv: (order.get(kv[0][0], len(order)), seen[kv[0][1]],
                                                                 kv[0][2] != "")):
        declared = "stable" if next(iter(d.values()))["expectation"] == "stable" else "unstable"
        cells = [f"{d[t]['verdict']} {_ratio(d[t]['max_ratio'])}" if t in d else "-" for t in cols]
        ok = all(r["meets_expectation"] for r in d.values())
        name = f"`{impl}`" + (f" &rarr; {rest}" if rest else "")
        lines.append(f"| {f} | {name} | {declared} | " + " | ".join(cells) + f" | {'yes' if ok else '**no**'} |")
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
