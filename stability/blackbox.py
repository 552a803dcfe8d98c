"""The flight recorder of a worker process: what the code under test was doing when its process died.

A check runs in a worker process (``stability.parallel``) so that whatever the code under test does -- ``os._exit``,
a segfault in a C extension, a call that never returns -- ends that process, not the run.  The parent then needs
to say *what happened* and *on which input*.  While :func:`recording` is active, every call of the code under test
(``stability.verify.run_call``) first writes its input to a small file in a folder the parent chose; and

* ``os._exit(status)`` is wrapped to note the status in that file before the process ends;
* :mod:`faulthandler` writes a fatal signal's name (SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGILL) beside it;
* a watchdog thread ends the process (SIGKILL) when a call runs past its time limit, after noting the limit: a
  call in a worker thread cannot be interrupted, only its process ended (the worker is then replaced).

:func:`read` gives the parent the last call, its family and what happened.  Outside :func:`recording` (checks in
the suite's own process) the hooks cost one global lookup per call.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

_STATE: dict | None = None  # set while recording: {"path", "task", "family", "started", "limit", ...}
_LOCK = threading.Lock()
_REAL_EXIT = os._exit


def _write(state: dict, **extra) -> None:
    data = {k: state.get(k) for k in ("task", "family", "args", "kwargs", "limit")}
    data.update(pid=os.getpid(), **extra)
    tmp = f"{state['path']}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, state["path"])


def note_family(family: str) -> None:
    """The input family being fuzzed (the parent reports it with a lost check)."""
    if _STATE is not None:
        _STATE["family"] = family


@contextmanager
def calling(args, kwargs, limit: float):
    """Around one call of the code under test: its input is on disk before the call starts."""
    state = _STATE
    if state is None:
        yield
        return
    with _LOCK:
        state.update(args=args, kwargs=dict(kwargs), limit=limit)
        _write(state)
        state["started"] = time.monotonic()
    try:
        yield
    finally:
        state["started"] = None


def _exit_hook(status=0):
    if _STATE is not None:
        try:
            _write(_STATE, exited=int(status))
        except Exception:  # the process ends whatever happens here
            pass
    _REAL_EXIT(status)


def _watchdog(state: dict) -> None:
    while state.get("active"):
        started, limit = state.get("started"), state.get("limit")
        if started is not None and limit and time.monotonic() - started > limit:
            with _LOCK:
                if state.get("started") == started:
                    _write(state, timed_out=limit)
                    os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05 if limit and limit < 2 else 0.25)


@contextmanager
def recording(folder, task: int):
    """Record the calls of this process's check number ``task`` into ``folder`` (see the module docstring)."""
    global _STATE
    folder = Path(folder)
    state = {"path": str(folder / f"{task}.pkl"), "task": task, "family": None, "started": None, "active": True}
    fault = open(folder / f"{task}.fault", "w")
    faulthandler.enable(file=fault, all_threads=False)
    os._exit = _exit_hook
    _STATE = state
    dog = threading.Thread(target=_watchdog, args=(state,), daemon=True, name="stability-watchdog")
    dog.start()
    try:
        yield
    finally:
        state["active"] = False
        _STATE = None
        os._exit = _REAL_EXIT
        faulthandler.disable()
        fault.close()


_FAULTS = {"Segmentation fault": "SIGSEGV", "Bus error": "SIGBUS", "Floating-point exception": "SIGFPE",
           "Floating point exception": "SIGFPE", "Aborted": "SIGABRT", "Illegal instruction": "SIGILL"}


def read(folder, task: int) -> dict | None:
    """What check ``task`` was doing when its process died: ``{"family", "args", "kwargs", "pid", "what"}``, with
    ``what`` a sentence ("killed by SIGSEGV during the call"), or None when it left no record (it died before its
    first call, or on another machine)."""
    folder = Path(folder)
    try:
        with open(folder / f"{task}.pkl", "rb") as fh:
            data = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    what = None
    if data.get("timed_out"):
        what = f"did not return within {data['timed_out']:g} s (the worker process was ended and replaced)"
    elif data.get("exited") is not None:
        what = f"exited with status {data['exited']} during the call (os._exit)"
    else:
        try:
            text = (folder / f"{task}.fault").read_text(errors="replace")
        except OSError:
            text = ""
        for key, name in _FAULTS.items():
            if key in text:
                what = f"killed by {name} during the call"
                break
    data["what"] = what
    return data
