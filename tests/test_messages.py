"""What a user meets (issue 15): messages checked by their text, reproducers that run when pasted, outputs checked
before any work, optional libraries that register only when importable, lists accepted as NumPy would."""

import subprocess
import sys
import time

import numpy as np
import pytest

from stability.cli import main
from stability.errors import UsageError
from stability.registry import register
from stability.testing import assert_example, assert_stable, spec_of


def _err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    return err


# --- did you mean ------------------------------------------------------------------------------------------------

def test_a_misspelled_registered_name_gets_the_nearest_names(capsys):
    err = _err(capsys, ["verify", "--function", "softmax", "--impl", "softmax.shifed"])
    assert "no registered implementation 'softmax.shifed' (did you mean 'softmax.shifted'" in err


def test_a_misspelled_attribute_of_a_file_gets_the_nearest_names_and_no_internal_module_name(tmp_path, capsys):
    f = tmp_path / "my_softmax.py"
    f.write_text("def softmax(x, axis=-1):\n    return x\n")
    err = _err(capsys, ["verify", "--function", "softmax", "--impl", f"{f}:softmx"])
    assert f"'{f}' has no attribute 'softmx' (did you mean 'softmax'?)" in err
    assert "_stability_user" not in err


def test_a_file_spec_without_an_attribute_says_to_add_it(tmp_path, capsys):
    f = tmp_path / "my_softmax.py"
    f.write_text("def softmax(x, axis=-1):\n    return x\n")
    err = _err(capsys, ["verify", "--function", "softmax", "--impl", str(f)])
    assert "names a file but not the function in it: add the function's name after a colon" in err
    assert f"{f}:NAME" in err


def test_a_file_that_fails_at_import_says_so_without_internal_names(tmp_path, capsys):
    f = tmp_path / "broken.py"
    f.write_text("import numpy as np\nraise RuntimeError('half written')\n")
    err = _err(capsys, ["verify", "--function", "softmax", "--impl", f"{f}:softmax"])
    assert "importing" in err and "RuntimeError: half written" in err and "_stability_user" not in err


@pytest.mark.parametrize("argv,text", [
    (["verify", "--function", "sofmax"], "unknown function 'sofmax' (did you mean 'softmax'"),
    (["verify", "--function", "softmax", "--dtype", "float23"], "unsupported dtype 'float23' (did you mean 'float32'"),
    (["verify", "--function", "softmax", "--family", "overfow"], "family 'overfow' does not apply to softmax (did "
                                                                "you mean 'overflow'"),
    (["verify", "--function", "softmax", "--impl", "numpy:exq"], "'numpy' has no attribute 'exq' (did you mean "
                                                                "'exp'"),
])
def test_typos_in_names_get_did_you_mean(capsys, argv, text):
    assert text in _err(capsys, argv)


def test_a_misspelled_family_in_a_registration_is_an_error():
    with pytest.raises(UsageError, match=r"unstable_on names 'overfow', not an input family of softmax \(did you "
                                         r"mean 'overflow'"):
        register("softmax", "softmax.typo", "x", unstable_on=("overfow",))
    with pytest.raises(UsageError, match="unstable_on names dtype 'float23'"):
        register("softmax", "softmax.typo", "x", unstable_on=("overflow@float23",))


# --- reproducers that run when pasted ----------------------------------------------------------------------------

def careless(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _reproducer(fn):
    with pytest.raises(AssertionError) as info:
        assert_stable(fn, function="softmax", dtypes=["float32"], examples=5)
    return str(info.value).split("reproducer:\n", 1)[1]


def test_a_reproducer_for_a_module_level_function_names_it_by_module_and_qualname():
    src = _reproducer(careless)
    assert f"assert_example('softmax', '{__name__}:careless', x" in src
    with pytest.raises(AssertionError, match="careless"):  # it still fails, and says so: it ran
        exec(src, {})


def test_a_reproducer_for_a_function_no_spec_can_name_passes_the_object():
    def local(x, axis=-1):
        return careless(x, axis)

    src = _reproducer(local)
    assert "# local: the function object you passed" in src and "assert_example('softmax', local, x" in src
    with pytest.raises(AssertionError, match="local"):
        exec(src, {"local": local})


def test_spec_of_a_function_in_a_file_not_importable_by_module_name(tmp_path):
    f = tmp_path / "mine.py"
    f.write_text("def softmax(x, axis=-1):\n    return x\n")
    ns = {"__name__": "__main__"}
    exec(compile(f.read_text(), str(f), "exec"), ns)
    assert spec_of(ns["softmax"]).endswith("mine.py:softmax")
    assert spec_of(lambda x: x) is None


# --- lists and numbers, as NumPy would read them -----------------------------------------------------------------

LISTY = '''
import math

def softmax(v):
    m = max(v)
    if m != m or m in (math.inf, -math.inf):
        return [math.nan if (m != m or m == math.inf) else math.nan] * len(v)
    e = [math.exp(a - m) for a in v]
    s = sum(e)
    return [a / s for a in e]

def logsumexp(v):
    return max(v) if len(v) else -math.inf
'''


def test_a_one_vector_function_returning_a_python_list_is_judged_on_its_values(tmp_path, capsys):
    f = tmp_path / "listy.py"
    f.write_text(LISTY)
    rc = main(["verify", "--function", "softmax", "--impl", f"{f}:softmax", "--dtype", "float32",
               "--family", "standard", "--family", "dominant", "--examples", "5", "--scheduler", "synchronous"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "returned a list" not in out and "returned dtype float64" not in out


def test_a_python_number_for_a_reduction_is_read_as_a_zero_d_array(tmp_path):
    from stability.registry import user_implementation
    from stability.verify import run_call

    impl = user_implementation("lse", "logsumexp", lambda v: float(np.logaddexp.reduce(v.astype(np.float64))))
    out = run_call(impl, (np.array([1.0, 2.0], np.float32),), {"axis": 0})
    assert out.ok, out.reason


# --- outputs checked before any work -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["verify", "--function", "softmax", "--impl", "softmax.naive", "--json", "{blocked}/r.json"],
    ["search", "--function", "softmax", "--impl", "softmax.naive", "--json", "{blocked}/r.json"],
    ["report", "--quick", "--out", "{blocked}/r.html"],
    ["bench", "--out", "{blocked}/b.csv"],
    ["paper", "--json", "{blocked}/p.json"],
    ["sweep", "--function", "sigmoid", "--impl", "sigmoid.naive", "--out", "{blocked}/sw"],
], ids=lambda a: a[0])
def test_an_output_under_a_file_is_refused_before_any_work(tmp_path, capsys, argv):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    t0 = time.perf_counter()
    err = _err(capsys, [a.format(blocked=blocked) for a in argv])
    assert time.perf_counter() - t0 < 5  # nothing was run first
    assert f"cannot be made because {blocked} is a file: choose another path" in err


def test_parquet_without_pyarrow_is_refused_before_any_timing(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pyarrow", "fastparquet") else real(name, *a))
    err = _err(capsys, ["bench", "--function", "softmax", "--out", str(tmp_path / "b.parquet")])
    assert "writing Parquet needs pyarrow (pip install pyarrow); or give a .csv path" in err


HIDE_ARRAY_API_STRICT = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'array_api_strict':
            raise ModuleNotFoundError("No module named 'array_api_strict'")
        return None
sys.meta_path.insert(0, Hide())
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda n, *a: None if n == 'array_api_strict' else real(n, *a)
from stability import registry
from stability.cli import main
assert not [i for i in registry.implementations() if i.library == 'array_api'], 'registered without the package'
sys.exit(main(sys.argv[1:]))
"""


def test_without_array_api_strict_the_array_api_versions_are_not_registered_and_bench_runs(tmp_path):
    out = subprocess.run([sys.executable, "-c", HIDE_ARRAY_API_STRICT, "bench", "--function", "softmax", "--shape",
                          "8x16", "--dtype", "float32", "--repeats", "1", "--out", str(tmp_path / "b.csv")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ModuleNotFoundError" not in out.stderr and (tmp_path / "b.csv").exists()


# --- progress, shortened arrays, sweep verdicts ------------------------------------------------------------------

def test_progress_is_one_line_per_finished_check_when_stderr_is_not_a_terminal(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stability", "verify", "--function", "softmax", "--impl",
                          "softmax.shifted", "--examples", "2", "--family", "standard"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    lines = [s for s in out.stderr.splitlines() if s.startswith("[")]
    assert [s.split("] ")[0] for s in lines] == ["[1/2 check", "[2/2 check"], out.stderr  # in the order they end
    assert sorted(s.split("] ")[1].split(" (")[0] for s in lines) == ["softmax.shifted float32: pass",
                                                                     "softmax.shifted float64: pass"]


LONG_ONLY = '''
import numpy as np

def softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(m), m, 0))
    y = e / e.sum(axis=axis, keepdims=True)
    return y * 1.01 if x.shape[axis] > 1000 else y  # wrong on long rows only
'''


def test_a_long_counterexample_is_printed_shortened_and_the_json_holds_it_whole(tmp_path, capsys):
    f = tmp_path / "long_only.py"
    f.write_text(LONG_ONLY)
    rc = main(["verify", "--function", "softmax", "--impl", f"{f}:softmax", "--dtype", "float32", "--family",
               "tile_masks", "--examples", "3", "--scheduler", "synchronous"])
    out = capsys.readouterr().out
    assert rc == 1
    assert " entries; worst at [" in out and ", ..., " in out
    assert "reproducer: the whole input, with --json PATH (counterexample.reproducer)" in out
    assert max(len(line) for line in out.splitlines()) < 400


def test_sweep_judges_against_the_declared_expectation(tmp_path, capsys):
    rc = main(["sweep", "--function", "sigmoid", "--impl", "sigmoid.naive", "--scheduler", "synchronous",
               "--out", str(tmp_path / "naive")])
    out = capsys.readouterr().out
    assert rc == 0 and "as expected: sigmoid.naive is declared unstable on" in out
    f = tmp_path / "mine.py"
    f.write_text("import numpy as np\n\ndef sigmoid(x):\n    return (1 / (1 + np.exp(-x))).astype(x.dtype)\n")
    rc = main(["sweep", "--function", "sigmoid", "--impl", f"{f}:sigmoid", "--scheduler", "synchronous",
               "--out", str(tmp_path / "mine")])
    out = capsys.readouterr().out
    assert rc == 1 and "** expected stable in float16:" in out


def test_assert_example_takes_the_function_object_itself():
    with pytest.raises(AssertionError, match="careless"):
        assert_example("softmax", careless, np.array([100.0], np.float32), axis=0)
