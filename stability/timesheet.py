"""Where a report's time went: its stages' wall-clock times and its checks' CPU time by library.

A report run keeps its stages' times in its options (``run.blob("options")["stages"]``: seconds by stage) and each
verify record its own ``seconds`` and ``cpu_seconds``; :func:`lines` puts them in a few lines that ``stability
report`` prints at its end, so that a slow report says which stage, which library and which checks made it slow
(records saved by an older suite carry no times: they count as none).
"""

from __future__ import annotations

#: the stages of a report, in their order (``stability.measure.report_run``; the page's drawing is timed by the CLI)
STAGES = ("checks, curves and special values", "timing", "BHH reproduction", "page")


def _cpu(record) -> float:
    """A record's CPU seconds (0 for one saved without them)."""
    return float(record.get("cpu_seconds") or 0.0)


def by_library(records) -> dict:
    """library -> ``(checks, CPU seconds)`` of ``records`` (dicts), the costliest library first."""
    out: dict = {}
    for r in records:
        n, cpu = out.get(r.get("library", ""), (0, 0.0))
        out[r.get("library", "")] = (n + 1, cpu + _cpu(r))
    return dict(sorted(out.items(), key=lambda kv: -kv[1][1]))


def slowest(records, k: int = 5) -> list:
    """The ``k`` records with the most CPU time, the costliest first."""
    return sorted((r for r in records if _cpu(r) > 0), key=lambda r: -_cpu(r))[:k]


def lines(stages: dict, records, *, slow: int = 5) -> list[str]:
    """What ``stability report`` prints of its times: the stages (wall clock), then the checks' CPU time by library
    and the ``slow`` slowest checks (none where no record carries a time)."""
    order = [s for s in STAGES if s in stages] + [s for s in stages if s not in STAGES]
    out = ["time: " + ", ".join(f"{s} {stages[s]:.1f} s" for s in order)]
    libs = by_library(records)
    total = sum(cpu for _, cpu in libs.values())
    if total > 0:
        out.append(f"checks' CPU time: {total:.0f} s over {sum(n for n, _ in libs.values())} checks; by library: "
                   + ", ".join(f"{lib or '?'} {cpu:.0f} s ({n})" for lib, (n, cpu) in libs.items()))
        out.append("slowest checks: " + ", ".join(f"{r['implementation']} {r['dtype']} {_cpu(r):.1f} s"
                                                  for r in slowest(records, slow)))
    return out
