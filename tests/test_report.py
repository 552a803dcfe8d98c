"""The HTML report, built from small real runs: its structure, that its numbers are the records', that it needs
nothing from the network, that user strings are escaped, that bad inputs stop it cleanly, and that a real browser
renders it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape

import numpy as np
import pytest

from reports import inputs
from reports.build import _fmt, draw
from stability.cli import main
from stability.errors import UsageError
from stability.measure import ReportOptions as Options
from stability.measure import report_run
from stability.registry import Implementation

XSS = "<script>alert(1)</script>"


def _careless_softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


USER = Implementation(XSS, "softmax", _careless_softmax, description='<img src=x onerror="alert(2)">',
                      origin="user")


def build(o: Options) -> dict:
    """Measure and store a report's run, then draw its page (what ``stability report`` does)."""
    run = report_run(o)
    return dict(draw([run], o.out), run=run)


# the tests that read the built page run in one worker (pytest-xdist's loadgroup), so it is built once, not once
# in each worker (a minute each)
def ONE_BUILD(test):
    return pytest.mark.long(pytest.mark.xdist_group("built_report")(test))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    res = build(Options(out=out, quick=True, functions=("softmax", "sigmoid"), user=[USER],
                        results=out.parent / "results"))
    return out, res, out.read_text(encoding="utf-8")


@ONE_BUILD
def test_report_is_written_and_its_data_stored(built):
    out, res, html = built
    assert res["path"] == out and res["bytes"] == len(html.encode("utf-8"))
    for name in ("checks.csv", "families.csv", "records.json", "timings.csv", "curves.csv", "special.csv",
                 "paper.csv", "run.json"):
        assert (res["run"].path / name).is_file(), name
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


@ONE_BUILD
def test_the_run_keeps_where_its_time_went(built):
    from stability import timesheet

    out, res, html = built
    stages = res["run"].blob("options")["stages"]
    assert list(stages) == list(timesheet.STAGES[:3]) and all(v > 0 for v in stages.values())
    records = res["run"].blob("records")
    assert all(r["cpu_seconds"] > 0 and r["seconds"] > 0 for r in records)
    # every check's time is in the stored checks table, and the printed summary counts them all
    checks = __import__("pandas").read_csv(res["run"].path / "checks.csv")
    assert (checks["cpu_seconds"] > 0).all() and len(checks) == len(records)
    lines = timesheet.lines(dict(stages, page=1.0), records)
    assert lines[0].startswith("time: checks, curves and special values") and lines[0].endswith("page 1.0 s")
    assert f"over {len(records)} checks" in lines[1]


@ONE_BUILD
def test_sections_in_the_issue_order(built):
    out, res, html = built
    ids = re.findall(r'<h2 id="([a-z]+)"', html)
    records = json.loads((res["run"].path / "records.json").read_text())
    peers = [r for r in records if r["origin"] == "peer"]
    assert ids == ["glance", "summary", "accuracy", "special", "worst", "speed"] + (["atlas"] if peers else []) + [
        "environment"]


@ONE_BUILD
def test_the_libraries_section_is_the_atlas_grid_of_the_peers(built):
    from reports import atlas

    out, res, html = built
    peers = [r for r in json.loads((res["run"].path / "records.json").read_text()) if r["origin"] == "peer"]
    if not peers:
        pytest.skip("no peer is installed (SciPy is a core dependency: this does not happen in CI)")
    section = html[html.index('<h2 id="atlas">'):html.index('<h2 id="environment">')]
    g = atlas.grid(peers)
    for _, title, version in g["libraries"]:
        assert f"<th>{title}<br><small>{version}</small></th>" in section
    for fmt in g["formats"]:
        for fn, line in g["rows"][fmt]:
            for cell in line:
                assert _escape(cell["text"]) in section, (fmt, fn, cell)
    for d in g["defects"]:  # a defect reported publicly is linked from the section
        for url, _ in d["issues"]:
            assert f'href="{url}"' in section, d["implementation"]


@ONE_BUILD
def test_verdict_cells_match_the_records(built):
    out, res, html = built
    records = json.loads((res["run"].path / "records.json").read_text())
    matrix = html[html.index('id="verdict-matrix"'):]
    matrix = matrix[: matrix.index("</table>")]
    names = {r["implementation"] for r in records}
    assert {"softmax.naive", "softmax.shifted", "sigmoid.stable", XSS} <= names
    assert any(":" in r["dtype"] for r in records)  # the mixed signatures softmax.mixed declares
    for r in records:
        # the row of this implementation and kind of signature, then its cell for this signature (quick: float32,
        # and the mixed signatures the registrations declare, each cell titled by its signature)
        head, _, rest = r["dtype"].partition(":")
        name = _escape(r["implementation"]) + (f" \u2192 {rest}" if rest else "")
        row = re.search(r">" + re.escape(name) + r"</td>.*?</tr>", matrix, re.S)
        assert row, r["implementation"]
        title = re.escape(r["dtype"]) + ": " if rest else ""
        cell = re.search(r'data-ratio="([^"]+)"\s*title="' + title + r'[^>]*>(PASS|FAIL) ([^<]+?)( <small>[^<]*</small>)?</td>',
                         row.group(0), re.S)
        assert cell.group(2) == r["verdict"].upper()
        assert cell.group(1) == cell.group(3) == _fmt(r["max_ratio"])
    naive = next(r for r in records if r["implementation"] == "softmax.naive")
    assert naive["verdict"] == "fail" and "softmax.naive" in html[html.index('id="worst"'):]


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")


@ONE_BUILD
def test_user_strings_are_escaped_everywhere(built):
    html = built[2]
    assert XSS not in html and "onerror=" not in html.replace("onerror=&#34;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the name is shown, as text
    assert "<img" not in html
    # the only elements are the template's and matplotlib's: no script element at all
    assert not re.search(r"<script\b", html, re.I)


@ONE_BUILD
def test_page_needs_no_network(built):
    html = built[2]
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b[^>]*\b(src|href)=", html, re.I)
    assert not re.search(r"(src|href)=\"(https?:)?//", html, re.I)
    assert "@import" not in html and not re.search(r"url\((?!#)", html)
    # inline SVG figures, one bitmap at most inside them (the paper's dense scatter), as data: URIs
    assert html.count("<svg") >= 6
    assert all(h.startswith("data:image/png;base64,") for h in re.findall(r'xlink:href="([^"#][^"]*)"', html))


@ONE_BUILD
def test_special_values_and_worst_cases_shown(built):
    html = unescape(built[2])
    special = html[html.index('id="special"'):html.index('id="worst"')]
    for case in ("nan", "posinf", "all_neginf", "some_neginf", "empty", "single"):
        assert f">{case}<" in special
    worst = html[html.index('id="worst"'):html.index('id="speed"')]
    assert "python3 -c" in worst and "assert_example('softmax'" in worst


@ONE_BUILD
def test_speed_section_has_roofs_and_pareto(built):
    html = built[2]
    speed = html[html.index('id="speed"'):html.index('id="environment"')]
    assert "copy roof" in speed and "Pareto front" in speed and "of copy" in speed


@ONE_BUILD
def test_a_page_redrawn_from_its_stored_run_is_the_same_page_and_measures_nothing(built, tmp_path, monkeypatch):
    out, res, html = built
    import stability.verify

    def no_measuring(*a, **k):
        raise AssertionError("drawing measured something")

    monkeypatch.setattr(stability.verify, "run_call", no_measuring)
    monkeypatch.setattr(stability.verify, "verify", no_measuring)
    import stability.parallel

    # the figures drawn here, then on two processes started as this process would (forked, unless it runs a JAX
    # backend), then on two spawned ones (what a process running a JAX backend uses): the same page, byte for byte
    for workers, method in ((1, None), (2, None), (2, "spawn")):
        if method:
            monkeypatch.setattr(stability.parallel, "start_method", lambda method=method: method)
        again = tmp_path / f"again{workers}{method}.html"
        draw([res["run"]], again, workers=workers)
        assert again.read_text(encoding="utf-8").replace(f"--out {again} ", f"--out {out} ") == html


@ONE_BUILD
def test_log_axes_are_labelled_in_plain_text(built):
    # matplotlib's 10^{-2} goes through its mathtext parser, which took most of a page's drawing
    html = built[2]
    assert "mathdefault" not in html and "10⁻" in html and "2¹⁰" in html


@ONE_BUILD
def test_element_ids_are_unique_on_the_page(built):
    # every inline SVG names its groups figure_1, axes_1, ...: on one page those would repeat; the ids that clip
    # paths and markers point to are salted per figure
    ids = re.findall(r'\sid="([^"]*)"', built[2])
    assert len(ids) == len(set(ids)), sorted(i for i in set(ids) if ids.count(i) > 1)[:5]
    for ref in set(re.findall(r'(?:url\(|href=")#([^)"]+)', built[2])):
        assert ref in ids, ref


def test_a_name_with_dollar_signs_is_drawn_as_written():
    from reports import plots

    svg = plots.pareto([("a$x^2$b", 1e-3, 0.5), ("c", 2e-3, 0.1)], "t")  # mathtext would set x^2 as math
    assert "a$x^2$b" in svg


@ONE_BUILD
def test_saved_records_and_bench_are_read_from_a_stored_run(built, tmp_path):
    out, res, html = built
    run = res["run"]
    o = Options(out=tmp_path / "again.html", quick=True, functions=("softmax", "sigmoid"), user=[USER],
                records=inputs.load_records(run.path / "records.json"),
                bench=inputs.load_bench(run.path / "timings.csv"), bench_source="stored", results=tmp_path / "r")
    again = build(o)
    grab = lambda h: re.findall(r'data-ratio="[^"]+"', h)  # noqa: E731
    assert grab(again["path"].read_text()) == grab(html)


def test_corrupt_records_stop_the_report_and_keep_the_old_page(tmp_path, capsys):
    out = tmp_path / "r.html"
    out.write_text("previous page")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"implementation": "x"')
    assert main(["report", "--quick", "--function", "sigmoid", "--out", str(out), "--records", str(bad),
                 "--no-bench"]) == 2
    assert "verify --function all --json" in capsys.readouterr().err
    bad.write_text('[{"implementation": "x"}]')
    with pytest.raises(UsageError, match="lacks"):
        inputs.load_records(bad)
    assert out.read_text() == "previous page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "r.html"]  # no temp file left


def test_cli_bad_inputs_exit_2_without_traceback(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "--out", str(out), "--records", str(tmp_path / "none.json")]) == 2
    assert main(["report", "--out", str(out), "--bench", str(tmp_path / "none.csv"), "--quick"]) == 2
    assert main(["report", "--out", str(tmp_path / "r.txt")]) == 2
    assert main(["report", "--impl", "x.py:f"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "stability bench --out" in err and "no records file" in err
    assert not out.exists()


def test_missing_bench_is_said_on_the_page(tmp_path):
    out = tmp_path / "r.html"
    build(Options(out=out, quick=True, functions=("log_sigmoid",), no_bench=True))
    html = out.read_text()
    assert "No timing in this report" in html and "stability bench" in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium; "
                    "this skip means that install failed)")
@ONE_BUILD
def test_real_browser_renders_the_page(built, tmp_path):
    out = built[0]
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400"]
    dom = subprocess.run([*common, "--enable-logging=stderr", "--v=0", "--dump-dom", out.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>softmax-stability report</title>" in dom.stdout and 'id="verdict-matrix"' in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    png = tmp_path / "shot.png"
    shot = subprocess.run([*common, f"--screenshot={png}", out.resolve().as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert shot.returncode == 0 and png.stat().st_size > 20_000, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


#: measures the page in the browser: every SVG text box inside its figure and clear of the others (every section
#: opened), then the page's height and width with the sections folded as it opens; the result goes to the title
MEASURE = """<script>
(function () {
  const out = {overlaps: [], outside: [], texts: 0, svgs: 0};
  const all = Array.from(document.querySelectorAll('details'));
  all.forEach(d => d.open = true);
  document.querySelectorAll('svg').forEach((svg, k) => {
    out.svgs++;
    const box = svg.getBoundingClientRect();
    const rects = [];
    svg.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (r.width < 0.5 || r.height < 0.5 || !t.textContent.trim()) return;
      out.texts++;
      rects.push([r, t.textContent.trim()]);
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.outside.push([k, t.textContent.trim()]);
    });
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
      const [a, ta] = rects[i], [b, tb] = rects[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) out.overlaps.push([k, ta, tb]);
    }
  });
  out.openHeight = document.documentElement.scrollHeight;
  all.forEach(d => d.open = false);
  out.height = document.documentElement.scrollHeight;
  out.scrollWidth = document.documentElement.scrollWidth;
  out.clientWidth = document.documentElement.clientWidth;
  document.title = "MEASURED" + JSON.stringify(out);
})();
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium; "
                    "this skip means that install failed)")
@ONE_BUILD
def test_the_page_fits_a_person_and_no_label_leaves_its_figure_or_covers_another(built, tmp_path):
    out, _, html = built
    assert len(html.encode("utf-8")) <= 3_000_000
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    for width in (800, 1280):
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / f'profile{width}'}",
                              f"--window-size={width},900", "--dump-dom", probe.resolve().as_uri()],
                             capture_output=True, text=True, timeout=300)
        found = re.search(r"<title>MEASURED(.*?)</title>", dom.stdout, re.S)
        assert found, dom.stderr[-2000:]
        m = json.loads(unescape(found.group(1)))
        assert m["svgs"] > 0 and m["texts"] > 100  # it measured the figures
        assert m["overlaps"] == [] and m["outside"] == [], (width, m["overlaps"], m["outside"])
        assert m["height"] <= 20_000 and m["scrollWidth"] <= m["clientWidth"], (width, m)
        assert m["openHeight"] > 2 * m["height"]  # the sections were folded


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium; "
                    "this skip means that install failed)")
def test_a_minified_figure_draws_the_same_pixels_as_matplotlibs_own(tmp_path):
    """Styles moved into classes, bare groups and indentation dropped: Chromium draws the same picture, pixel for
    pixel, from a figure with every kind of mark the report uses (grid, tick markers, clipped lines, a dense
    rasterized cloud, a legend, rotated and small text)."""
    from PIL import Image, ImageChops

    from reports import plots

    fig, ax = plots._figure()
    rng = np.random.default_rng(0)
    ax.semilogy(rng.random(300), ".", ms=2, label="cloud", rasterized=True)
    ax.plot([0, 300], [0.5, 2.0], "--", label="line")
    ax.scatter([10, 200], [0.3, 0.7], marker="x", label="points")
    ax.fill_between([0, 300], 0.2, 0.4, alpha=0.3, label="band")
    ax.set_ylabel("error (ULP)")
    plots._legend(fig)
    raw = plots._svg_text(fig, 110)
    small = plots._minified(raw)
    assert len(small) < 0.8 * len(raw) and "<metadata>" not in small and ' style="' not in small
    shots = []
    for name, svg in (("raw", raw), ("small", small)):
        page = tmp_path / f"{name}.html"
        page.write_text(f'<html><body style="margin:0">{svg}</body></html>', encoding="utf-8")
        png = tmp_path / f"{name}.png"
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
                        "--window-size=720,520", f"--screenshot={png}", page.resolve().as_uri()],
                       capture_output=True, timeout=120, check=True)
        shots.append(Image.open(png).convert("RGB"))
    assert ImageChops.difference(*shots).getbbox() is None


def test_the_first_screen_names_the_fastest_implementation_that_passes_and_compares_it_with_the_best_peer():
    import pandas as pd

    from reports.build import _glance

    impls = {"softmax": [Implementation("a", "softmax", None), Implementation("b", "softmax", None),
                         Implementation("p", "softmax", None, origin="peer"),
                         Implementation("q", "softmax", None, origin="peer")]}
    recs = [dict(implementation=n, function="softmax", dtype="float32", verdict=v, meets_expectation=True)
            for n, v in (("a", "fail"), ("b", "pass"), ("p", "pass"), ("q", "pass"))]
    df = pd.DataFrame([dict(function="softmax", implementation=n, dtype="float32", shape="64x64", elements=4096,
                            median_s=t, gbps=1.0, frac_copy=0.5) for n, t in
                       (("a", 1e-4), ("b", 2e-3), ("b[threads=2]", 1e-3), ("p", 4e-3), ("q", 5e-3))])
    (row,) = _glance(df, "64x64", recs, impls)
    # a is faster but fails; b's best variant is the fastest that passes; p is the fastest peer that passes
    assert row["fastest"]["name"] == "b" and row["fastest"]["ms"] == "1"
    assert row["peer"] == {"name": "p", "ms": "4", "ratio": "0.25"}
    assert (row["checks"], row["pass"], row["short"]) == (4, 3, 0)


@pytest.mark.long
def test_every_kind_of_function_has_its_rows_curves_and_special_values(tmp_path):
    # Regression: the report chose inputs by function name and raised on every gradient ("softmax_vjp takes 2
    # arguments"); it reads the function table now. One gradient of rows, one elementwise, an exact one, logit.
    names = ("softmax_vjp", "sigmoid_vjp", "max_vjp", "argmax", "logit", "cross_entropy_vjp")
    out = tmp_path / "grads.html"
    res = build(Options(out=out, quick=True, functions=names, no_bench=True))
    page = out.read_text()
    exact = {name for name in names if f"<strong>{name}, float32</strong>: every implementation exact" in page}
    assert "argmax" in exact  # an index is right or wrong: a chart of zeros is a sentence instead
    for name in set(names) - exact:  # its accuracy chart (the title matplotlib writes into the SVG)
        assert f">{name}, float32: error against input scale<" in page, name
    for name in exact:
        assert f">{name}, float32: error against input scale<" not in page, name
    records = json.loads((res["run"].path / "records.json").read_text())
    assert {r["function"] for r in records} == set(names) and res["records"] == len(records)


def test_special_values_name_the_answer_given_where_the_policy_accepts_several():
    # max_vjp at ties: the one-hot at the first maximum and the even split are both accepted; the report says
    # which one each implementation gives (issue 13)
    from stability import registry
    from stability import special

    ties = {i.name: next(c for c in special.evaluate(i) if c.case == "ties")
            for i in registry.implementations("max_vjp") if i.library == "numpy"}
    assert ties["max_vjp.onehot"].answer == "onehot_g" and ties["max_vjp.onehot"].ok
    assert ties["max_vjp.split"].answer == "split_g" and ties["max_vjp.split"].ok
    assert not ties["max_vjp.last"].ok and ties["max_vjp.last"].answer == ""
    naive = next(c for c in special.evaluate(registry.resolve("softmax.naive", "softmax")) if c.case == "posinf")
    # [0, nan, 0] for [1, inf, 2]: NaN at the +inf, 0 at the finite entries: the pointwise answer
    assert naive.ok and naive.answer == "pointwise"


DRAW_ONLY = """
import sys
from stability import store
from reports.build import draw
run = store.load(sys.argv[1])
draw([run], sys.argv[2])
measuring = [m for m in ("stability.verify", "stability.call", "stability.accuracy", "stability.special",
                         "stability.paper", "stability.measure", "stability.search", "stability.bench.sweep",
                         "hypothesis") if m in sys.modules]
print("measuring modules:", measuring)
"""


@ONE_BUILD
def test_drawing_a_stored_run_imports_no_measuring_module(built, tmp_path):
    # issue 16: reports/ only draws; what it draws never imports a measuring module
    out = subprocess.run([sys.executable, "-c", DRAW_ONLY, str(built[1]["run"].path), str(tmp_path / "p.html")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "measuring modules: []" in out.stdout and (tmp_path / "p.html").exists()


def test_the_matrix_table_has_a_row_per_implementation_and_says_what_falls_short(tmp_path, capsys):
    from reports import matrix

    rec = dict(function="softmax", expectation="stable", verdict="pass", max_ratio=0.43, meets_expectation=True)
    records = [dict(rec, implementation="softmax.shifted", dtype="float32"),
               dict(rec, implementation="softmax.shifted", dtype="float64", max_ratio="inf", verdict="fail",
                    meets_expectation=False),
               dict(rec, implementation="sigmoid.naive", function="sigmoid", dtype="float32", verdict="fail",
                    max_ratio=7.3e3, expectation="unstable on thresholds")]
    records.insert(1, dict(rec, implementation="softmax.shifted", dtype="bfloat16:float32", max_ratio=2.5,
                           verdict="fail", meets_expectation=False))
    rows = matrix.table(records).splitlines()[2:]
    assert rows == ["| softmax | `softmax.shifted` | stable | - | - | pass 0.43 | fail inf | **no** |",
                    "| softmax | `softmax.shifted` &rarr; float32 | stable | - | fail 2.5 | - | - | **no** |",
                    "| sigmoid | `sigmoid.naive` | unstable | - | - | fail 7.3e+03 | - | yes |"]
    (tmp_path / "bad.json").write_text("{not json")
    assert matrix.main([str(tmp_path / "bad.json")]) == 2
    assert "stability verify --function all --json PATH" in capsys.readouterr().err


def test_the_matrix_has_a_row_per_kind_of_signature_and_no_empty_own_format_row():
    from reports.build import _summary
    from stability import registry

    impls = {"softmax": [registry.resolve("softmax.mixed"), registry.resolve("softmax.to_e4m3fn"),
                         registry.resolve("softmax.mixed_narrow")]}
    rec = dict(function="softmax", verdict="pass", meets_expectation=True, max_ratio=0.3, max_ulp=1.0, examples=9,
               failed_families=[])
    recs = [dict(rec, implementation="softmax.mixed", dtype=d) for d in ("float32", "bfloat16:float32")]
    recs += [dict(rec, implementation="softmax.to_e4m3fn", dtype="float32:float8_e4m3fn")]
    rows = _summary(["bfloat16", "float32"], impls, recs)[0]["rows"]
    assert [r["name"] for r in rows] == ["softmax.mixed", "softmax.mixed \u2192 float32",
                                         "softmax.to_e4m3fn \u2192 float8_e4m3fn", "softmax.mixed_narrow"]
    assert [c["cls"] for c in rows[1]["cells"]] == ["pass", "none"] and rows[1]["cells"][0]["signature"]
    assert [c.get("signature") for c in rows[2]["cells"]] == [None, "float32:float8_e4m3fn"]
