"""Rendering the report's context into HTML with Jinja2, autoescaping every string.

Only the SVG figures drawn by :mod:`reports.plots` are marked safe; every other string (implementation names,
docstrings, file paths, counterexamples) goes through Jinja2's escaping, so user text can never become markup.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["svg"] = lambda s: Markup(s) if s else ""
    return env


def page(ctx: dict) -> str:
    """The whole page as one string."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment().get_template("report.html.j2").render(css=Markup(css), **ctx)
