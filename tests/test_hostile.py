"""Code under test that exits, hangs, returns garbage or changes process-wide state ends as a verdict about that
code (issue 15), never as a traceback, a hang or a green run."""

import sys

import numpy as np
import pytest

from stability.cli import main
from stability.registry import user_implementation
from stability.verify import run_call

X = (np.array([1.0, 2.0, 3.0], dtype=np.float32),)


def _shifted(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _run(fn, **kw):
    return run_call(user_implementation(fn.__name__, "softmax", fn), X, {"axis": 0}, **kw)


def test_an_exit_is_a_failure_not_a_green_run(tmp_path, capsys):
    def leaves(x, axis=-1):
        raise SystemExit(0)

    out = _run(leaves)
    assert not out.ok and out.reason == "exited with status 0 during the call (SystemExit)"
    f = tmp_path / "leaves.py"
    f.write_text("def softmax(x, axis=-1):\n    raise SystemExit(0)\n")
    rc = main(["verify", "--function", "softmax", "--impl", f"{f}:softmax", "--dtype", "float32",
               "--family", "standard", "--examples", "3"])
    assert rc == 1 and "exited with status 0" in capsys.readouterr().out


@pytest.mark.parametrize("make", [lambda x: np.array([object()] * x.size, dtype=object),
                                  lambda x: np.full(x.shape, "a"), lambda x: x.astype(np.complex64)],
                         ids=["objects", "strings", "complex"])
def test_an_array_that_is_not_real_floating_is_a_failure(make):
    def garbage(x, axis=-1):
        return make(x)

    out = _run(garbage)
    assert not out.ok and "not a real floating array" in out.reason
    assert out.details["expected"]  # the reproducer's details build without a traceback


def test_a_call_that_never_returns_is_stopped():
    def hangs(x, axis=-1):
        while True:
            pass

    out = _run(hangs, timeout=0.2)
    assert not out.ok and out.reason == "did not return within 0.2 s"
    assert _run(_shifted, timeout=0.2).ok  # the alarm is gone


def test_process_wide_settings_are_put_back_after_each_call():
    def meddles(x, axis=-1):
        np.seterr(all="raise")
        np.set_printoptions(precision=2)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        return _shifted(x, axis)

    before, opts = np.geterr(), np.get_printoptions()
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    assert _run(meddles).ok
    assert np.geterr() == before and np.get_printoptions() == opts
    if torch is not None:
        assert torch.get_num_threads() == threads


def test_keyboard_interrupt_still_stops_the_run():
    def interrupted(x, axis=-1):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(interrupted)
