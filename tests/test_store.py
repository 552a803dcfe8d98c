"""The results store and `stability compare` (issue 16): runs written atomically, a store of another schema
refused with a message, and every kind of change compare reports, with its exit status."""

import json

import numpy as np
import pandas as pd
import pytest

from stability import compare, store
from stability.cli import main
from stability.errors import UsageError

ENV = {"host": "box", "cpu": "Some CPU", "cores": "2", "commit": "abc"}


def _checks(**over):
    rows = {"softmax.a": dict(verdict="pass", meets_expectation=True, max_ratio=0.4, failed_families=""),
            "softmax.b": dict(verdict="pass", meets_expectation=True, max_ratio=0.1, failed_families=""),
            "softmax.c": dict(verdict="fail", meets_expectation=True, max_ratio=5.0, failed_families="overflow"),
            "softmax.d": dict(verdict="pass", meets_expectation=True, max_ratio=0.05, failed_families="")}
    for name, change in over.items():
        rows[name.replace("_", ".")] = {**rows[name.replace("_", ".")], **change}
    return pd.DataFrame([{"implementation": k, "function": "softmax", "dtype": "float32", "expectation": "stable",
                          "max_ulp": 1.0, "examples": 10, **v} for k, v in rows.items()])


def _special(ok=True, got="[nan, nan, nan]"):
    return pd.DataFrame([{"implementation": "softmax.a", "function": "softmax", "case": "posinf", "input": "[1, inf]",
                          "expected": "[nan, nan, nan]", "got": got, "ok": ok, "reason": "" if ok else "wrong",
                          "answer": ""}])


def _timings(median, lo, hi):
    return pd.DataFrame([{"implementation": "softmax.a", "function": "softmax", "shape": "16x1024",
                          "dtype": "float32", "alloc": "allocating", "threads": 1, "median_s": median, "min_s": lo,
                          "max_s": hi, "repeats": 5}])


def _run(root, checks=None, special=None, timings=None, env=ENV, label="softmax"):
    tables = {"checks": checks if checks is not None else _checks(), "special": special if special is not None
              else _special(), "timings": timings if timings is not None else _timings(1e-3, 0.9e-3, 1.1e-3)}
    return store.save("verify", label, root=root, command="test", environment=env, tables=tables)


def test_a_run_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        store.save("report", "x", root=tmp_path, environment=ENV, tables={"checks": _checks()},
                   arrays={"curves": {"a": np.zeros(3)}})
    assert list(tmp_path.iterdir()) == []  # no half-written run, no temporary folder left
    monkeypatch.undo()
    run = _run(tmp_path)
    assert [r.name for r in store.runs(tmp_path)] == [run.name]
    assert run.table("checks").equals(store.load(run.name, tmp_path).table("checks"))


def test_runs_sort_by_time_and_say_what_they_were(tmp_path):
    a, b = _run(tmp_path, label="softmax"), _run(tmp_path, label="log_softmax")
    assert [r.name for r in store.runs(tmp_path)] == [a.name, b.name] and a.name < b.name
    assert a.name.split("-", 1)[1] == "verify-softmax"
    assert store.load("verify-softmax", tmp_path).name == a.name  # by the end of its name


def test_a_run_of_another_schema_is_refused_with_a_message(tmp_path, capsys):
    run = _run(tmp_path)
    meta = json.loads((run.path / "run.json").read_text())
    meta.update(schema=99, suite="9.9")
    (run.path / "run.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="stored with results schema 99, and this suite reads schema 1: measure it "
                                         "again with this version"):
        store.load(run.path)
    assert store.runs(tmp_path) == []  # never misread as a current run
    assert main(["compare", str(run.path), str(run.path)]) == 2
    assert "schema 99" in capsys.readouterr().err


def _kinds(c):
    return {(x.kind, x.regression) for x in c.changes}


def test_compare_reports_a_verdict_that_flipped_and_a_family_newly_failing(tmp_path):
    a = _run(tmp_path)
    b = _run(tmp_path, checks=_checks(softmax_b=dict(verdict="fail", meets_expectation=False, max_ratio=40.0,
                                                     failed_families="dominant")))
    c = compare.compare(a, b)
    flips = [x for x in c.changes if x.kind == "verdict"]
    assert len(flips) == 1 and flips[0].regression and "softmax.b" in flips[0].what
    assert flips[0].after == "fail (short of its expectation)"
    assert ("families", True) in _kinds(c) and ("ratio", True) in _kinds(c)
    back = compare.compare(b, a)  # the way back is an improvement, not a regression
    assert [x.regression for x in back.changes if x.kind == "verdict"] == [False]


def test_compare_reports_a_ratio_that_grew_past_the_threshold_only(tmp_path):
    a = _run(tmp_path)
    b = _run(tmp_path, checks=_checks(softmax_a=dict(max_ratio=0.9), softmax_d=dict(max_ratio=0.2)))
    c = compare.compare(a, b)
    grew = [x for x in c.changes if x.kind == "ratio"]
    assert [x.what for x in grew] == ["softmax.a (softmax, float32)"] and grew[0].regression  # 0.4 -> 0.9
    # softmax.d: 0.05 -> 0.2 is four times as large, but far inside the allowance (below the floor): not reported


def test_compare_reports_a_special_value_answer_that_changed(tmp_path):
    a = _run(tmp_path)
    b = _run(tmp_path, special=_special(ok=False, got="[0, nan, 0]"))
    c = compare.compare(a, b)
    assert ("special", True) in _kinds(c)
    x = next(x for x in c.changes if x.kind == "special")
    assert x.what == "softmax.a at posinf" and x.after == "[0, nan, 0] (wrong)"


def test_compare_reports_timings_beyond_their_noise_and_not_within_it(tmp_path):
    a = _run(tmp_path)
    within = _run(tmp_path, timings=_timings(1.08e-3, 0.95e-3, 1.2e-3))  # ranges overlap: noise
    slower = _run(tmp_path, timings=_timings(1.5e-3, 1.4e-3, 1.6e-3))
    faster = _run(tmp_path, timings=_timings(0.5e-3, 0.45e-3, 0.55e-3))
    assert not [x for x in compare.compare(a, within).changes if x.kind == "timing"]
    s = [x for x in compare.compare(a, slower).changes if x.kind == "timing"]
    assert len(s) == 1 and s[0].regression and "1.50x slower" in s[0].what
    f = [x for x in compare.compare(a, faster).changes if x.kind == "timing"]
    assert len(f) == 1 and not f[0].regression and "2.00x faster" in f[0].what


def test_runs_from_different_machines_compare_accuracy_only_and_say_so(tmp_path):
    a = _run(tmp_path)
    b = _run(tmp_path, timings=_timings(9e-3, 8e-3, 10e-3), env={**ENV, "host": "other", "cpu": "Other CPU"})
    c = compare.compare(a, b)
    assert not c.timings_compared and not [x for x in c.changes if x.kind == "timing"]
    assert "different machines" in c.note and "accuracy compared, timings not" in c.note


def test_compare_cli_exit_status_and_default_pair(tmp_path, capsys):
    root = str(tmp_path)
    a = _run(tmp_path)
    same = _run(tmp_path)
    assert main(["compare", "--results", root]) == 0  # the latest two of the same kind and label
    out = capsys.readouterr().out
    assert f"from {a.name}" in out and f"to {same.name}" in out and "0 changes, 0 regressions" in out
    worse = _run(tmp_path, checks=_checks(softmax_a=dict(verdict="fail", meets_expectation=False, max_ratio=9.0)))
    assert main(["compare", a.name, worse.name, "--results", root]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION verdict: softmax.a (softmax, float32): pass -> fail (short of its expectation)" in out
    assert main(["compare", a.name, worse.name, "--results", root, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["regressions"] >= 1
    assert main(["compare", "nothing-like-this", a.name, "--results", root]) == 2
    assert "no stored run 'nothing-like-this'" in capsys.readouterr().err
    assert main(["compare", a.name, "--results", root]) == 2


def test_history_lists_the_runs(tmp_path, capsys):
    a = _run(tmp_path)
    assert main(["history", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert a.name in out and "4 checks, 0 short" in out and "1 runs in" in out
    assert main(["history", "--results", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == a.name and rows[0]["checks"] == 4 and rows[0]["commit"] == "abc"


def test_a_planted_regression_between_two_real_verify_runs(tmp_path, capsys):
    mine = tmp_path / "mine.py"
    careful = ("import numpy as np\n\ndef softmax(x, axis=-1):\n    m = np.max(x, axis=axis, keepdims=True)\n"
               "    e = np.exp(x - np.where(np.isfinite(m), m, 0))\n    return e / e.sum(axis=axis, keepdims=True)\n")
    mine.write_text(careful)
    argv = ["verify", "--function", "softmax", "--impl", f"{mine}:softmax", "--dtype", "float32", "--examples", "4",
            "--family", "standard", "--family", "overflow", "--results", str(tmp_path / "r"), "--scheduler",
            "synchronous"]
    assert main(argv) == 0
    mine.write_text(careful.replace("np.exp(x - np.where(np.isfinite(m), m, 0))", "np.exp(x)"))  # the shift lost
    assert main(argv) == 1
    capsys.readouterr()
    assert main(["compare", "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION verdict:" in out and "pass -> fail (short of its expectation)" in out
    assert "newly failing: overflow" in out or "newly failing: nan overflow" in out


def test_compare_keys_checks_by_their_format_signature(tmp_path):
    # the same implementation in two signatures is two checks: a flip in bfloat16:float32 is that check's alone
    both = pd.concat([_checks(), _checks().assign(dtype="bfloat16:float32")], ignore_index=True)
    after = both.copy()
    row = (after.implementation == "softmax.b") & (after.dtype == "bfloat16:float32")
    after.loc[row, ["verdict", "meets_expectation", "max_ratio", "failed_families"]] = ["fail", False, 40.0,
                                                                                       "shift_rounding"]
    c = compare.compare(_run(tmp_path, checks=both), _run(tmp_path, checks=after))
    flips = [x for x in c.changes if x.kind == "verdict"]
    assert len(flips) == 1 and "bfloat16:float32" in flips[0].what and flips[0].regression


def test_compare_calls_a_check_only_in_the_newer_run_new_and_one_only_in_the_older_missing(tmp_path, capsys):
    # regression: a check the newer run added was listed as "missing", like one it dropped
    a = _run(tmp_path, checks=_checks().iloc[:3])
    b = _run(tmp_path, checks=_checks().iloc[1:])
    c = compare.compare(a, b)
    assert [(x.kind, x.what) for x in c.changes if x.kind in ("new", "missing")] == [
        ("missing", "softmax.a (softmax, float32)"), ("new", "softmax.d (softmax, float32)")]
    assert not c.regressions
    assert main(["compare", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the latest two comparable runs in ") and "new: softmax.d (softmax, float32)" in out


def test_compare_refuses_runs_that_measured_nothing_in_common_and_says_what_each_measured(tmp_path, capsys):
    a = _run(tmp_path)
    other = _run(tmp_path, checks=_checks().assign(function="sigmoid"), label="sigmoid")
    assert main(["compare", a.name, other.name, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "measured nothing in common" in err and f"{a.name}: a verify run of softmax, 4 checks" in err
    assert f"{other.name}: a verify run of sigmoid, 4 checks" in err and "Traceback" not in err
    # a run of another kind sharing checks with it (a report beside a verify run) is compared on what they share
    assert compare.related(a, _run(tmp_path, label="report"))


def test_compare_with_no_names_finds_the_latest_comparable_pair_behind_an_unrelated_latest_run(tmp_path, capsys):
    # regression: the latest run had no earlier twin, and compare refused although two comparable runs were stored
    a = _run(tmp_path)
    b = _run(tmp_path)
    _run(tmp_path, checks=_checks().assign(function="sigmoid"), label="sigmoid")
    assert main(["compare", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the latest two comparable runs in ") and f"from {a.name}\n  to {b.name}" in out


def test_compare_with_one_unknown_name_says_it_is_unknown(tmp_path, capsys):
    _run(tmp_path)
    assert main(["compare", "nosuchrun", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stored run 'nosuchrun'" in err and "Traceback" not in err
