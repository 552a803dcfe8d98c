"""JAX's persistent compilation cache in the suite's own processes (``stability.jitcache``): where it goes, that the
user's own settings win, that it can be turned off, and that a run with a warm cache judges exactly as a cold one."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stability import jitcache

VARS = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_COMPILATION_CACHE_MAX_SIZE",
        jitcache.ENV)
HAVE_JAX = importlib.util.find_spec("jax") is not None


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for v in VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_cache_goes_to_build_and_keeps_every_program(clean_env):
    where = jitcache.enable()
    assert where == str(clean_env / "build" / ".jax-cache") == os.environ["JAX_COMPILATION_CACHE_DIR"]
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert "JAX_COMPILATION_CACHE_MAX_SIZE" not in os.environ  # unbounded: JAX's bound rescans the folder per write


def test_the_users_own_cache_and_settings_win(clean_env, monkeypatch):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/else")
    assert jitcache.enable() is None and os.environ["JAX_COMPILATION_CACHE_DIR"] == "/somewhere/else"
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR")
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "2")
    jitcache.enable()
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "2"


def test_the_cache_can_be_left_off(clean_env, monkeypatch):
    monkeypatch.setenv(jitcache.ENV, "0")
    assert jitcache.enable() is None and "JAX_COMPILATION_CACHE_DIR" not in os.environ


@pytest.mark.skipif(not HAVE_JAX, reason="JAX is not installed (pip install -e '.[peers]')")
def test_a_warm_cache_judges_as_a_cold_one(clean_env):
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])  # the checkout under test, from any folder

    def run(name):
        cmd = [sys.executable, "-m", "stability", "verify", "--function", "softmax", "--impl", "jax.softmax",
               "--dtype", "float32", "--examples", "3", "--json", name]
        subprocess.run(cmd, cwd=clean_env, env=env, check=True, capture_output=True, timeout=600)
        recs = json.loads((clean_env / name).read_text())
        for r in recs:
            r.pop("seconds"), r.pop("cpu_seconds")
        return recs

    cold = run("cold.json")
    entries = list((clean_env / "build" / ".jax-cache").glob("*-cache"))
    assert entries, "the first run kept no compiled program"
    assert run("warm.json") == cold
