"""The suite as users meet it from outside: the pytest plugin in a project of their own, and another package's
implementations registered by entry point."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

CARELESS = """
    @pytest.mark.stability("softmax", dtypes=["float32"])
    def careless_softmax(x, axis=-1):
        e = np.exp(x)
        return e / e.sum(axis=axis, keepdims=True)
"""
CAREFUL = """
    @pytest.mark.stability("softmax", dtypes=["float32", "float64"])
    def careful_softmax(x, axis=-1):
        m = np.max(x, axis=axis, keepdims=True)
        e = np.exp(x - np.where(np.isfinite(m), m, 0))
        return e / e.sum(axis=axis, keepdims=True)


    def test_the_fixture_checks_inside_a_test(stability):
        records = stability.check(careful_softmax, "softmax", dtypes=["float32"])
        assert records[0]["verdict"] == "pass"
"""


def _project(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "users-project"\nversion = "0"\n\n'
                                             '[tool.pytest.ini_options]\naddopts = "--strict-markers"\n')
    (tmp_path / "test_mine.py").write_text("import numpy as np\nimport pytest\n" + textwrap.dedent(body))


def _pytest(cwd, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_users_project_fails_a_careless_softmax_with_its_counterexample_and_passes_a_careful_one(tmp_path):
    # the plugin is found by its pytest11 entry point: nothing in the project names it
    _project(tmp_path, CARELESS + CAREFUL)
    r = _pytest(tmp_path, "--stability-examples", "5", "--stability-json", "records.json")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "FAILED test_mine.py::careless_softmax[float32]" in out
    assert "careless_softmax is not numerically stable for softmax in float32" in out
    assert "counterexample: {" in out and '"expected": ' in out and "reproducer:" in out
    assert "assert_example('softmax', 'test_mine:careless_softmax'" in out
    assert "stability: 4 checks of 2 implementations: 3 passed, 1 failed (careless_softmax float32:" in out
    assert "1 failed, 3 passed" in out
    records = json.loads((tmp_path / "records.json").read_text())
    assert sorted((r["implementation"], r["dtype"], r["verdict"]) for r in records) == [
        ("careful_softmax", "float32", "pass"), ("careful_softmax", "float32", "pass"),
        ("careful_softmax", "float64", "pass"), ("careless_softmax", "float32", "fail")]
    assert all(r["examples"] > 0 for r in records)


def test_the_careful_project_alone_passes_and_a_misspelt_function_is_a_collection_error_with_the_fix(tmp_path):
    _project(tmp_path, CAREFUL)
    r = _pytest(tmp_path, "--stability-examples", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stability: 3 checks of 1 implementation: 3 passed, 0 failed" in r.stdout
    _project(tmp_path, '@pytest.mark.stability("sofmax")\ndef f(x, axis=-1):\n    return x\n')
    r = _pytest(tmp_path)
    assert r.returncode == 2 and "did you mean 'softmax'" in r.stdout and "Traceback" not in r.stdout


def _install(pkg, target):
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation, "--target", str(target),
                    str(pkg)], check=True, capture_output=True, text=True, timeout=300)


def _package(root, name: str, module: str, body: str):
    pkg = root / name
    (pkg / module).mkdir(parents=True)
    (pkg / module / "__init__.py").write_text("")
    (pkg / module / "registrations.py").write_text(textwrap.dedent(body))
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n\n'
        f'[project.entry-points."stability.implementations"]\n{module} = "{module}.registrations"\n')
    return pkg


def test_a_package_outside_the_suite_registers_by_entry_point_and_a_broken_one_is_left_out_with_the_reason(
        tmp_path):
    site = tmp_path / "site"
    _install(_package(tmp_path, "thirdparty-softmax", "thirdparty_softmax", """
        import numpy as np
        from stability.registry import register


        @register("softmax", "thirdparty.softmax", "a third party's max-shifted softmax")
        def softmax(x, axis=-1):
            m = np.max(x, axis=axis, keepdims=True)
            e = np.exp(x - np.where(np.isfinite(m), m, 0))
            return e / e.sum(axis=axis, keepdims=True)
        """), site)
    _install(_package(tmp_path, "broken-plugin", "broken_plugin", """
        from stability.registry import register


        @register("softmax", "broken.softmax", "registered before its module fails")
        def softmax(x, axis=-1):
            return x

        raise RuntimeError("this plugin is broken")
        """), site)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "stability", "list", "--function", "softmax"], env=env,
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("thirdparty.softmax")]
    assert "[entry point thirdparty_softmax = thirdparty_softmax.registrations (thirdparty-softmax 1.0)]" in line
    assert "softmax.shifted" in r.stdout and "broken.softmax" not in r.stdout  # all of a broken package or none
    assert "broken_plugin.registrations (broken-plugin 1.0) of stability.implementations could not be loaded" in \
        r.stderr and "RuntimeError: this plugin is broken" in r.stderr and "Traceback" not in r.stderr
    # its implementation is verified like the suite's own, in worker processes that find it the same way
    r = subprocess.run([sys.executable, "-m", "stability", "verify", "--function", "softmax", "--impl",
                        "thirdparty.softmax", "--dtype", "float32", "--examples", "3", "--workers", "1",
                        "--results", str(tmp_path / "results")], env=env, capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "thirdparty.softmax" in r.stdout and "PASS" in r.stdout


def test_the_suites_own_implementations_come_through_the_same_entry_point_group():
    from importlib.metadata import entry_points

    from stability import registry

    own = [ep for ep in entry_points(group=registry.ENTRY_POINT_GROUP) if ep.value == registry.BUILTIN_MODULE]
    assert [ep.name for ep in own] == ["softmax-stability"], "pip install -e . registers it (pyproject.toml)"
    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "stability"] == [
        "stability.pytest_plugin"]
