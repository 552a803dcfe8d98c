"""The documentation as a user meets it: the site builds with warnings as errors, every command it shows parses,
every Python and TOML block runs or parses, and the first examples print what the pages quote.

docs/atlas.md is left out of the block checks: it is a generated table whose code blocks are counterexamples and
reproducers from a stored run (they fail by design), drawn again by `stability atlas`."""

import os
import re
import shlex
import subprocess
import sys
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
