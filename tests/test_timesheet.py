"""Where a report's time went (``stability.timesheet``): the checks' CPU time summed by library, the slowest
checks named, records without times counted as none."""

from __future__ import annotations

from stability import timesheet


def test_timesheet_sums_the_checks_by_library_and_names_the_slowest():
    recs = [{"implementation": "a", "dtype": "float32", "library": "jax", "cpu_seconds": 3.0},
            {"implementation": "b", "dtype": "float64", "library": "numpy", "cpu_seconds": 1.0},
            {"implementation": "c", "dtype": "float32", "library": "jax", "cpu_seconds": 2.5},
            {"implementation": "d", "dtype": "float32", "library": "numpy"}]  # saved by a suite that kept no time
    assert timesheet.by_library(recs) == {"jax": (2, 5.5), "numpy": (2, 1.0)}
    assert [r["implementation"] for r in timesheet.slowest(recs, 2)] == ["a", "c"]
    lines = timesheet.lines({"timing": 2.0, "checks, curves and special values": 10.0}, recs, slow=2)
    assert lines == ["time: checks, curves and special values 10.0 s, timing 2.0 s",
                     "checks' CPU time: 6 s over 4 checks; by library: jax 6 s (2), numpy 1 s (2)",
                     "slowest checks: a float32 3.0 s, c float32 2.5 s"]
    assert timesheet.lines({"timing": 2.0}, recs[3:]) == ["time: timing 2.0 s"]  # no times: no CPU lines
