"""The cross-library atlas: every installed library's peers verified in the four formats (and the mixed signatures
the libraries have), side by side, each library at its installed version.

:func:`plan` says what is checked and what each library lacks (a function, a format, a gradient), which the atlas
shows instead of a verdict; :func:`cells` turns the records into the table's cells (plain data, drawn by
``reports.atlas``); :func:`declarations` prints what a run measured as the ``EXPECT`` dicts of the peer modules, for
the next version of a library.  Nothing here imports a peer's library: the checks run in worker processes
(``stability.parallel``), TensorFlow's and PaddlePaddle's on processes of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import functions, libraries, registry

#: the formats every library is asked for
FORMATS = ("float16", "bfloat16", "float32", "float64")
#: the format whose counterexample the atlas shows for a failing peer (where it fails there), minimised whatever was
#: declared; in the other formats a declared failure is confirmed unshrunk, as in any verify
SHOWN_FORMAT = "float32"

#: public reports of defects the atlas finds: ``{(implementation, family): (url, what it reports)}``, linked from a
#: failing check whose failed families include ``family``; ``family@format`` links a failure in that format alone
#: (read from each tracker, not inferred from a title)
KNOWN_ISSUES: dict = {
    ("ort.max", "nan"): ("https://github.com/microsoft/onnxruntime/issues/10514",
                         "onnxruntime#10514, ReduceMax's answer with NaN depends on where the NaN is (open)"),
    ("tinygrad.max", "nan"): ("https://github.com/tinygrad/tinygrad/issues/862",
                              "tinygrad#862, `.max(Tensor([1, nan]))` should be nan (open)"),
    # ORT's CPU Sigmoid (MLAS's logistic) in float32: 8.94e-8 at -17 where 4.14e-8 belongs, 0 from -18 on
    ("ort.sigmoid", "standard@float32"): (
        "https://github.com/microsoft/onnxruntime/issues/22557",
        "onnxruntime#22557, Sigmoid of -18 comes out negative on macOS (open); the same values as here, 8.94e-8 "
        "at -17 and 0 at -20, are in pytorch#147508"),
    # PaddlePaddle's CPU softmax clips x - max at -64 (ValueClip), flooring every probability at e^-64 = 1.6e-28
    **{(f"paddle.{name}", "wide"): (
        "https://github.com/PaddlePaddle/Paddle/issues/4366",
        "PaddlePaddle#4366, where the -64 clip of x - max was added so that no probability is 0 (closed)")
       for name in ("softmax", "softmax_f32")},
    # its BCE-with-logits gradient at x = 0 is -0.5 - y where 0.5 - y belongs
    ("paddle.binary_cross_entropy_with_logits_vjp", "standard"): (
        "https://github.com/PaddlePaddle/Paddle/pull/64253",
        "PaddlePaddle#64253 (merged, for #64226), which made the grad kernel follow the autodiff of "
        "max(x, 0) - x y + log(1 + e^-|x|), whose kinks at x = 0 take opposite sides"),
    **{(f"mlx.{name}", "standard@float64"): (
        "https://github.com/ml-explore/mlx/issues/3047",
        "mlx#3047, on the CPU exp (and sin, cos, erf) use their float32 approximation for float64 (open)")
       for name in ("softmax", "logsumexp", "sigmoid", "log_sigmoid", "softplus", "binary_cross_entropy_with_logits",
                    "cross_entropy", "softmax_vjp", "log_softmax_vjp", "logsumexp_vjp", "sigmoid_vjp",
                    "log_sigmoid_vjp", "softplus_vjp", "binary_cross_entropy_with_logits_vjp",
                    "cross_entropy_vjp")},
}


def known_issue(implementation: str, failed_families, dtype: str = "") -> tuple:
    """``(url, what it reports)`` of a public issue for one of ``failed_families`` of ``implementation`` (checked
    in ``dtype``), or ()."""
    for fam in failed_families:
        base = fam.split("@")[0]
        fmt = fam.split("@")[1] if "@" in fam else dtype
        hit = KNOWN_ISSUES.get((implementation, base)) or KNOWN_ISSUES.get((implementation, f"{base}@{fmt}"))
        if hit:
            return hit
    return ()


def peer_libraries() -> list[str]:
    """The libraries with registered peers here, in the table's order."""
    have = {i.library for i in registry.implementations() if i.origin == "peer"}
    return [n for n in libraries.NAMES if n in have]


def plan(library_names=None) -> list[tuple]:
    """``[(implementation, signature)]``: every peer of the libraries (default: every one installed) in the formats
    it takes, and its mixed signatures."""
    from .verify import signatures_for  # here: drawing a stored atlas imports no measuring module

    wanted = set(library_names or peer_libraries())
    return [(i, d) for i in registry.implementations() if i.origin == "peer" and i.library in wanted
            for d in signatures_for(i, FORMATS)]


def lacks(library: str) -> dict:
    """``{function or function@format or 'gradients': why}``: what ``library`` does not have (the peer modules)."""
    import implementations._peer as peer

    registry.implementations()  # the peer modules are imported, and have said what they lack
    return dict(peer.LACKS.get(library, {}))


@dataclass
class Cell:
    """One function x library (x forward or backward) of the atlas: per format, a verdict or why there is none."""

    implementation: str = ""
    by_format: dict = field(default_factory=dict)  # format -> {"verdict", "ratio", "failed", "meets", "drift"} | why

    def as_dict(self) -> dict:
        return {"implementation": self.implementation, "by_format": self.by_format}


def cells(records) -> dict:
    """``{(function, library): Cell}`` from verify records (dicts), forward and backward functions alike; records of
    mixed signatures are keyed by their signature instead of a format."""
    out: dict = {}
    impls: dict = {}  # filled once, for records stored without their library
    for r in records:
        if not r.get("library") and not impls:
            impls = {i.name: i.library for i in registry.implementations()}
        lib = r.get("library") or impls.get(r["implementation"], "")
        key = (r["function"], lib, r["implementation"])
        cell = out.setdefault(key, Cell(r["implementation"]))
        cell.by_format[r["dtype"]] = {"verdict": r["verdict"], "ratio": r["max_ratio"],
                                      "failed": list(r["failed_families"]), "meets": bool(r["meets_expectation"]),
                                      "drift": r.get("drift", ""), "version": r.get("version", ""),
                                      "reason": (r.get("counterexample") or {}).get("reason", "")}
    return out


def missing(library: str, function: str, fmt: str, known: dict | None = None) -> str:
    """Why ``library`` has no verdict for ``function`` in ``fmt`` ("" when it has one, or none is known).
    ``known``: ``{library: lacks}`` as a stored run kept it (drawing imports no peer module); else the peer
    modules say."""
    why = lacks(library) if known is None else known.get(library, {})
    f = functions.get(function)
    if f.is_vjp and "gradients" in why:
        return why["gradients"]
    base = f.primal if f.is_vjp else function
    for key in (function, base, f"{function}@{fmt}", f"{base}@{fmt}"):
        if key in why:
            return why[key]
    return ""


def declarations(records) -> str:
    """What ``records`` measured, as the ``EXPECT`` dicts of the peer modules: per implementation, the families
    that failed in every format it was checked in first, then ``family@format`` for the others."""
    by: dict = {}
    for r in records:
        by.setdefault(r["implementation"], {})[r["dtype"]] = set(r["failed_families"])
    lines = []
    for name, per in sorted(by.items()):
        every = set.intersection(*per.values()) if per else set()
        some = sorted({f"{fam}@{d}" for d, fams in per.items() for fam in fams - every})
        entries = sorted(every) + some
        if entries:
            lines.append(f"    {name.split('.', 1)[1]!r}: ({', '.join(map(repr, entries))},),")
    return "\n".join(lines)
