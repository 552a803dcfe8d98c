"""The documentation as a user meets it: the site builds with warnings as errors, every command it shows parses and
runs (the long ones at a test's scale), every Python and TOML block runs or parses, and the first examples print
what the pages quote.

docs/atlas.md is left out of the block checks: it is a generated table whose code blocks are counterexamples and
reproducers from a stored run (they fail by design), drawn again by `stability atlas`."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "atlas.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
#: a quoted output's lines that differ from run to run: the time a run took, where it was stored
VARIABLE = [(re.compile(r"^(\d+ checks? in )[\d.]+( s: .*)$"), r"\1{time}\2"),
            (re.compile(r"^stored as results/\S+$"), "stored as results/{run}")]


def _blocks():
    for page in PAGES:
        text = page.read_text()
        for m in FENCE.finditer(text):
            line = text[: m.start()].count("\n") + 1
            yield page.relative_to(ROOT), line, m.group(1), m.group(2)


def _commands(body: str):
    """The `stability` command lines of a shell block, each as an argv after `-m stability` (continuation lines
    joined, heredoc bodies left out, `&&`/`;` split)."""
    text = re.sub(r"<<'(\w+)'\n.*?^\1$", "", body, flags=re.S | re.M).replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("  #")[0]
        for part in re.split(r"&&|;|\|", line):
            if "-m stability" not in part:
                continue
            words, skip = [], False
            for w in shlex.split(part, comments=True):  # redirections are the shell's, not the command's
                if skip or re.match(r"^\d*[<>]", w):
                    skip = w in (">", ">>", "<", "2>")
                    continue
                words.append(w)
            if "stability" in words and words.index("stability") > 0 and words[words.index("stability") - 1] == "-m":
                yield words[words.index("stability") + 1:]


def test_the_documentation_site_builds_with_warnings_as_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:] + "\n(the tools: pip install -e '.[test]')"
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("assert_stable", "inputs", "register", "ENTRY_POINT_GROUP", "verify"):
        assert name in api, f"the API reference lost {name}"


def test_every_stability_command_shown_in_the_docs_parses_and_every_extra_named_exists():
    from stability.cli import _parser

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    seen, bad = 0, []
    for page, line, lang, body in _blocks():
        if lang not in ("", "sh", "bash", "console"):
            continue
        for named in re.findall(r'pip install[^\n]*?-e "?\.\[([\w,]+)\]', body):
            bad += [f"{page}:{line}: no extra {e!r} in pyproject.toml" for e in named.split(",") if e not in extras]
        for argv in _commands(body):
            seen += 1
            try:
                _parser().parse_args(argv)
            except SystemExit:
                bad.append(f"{page}:{line}: `stability {' '.join(argv)}` does not parse")
    assert seen >= 10 and bad == []


def test_every_python_block_runs_and_every_toml_block_parses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = 0
    for page, line, lang, body in _blocks():
        if lang == "toml":
            tomllib.loads(body)
        elif lang == "python":
            # a block defines what it shows (functions, tests, marks); one that uses a function it does not define
            # gets a careful softmax under that name
            import numpy as np

            def careful(x, axis=-1):
                m = np.max(x, axis=axis, keepdims=True)
                e = np.exp(x - np.where(np.isfinite(m), m, 0))
                return e / e.sum(axis=axis, keepdims=True)

            space = {"__name__": f"docs_block_{ran}", "our_softmax": careful, "my_softmax": careful}
            exec(compile(body, f"{page}:{line}", "exec"), space)
            for name, fn in list(space.items()):  # the tests a block defines run too
                if name.startswith("test_") and callable(fn) and not fn.__code__.co_argcount:
                    fn()
            ran += 1
    assert ran >= 2


def _normal(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in VARIABLE:
        line = pattern.sub(repl, line)
    return line


def _quoted_runs():
    """(command block, [(page, line, quoted output)]) for each block that writes files and runs `stability
    verify`, with every plain block that quotes its output right after it, on any page."""
    runs: dict = {}
    for page in PAGES:
        text = page.read_text()
        found = list(FENCE.finditer(text))
        for a, b in zip(found, found[1:]):
            cmd = a.group(2)
            if a.group(1) or "<<'PY'" not in cmd or "stability verify" not in cmd:
                continue
            out = b.group(2)
            if b.group(1) == "" and re.search(r"^\S+\s+\S+\s+(PASS|FAIL)\s", out, re.M):
                runs.setdefault(cmd, []).append((page.relative_to(ROOT), text[: b.start()].count("\n") + 1, out))
    return runs


@pytest.mark.long
def test_the_first_examples_print_what_the_pages_quote(tmp_path):
    runs = _quoted_runs()
    assert len(runs) >= 2, "the README's first example and its mixed-precision one"
    stale = []
    for cmd, quotes in runs.items():
        env = {k: v for k, v in os.environ.items() if k != "STABILITY_RESULTS"}  # the store the page shows
        r = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
        got = [_normal(x) for x in r.stdout.splitlines()]
        for page, line, quoted in quotes:
            # the quoted lines in runs the page leaves a "..." between; each run contiguous, in order
            segments = [[_normal(x) for x in seg.strip("\n").splitlines()]
                        for seg in re.split(r"^\.\.\.$", quoted, flags=re.M) if seg.strip()]
            at = 0
            for seg in segments:
                hit = next((i for i in range(at, len(got) - len(seg) + 1) if got[i:i + len(seg)] == seg), None)
                if hit is None:
                    stale.append(f"{page}:{line}: the run no longer prints these lines:\n" + "\n".join(seg)
                                 + "\n--- it printed:\n" + "\n".join(got) + (r.stderr[-2000:] if r.returncode > 1
                                                                             else ""))
                    break
                at = hit + len(seg)
    assert stale == [], "\n\n".join(stale) + "\n(run the command again and update the page with what it prints)"


#: what the tests add to a command the pages show so that it runs in seconds, by command (argparse keeps the last
#: of a repeated option): the same command, on fewer examples, functions, libraries or inputs; the first examples
#: run as shown in test_the_first_examples_print_what_the_pages_quote
AT_TEST_SCALE = {
    "report": ["--quick", "--function", "softmax", "--no-bench"],
    "atlas": ["--library", "scipy", "--examples", "1"],
    "verify": ["--examples", "1", "--no-shrink"],
}
#: a sweep of a 4-byte format at a test's scale: its first 65,536 bit patterns
WIDE_SWEEP = ["--range", "0:0x10000"]
#: the placeholders the pages write in commands, and what the tests put there (HOST: a real scheduler's address)
PLACEHOLDERS = [(re.compile(r"^F$"), "softmax"), (re.compile(r"/F\.json$"), "/softmax.json"),
                (re.compile(r"\$f\b"), "sigmoid"), (re.compile(r"\$impl\b"), "sigmoid.stable"),
                (re.compile(r"\$d\b"), "float16")]
HEREDOC = re.compile(r"^cat > (\S+) <<'(\w+)'\n(.*?)^\2$", re.S | re.M)


def _at_test_scale(argv: list[str], address: str) -> list[str]:
    words = []
    for w in argv:
        for pattern, value in PLACEHOLDERS:
            w = pattern.sub(value, w)
        words.append(w.replace("tcp://HOST:8786", address))
    words = _installed_libraries_only(words)
    extra = AT_TEST_SCALE.get(words[0], [])
    if words[0] == "sweep" and any(d.split(":")[0] in ("float32", "float64") for d in _values(words, "--dtype")):
        extra = WIDE_SWEEP
    if words[0] == "verify" and _values(words, "--function") == ["all"]:
        extra = extra + ["--function", "softmax"]  # every function is the report's and atlas's to run in full
    return words + extra


def _installed_libraries_only(argv: list[str]) -> list[str]:
    """``argv`` without the ``--library L`` pairs of libraries this machine lacks (the pages show commands over
    every library; a library that is not installed is exit 2 by design, its own test in tests/test_cli.py)."""
    from stability import registry

    known = {i.library for i in registry.implementations()}
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--library" and i + 1 < len(argv) and argv[i + 1] not in known:
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def _values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == option]


@pytest.fixture
def dask_cluster(tmp_path):
    """A real ``dask scheduler`` and one ``dask worker`` process, as the Dask page starts them (on a free port, no
    dashboard: the tests must not depend on 8786 or 8787 being free); yields the scheduler's address."""
    info = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(info)], cwd=tmp_path, **quiet)
    worker = None
    try:
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            assert scheduler.poll() is None, "dask scheduler exited at start"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        (tmp_path / "work").mkdir()
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                   "--no-dashboard"], cwd=tmp_path / "work", **quiet)
        yield address
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.mark.long
def test_every_stability_command_shown_in_the_docs_runs_at_a_tests_scale(tmp_path, dask_cluster):
    """Every ``python3 -m stability`` line of every shell block, in page order, in one folder: the files the pages
    write with ``cat > FILE <<'PY'`` written first, the Dask page's commands sent to a real scheduler and worker.
    A command runs when it exits 0, or 1 for a verdict (a check that fails, as the README's careless softmax
    does), prints no traceback, and writes the files its --json and --out name."""
    work = tmp_path / "work"  # the worker's folder too: file.py:attr specs resolve alike on both sides
    for page, line, lang, body in _blocks():
        for name, _, text in HEREDOC.findall(body):
            (work / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "STABILITY_RESULTS"}
    env["STABILITY_RESULTS"] = str(work / "results")
    ran, bad = {}, []
    for page, line, lang, body in _blocks():
        if lang not in ("", "sh", "bash", "console"):
            continue
        for argv in _commands(body):
            argv = _at_test_scale(argv, dask_cluster)
            if tuple(argv) in ran:  # the same command on another page: run once
                continue
            r = subprocess.run([sys.executable, "-m", "stability", *argv], cwd=work, capture_output=True, text=True,
                               timeout=600, env=env)
            ran[tuple(argv)] = argv[0]
            said = f"{page}:{line}: `stability {shlex.join(argv)}` (exit {r.returncode})"
            if r.returncode not in (0, 1) or "Traceback" in r.stderr + r.stdout:
                bad.append(f"{said}:\n{(r.stdout + r.stderr)[-3000:]}")
            elif r.returncode == 1 and argv[0] not in ("verify", "report", "atlas", "sweep", "compare"):
                bad.append(f"{said}: exit 1 is a verdict, and {argv[0]} gives none:\n{r.stderr[-2000:]}")
            else:
                bad += [f"{said}: wrote no {path}" for path in _values(argv, "--json") + _values(argv, "--out")
                        if not (work / path).exists()]
    assert bad == [], "\n\n".join(bad)
    assert {"verify", "sweep", "report", "atlas", "list", "compare"} <= set(ran.values()), ran
