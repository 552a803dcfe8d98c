"""The command line, end to end: verify a user's own file, JSON records, exit statuses, bad input."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

USER_CODE = textwrap.dedent('''
    import numpy as np

    def careful(x, axis=-1):
        """max-shifted softmax"""
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    def careless(x, axis=-1):
        """naive softmax"""
        e = np.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)

    def crashes(x, axis=-1):
        raise RuntimeError("kaboom")

    def wrong_dtype(x, axis=-1):
        return careful(x.astype(np.float64), axis)
''')


def _run(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "stability", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


@pytest.fixture()
def user_file(tmp_path):
    f = tmp_path / "my_softmax.py"
    f.write_text(USER_CODE)
    return f


def test_verify_careful_user_code_passes(user_file, tmp_path):
    out = tmp_path / "records.json"
    r = _run("verify", "--function", "softmax", "--impl", f"{user_file}:careful", "--examples", "8",
             "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    recs = json.loads(out.read_text())
    assert {rec["dtype"] for rec in recs} == {"float32", "float64"}
    for rec in recs:
        assert rec["verdict"] == "pass" and rec["implementation"] == f"{user_file}:careful"
        assert {"function", "max_ulp", "max_ratio", "examples"} <= set(rec)
    assert "PASS" in r.stdout


def test_verify_careless_user_code_fails_with_a_reproducer(user_file, tmp_path):
    out = tmp_path / "records.json"
    r = _run("verify", "--function", "softmax", "--impl", f"{user_file}:careless", "--dtype", "float32",
             "--examples", "8", "--json", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    (rec,) = json.loads(out.read_text())
    assert rec["verdict"] == "fail" and rec["counterexample"]["reproducer"]
    ce = rec["counterexample"]
    assert {"input", "expected", "got", "family"} <= set(ce)
    assert "assert_example('softmax'" in r.stdout  # printed, ready to paste
    # the reproducer, pasted into a test in the user's folder, fails the same way
    test = tmp_path / "test_repro.py"
    test.write_text("def test_repro():\n" + textwrap.indent(ce["reproducer"], "    ") + "\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "AssertionError" in p.stdout


def test_user_code_that_crashes_or_breaks_the_contract_fails_cleanly(user_file, tmp_path):
    out = tmp_path / "r.json"
    r = _run("verify", "--function", "softmax", "--impl", f"{user_file}:crashes", "--impl",
             f"{user_file}:wrong_dtype", "--dtype", "float32", "--examples", "3", "--json", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    reasons = [rec["counterexample"]["reason"] for rec in json.loads(out.read_text())]
    assert "raised RuntimeError: kaboom" in reasons[0]
    assert "returned dtype float64 for float32 input" in reasons[1]


@pytest.mark.parametrize("args,message", [
    (["verify", "--function", "softmaks"], "unknown function 'softmaks'"),
    (["verify", "--function", "softmax", "--impl", "nope.py:f"], "no such file"),
    (["verify", "--function", "softmax", "--impl", "softmax.shifted", "--dtype", "int8"], "unsupported dtype"),
    (["verify", "--function", "softmax", "--impl", "softmax.shifted", "--family", "thresholds"], "does not apply"),
    (["verify", "--function", "softmax", "--examples", "0"], "at least 1"),
    (["verify", "--function", "softmax", "--tolerance", "-1", "1", "1"], "a0 must be"),
    (["list", "--function", "nope"], "unknown function"),
    (["verify", "--function", "all", "--library", "nump"], "did you mean 'numpy'"),
    (["verify", "--function", "softmax", "--library", "numpy", "--impl", "softmax.shifted"], "use one of the two"),
])
def test_usage_errors_exit_2_with_the_fix_and_no_traceback(args, message):
    r = _run(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_verify_library_selects_that_librarys_registered_implementations(tmp_path):
    out = tmp_path / "scipy.json"
    r = _run("verify", "--function", "all", "--library", "scipy", "--family", "standard", "--examples", "2",
             "--dtype", "float64", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    recs = json.loads(out.read_text())
    assert recs and {rec["library"] for rec in recs} == {"scipy"}


def test_verify_no_shrink_keeps_the_first_failing_input(tmp_path):
    out = tmp_path / "naive.json"
    naive = os.path.join(os.path.dirname(__file__), "handmade.py") + ":softmax_naive"  # user code: shrunk by default
    for flag, shrunk in ((["--no-shrink"], False), ([], True)):
        r = _run("verify", "--function", "softmax", "--impl", naive, "--family", "overflow", "--examples", "5",
                 "--dtype", "float32", *flag, "--json", str(out))
        assert r.returncode == 1, r.stdout + r.stderr
        (rec,) = json.loads(out.read_text())
        assert rec["verdict"] == "fail" and rec["counterexample"]["shrunk"] is shrunk


def test_existing_json_survives_a_usage_error(tmp_path):
    out = tmp_path / "keep.json"
    out.write_text("[1]")
    r = _run("verify", "--function", "softmax", "--impl", "nope.py:f", "--json", str(out))
    assert r.returncode == 2 and out.read_text() == "[1]"


def test_list(tmp_path):
    r = _run("list", "--function", "softmax", "--json")
    assert r.returncode == 0
    names = {d["name"] for d in json.loads(r.stdout)}
    assert {"softmax.naive", "softmax.shifted", "softmax.online", "softmax.log1p", "softmax.exp_lse"} <= names
    r = _run("list")
    assert "logsumexp.log1p" in r.stdout and "stable" in r.stdout


def _options():
    """Every option of every command: (command, option strings, help)."""
    import argparse

    from stability.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, a.option_strings, a.help) for name, p in sub.choices.items() for a in p._actions
            if a.option_strings and a.help is not argparse.SUPPRESS]


def test_every_option_of_every_command_says_what_it_does():
    bare = [f"{name} {'/'.join(opts)}" for name, opts, text in _options() if not text]
    assert bare == []


def test_one_vocabulary_across_commands():
    # a format is --dtype, a records file --json PATH, a page or folder --out; the earlier spellings still parse
    from stability.cli import _parser

    flags = {}
    for name, opts, _ in _options():
        for o in opts:
            flags.setdefault(o, set()).add(name)
    assert "--format" not in flags and "--markdown" not in flags
    assert {"verify", "search", "paper", "sweep", "atlas", "bench"} <= flags["--json"]
    assert {"bench", "report", "sweep", "atlas"} <= flags["--out"]
    assert {"verify", "search", "paper", "sweep", "bench"} <= flags["--dtype"]
    assert _parser().parse_args(["paper", "--format", "float16"]).dtype == ["float16"]
    assert _parser().parse_args(["atlas", "--markdown", "x.md"]).out == "x.md"
    assert {"verify", "search", "report", "atlas", "sweep"} <= flags["--dashboard"]


def test_dashboard_without_bokeh_is_a_usage_error_that_names_the_extra(monkeypatch, tmp_path, capsys):
    import importlib.util

    from stability.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bokeh" else real(name, *a))
    assert main(["verify", "--function", "softmax", "--dashboard", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[dashboard]'" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_library_with_nothing_registered_is_a_usage_error_that_names_the_ones_there_are():
    # the pages show `verify --library tensorflow ...` commands over every library; on a machine without one of
    # them the command stops with exit 2 and the libraries it could use (tests/test_docs.py drops the pair)
    r = _run("verify", "--function", "softmax", "--library", "no_such_library", "--examples", "1")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no registered implementation of library 'no_such_library'" in r.stderr and "numpy" in r.stderr
    assert "Traceback" not in r.stderr
