"""What the measuring commands produce, as tidy tables for the results store (``stability.store``), and back.

One row per implementation x function x dtype for checks (``checks``), per input family too (``families``), per
timed case (``timings``: the bench table), per special-value case (``special``), per point of an accuracy curve
(``curves``; the error distributions behind each curve as arrays), per algorithm of the BHH reproduction
(``paper``).  Reading back gives the objects the report draws, so a page is rebuilt without measuring anything.
"""

from __future__ import annotations

import math

import numpy as np


def _num(v) -> float:
    return float(v)  # records carry inf and nan as the strings "inf" and "nan"


def _text(df, cols):
    """``df`` with ``cols`` as strings ("" where a CSV cell was empty: pandas reads an all-empty column as NaN)."""
    df = df.copy()
    for c in cols:
        df[c] = ["" if (isinstance(v, float) and v != v) else str(v) for v in df[c]]
    return df


def checks(records) -> "pd.DataFrame":  # noqa: F821
    import pandas as pd

    rows = [{"implementation": r["implementation"], "function": r["function"], "dtype": r["dtype"],
             "library": r.get("library", ""), "origin": r.get("origin", ""), "verdict": r["verdict"],
             "meets_expectation": bool(r["meets_expectation"]), "expectation": r["expectation"],
             "max_ulp": _num(r["max_ulp"]), "max_ratio": _num(r["max_ratio"]), "examples": int(r["examples"]),
             "failed_families": " ".join(r["failed_families"]), "seed": r.get("seed", 0),
             "lost": bool(r.get("lost", False)), "drift": r.get("drift", ""), "version": r.get("version", ""),
             "seconds": float(r.get("seconds") or 0.0), "cpu_seconds": float(r.get("cpu_seconds") or 0.0)}
            for r in records]
    return pd.DataFrame(rows)


def families(records) -> "pd.DataFrame":  # noqa: F821
    import pandas as pd

    rows = []
    for r in records:
        for fam, res in (r.get("families") or {}).items():
            rows.append({"implementation": r["implementation"], "function": r["function"], "dtype": r["dtype"],
                         "family": fam, "failed": bool(res.get("failed")), "max_ulp": _num(res.get("max_ulp", 0)),
                         "max_ratio": _num(res.get("max_ratio", 0)), "examples": int(res.get("examples", 0)),
                         "kinds": " ".join(res.get("kinds") or [])})
    return pd.DataFrame(rows, columns=["implementation", "function", "dtype", "family", "failed", "max_ulp",
                                       "max_ratio", "examples", "kinds"])


def special(cells_by_impl: dict, functions_by_impl: dict) -> "pd.DataFrame":  # noqa: F821
    import pandas as pd

    rows = [{"implementation": name, "function": functions_by_impl[name], "case": c.case, "input": c.input,
             "expected": c.expected, "got": c.got, "ok": bool(c.ok), "reason": c.reason, "answer": c.answer}
            for name, cells in cells_by_impl.items() for c in cells]
    return pd.DataFrame(rows, columns=["implementation", "function", "case", "input", "expected", "got", "ok",
                                       "reason", "answer"])


def special_cells(df) -> dict:
    """implementation -> list of :class:`stability.special.Cell`, from :func:`special`'s table."""
    from .results import Cell

    out: dict = {}
    for r in _text(df, ["input", "expected", "got", "reason", "answer"]).to_dict("records"):
        out.setdefault(r["implementation"], []).append(
            Cell(r["case"], str(r["input"]), str(r["expected"]), str(r["got"]), bool(r["ok"]), str(r["reason"]),
                 str(r["answer"])))
    return out


def curves(curves_by_key: dict):
    """``(DataFrame, arrays)``: one row per (function, dtype, implementation, point); the ``bits`` distributions,
    the x grid and the bound as arrays keyed ``function|dtype|...``."""
    import pandas as pd

    rows, arrays = [], {}
    for (f, d), c in curves_by_key.items():
        key = f"{f}|{d}"
        arrays[f"{key}|x"] = np.asarray(c.x, dtype=np.float64)
        if c.bound is not None:
            arrays[f"{key}|bound"] = np.asarray(c.bound, dtype=np.float64)
        rows.append({"function": f, "dtype": d, "implementation": "", "point": -1, "x": math.nan,
                     "max_ulp": math.nan, "median_ulp": math.nan, "xlabel": c.xlabel, "bound_label": c.bound_label,
                     "failed_call": ""})
        names = list(dict.fromkeys(list(c.max_ulp) + list(c.failed_calls)))
        for name in names:
            mx, md = c.max_ulp.get(name, []), c.median_ulp.get(name, [])
            for k in range(len(mx)):
                rows.append({"function": f, "dtype": d, "implementation": name, "point": k, "x": float(c.x[k]),
                             "max_ulp": float(mx[k]), "median_ulp": float(md[k]), "xlabel": "", "bound_label": "",
                             "failed_call": c.failed_calls.get(name, "")})
            if not len(mx):
                rows.append({"function": f, "dtype": d, "implementation": name, "point": -1, "x": math.nan,
                             "max_ulp": math.nan, "median_ulp": math.nan, "xlabel": "", "bound_label": "",
                             "failed_call": c.failed_calls.get(name, "")})
            if name in c.bits:
                arrays[f"{key}|bits|{name}"] = np.asarray(c.bits[name], dtype=np.float64)
    return pd.DataFrame(rows), arrays


def curves_back(df, arrays) -> dict:
    """(function, dtype) -> :class:`stability.accuracy.Curves`, from :func:`curves`' table and arrays."""
    from .results import Curves

    out = {}
    df = _text(df, ["implementation", "xlabel", "bound_label", "failed_call"])
    for (f, d), part in df.groupby(["function", "dtype"], sort=False):
        key = f"{f}|{d}"
        head = part[part["implementation"] == ""].iloc[0]
        c = Curves(f, d, str(head["xlabel"]), arrays[f"{key}|x"], bound=arrays.get(f"{key}|bound"),
                   bound_label=str(head["bound_label"]))
        for name, rows in part[part["implementation"] != ""].groupby("implementation", sort=False):
            pts = rows[rows["point"] >= 0].sort_values("point")
            if len(pts):
                c.max_ulp[name] = pts["max_ulp"].to_numpy(dtype=float)
                c.median_ulp[name] = pts["median_ulp"].to_numpy(dtype=float)
            if f"{key}|bits|{name}" in arrays:
                c.bits[name] = arrays[f"{key}|bits|{name}"]
            failed = str(rows["failed_call"].iloc[0])
            if failed:
                c.failed_calls[name] = failed
        out[f, d] = c
    return out


def paper(results):
    """``(summary DataFrame, arrays)`` of the BHH reproduction (``stability.paper.PaperResult`` list)."""
    import pandas as pd

    rows, arrays = [], {}
    for r in results:
        rows += r.summary()
        arrays[f"{r.fmt}|compared"] = np.asarray(r.compared, dtype=bool)
        arrays[f"{r.fmt}|vectors"] = np.asarray([r.vectors])
        for a in r.errors:
            arrays[f"{r.fmt}|errors|{a}"] = np.asarray(r.errors[a], dtype=np.float64)
            arrays[f"{r.fmt}|bounds|{a}"] = np.asarray(r.bounds[a], dtype=np.float64)
    return pd.DataFrame(rows), arrays


def paper_back(df, arrays) -> list:
    """:class:`stability.results.PaperErrors` per format, from :func:`paper`'s table and arrays."""
    from .results import PaperErrors

    out = []
    for fmt, part in df.groupby("format", sort=False):
        algos = list(part["algorithm"])
        out.append(PaperErrors(fmt, {a: int(o) for a, o in zip(part["algorithm"], part["overflow"])},
                               {a: arrays[f"{fmt}|errors|{a}"] for a in algos},
                               {a: arrays[f"{fmt}|bounds|{a}"] for a in algos}, arrays[f"{fmt}|compared"]))
    return out
