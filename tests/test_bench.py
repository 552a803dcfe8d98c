"""The bench sweep and CLI on tiny shapes: the table's columns, the roofline, bad input.  (No timing asserts.)"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from stability import registry
from stability.bench import sweep, table, timing
from stability.errors import UsageError


def test_interleaved_runs_every_case_in_turn():
    order = []
    times = timing.interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3, warmup=1)
    assert order == ["a", "b"] * 4 and all(len(t) == 3 for t in times.values())


def test_sweep_table(tmp_path):
    impls = [registry.resolve("softmax.fast"), registry.resolve("softmax.shifted"), registry.resolve("logsumexp.fast")]
    df = sweep.run(impls, [(8, 16), (100,)], ["float32"], repeats=2, warmup=0)
    assert list(df.columns) == table.COLUMNS
    from implementations import fast_cpu

    fast = df[df.implementation.str.startswith("softmax.fast")]  # timed at 1 thread and at all of them
    assert set(fast.implementation) == {f"softmax.fast[threads={k}]" for k in {1, fast_cpu.THREADS}}
    assert set(fast.alloc) == {"out=", "allocating"} and set(fast.threads) == {1, fast_cpu.THREADS}
    assert set(df.alloc[df.implementation == "softmax.shifted"]) == {"allocating"}
    assert (df.median_s > 0).all() and (df.bound.isin(["exp", "memory"])).all()
    for path in (tmp_path / "b.csv",):
        table.save(df, path)
        back = table.load(path)
        pd.testing.assert_frame_equal(back[["implementation", "shape"]], df[["implementation", "shape"]])


def test_each_row_is_set_against_the_exp_roof_on_its_own_thread_count(monkeypatch):
    from implementations import fast_cpu
    from stability.bench import roofline

    assert set(roofline.cases(np.zeros(6), threads=[1, 2, 3])) == {
        "roof.copy", "roof.exp", "roof.exp[threads=2]", "roof.exp[threads=3]"}
    monkeypatch.setattr(fast_cpu, "THREADS", 2)
    df = sweep.run([registry.resolve("softmax.fast")], [(64, 64)], ["float32"], repeats=2, warmup=0)
    one, two = df[df.threads == 1], df[df.threads == 2]
    assert len(one) == len(two) == 2  # out= and allocating, at 1 and at 2 threads
    # exp_elements_per_s: the one-thread roof on every row (the report draws it); the row's own in the other column
    assert (one.exp_threads_elements_per_s == one.exp_elements_per_s).all()
    assert (two.exp_threads_elements_per_s != two.exp_elements_per_s).all()
    np.testing.assert_allclose(df.frac_exp, df.elements / df.exp_threads_elements_per_s / df.median_s)


@pytest.mark.parametrize("text", ["0x3", "4096xx", "abc"])
def test_bad_shapes(text):
    with pytest.raises(UsageError, match="bad shape"):
        sweep.parse_shape(text)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "stability", "bench", *args], capture_output=True, text=True,
                          timeout=300)


def test_bench_cli_writes_the_table(tmp_path):
    out = tmp_path / "bench.csv"
    r = _cli("--function", "softmax", "--impl", "softmax.fast", "--shape", "64x64", "--dtype", "float32",
             "--repeats", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    df = table.load(out)
    assert set(df.implementation.str.split("[").str[0]) == {"softmax.fast"} and "bench table written" in r.stdout
    assert "x_torch" in r.stdout  # the column beside PyTorch (NaN here: PyTorch was not timed)


@pytest.mark.parametrize("args,msg", [(["--shape", "0"], "bad shape"), (["--dtype", "int3"], "unsupported dtype"),
                                      (["--impl", "softmax.fast"], "exactly one --function"),
                                      (["--function", "nope"], "unknown function")])
def test_bench_cli_usage_errors(args, msg, tmp_path):
    r = _cli(*args, "--out", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.csv").exists()


def test_bench_puts_pytorchs_thread_count_back():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional peer (pip install torch==2.13.0)")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sweep.run([registry.resolve("torch.softmax")], [(4, 8)], ["float32"], repeats=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_against_sets_each_row_beside_the_librarys_own_function_at_the_same_threads():
    f = "softmax_vjp"
    rows = [(f, f"{f}.fast[threads=1]", 1, 3.0), (f, f"{f}.fast[threads=2]", 2, 3.0),
            (f, f"torch.{f}[threads=1]", 1, 1.5), (f, f"torch.{f}[threads=2]", 2, 1.0),
            ("softmax", "softmax.fast[threads=1]", 1, 2.0)]
    df = pd.DataFrame([{"function": f, "implementation": i, "threads": k, "median_s": t, "shape": "8x8",
                        "dtype": "float32", "alloc": "allocating"} for f, i, k, t in rows])
    x = table.against(df)["x_torch"].tolist()
    assert x[:4] == [2.0, 3.0, 1.0, 1.0] and np.isnan(x[4])  # softmax: torch.softmax was not timed
