"""Offline HTML pages from Jinja2 templates: one base layout, autoescaped, with a strict Content-Security-Policy.

Every page patrol_planner writes (the briefing today; calendar, compliance and evaluation pages later)
extends ``templates/base.html.j2``: the CSP, the inlined CSS, optionally Leaflet 1.9.4 (BSD-2, from
``patrol_planner/resources``), a provenance section and the page's scripts. Nothing is fetched: the
CSP forbids every network request and lets only the page's own inline scripts run, by hash, so that even
a string that slipped past escaping could not execute. Autoescaping is on for every template; only
package resources and :func:`json_for_script` output are marked safe.

A new page::

    html = render_page("calendar.html.j2", title="Patrol calendar", scripts=[my_js], leaflet=False,
                       provenance=prov, weeks=weeks)

with ``calendar.html.j2`` doing ``{% extends "base.html.j2" %}`` and filling ``header``/``content``/``data``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from patrol_planner.errors import PatrolPlannerError
from patrol_planner.localtime import kind
from patrol_planner.vocabulary import status_text

#: Security marking printed at the top of every page.
DEFAULT_MARKING = "Official – Sensitive: police use only"


@cache
def resource_text(name: str) -> str:
    """A text file of ``patrol_planner/resources`` (CSS, scripts, the Leaflet licence)."""
    return resources.files("patrol_planner").joinpath("resources", name).read_text(encoding="utf-8")


def json_for_script(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``-style escapes so that ``</script>`` or ``<!--`` in a data
    string cannot end or confuse the element; U+2028/U+2029 are escaped because older JavaScript
    parsers treat them as line breaks. NaN/infinity are refused (not JSON).
    """
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
    except ValueError:
        raise PatrolPlannerError("the plan holds a NaN or infinite number; cannot write the page") from None
    for ch, rep in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def csp_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


@dataclass(frozen=True)
class OfflinePage:
    """What the base layout needs: title, CSS, scripts (run in order) and whether Leaflet is inlined."""

    title: str
    css: str
    scripts: tuple[str, ...] = ()
    leaflet: bool = False
    marking: str = DEFAULT_MARKING

    @property
    def leaflet_js(self) -> str:
        return resource_text("leaflet.js")

    @property
    def leaflet_css(self) -> str:
        # The CSS's only url()s are Leaflet's marker/layer images, which no page uses; dropping them
        # guarantees the browser never tries to load a file beside the HTML.
        return resource_text("leaflet.css").replace("url(images/", "none /*").replace(".png)", "*/")

    @property
    def leaflet_licence(self) -> str:
        return resource_text("LEAFLET-LICENSE.txt").replace("*/", "* /")

    @property
    def csp(self) -> str:
        """No fetch of any kind; only this page's inline scripts run (by hash)."""
        scripts = ([self.leaflet_js] if self.leaflet else []) + list(self.scripts)
        return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                f"script-src {' '.join(csp_hash(s) for s in scripts)}; base-uri 'none'; form-action 'none'")


# --- filters and tests shared by every template ------------------------------------------------------
def hm_local(t: datetime | None, zone: tzinfo | None = None) -> str:
    """``HH:MM`` of aware ``t``; a time the clocks show twice in ``zone`` (autumn) gets its name: ``01:30 BST``."""
    if t is None:
        return ""
    text = t.strftime("%H:%M")
    if zone is not None and t.tzinfo is not None and kind(t.date(), t.time(), zone) == "fold":
        text += f" {t.astimezone(zone).tzname()}"
    return text


@jinja2.pass_context
def _hm(ctx: jinja2.runtime.Context, t: datetime | None) -> str:
    # A page that names its zone as ``clock_zone`` gets ambiguous times labelled.
    return hm_local(t, ctx.get("clock_zone"))


def _num(x: Any, nd: int = 1) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return "–"
    return f"{x:,.{nd}f}" if isinstance(x, float) else f"{x:,d}"


def _scalar(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "–" if v is None else str(v)


def _key(k: Any) -> str:
    # Breakdown keys are code-like ("age_band"); spaces read better and change nothing else.
    return str(k).replace("_", " ")


def _is_shares(d: Any) -> bool:
    if not isinstance(d, Mapping):
        return False
    vals = list(d.values())
    return bool(vals) and all(isinstance(v, int | float) and not isinstance(v, bool)
                              and math.isfinite(v) and 0 <= v <= 1 for v in vals) and sum(vals) <= 1.001


def _is_flat(v: Sequence[Any]) -> bool:
    return all(not isinstance(x, Mapping | list | tuple) for x in v)


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the package templates (autoescaped, strict about undefined names)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("patrol_planner.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"],
        keep_trailing_newline=True,
    )
    env.filters.update(hm=_hm, num=_num, scalar=_scalar, key=_key, status_text=status_text)
    env.tests.update(shares=_is_shares, flat=_is_flat)
    return env


def render_page(template: str, *, page: OfflinePage, **context: Any) -> str:
    """Render a template extending ``base.html.j2`` with ``page`` and ``context``."""
    return environment().get_template(template).render(page=page, **context)
