"""Checks in worker processes (issue 15): the same records as in this process, in task order; code under test that
exits, crashes, hangs or changes process-wide state fails its own check and no other; a killed run resumes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from stability import parallel
from stability.cli import main
from stability.registry import resolve

OPTIONS = dict(examples=3, seed=0, shrink=False, families=["standard", "wide"])


def _tasks(*pairs):
    return [parallel.task("verify", resolve(spec, function), dtype) for spec, function, dtype in pairs]


def _key(r):
    return (r["implementation"], r["dtype"], r["verdict"], r["max_ulp"], r["examples"])


def test_workers_give_the_records_of_a_serial_run_in_task_order():
    tasks = _tasks(("softmax.naive", "softmax", "float32"), ("softmax.shifted", "softmax", "float64"),
                   ("sigmoid.stable", "sigmoid", "float32"))
    seen = []
    serial = parallel.run(tasks, options={"verify": OPTIONS}, scheduler="synchronous",
                          progress=lambda t, r: seen.append(t))
    spread = parallel.run(tasks, options={"verify": OPTIONS}, workers=2)
    assert seen == tasks
    assert [_key(r) for r in spread] == [_key(r) for r in serial]
    assert [r["implementation"] for r in spread] == [t.name for t in tasks]
    assert serial[0]["verdict"] == "fail" and serial[1]["verdict"] == "pass"


HOSTILE = '''
import ctypes, os, time
import numpy as np

def exits(x, axis=-1):
    os._exit(0)

def segfaults(x, axis=-1):
    ctypes.string_at(0)  # reads address 0: SIGSEGV in native code

def hangs(x, axis=-1):
    while True:
        time.sleep(0.05)

def meddles(x, axis=-1):
    np.seterr(all="raise")
    np.set_printoptions(precision=2)
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=axis, keepdims=True)
'''


@pytest.fixture
def hostile(tmp_path):
    f = tmp_path / "hostile.py"
    f.write_text(HOSTILE)
    return f


def test_exit_segfault_and_hang_in_workers_are_verdicts_with_the_input_and_the_rest_still_come_back(hostile):
    specs = [f"{hostile}:{n}" for n in ("exits", "segfaults", "hangs")]
    tasks = _tasks(*[(s, "softmax", "float32") for s in specs], ("softmax.shifted", "softmax", "float32"))
    t0 = time.perf_counter()
    recs = parallel.run(tasks, options={"verify": dict(OPTIONS, timeout=1.0)}, workers=2)
    assert time.perf_counter() - t0 < 60
    reasons = [r["counterexample"]["reason"] for r in recs[:3]]
    assert reasons == ["exited with status 0 during the call (os._exit)", "killed by SIGSEGV during the call",
                       "did not return within 1 s (the worker process was ended and replaced)"]
    for r in recs[:3]:
        assert r["verdict"] == "fail" and not r["meets_expectation"]
        ce = r["counterexample"]
        assert ce["family"] == "standard" and ce["input"]  # the input that was running
        assert "assert_example('softmax'" in ce["reproducer"] and str(hostile) in ce["reproducer"]
    assert recs[3]["verdict"] == "pass" and recs[3]["meets_expectation"]


def test_a_check_that_changes_process_wide_settings_leaves_the_next_check_in_its_worker_unaffected(hostile):
    meddler = _tasks((f"{hostile}:meddles", "softmax", "float32"))
    naive = _tasks(("softmax.naive", "softmax", "float32"))
    options = dict(OPTIONS, families=["standard", "overflow"])
    alone = parallel.run(naive, options={"verify": options}, workers=1)
    # one worker: the same process, in turn
    after = parallel.run(meddler + naive, options={"verify": options}, workers=1)
    assert _key(after[1]) == _key(alone[0]) and after[1]["meets_expectation"]


def test_verify_cli_turns_a_worker_death_into_a_failing_check(hostile, capsys):
    rc = main(["verify", "--function", "softmax", "--impl", f"{hostile}:segfaults", "--impl", "softmax.shifted",
               "--dtype", "float32", "--examples", "2", "--family", "standard"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "killed by SIGSEGV during the call" in out and "input    [" in out
    assert "softmax.shifted                  float32  PASS" in out


def _verify_cmd(out, workers=1):
    return [sys.executable, "-m", "stability", "verify", "--function", "softmax", "--impl", "softmax.shifted",
            "--impl", "softmax.naive", "--impl", "softmax.online", "--examples", "6", "--json", str(out),
            "--workers", str(workers)]


SLOW_WHILE_MARKED = """import os
import time

from stability import registry

_shifted = registry.resolve("softmax.shifted", "softmax").fn


def softmax(x, axis=-1):
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "marker")):
        time.sleep(600)
    return _shifted(x, axis=axis)
"""


def test_a_killed_verify_run_again_with_the_same_output_resumes(tmp_path):
    out = tmp_path / "records.json"
    checks = tmp_path / ".records.json.checks"
    # the last check sleeps while the marker is there: the kill lands mid-run whatever the machine's speed
    (tmp_path / "slow.py").write_text(SLOW_WHILE_MARKED)
    (tmp_path / "marker").write_text("")
    cmd = lambda out, workers=1: _verify_cmd(out, workers) + ["--impl", "slow.py:softmax"]  # noqa: E731
    proc = subprocess.Popen(cmd(out), cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(checks.glob("*.json"))) < 2:
            time.sleep(0.2)
        kept = len(list(checks.glob("*.json")))
        assert kept >= 2, "no check finished in 120 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole run, its workers included: nothing is said or cleaned up
        proc.wait()
    assert not out.exists()
    (tmp_path / "marker").unlink()
    again = subprocess.run(cmd(out, workers=2), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    reused = int(again.stdout.split(" reused from an interrupted run")[0].rsplit("(", 1)[1])
    assert reused >= kept - 1 and reused >= 2  # a record written while the kill came may be half there: not reused
    assert not checks.exists()  # a finished run starts afresh next time
    fresh = subprocess.run(cmd(tmp_path / "fresh.json", workers=2), cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    resumed, whole = json.loads(out.read_text()), json.loads((tmp_path / "fresh.json").read_text())
    assert [_key(r) for r in resumed] == [_key(r) for r in whole]
    assert "reused" not in fresh.stdout


def test_ctrl_c_stops_the_run_and_says_what_was_kept(tmp_path):
    out = tmp_path / "records.json"
    # the last check sleeps for minutes: Ctrl-C after the first one lands mid-run whatever the machine's speed
    # (without it, on a loaded machine the six quick checks could all end between two polls), and stopping
    # "at once" means not waiting for it
    slow = tmp_path / "slow.py"
    slow.write_text("import time\n\ndef softmax(x, axis=-1):\n    time.sleep(600)\n    return x\n")
    # as a terminal's Ctrl-C finds it: with SIGINT at its default, which a shell's background job (how CI may start
    # pytest) ignores, and Python then never raises KeyboardInterrupt (the run ran on to its end); set in a small
    # Python that execs the run in its own process, not in a preexec_fn (a fork of a process running JAX threads)
    default_sigint = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.executable, [sys.executable] + sys.argv[1:])"]
    proc = subprocess.Popen(default_sigint + _verify_cmd(out)[1:] + ["--impl", f"{slow}:softmax"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        checks = tmp_path / ".records.json.checks"
        deadline = time.time() + 120
        while time.time() < deadline and not list(checks.glob("*.json")):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        t0 = time.time()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert time.time() - t0 < 60
    assert proc.returncode == 130
    assert "stability: interrupted; " in err and "finished checks are kept in" in err
    assert "run the same command again to resume" in err and "Traceback" not in err


@pytest.mark.long
def test_a_report_whose_worker_dies_still_writes_every_other_record_and_the_page(tmp_path, capsys):
    f = tmp_path / "crashes_on_long_rows.py"
    f.write_text("import ctypes\nimport numpy as np\n\ndef softmax(x, axis=-1):\n    if x.size > 30:\n"
                 "        ctypes.string_at(0)\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
                 "    return e / e.sum(axis=axis, keepdims=True)\n")
    page = tmp_path / "r.html"
    results = tmp_path / "results"  # its own store: another test's report may be the session store's latest
    rc = main(["report", "--quick", "--function", "softmax", "--impl", f"{f}:softmax", "--out", str(page),
               "--no-bench", "--results", str(results)])
    assert rc == 1 and page.exists()
    from stability import store

    (run,) = store.runs(results)
    recs = run.blob("records")
    mine = [r for r in recs if r["implementation"] == f"{f}:softmax"]
    assert mine and all(r.get("lost") and "killed by SIGSEGV" in r["counterexample"]["reason"] for r in mine)
    assert sum(r["meets_expectation"] for r in recs) == len(recs) - len(mine) > 3
    assert "killed by SIGSEGV during the call" in page.read_text()  # the accuracy sweep says it too


def test_bench_leaves_out_code_that_raises_and_says_so(tmp_path, capsys):
    f = tmp_path / "raises.py"
    f.write_text("def softmax(x, axis=-1):\n    raise ValueError('not today')\n")
    rc = main(["bench", "--function", "softmax", "--impl", f"{f}:softmax", "--shape", "4x8", "--dtype", "float32",
               "--repeats", "1", "--out", str(tmp_path / "b.csv")])
    out = capsys.readouterr().out
    assert rc == 0 and "not timed: " in out and "raised ValueError: not today" in out


@pytest.mark.long
def test_a_killed_report_run_again_with_the_same_page_resumes(tmp_path):
    cmd = [sys.executable, "-m", "stability", "report", "--quick", "--function", "softmax", "--no-bench",
           "--workers", "1", "--out", str(tmp_path / "r.html")]
    checks = tmp_path / ".r.html.checks"
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(checks.glob("*.json"))) < 3:
            time.sleep(0.1)
        assert len(list(checks.glob("*.json"))) >= 3, "no check finished in 120 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert " reused from an interrupted run)" in again.stdout and (tmp_path / "r.html").exists()
    assert not checks.exists()


def test_ctrl_c_before_any_check_finished_says_what_was_kept(monkeypatch, capsys, tmp_path):
    from stability import cli

    def interrupted(args, argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_verify", interrupted)
    assert cli.main(["verify", "--function", "softmax", "--json", str(tmp_path / "r.json")]) == 130
    assert "stability: interrupted; no check had finished: nothing was kept" in capsys.readouterr().err
    assert cli.main(["verify", "--function", "softmax"]) == 130
    assert "nothing was kept (give --json PATH to keep finished checks)" in capsys.readouterr().err


def test_a_local_cluster_does_not_warn_when_another_program_holds_dasks_dashboard_port():
    # regression: with the scheduler's HTTP server on Dask's default port, every run printed "Port 8787 is already
    # in use" whenever anything else (another run, a notebook) held that port
    import socket
    import warnings

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # something else holds it already: the same condition
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            recs = parallel.run(_tasks(("softmax.shifted", "softmax", "float32")), options={"verify": OPTIONS},
                                workers=1)
    finally:
        holder.close()
    assert recs[0]["verdict"] == "pass"
    assert not [str(w.message) for w in caught if "already in use" in str(w.message)]


CRASHES_ON_WIDE = '''
import ctypes
import numpy as np

def softmax(x, axis=-1):
    if np.abs(x).max(initial=0) > 1000:  # the wide family's magnitudes: a crash in native code
        ctypes.string_at(0)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
'''


def test_a_crash_in_one_family_is_that_familys_verdict_and_the_check_goes_on_with_the_others(tmp_path):
    # regression: a check whose worker died ended there, the other families never run, so no crashing peer (MLX's
    # log_softmax on a length-1 axis) could ever be "as declared", whatever its declaration said
    f = tmp_path / "crashes_on_wide.py"
    f.write_text(CRASHES_ON_WIDE)
    options = dict(OPTIONS, families=["standard", "wide", "overflow"])
    (r,) = parallel.run(_tasks((f"{f}:softmax", "softmax", "float32")), options={"verify": options}, workers=1)
    assert r["failed_families"] == ["wide"] and r["counterexample"]["reason"] == "killed by SIGSEGV during the call"
    assert r["families"]["wide"]["failed"] and r["counterexample"]["input"]
    for fam in ("standard", "overflow"):  # checked in a fresh worker, the one before the crash again
        assert r["families"][fam]["examples"] > 0 and not r["families"][fam]["failed"]
    assert not r["meets_expectation"]  # the user's own code: a crash is never expected


def test_a_crash_in_a_family_the_registration_declares_meets_the_declaration():
    from stability.registry import _REGISTRY, register

    register("softmax", "test.crashes_on_wide", "careful but crashes on |x| > 1000", unstable_on=("wide",))(
        lambda x, axis=-1: x)
    try:
        t = parallel.task("verify", resolve("test.crashes_on_wide", "softmax"), "float32")
        crash = parallel.lost(t, {}, RuntimeError(), {"family": "wide", "what": "killed by SIGSEGV during the call"})
        rest = {"implementation": t.name, "function": "softmax", "dtype": "float32", "verdict": "pass", "max_ulp": 0.5,
                "max_ratio": 0.1, "examples": 6, "expectation": "", "meets_expectation": True, "failed_families": [],
                "families": {"standard": {"family": "standard", "examples": 3, "failed": False},
                             "overflow": {"family": "overflow", "examples": 3, "failed": False}}}
        r = parallel._with_crashes(t, [crash], rest)
        assert r["meets_expectation"] and r["failed_families"] == ["wide"] and r["examples"] == 6
        crash2 = dict(crash, failed_families=["overflow"])  # a second death, in a family it does not declare
        assert not parallel._with_crashes(t, [crash, crash2], None)["meets_expectation"]
    finally:
        _REGISTRY.pop("test.crashes_on_wide")


#: the two offload regressions run in a fresh interpreter: this test process may have started JAX's threads, and
#: forking it then is what JAX warns against (and what the suite itself never does: ``parallel.start_method``)
OFFLOAD_PARENT = """
import distributed.utils
distributed.utils._offload_executor.submit(lambda: None).result(timeout=30)  # as after one large result
"""


def _fresh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", OFFLOAD_PARENT + textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=300)


def test_a_forked_child_offloads_on_a_pool_of_its_own():
    # regression: a worker forked after this process had used Dask's one-thread offload pool inherited the pool
    # without its thread, and serializing a result over 10 MiB there waited forever (both workers idle)
    r = _fresh("""
        import asyncio, multiprocessing, os
        import stability.parallel  # registers the fresh pool for forked children
        child = multiprocessing.get_context("fork").Process(target=lambda: os._exit(
            0 if asyncio.run(asyncio.wait_for(distributed.utils.offload(lambda: 7), 20)) == 7 else 1))
        child.start()
        child.join(60)
        print("exit", child.exitcode)
        """)
    assert r.returncode == 0 and "exit 0" in r.stdout, r.stdout + r.stderr[-3000:]


def test_a_result_over_dasks_offload_threshold_comes_back_from_a_forked_worker():
    # the same end to end: a check whose record is ~30 MiB by sizeof (a long row's unshrunk counterexample is of
    # that order) comes back through a local cluster of forked workers
    r = _fresh("""
        from stability import parallel
        assert parallel.start_method() == "fork"
        parallel.FETCH_TIMEOUT = 30  # a stall ends in TimeoutError after the re-runs
        parallel._KINDS["large"] = lambda impl, t, options: {"x": [0.5] * 3_000_000}
        t = parallel.Task("large", "softmax.shifted", "softmax", "float32", "softmax.shifted")
        (res,) = parallel.run([t], options={}, workers=1)
        print("entries", len(res["x"]))
        """)
    assert r.returncode == 0 and "entries 3000000" in r.stdout, r.stdout + r.stderr[-3000:]
