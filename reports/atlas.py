"""The cross-library atlas as Markdown (docs/atlas.md) and as the report's section: per format, one row a function
(forward, then gradients), one column a library at its installed version; a cell is the verdict, the worst
stability ratio and the failing families, or why the library has none (it lacks the function, the format or a
gradient).  Then the defects: each failing check's shrunk input and reproducer.  Nothing is measured here:
``python3 -m reports.atlas RUN`` draws a stored atlas run (``stability atlas`` writes it)."""

from __future__ import annotations

import math
import sys

from stability import atlas, functions, libraries

NO_PEER = "not registered"


def _ratio(v) -> str:
    v = float(v)
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:.2g}"


def grid(records, lacks: dict | None = None) -> dict:
    """``{"libraries": [(name, title, version)], "formats": [...], "rows": {format: [(function, [cell])]},
    "defects": [...]}``, each cell ``{"text", "cls"}``; plain data, drawn as Markdown or HTML."""
    cells = atlas.cells(records)
    libs = [n for n in libraries.NAMES if any(k[1] == n for k in cells)]
    versions = {n: next((c.by_format[d].get("version") for k, c in cells.items() if k[1] == n
                         for d in c.by_format if c.by_format[d].get("version")), "") for n in libs}
    seen = {d for c in cells.values() for d in c.by_format}
    # the four formats always (a library with no kernel in one says so there), then the mixed signatures measured
    formats = list(atlas.FORMATS) + sorted(d for d in seen if ":" in d)
    names = list(functions.FUNCTIONS)
    forward = [n for n in names if not functions.get(n).is_vjp and n != "logit_of_sigmoid"]
    order = forward + [f"{n}_vjp" for n in forward if f"{n}_vjp" in functions.FUNCTIONS]
    rows: dict = {}
    for fmt in formats:
        table = []
        for fn in order:
            line = []
            for lib in libs:
                mine = [(k[2], c.by_format[fmt]) for k, c in cells.items() if k[0] == fn and k[1] == lib
                        and fmt in c.by_format]
                if mine:
                    line.append(_cell(mine))
                else:
                    why = atlas.missing(lib, fn, fmt, lacks) if ":" not in fmt else ""
                    line.append({"text": f"- ({why})" if why else "-", "cls": "none"})
            if ":" in fmt and all(c["cls"] == "none" for c in line):
                continue  # a mixed signature lists only the functions some library has it for
            table.append((fn, line))
        rows[fmt] = table
    return {"libraries": [(n, libraries.TABLE[n].title or n, versions[n]) for n in libs], "formats": formats,
            "rows": rows, "defects": defects(records)}


def _cell(mine) -> dict:
    """One library's variants of a function in one format (``tf.softmax``; ``mlx.softmax_precise`` beside it)."""
    parts, cls = [], "pass"
    for name, d in mine:
        short = name.split(".", 1)[1] if len(mine) > 1 else ""
        tag = f"{short}: " if short else ""
        if d["verdict"] == "pass":
            parts.append(f"{tag}pass {_ratio(d['ratio'])}")
        else:
            fams = ", ".join(d["failed"][:4]) + (f" +{len(d['failed']) - 4}" if len(d["failed"]) > 4 else "")
            parts.append(f"{tag}fail {_ratio(d['ratio'])}: {fams}")
            cls = "fail"
        if d.get("drift"):
            parts[-1] += " (drift)"
            cls = "drift"
        elif not d["meets"]:
            parts[-1] += " (undeclared)"
    return {"text": "; ".join(parts), "cls": cls}


def defects(records) -> list:
    """The failing peers, one entry each: ``{"implementation", "library", "function", "formats": [(format,
    [failed families])], "dtype", "family", "reason", "input", "expected", "got", "reproducer", "shrunk",
    "issues": [(url, what it reports)]}``, the counterexample shown from float32 where it fails there (the format
    most code runs in), else from its first failing format; by library, then function."""
    by: dict = {}
    for r in records:
        if r["verdict"] == "fail" and r.get("counterexample"):
            by.setdefault(r["implementation"], []).append(r)
    order = {f: k for k, f in enumerate(atlas.FORMATS)}
    out = []
    for name, recs in by.items():
        recs.sort(key=lambda r: order.get(r["dtype"], len(order)))
        shown = next((r for r in recs if r["dtype"] == atlas.SHOWN_FORMAT), recs[0])
        ce = shown["counterexample"]
        issues = list(dict.fromkeys(hit for r in recs
                                    if (hit := atlas.known_issue(name, r["failed_families"], r["dtype"]))))
        out.append({"implementation": name, "library": shown.get("library", ""), "function": shown["function"],
                    "formats": [(r["dtype"], list(r["failed_families"])) for r in recs], "dtype": shown["dtype"],
                    "family": ce.get("family", ""), "reason": ce.get("reason", ""), "input": ce.get("input"),
                    "expected": ce.get("expected"), "got": ce.get("got"), "reproducer": ce.get("reproducer", ""),
                    "shrunk": bool(ce.get("shrunk")), "issues": issues})
    rank = {n: k for k, n in enumerate(libraries.NAMES)}
    forder = {n: k for k, n in enumerate(functions.FUNCTIONS)}
    return sorted(out, key=lambda d: (rank.get(d["library"], 99), forder.get(d["function"], 99),
                                      d["implementation"]))


def markdown(records, *, command: str = "", created: str = "", lacks: dict | None = None) -> str:
    """The atlas page; ``lacks``: ``{library: what it lacks}`` as the stored run kept it (``stability atlas``)."""
    g = grid(records, lacks)
    libs = g["libraries"]
    head = ["# The atlas: the softmax family across libraries", ""]
    if command:
        head += [f"Drawn from the stored run made by `{command}`" + (f" on {created}" if created else "") + ", "
                 "with `python3 -m reports.atlas RUN`. Each cell: the verdict, the worst stability ratio (error / "
                 "(allowance + 2 x condition number): at most 1 passes) and the first failing families; `-` and the "
                 "reason where the library has no such function, format or gradient. Versions: "
                 + ", ".join(f"{t} {v}" for _, t, v in libs) + ".", ""]
    for fmt in g["formats"]:
        head += [f"## {fmt}", "", "| function | " + " | ".join(t for _, t, _ in libs) + " |",
                 "|---|" + "---|" * len(libs)]
        for fn, line in g["rows"][fmt]:
            head.append(f"| {fn} | " + " | ".join(_md(c) for c in line) + " |")
        head.append("")
    head += ["## Defects found, with their inputs", "",
             "Each failing peer once: the formats it fails in with their failing families, then one counterexample "
             "(from float32 where it fails there; shrunk where marked): the input, the correctly rounded answer, "
             "what the library returned, and a reproducer. A failure the peer's declaration lists is what was "
             "measured on its version; it is listed here because it is a defect of that library all the same.", ""]
    for d in g["defects"]:
        head += [f"### `{d['implementation']}`", "",
                 "Fails in " + "; ".join(f"{fmt} ({_families(fams)})" for fmt, fams in d["formats"]) + ".", "",
                 f"In {d['dtype']}, family {d['family']}: {d['reason']} "
                 f"({'shrunk' if d['shrunk'] else 'as first found'}).", "", "```",
                 f"input    {_clip(d['input'])}", f"expected {_clip(d['expected'])}", f"got      {_clip(d['got'])}",
                 "```", ""]
        for url, what in d["issues"]:
            head += [f"Reported publicly: [{what}]({url}).", ""]
        if d["reproducer"]:
            head += ["```python", d["reproducer"].rstrip(), "```", ""]
    return "\n".join(head).rstrip() + "\n"


def _families(fams, n: int = 8) -> str:
    return ", ".join(fams[:n]) + (f" and {len(fams) - n} more" if len(fams) > n else "")


def _md(cell) -> str:
    text = cell["text"].replace("|", "\\|")
    return f"**{text}**" if cell["cls"] in ("fail", "drift") else text


def _clip(v, n: int = 400) -> str:
    s = str(v)
    return s if len(s) <= n else s[:n] + " ..."


def main(argv=None) -> int:
    from stability import store
    from stability.errors import UsageError

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python3 -m reports.atlas RUN (a stored atlas run: `stability history` lists them)",
              file=sys.stderr)
        return 2
    try:
        run = store.load(argv[0])
        records = run.blob("records")
        if records is None:
            raise UsageError(f"{run.name} holds no verify records: draw an atlas, verify or report run")
    except UsageError as exc:
        print(f"reports.atlas: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(records, command=run.meta.get("command", ""), created=run.meta.get("created", ""),
                              lacks=run.blob("lacks")))  # None (a run stored before it kept them): the peers say
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
