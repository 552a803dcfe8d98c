"""The report's figures, drawn with matplotlib and returned as SVG text to inline in the page.

Text stays text (``svg.fonttype: none``): small files, searchable, and every label is escaped by matplotlib's SVG
writer, so an implementation named ``<script>`` draws as those characters.  Figures are made with
:class:`matplotlib.figure.Figure` directly (no pyplot, no GUI backend, no global state).
"""

from __future__ import annotations

import io
import itertools
import re

import numpy as np

from stability.functions import get

# no mathtext anywhere: a name with two "$" in it stays those characters, and log axes are labelled 10⁻² in plain
# text (matplotlib's own 10^{-2} goes through its mathtext parser, most of the time a page takes to draw)
_RC = {"svg.fonttype": "none", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3, "text.parse_math": False,
       # one family named in each text's style, not matplotlib's ten fallbacks: a fifth of the page's bytes
       "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}
_salt = itertools.count()
_fixed = None  # the salt of the figure being drawn by ``drawn``: the same page's ids wherever it is drawn
INF_LABEL = "inf / wrong special value"


_SUPERSCRIPT = str.maketrans("0123456789-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻")


def _plain(label: str) -> str:
    """``$\\mathdefault{2\\times10^{-3}}$`` (matplotlib's log-axis label) as ``2×10⁻³``."""
    if not label.startswith("$"):
        return label
    text = re.sub(r"\\mathdefault\{(.*)\}", r"\1", label.strip("$"))
    text = re.sub(r"\^\{([^}]*)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    return text.replace("\\times", "×").replace("\\,", "").replace("{", "").replace("}", "")


def _plain_log_labels(fig) -> None:
    """Label every log axis of ``fig`` as matplotlib would, in plain text (``text.parse_math`` is off)."""
    from matplotlib.ticker import LogFormatterSciNotation

    class Plain(LogFormatterSciNotation):
        def __call__(self, x, pos=None):
            return _plain(super().__call__(x, pos))

    class Sparse(Plain):  # minor ticks labelled at 2 and 5 times a power only: 3x and 4x would touch
        def __call__(self, x, pos=None):
            if x > 0 and self._base == 10:
                mantissa = x / 10 ** np.floor(np.log10(x) + 1e-9)
                if round(mantissa) not in (2, 5):
                    return ""
            return super().__call__(x, pos)

    from matplotlib.ticker import NullLocator

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                base = axis.get_transform().base
                axis.set_major_formatter(Plain(base))
                axis.set_minor_formatter(Sparse(base, labelOnlyBase=axis._scale.subs is not None))
                lo, hi = sorted(axis.get_view_interval())
                if lo > 0 and np.log(hi / lo) / np.log(base) >= 3:  # three decades or more: the labelled powers
                    axis.set_minor_locator(NullLocator())  # suffice, and every minor tick is an SVG mark


_PRECISE = re.compile(r"(\d\.\d)\d+")
_PATH_DATA = re.compile(r'\sd="([^"]*)"')


def _compact_path(m: "re.Match") -> str:
    """Path data without matplotlib's line breaks and the spaces after its commands: ``M 1 2 \nL 3 4 \nz``
    as ``M1 2L3 4z`` (the same path)."""
    d = re.sub(r"\s*\n\s*", "", m.group(1))
    return ' d="' + re.sub(r"([MLCQZmlcqz]) ", r"\1", d).strip() + '"'


def _rounded(tag: "re.Match") -> str:
    """An SVG tag with its coordinates to 0.1 pt (matplotlib writes six decimals; a tenth of a point is below
    what a screen shows) and its path data compact.  Only inside tags: text content stays as written."""
    return _PATH_DATA.sub(_compact_path, _PRECISE.sub(r"\1", tag.group(0)))


def _svg(fig, dpi: int = 110) -> str:
    """``fig`` as SVG text to inline; ``dpi``: the resolution of its rasterized artists (dense dot clouds)."""
    return _minified(_svg_text(fig, dpi))


def _svg_text(fig, dpi: int) -> str:
    """``fig`` as matplotlib writes it, less its prolog, its unused ids and its digits past a tenth of a point."""
    import matplotlib

    _plain_log_labels(fig)
    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": _fixed or f"fig{next(_salt)}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=dpi)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG is inlined in HTML
    # matplotlib names every group (figure_1, axes_1, ...) alike in every figure: on one page those ids would repeat;
    # only the ids something points to (clip paths, markers: salted, so each figure's own) are kept
    used = set(re.findall(r"#([^\s\"')]+)", text))
    text = re.sub(r'\sid="([^"]*)"', lambda m: m.group(0) if m.group(1) in used else "", text)
    return re.sub(r"<[^<>]*>", _rounded, text)


_METADATA = re.compile(r"<metadata>.*?</metadata>", re.S)
_INDENT = re.compile(r">\s*\n\s*<")  # matplotlib's pretty-printing; text never holds a line break (one element a line)
_NO_TURN = re.compile(r' transform="rotate\(-?0 [^)]*\)"')
_STYLE = re.compile(r' style="([^"]*)"')
_TAG = re.compile(r"<(/?)g\b([^>]*)>")


def _unwrapped(text: str) -> str:
    """``text`` without its bare ``<g>`` groups (no attribute: they group nothing a renderer sees) and their
    closing tags; the groups with an attribute (a clip path) stay."""
    out, bare, last = [], [], 0
    for m in _TAG.finditer(text):
        closing, attrs = m.group(1), m.group(2)
        keep = not bare.pop() if closing else bool(attrs.strip())
        if not closing:
            bare.append(not keep)
        if not keep:
            out.append(text[last:m.start()])
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def _style_class(style: str) -> str:
    """The class of one inline style, named by its content: the same style has the same name in every figure
    (in whichever process it is drawn), so the page's figures share one set of rules without clashing."""
    import hashlib

    return "s" + hashlib.blake2b(style.encode(), digest_size=5).hexdigest()


def _minified(text: str) -> str:
    """The same picture in fewer bytes: no metadata block, no indentation between tags, no ``rotate(0)``, no bare
    groups, and every inline style a CSS class defined once in the figure's ``<style>`` (matplotlib repeats the
    grid's ``fill: none; stroke: #b0b0b0; ...`` on every grid line).  A style becomes a rule of the same
    declarations, so nothing changes but where they are written."""
    text = _unwrapped(_NO_TURN.sub("", _INDENT.sub("><", _METADATA.sub("", text))))
    styles = {}

    def classed(m):
        style = re.sub(r"\s*([:;])\s*", r"\1", m.group(1).strip())
        return f' class="{styles.setdefault(style, _style_class(style))}"'

    text = _STYLE.sub(classed, text)
    rules = "".join(f".{name}{{{style}}}" for style, name in styles.items())
    head = text.index(">") + 1  # after <svg ...>
    return f"{text[:head]}<style>{rules}</style>{text[head:]}"


def drawn(k: int, fn, args, kwargs):
    """``fn(*args, **kwargs)``, the page's ``k``-th figure: its SVG ids are its own and the same wherever (in
    whichever process) it is drawn."""
    global _fixed
    before, _fixed = _fixed, f"fig{k}"
    try:
        return fn(*args, **kwargs)
    finally:
        _fixed = before


def _wrap(text: str, width: int = 60) -> str:
    """A title or axis label broken into lines that fit over a 7-inch figure's axes (60 characters at 9 pt, with
    room for a browser's font wider than matplotlib's)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _legend(fig, width_in: float = 7.0) -> None:
    """The figure's legend below the axes, in as many columns (at most 3) as its longest label lets fit inside
    the figure: about 5.5 px a character at 7 pt and 110 dpi, plus the line sample."""
    labels = [lab for ax in fig.axes for lab in ax.get_legend_handles_labels()[1]]
    widest = max((len(lab) for lab in labels), default=1) * 5.5 + 45
    fig.legend(fontsize=7, loc="outside lower center", ncols=max(1, min(3, int((width_in * 110 - 30) // widest))))


def _figure(w=7.0, h=3.6, **kw):
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(w, h), layout="constrained")
        return fig, fig.subplots(**kw)


def _clip_inf(values, cap):
    v = np.asarray(values, dtype=float)
    return np.where(np.isfinite(v), v, cap), ~np.isfinite(v)


def accuracy(c, failing=()) -> str:
    """Max ULP error against the input scale (or x), the bound dashed: the implementations whose verdict is PASS
    as one band (lowest to highest at each scale; they would draw one grey line over each other), the ones in
    ``failing`` as a line each."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        finite = [v[np.isfinite(v)] for v in c.max_ulp.values()]
        top = max([float(np.max(f)) for f in finite if f.size] + [1.0]) * 10
        floor = 1e-2
        passing = {n: v for n, v in c.max_ulp.items() if n not in failing}
        lines = {n: v for n, v in c.max_ulp.items() if n in failing}
        if len(passing) < 2:
            lines, passing = c.max_ulp, {}
        if passing:
            ys = np.array([np.maximum(_clip_inf(v, top)[0], floor) for v in passing.values()])
            ax.fill_between(c.x, ys.min(axis=0), ys.max(axis=0), color="tab:green", alpha=0.35, lw=0,
                            label=f"the {len(passing)} that pass (band: lowest to highest)")
            ax.plot(c.x, ys.max(axis=0), color="tab:green", lw=0.8)
            bad = ~np.isfinite(np.array(list(passing.values()), dtype=float)).all(axis=0)
            if bad.any():
                ax.plot(c.x[bad], np.full(bad.sum(), top), "x", color="tab:green", ms=6)
        for name, v in lines.items():  # a dot at each scale only where the sweep is coarse: each is an SVG mark
            y, bad = _clip_inf(v, top)
            line, = ax.plot(c.x, np.maximum(y, floor), marker="." if len(c.x) <= 24 else None, ms=3, lw=1,
                            label=name + (" (fails)" if name in failing else ""))
            if bad.any():
                ax.plot(c.x[bad], np.full(bad.sum(), top), "x", color=line.get_color(), ms=6)
        if c.bound is not None:
            ax.plot(c.x, c.bound, "k--", lw=1.2, label=c.bound_label + " in units of u (e u relative <= e ULPs)")
        if any(not np.isfinite(v).all() for v in c.max_ulp.values()):
            ax.axhline(top, color="grey", lw=0.6)
            ax.text(c.x[0], top, " " + INF_LABEL, va="bottom", fontsize=7, color="grey")
        ax.set_yscale("log")
        if not get(c.function).elementwise:  # rows drawn at scales 2^k
            ax.set_xscale("log", base=2)
        ax.set_xlabel(c.xlabel)
        ax.set_ylabel(f"max error, ULPs of {c.dtype} (floor {floor})")
        ax.set_title(_wrap(f"{c.function}, {c.dtype}: error against input scale"))
        _legend(fig)
        return _svg(fig)


#: the most outliers a box of the error distribution draws (spread evenly over them, the extremes included)
FLIERS = 12


def distribution(c) -> str:
    """Bits of error, log2(1 + ULPs), of every output of the sweep: one box per implementation."""
    import matplotlib

    names = list(c.bits)
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(7.0, 0.35 * len(names) + 1.2)
        cap = max([float(np.max(b[np.isfinite(b)])) for b in c.bits.values() if np.isfinite(b).any()] + [1.0]) + 2
        data = [np.where(np.isfinite(b), b, cap) for b in c.bits.values()]
        ax.boxplot(data, orientation="horizontal", whis=(1, 99), showfliers=False, tick_labels=names)
        for k, b in enumerate(data, start=1):  # the outliers, each distinct value (to 0.1 bit) once and at most
            lo, hi = np.percentile(b, [1, 99])  # FLIERS of them, the extremes always: each is an SVG mark, and a
            out = np.unique(np.round(b[(b < lo) | (b > hi)], 1))  # float64 sweep has thousands
            if out.size > FLIERS:
                out = out[np.unique(np.linspace(0, out.size - 1, FLIERS).round().astype(int))]
            ax.plot(out, np.full(out.size, k), "o", mfc="none", mec="k", ms=2, mew=0.6)
        ax.axvline(cap, color="grey", lw=0.6)
        ax.set_xlabel(_wrap(f"bits of error, log2(1 + ULPs) (whiskers 1-99%; at {cap:.0f}: {INF_LABEL})"))
        fig.suptitle(_wrap(f"{c.function}, {c.dtype}: distribution of errors over the sweep"))  # over the figure:
        # the axes are narrowed by the names on the left
        return _svg(fig)


def speed(df, function: str, dtype: str, failing=()) -> str | None:
    """Elements per second against size, one line per implementation, with the machine's copy and exp roofs;
    the implementations in ``failing`` (their verdict is FAIL) dashed, with hollow markers."""
    import matplotlib

    d = df[(df.function == function) & (df.dtype == dtype)]
    if d.elements.nunique() < 2:
        return None
    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        for name, g in d.groupby("implementation", sort=True):
            g = g.groupby("elements", as_index=False)["elements_per_s"].median()
            bad = name in failing
            ax.plot(g.elements, g.elements_per_s, marker="o" if len(g) <= 8 else None, ms=4 if bad else 3, lw=1,
                    ls="--" if bad else "-", mfc="none" if bad else None, label=name + (" (fails)" if bad else ""))
        roof = d.groupby("elements", as_index=False).agg(copy_gbps=("copy_gbps", "median"),
                                                         exp_rate=("exp_elements_per_s", "median"))
        item = np.dtype(dtype).itemsize if dtype != "bfloat16" else 2
        ax.plot(roof.elements, roof.copy_gbps * 1e9 / (2 * item), "k--", lw=1.2, label="copy roof (read + write)")
        ax.plot(roof.elements, roof.exp_rate, "k:", lw=1.2, label="exp roof (np.exp in place)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements")
        ax.set_ylabel("elements per second")
        ax.set_title(_wrap(f"{function}, {dtype}, {d.device.iloc[0] if 'device' in d else 'cpu'}: speed against size"))
        ax.margins(y=0.1)  # every point inside the axes
        _legend(fig)
        return _svg(fig)


def pareto(points, title: str) -> str | None:
    """Worst stability ratio against time: ``points`` is a list of (name, seconds, ratio); the front is drawn."""
    import matplotlib

    pts = [(n, t, r) for n, t, r in points if np.isfinite(t) and t > 0]
    if len(pts) < 2:
        return None
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(7.0, 4.0)
        fin = [r for _, _, r in pts if np.isfinite(r) and r > 0]
        top = max(fin + [1.0]) * 100
        floor = min(fin + [1.0]) / 10
        labels = []
        for n, t, r in sorted(pts, key=lambda p: p[1]):
            y = top if not np.isfinite(r) else max(r, floor)
            ax.plot(t, y, "o", color="tab:red" if y >= 1 else "tab:green")
            labels.append((ax.annotate(n, (t, y), fontsize=7, xytext=(3, 3), textcoords="offset points",
                                       arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey"}), y >= top))
        front, best = [], np.inf  # no other point is both faster and more accurate
        for n, t, r in sorted(pts, key=lambda p: (p[1], p[2])):
            if r < best:
                front.append((t, max(r, floor) if np.isfinite(r) else top))
                best = r
        slowest = max(t for _, t, _ in pts)  # the front runs on to the slowest point: one point is a front too
        ax.step([t for t, _ in front] + [slowest], [r for _, r in front] + [front[-1][1]], where="post",
                color="tab:blue", lw=1.5, label="Pareto front (nothing is both faster and more accurate)")
        ax.plot([t for t, _ in front], [r for _, r in front], "s", mfc="none", mec="tab:blue", ms=9)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="ratio 1: the verdict's allowance")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(top, color="grey", lw=0.6)
        ax.text(0.01, top, " " + INF_LABEL, va="bottom", fontsize=7, color="grey",
                transform=ax.get_yaxis_transform())
        ax.margins(x=0.25)  # room for the labels of the leftmost and rightmost points
        ax.set_xlabel("median time, seconds")
        ax.set_ylabel("worst stability ratio (verify)")
        ax.set_title(_wrap(title))
        _legend(fig)
        _unclutter(fig, ax, labels)
        return _svg(fig)


def _unclutter(fig, ax, labels, step: float = 11.0) -> None:
    """Move each point label in ``labels`` (``(annotation, on_the_inf_line)``, in order) up or down a line at a
    time (only down on the inf line, whose caption is above it) until its box, measured by matplotlib's renderer
    with a margin for the browser's own font, clears every earlier label, the title and the captions and stays
    inside the figure; its leader line then points back to its dot.  Timings of similar implementations often
    coincide, so their labels would otherwise be printed over each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    for ann, _ in labels:  # the layout is the axes', whatever the labels do
        ann.set_in_layout(False)
    _plain_log_labels(fig)  # the tick labels as they will be saved: the layout depends on their widths
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)  # the layout, as it will be saved

    def box(ann):  # the label's text alone (an Annotation's own extent takes in its leader line too)
        ann.update_positions(renderer)
        return Text.get_window_extent(ann, renderer).expanded(1.3, 1.15)  # a browser's font runs wider

    frame = ax.bbox  # inside the plotting area: clear of the ticks, the axis labels and the figure's edge
    mine = {id(ann) for ann, _ in labels}  # ax.texts holds the labels too
    taken = [t.get_window_extent(renderer) for t in [ax.title, *ax.texts]
             if t.get_text().strip() and id(t) not in mine]
    for ann, down in labels:
        moves = [-k for k in range(40)] if down else [k * s for k in range(20) for s in ((1, -1) if k else (1,))]
        best = None  # (overlaps, place) of the best place inside the axes, should none be clear
        for k, side in ((k, side) for k in moves for side in ("left", "right")):
            ann.set_horizontalalignment(side)  # the label right of its dot, else left of it
            ann.xyann = (3 if side == "left" else -3, 3 + k * step)
            b = box(ann)
            if not (frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1):
                continue
            hits = sum(b.overlaps(other) for other in taken)
            if best is None or hits < best[0]:
                best = (hits, side, ann.xyann)
            if not hits:
                break
        side, place = (best[1], best[2]) if best else ("left", (3, 3))
        ann.set_horizontalalignment(side)
        ann.xyann = place
        taken.append(box(ann))


def paper(result) -> str:
    """BHH Sec. 6: per vector, each algorithm's error beside its bound (units of u), vectors sorted by bound."""
    import matplotlib

    algos = list(result.errors)
    with matplotlib.rc_context(_RC):
        fig, axes = _figure(9.0, 5.0, nrows=2, ncols=3, sharey=True)
        for ax, a in zip(axes.ravel(), algos):
            m = result.compared
            e, b = result.errors[a][m], result.bounds[a][m]
            order = np.argsort(b)
            keep = np.unique(np.linspace(0, len(order) - 1, 300).astype(int))  # a sorted, smooth curve:
            ax.semilogy(keep, b[order][keep], "k-", lw=1, label="bound")  # 300 of its 2,500 points draw it
            # 2,500 dots a panel: drawn as an embedded bitmap, or the SVG grows to megabytes
            ax.semilogy(np.maximum(e[order], 1e-3), ".", ms=2, label="error", rasterized=True)
            ax.set_title(f"{a} ({result.overflows[a]} overflow)", fontsize=8)
        axes[0, 0].set_ylabel("error / u")
        axes[1, 0].set_ylabel("error / u")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"BHH (2021) Sec. 6 in {result.fmt}: {int(result.compared.sum())} vectors where basic LSE "
                     "stays finite, sorted by bound")
        return _svg(fig, dpi=80)  # the dots' bitmap: 80 dpi shows 2,500 dots a panel as well as 110
