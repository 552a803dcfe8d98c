"""The pytest plugin: check your own softmax-family code in the test suite you already run.

It is loaded wherever softmax-stability is installed (entry point ``pytest11``; ``-p no:stability`` turns it
off).  Mark the implementation itself, and pytest collects it as one test per format::

    import numpy as np
    import pytest

    @pytest.mark.stability("softmax", dtypes=["float32", "bfloat16:float32"])
    def my_softmax(x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

(collected as ``my_softmax[float32]`` and ``my_softmax[bfloat16:float32]``), or call the ``stability`` fixture
inside a test of your own::

    def test_my_softmax(stability):
        stability.check(my_softmax, "softmax", dtypes=["float32"])

The marker takes the function the code computes (``stability list`` names them), ``dtypes`` (formats or
signatures, default float32 and float64), and ``examples`` and ``seed`` for this implementation alone.  A
failing check shows the shrunk counterexample (family, input, the correctly rounded answer, what the code
returned, ULPs, condition number) and a reproducer to paste into a test; the run ends with one summary line.

Options: ``--stability-examples N`` (Hypothesis examples per input family and format; default 25),
``--stability-seed S`` (default 0), ``--stability-json PATH`` (every check's record, written atomically when the
run ends).  It runs under pytest-xdist too: the summary and the records are gathered on the controller.
"""

from __future__ import annotations

import json

import pytest

MARK = "stability"
#: the user property through which a check's record travels to the controller (pytest-xdist)
PROPERTY = "stability_record"
DEFAULT_DTYPES = ("float32", "float64")


def pytest_addoption(parser):
    group = parser.getgroup("stability", "softmax-stability: numerical stability of marked implementations")
    group.addoption("--stability-examples", type=int, default=None, metavar="N",
                    help="Hypothesis examples per input family and format (default 25)")
    group.addoption("--stability-seed", type=int, default=0, metavar="SEED",
                    help="the seed of the examples drawn (default 0)")
    group.addoption("--stability-json", default=None, metavar="PATH",
                    help="write every stability check's record to PATH (JSON, atomically) when the run ends")


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARK}(function, *, dtypes=('float32', 'float64'), examples=None, "
                            "seed=None): check the marked implementation of FUNCTION against the correctly "
                            "rounded reference, one test per format (softmax-stability)")
    n = config.getoption("stability_examples")
    if n is not None and n < 1:
        raise pytest.UsageError("--stability-examples must be at least 1")
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) gathers the records
        config.pluginmanager.register(_Records(config), "stability-records")


class StabilityFailure(AssertionError):
    """A marked implementation failed its check; the text carries the counterexample and the reproducer."""


def _settings(config, mark_kwargs: dict) -> tuple[int, int]:
    from .verify import DEFAULT_EXAMPLES

    examples = mark_kwargs.get("examples") or config.getoption("stability_examples") or DEFAULT_EXAMPLES
    seed = mark_kwargs.get("seed")
    return int(examples), int(config.getoption("stability_seed") if seed is None else seed)


def _check(fn, function: str, dtype: str, examples: int, seed: int):
    from .testing import check

    return check(fn, function, dtype, examples=examples, seed=seed)


class StabilityItem(pytest.Item):
    """One marked implementation in one format."""

    def __init__(self, *, fn, function: str, dtype: str, mark_kwargs: dict, **kwargs):
        super().__init__(**kwargs)
        self.fn, self.function, self.dtype, self.mark_kwargs = fn, function, dtype, mark_kwargs
        self.add_marker(MARK)

    def runtest(self):
        examples, seed = _settings(self.config, self.mark_kwargs)
        rec, failure = _check(self.fn, self.function, self.dtype, examples, seed)
        self.user_properties.append((PROPERTY, json.dumps(rec, default=str)))
        if failure is not None:
            raise StabilityFailure(failure)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, StabilityFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        code = getattr(self.fn, "__code__", None)
        return self.path, (code.co_firstlineno - 1 if code else None), f"stability {self.function} {self.dtype}: {self.name}"


def _mark_of(obj):
    marks = [m for m in getattr(obj, "pytestmark", []) if getattr(m, "name", None) == MARK]
    return marks[-1] if marks else None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """A marked callable that is not a test function is an implementation: one item per format."""
    mark = _mark_of(obj)
    if mark is None or not callable(obj) or collector.funcnamefilter(name) or isinstance(obj, type):
        return None
    from .errors import UsageError
    from .formats import signature
    from .functions import get

    if not mark.args:
        raise collector.CollectError(f"@pytest.mark.stability on {name} needs the function it computes: "
                                     "@pytest.mark.stability('softmax') (`stability list` names them)")
    function = str(mark.args[0])
    unknown = set(mark.kwargs) - {"dtypes", "examples", "seed"}
    if unknown:
        raise collector.CollectError(f"@pytest.mark.stability on {name}: unknown option(s) {sorted(unknown)}: "
                                     "use dtypes=, examples= or seed=")
    dtypes = mark.kwargs.get("dtypes", DEFAULT_DTYPES)
    dtypes = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    try:
        get(function)
        dtypes = [signature(d, function).name for d in dtypes]
    except UsageError as exc:
        raise collector.CollectError(f"@pytest.mark.stability on {name}: {exc}") from None
    kwargs = {k: v for k, v in mark.kwargs.items() if k in ("examples", "seed")}
    return [StabilityItem.from_parent(collector, name=f"{name}[{d}]", fn=obj, function=function, dtype=d,
                                      mark_kwargs=kwargs) for d in dtypes]


def pytest_runtest_setup(item):
    if not isinstance(item, StabilityItem) and item.get_closest_marker(MARK) is not None:
        pytest.fail(f"@pytest.mark.stability marks an implementation, not a test ({item.name}): put it on the "
                    "function under test, or call the `stability` fixture inside the test", pytrace=False)


class Checker:
    """The ``stability`` fixture: :meth:`check` an implementation inside a test."""

    def __init__(self, request):
        self._request = request

    def check(self, fn, function: str, *, dtypes=DEFAULT_DTYPES, examples: int | None = None,
              seed: int | None = None) -> list[dict]:
        """Verify ``fn`` (a callable or a SPEC) as an implementation of ``function`` in each of ``dtypes``; the
        records, or AssertionError with the counterexample and reproducer of the first format that fails."""
        config = self._request.config
        n, s = _settings(config, {"examples": examples, "seed": seed})
        records = []
        for d in [dtypes] if isinstance(dtypes, str) else dtypes:
            rec, failure = _check(fn, function, d, n, s)
            self._request.node.user_properties.append((PROPERTY, json.dumps(rec, default=str)))
            records.append(rec)
            if failure is not None:
                raise AssertionError(failure)
        return records


@pytest.fixture
def stability(request) -> Checker:
    """Check an implementation inside a test: ``stability.check(fn, "softmax", dtypes=["float32"])``."""
    return Checker(request)


class _Records:
    """Gathers every check's record from the test reports (on the controller under pytest-xdist), prints the
    summary line and writes ``--stability-json``."""

    def __init__(self, config):
        self.config = config
        self.records: list[dict] = []

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            self.records += [json.loads(v) for k, v in report.user_properties if k == PROPERTY]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.records:
            return
        failed = [r for r in self.records if r.get("verdict") == "fail"]
        impls = {r.get("implementation") for r in self.records}
        n = len(self.records)
        line = (f"stability: {n} check{'s' * (n != 1)} of {len(impls)} implementation{'s' * (len(impls) != 1)}: "
                f"{n - len(failed)} passed, {len(failed)} failed")
        if failed:
            line += " (" + "; ".join(f"{r['implementation']} {r['dtype']}: "
                                     f"{', '.join(r.get('failed_families') or [])}" for r in failed) + ")"
        terminalreporter.write_sep("-", line, red=bool(failed), green=not failed)
        path = self.config.getoption("stability_json")
        if path:
            from .io import atomic_write_text

            atomic_write_text(path, json.dumps(self.records, indent=1, default=str))
            terminalreporter.write_line(f"stability records written to {path}")
