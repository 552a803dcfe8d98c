"""Test configuration: Hypothesis profiles are registered and loaded here explicitly.

Hypothesis auto-loads its own ``ci`` profile when a CI variable is set (CI runs here with ``CI=true``), so the
suite always loads one of its own: ``HYPOTHESIS_PROFILE`` if given, else ``ci`` under CI, else ``dev``.
"""

import os

import pytest

from stability import profiles

profiles.load(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# every run the CLI makes during the tests is kept in a results store of the test session's own, never in the
# checkout's results/ (subprocesses inherit it)
if not os.environ.get("STABILITY_RESULTS"):
    import tempfile

    os.environ["STABILITY_RESULTS"] = tempfile.mkdtemp(prefix="stability-test-results-")

# JAX's compiled programs are shared by the session's processes (the xdist workers inherit the variables set here,
# in the controller), in a cache of the session's own: every run of the tests starts without one, as CI's does
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    import tempfile

    from stability import jitcache

    jitcache.enable(tempfile.mkdtemp(prefix="stability-test-jax-cache-"))


def pytest_collection_modifyitems(config, items):
    """The tests marked ``long`` first (in their order), the rest after: pytest-xdist hands tests out in this
    order, so the minutes-long ones start while there is still other work for the second worker."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


class _Asleep:
    """A thread pool whose workers have not woken yet: the jobs wait until ``wake``."""

    def __init__(self):
        self.jobs = []

    def submit(self, fn, *args):
        self.jobs.append((fn, args))

    def wake(self):
        for fn, args in self.jobs:
            fn(*args)


@pytest.fixture()
def asleep_pool(monkeypatch):
    """The fast path's thread pool replaced by one whose workers have not woken (a VM's idle vCPU): each job runs
    only at ``pool.wake()``."""
    from implementations import fast_cpu

    pool = _Asleep()
    monkeypatch.setattr(fast_cpu, "_pool", lambda: pool)
    return pool
