"""HTML: the Jinja environment and the Content-Security-Policy.

Everything in DNS (and in a user's inventory) is attacker-controlled: the
environment autoescapes every value, and every page carries a policy that
allows no scripts, no objects, no external loads and only the page's own
inline stylesheet, pinned by its hash."""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from typing import Any

import jinja2
from markupsafe import Markup

from stekker.text import visible


def environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """The one environment for every rendered page: autoescape on for every
    template, undefined names are errors, block tags trimmed; the
    ``visible`` filter shows control and invisible characters."""
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, finalize=shown)
    env.filters["visible"] = visible
    return env


def shown(value: Any) -> Any:
    """What every ``{{ }}`` of every page prints: text with a bidi override, another format or a
    control character (a hostile organisation name, an item named "evil\u202etxt.exe") has those
    characters made visible, as the terminal does; layout characters (newline, tab) and markup stay."""
    if isinstance(value, str) and not isinstance(value, Markup) and any(
            unicodedata.category(c) in ("Cf", "Zl", "Zp", "Cc") and c not in "\n\r\t" for c in value):
        return visible(value, keep_newlines=True)
    return value


def style_hash(css: str) -> str:
    """The base64 SHA-256 of an inline stylesheet, as the policy names it."""
    return base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()


def csp(style_hash: str) -> str:
    """The Content-Security-Policy of every page (meta tag and, when served,
    header): nothing but the one inline stylesheet and data: images."""
    return ("default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
            f"form-action 'none'; img-src data:; style-src 'sha256-{style_hash}'")
