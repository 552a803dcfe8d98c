"""The libraries people use, side by side: each light library's peers (ONNX Runtime, MLX, tinygrad: the ``peers``
extra CI installs) meet their declarations in four formats in worker processes; a declaration is a measurement tied
to a version, so another version shows drift, not a failure, unless ``--strict-peers``; importing and calling the
libraries changes no process-wide state another computation depends on; ``stability atlas`` writes its table and
refuses bad input with exit 2.  TensorFlow's and PaddlePaddle's peers are checked by ``stability atlas`` (heavy
installs: docs/atlas.md has the command and its wall time)."""

import subprocess
import sys

import numpy as np
import pytest

from stability import atlas, libraries, parallel, registry, store
from stability.cli import main
from stability.compare import compare
from stability.registry import register
from stability.verify import verify
from tests.test_peers import _short_of_declaration

LIGHT = ("onnxruntime", "mlx", "tinygrad")  # what CI installs (pyproject's `peers` extra)
# mlx.nn.log_softmax corrupts its process's heap on a length-1 axis (docs/libraries.md) and the crash can come in a
# later call: a worker that ran it, then another MLX check, died in that other check's g_special (bfloat16), so
# it runs on workers of its own
HEAP_CORRUPTERS = ("mlx.log_softmax",)


def _peers(library):
    return [i for i in registry.implementations() if i.origin == "peer" and i.library == library]


@pytest.mark.long
@pytest.mark.parametrize("library", LIGHT)
def test_every_light_library_peer_meets_its_declaration_in_four_formats(library):
    if not libraries.installed(library):
        pytest.skip(f"{library} is an optional peer: pip install -e '.[test,peers]' (CI installs it)")
    impls = _peers(library)
    assert impls, f"{library} is installed but registered no peer"
    assert all(i.measured_on == libraries.version(library) for i in impls), "declared on another version"
    alone = [i for i in impls if i.name in HEAP_CORRUPTERS]
    rest = [i for i in impls if i.name not in HEAP_CORRUPTERS]
    assert _short_of_declaration(rest, examples=3) + (_short_of_declaration(alone, examples=3) if alone else []) == []


def test_what_a_library_lacks_is_said_instead_of_a_verdict():
    assert "no ONNX operator" in atlas.missing("onnxruntime", "log_sigmoid", "float32")
    assert "autodiff" in atlas.missing("onnxruntime", "softmax_vjp", "float32")
    assert "bfloat16" in atlas.missing("onnxruntime", "softmax", "bfloat16")
    assert "float64" in atlas.missing("onnxruntime", "softplus", "float64")
    assert atlas.missing("onnxruntime", "softmax", "float32") == ""
    assert "logit" in atlas.missing("mlx", "logit_vjp", "float32")


class _Task:
    def __init__(self, library):
        self.library = library


def test_tensorflow_and_paddle_checks_never_share_a_worker_process():
    # importing PaddlePaddle into a process that imported TensorFlow kills it: each gets a cluster of its own
    tasks = [_Task(lib) for lib in ("numpy", "tensorflow", "jax", "paddle", "tensorflow", "mlx")]
    groups = parallel._apart(range(len(tasks)), tasks)
    assert sorted(map(sorted, groups)) == [[0, 2, 5], [1, 4], [3]]


def _careless(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture
def drifting():
    """A peer measured stable on numpy 1.0.0 that fails on overflow: on the installed NumPy it drifts."""
    register("softmax", "test.drifting_peer", "exp / sum, declared stable on numpy 1.0.0", origin="peer",
             measured_on="1.0.0")(_careless)
    yield registry.resolve("test.drifting_peer")
    registry._REGISTRY.pop("test.drifting_peer")


def test_another_version_shows_drift_not_a_failure(drifting):
    rec = verify(drifting, "float32", examples=5, families=["standard", "overflow"], shrink=False)
    assert rec.verdict == "fail" and rec.meets_expectation
    assert rec.drift.startswith("differs from the measurement on NumPy 1.0.0: now fails overflow")
    assert rec.version == libraries.version("numpy")


def test_on_its_measured_version_an_undeclared_failure_fails(drifting, monkeypatch):
    monkeypatch.setattr(libraries, "version", lambda name: "1.0.0")
    rec = verify(drifting, "float32", examples=5, families=["overflow"], shrink=False)
    assert not rec.meets_expectation and rec.drift == ""


def test_strict_peers_makes_drift_fail_the_run_and_compare_shows_it(drifting, tmp_path, capsys, monkeypatch):
    args = ["verify", "--function", "softmax", "--impl", "test.drifting_peer", "--dtype", "float32", "--examples",
            "5", "--family", "overflow", "--scheduler", "synchronous", "--results", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "DRIFT: differs from the measurement on NumPy 1.0.0" in out and "1 peer drifted" in out
    assert main(args + ["--strict-peers"]) == 1
    monkeypatch.setattr(libraries, "version", lambda name: "1.0.0")  # the measured version again: no drift
    assert main(args) == 1
    runs = store.runs(tmp_path)
    c = compare(runs[1], runs[2])
    drift = [x for x in c.changes if x.kind == "drift"]
    assert len(drift) == 1 and "now fails overflow" in drift[0].before and drift[0].after.startswith("as measured")


ISOLATION = """
import os, sys, numpy as np
from stability import libraries, registry
from stability.call import run_call

def state():
    x = np.array([1e-39, -3e-40, 2.5], np.float32)
    return ((x * np.float32(1.0)).tobytes(), np.exp(np.float32(-88.0)).tobytes(), np.geterr(),
            sys.getrecursionlimit(), os.environ.get("DEV"))

before = state()
names = {"onnxruntime": "ort", "mlx": "mlx", "tinygrad": "tinygrad"}
called = []
for lib, prefix in names.items():
    if not libraries.installed(lib):
        continue
    for fn, args, kw in (("softmax", (np.array([1.0, 2.0, 3.0], np.float32),), {"axis": 0}),
                         ("sigmoid", (np.array([-90.0, 0.5], np.float32),), {})):
        out = run_call(registry.resolve(f"{prefix}.{fn}"), args, kw)
        assert out.reason == "" or out.ok is not None, out.reason
        called.append(f"{prefix}.{fn}")
    if lib == "mlx":
        import mlx.core as mx
        assert str(mx.default_device()) == "Device(cpu, 0)", mx.default_device()
after = state()
assert before == after, (before, after)
print("unchanged after", ", ".join(called))
"""


def test_importing_and_calling_the_libraries_changes_nothing_another_computes():
    # flush-to-zero, NumPy's error state, the recursion limit, tinygrad's DEV: all as they were, in a fresh process
    out = subprocess.run([sys.executable, "-c", ISOLATION], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "unchanged after" in out.stdout, out.stderr[-3000:]
    if any(libraries.installed(lib) for lib in LIGHT):
        assert "ort.softmax" in out.stdout or "mlx.softmax" in out.stdout or "tinygrad.softmax" in out.stdout


def test_atlas_refuses_bad_input_with_the_fix(tmp_path, capsys):
    assert main(["atlas", "--library", "tensorflw", "--results", str(tmp_path)]) == 2
    assert "did you mean 'tensorflow'" in capsys.readouterr().err
    assert main(["atlas", "--examples", "0", "--results", str(tmp_path)]) == 2
    assert main(["atlas", "--out", str(tmp_path), "--results", str(tmp_path)]) == 2  # a folder
    assert list(tmp_path.iterdir()) == []  # nothing run, nothing stored


@pytest.mark.skipif(not libraries.installed("onnxruntime"), reason="ONNX Runtime is in the peers extra (CI has it)")
def test_atlas_writes_its_table_and_draws_it_again_from_the_stored_run(tmp_path, capsys):
    page = tmp_path / "atlas.md"
    rc = main(["atlas", "--library", "onnxruntime", "--examples", "2", "--seed", "1", "--out", str(page),
               "--results", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    text = page.read_text()
    assert "| function | ONNX Runtime |" in text and "## float16" in text and "## bfloat16" in text
    assert "no ONNX operator" in text and "no bfloat16 kernel" in text
    assert "### `ort." in text and "assert_example(" in text  # a defect, with its reproducer
    from reports import atlas as draw

    run = store.runs(tmp_path / "results")[-1]
    assert run.kind == "atlas"
    assert draw.markdown(run.blob("records"), command=run.meta["command"], created=run.meta["created"],
                         lacks=run.blob("lacks")) == text


REDUCED = """
import numpy as np
from stability import libraries
from stability.arraylib import precision_scope, to_library, to_numpy

for lib in ("mlx", "tinygrad", "paddle", "tensorflow"):
    if not libraries.installed(lib):
        continue
    for dtype in ("float32", "float64"):
        a = np.asarray(np.float32(1.5)).astype(dtype)
        with precision_scope(lib, a.dtype):
            back = to_numpy(to_library(a, lib))
        assert back.shape == () and back.dtype == a.dtype and back == a, (lib, dtype, back)
    print("0-d kept by", lib)
"""


def test_a_reduced_cotangent_stays_0_d_and_float64_stays_float64_in_each_library():
    # regressions: np.ascontiguousarray made a 0-d cotangent (1,), which MLX's vjp and tinygrad's backward refuse
    # (every max and logsumexp gradient failed); mx.array of float64 data is float32 unless the dtype is named
    out = subprocess.run([sys.executable, "-c", REDUCED], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    if any(libraries.installed(lib) for lib in ("mlx", "tinygrad")):
        assert "0-d kept by" in out.stdout


def test_a_public_report_is_linked_only_for_the_family_it_reports():
    assert "tinygrad/issues/862" in atlas.known_issue("tinygrad.max", ["tiny", "nan@float16"])[0]
    assert atlas.known_issue("tinygrad.max", ["tiny"]) == ()
    assert atlas.known_issue("ort.softmax", ["nan"]) == ()


LAZY = ("mlx", "tinygrad")


@pytest.mark.parametrize("library", LAZY)
def test_a_lazy_librarys_gradient_is_taken_before_its_result_is_forced(library):
    # regression: tinygrad's forward realized its output inside the function it differentiated, which leaves no
    # graph: every gradient came back as zeros (max's at [1, 3, 2] was [0, 0, 0]), and the atlas blamed tinygrad
    if not libraries.installed(library):
        pytest.skip(f"{library} is an optional peer: pip install -e '.[test,peers]' (CI installs it)")
    from stability.call import run_call

    x = np.array([1.0, 3.0, 2.0], np.float32)
    got = run_call(registry.resolve(f"{library}.max_vjp"), (x, np.float32(2.0)), {"axis": 0})
    assert got.ok and np.array_equal(got._parts[1], [0.0, 2.0, 0.0]), (got.reason, got._parts[1:2])
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    g = np.array([1.0, 0.0, 0.0], np.float32)
    got = run_call(registry.resolve(f"{library}.softmax_vjp"), (x, g), {"axis": 0})
    assert got.ok, got.reason
    np.testing.assert_allclose(got._parts[1], s * (g - (g * s).sum()), rtol=1e-5)


def test_a_resumed_run_checks_a_peer_again_once_its_declaring_module_changes():
    # a peer is a Lazy callable, whose source file inspect cannot read: the journal keyed it by "-", so a run
    # resumed after an edit of its declaration reused records judged against the old one
    import hashlib
    from pathlib import Path

    import implementations.peers as peers
    from stability.journal import source_digest

    for impl in registry.implementations():
        if impl.origin == "peer":
            module = sys.modules[impl.fn.__module__]
            assert source_digest(impl) == hashlib.sha1(Path(module.__file__).read_bytes()).hexdigest(), impl.name
    assert any(i.fn.__module__ == peers.__name__ for i in registry.implementations() if i.origin == "peer")


def _record(dtype, failed, family="nan", x=(1.0, float("nan"))):
    ce = {"family": family, "reason": "a finite result where the answer is NaN", "input": list(x),
          "expected": ["nan"], "got": [1.0], "reproducer": f"assert_example('max', 'ort.max', x)  # {dtype}",
          "shrunk": True}
    return {"implementation": "ort.max", "function": "max", "library": "onnxruntime", "dtype": dtype,
            "verdict": "fail" if failed else "pass", "max_ratio": float("inf") if failed else 0.0,
            "failed_families": failed, "meets_expectation": True, "counterexample": ce if failed else None}


def test_the_atlas_lists_each_failing_peer_once_with_every_format_it_fails_in_and_its_public_report():
    from reports import atlas as draw

    recs = [_record("float16", ["nan"], x=(2.0, float("nan"))), _record("float32", ["nan", "tiny"]),
            _record("float64", [])]
    (d,) = draw.defects(recs)
    assert d["formats"] == [("float16", ["nan"]), ("float32", ["nan", "tiny"])]
    assert d["dtype"] == "float32" and str(d["input"]) == "[1.0, nan]"  # float32's counterexample, not float16's
    assert [url for url, _ in d["issues"]] == ["https://github.com/microsoft/onnxruntime/issues/10514"]
    text = draw.markdown(recs)
    assert text.count("### `ort.max`") == 1 and "float16 (nan); float32 (nan, tiny)" in text
    assert "onnxruntime/issues/10514" in text and "# float32" in text  # float32's reproducer is the one shown


def test_a_public_report_for_one_format_is_linked_only_from_that_format(monkeypatch):
    monkeypatch.setitem(atlas.KNOWN_ISSUES, ("mlx.sigmoid", "standard@float64"), ("u", "float64 exp"))
    assert atlas.known_issue("mlx.sigmoid", ["standard"], "float64") == ("u", "float64 exp")
    assert atlas.known_issue("mlx.sigmoid", ["standard"], "float16") == ()
    assert atlas.known_issue("mlx.sigmoid", ["standard@float64"]) == ("u", "float64 exp")


def test_the_default_report_leaves_the_atlas_libraries_to_the_atlas():
    # with every extra installed the report would verify, curve and time hundreds of peers (hours on two cores):
    # it measures SciPy's, PyTorch's and JAX's, and shows the others from the latest stored atlas run
    from stability.measure import ReportOptions, report_implementations

    impls = report_implementations(ReportOptions(functions=("softmax",)))["softmax"]
    libs = {i.library for i in impls if i.origin == "peer"}
    assert "scipy" in libs and not libs & {"tensorflow", "onnxruntime", "mlx", "paddle", "tinygrad"}
    assert {"tensorflow", "onnxruntime", "mlx", "paddle", "tinygrad"}.isdisjoint(libraries.IN_REPORT)


def test_the_reports_libraries_section_shows_the_latest_stored_atlas_run(tmp_path):
    from reports.build import _atlas
    from stability.measure import _latest_atlas

    assert _latest_atlas(tmp_path) is None
    run = store.save("atlas", "onnxruntime", root=tmp_path, blobs={"records": [_record("float32", ["nan"])]})
    assert _latest_atlas(tmp_path) == str(run.path)
    scipy_rec = dict(_record("float32", []), implementation="scipy.softmax", function="softmax", library="scipy",
                     origin="peer")
    g = _atlas([scipy_rec], _latest_atlas(tmp_path))
    assert [name for name, _, _ in g["libraries"]] == ["scipy", "onnxruntime"]
    assert [d["implementation"] for d in g["defects"]] == ["ort.max"]  # reported publicly: linked
    assert _atlas([scipy_rec], str(tmp_path / "gone"))["libraries"][0][0] == "scipy"  # a run since removed
