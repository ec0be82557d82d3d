"""Every page and document of the site, by path: one dispatcher for the
static writer (``stekker site``) and the live server (``stekker serve``), so
both publish the same pages and the same JSON at the same paths.  (Over 400
lines on purpose: one dispatcher is what keeps site and serve identical.)

Paths (``/<lang>/`` is ``/nl/`` or ``/en/``; docs/PUBLISH.md):

* ``/<lang>/`` home, ``/<lang>/org/<slug>/``, ``/<lang>/domain/<domain>/``,
  ``/<lang>/provider/<id>/``, ``/<lang>/parent/<id>/``, ``/<lang>/sector/<slug>/``,
  ``/<lang>/changes/`` (+ ``/<lang>/changes.atom``), ``/<lang>/map/[<service>/]``,
  ``/<lang>/methods/``, ``/<lang>/data/``; indexes ``/<lang>/org/`` etc.
* ``/api/v1/…json`` (language-neutral), ``/data/…csv`` (page tables),
  ``/data/scan.csv``, ``/data/scan.parquet``, ``/data/catalog.jsonld``.

HTML is rendered by one Jinja environment (:func:`environment`, autoescape
on); every text value is made visible (control/bidi characters) in the
model; JSON is written with :func:`stekker.text.json_inert`; CSV cells pass
:func:`stekker.text.cell` (no spreadsheet formulas).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import itertools
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator
from xml.sax.saxutils import escape as xml_escape

import jinja2
from markupsafe import Markup

from stekker.text import cell, json_inert

from . import geo
from .model import LANGS, MAP_CATEGORIES, Model, Text, safe_id

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'")
CSP_HEADER = CSP + "; frame-ancestors 'none'"
# the map colour of a municipality whose service has no identified provider, by why (site.css)
MAP_STATE_CLASSES = {"error": "cerror", "?": "cunknown", "absent": "cabsent", "nxdomain": "cnxdomain"}
API = "/api/v1"
INDEX_LIMIT = 400  # an index page lists at most this many rows; longer lists are split by first character
# the item kinds with a page, a page table (CSV) and an API document each:
# (page path part, API path part, the model's method listing their keys)
ITEM_KINDS = (("org", "organisations", "org_slugs"), ("domain", "domains", "domain_ids"),
              ("provider", "providers", "provider_ids"), ("parent", "parents", "parent_ids"),
              ("sector", "sectors", "sector_slugs"))
LIST_KINDS = tuple(api for _, api, _ in ITEM_KINDS)  # the API's list documents


@dataclass(slots=True)
class Doc:
    body: bytes
    media_type: str


class NotFound(LookupError):
    pass


class BadRequest(ValueError):
    """A query parameter's value that cannot be answered (``serve`` answers 400 with why)."""


class NoSuchValue(NotFound):
    """A filter value that names no sector or provider of this scan (``serve`` answers 404 with
    why, never an empty list)."""


# ---------------------------------------------------------------------------
# the one Jinja environment
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The site's Jinja environment: the rendering toolkit's one environment
    (autoescape on, undefined values an error) over the package templates."""
    from stekker.render.html import environment as toolkit_environment

    def load(name: str) -> str:
        return resources.files("stekker.publish").joinpath("templates", name).read_text("utf-8")

    env = toolkit_environment(jinja2.FunctionLoader(load))
    # Speed (55,000 pages): the page data are plain dicts, so ``x.name`` looks the
    # key up first (Jinja's default tries the attribute, fails, then the key);
    # anything that is not a dict key (``d.counts.items()``) falls back to Jinja's rule.
    generic = env.getattr

    def getattr_(obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return generic(obj, attribute)

    env.getattr = getattr_  # type: ignore[method-assign]
    env.globals["verdict"] = verdict_html
    env.globals["once"] = once
    env.globals["fragment"] = fragment
    return env


_KEYED: dict[tuple[Any, ...], Markup] = {}


def fragment(key: tuple[Any, ...], macro: Any) -> Markup:
    """``macro()``, rendered once for ``key``: the values it depends on (the
    page header's links: the language and the way back to the site's root)."""
    html = _KEYED.get(key)
    if html is None:
        html = macro()
        if len(_KEYED) >= 256:
            _KEYED.clear()
        _KEYED[key] = html
    return html


_FRAGMENTS: dict[tuple[int, str], tuple[Any, Markup]] = {}


def once(rows: Any, macro: Any) -> Markup:
    """``macro(rows)``, rendered once for a page data object that many pages
    share (a provider's verdicts and reasons, in one language: the model hands
    out the same list for the same judged verdicts).  The cache holds the
    object, so its id cannot be reused while cached; bounded."""
    key = (id(rows), macro.name)
    hit = _FRAGMENTS.get(key)
    if hit is not None and hit[0] is rows:
        return hit[1]
    html = macro(rows)
    if len(_FRAGMENTS) >= 4096:
        _FRAGMENTS.clear()
    _FRAGMENTS[key] = (rows, html)
    return html


_VERDICT_HTML: dict[tuple[str, str], Markup] = {}


def verdict_html(v: dict[str, Any]) -> Markup:
    """A verdict cell's badge (``<span class="v v-…">label</span>``), escaped;
    a Python global rather than a Jinja macro (called ~60 times per page)."""
    key = (v["verdict"], v["label"])
    html = _VERDICT_HTML.get(key)
    if html is None:
        html = Markup('<span class="v v-%s">%s</span>') % key
        if len(_VERDICT_HTML) < 512:  # verdicts × languages: a handful
            _VERDICT_HTML[key] = html
    return html


def _rel(page: str):
    """``u(path)``: a site path as a link relative to ``page`` (works on any
    web server, under any prefix, and from the file system)."""
    depth = page.count("/") - 1 if page.endswith("/") else page.count("/") - 1
    root = "../" * depth if depth > 0 else "./"

    def u(target: str) -> str:
        return root + target.lstrip("/")
    return u


def _version() -> str:
    from stekker import __version__

    return __version__


class Site:
    """Pages of one model; the map geometry is loaded once."""

    def __init__(self, model: Model, geo_dir: str | Path | None = None):
        self.m = model
        self._geo_dir = geo.geo_dir(geo_dir)
        self._geo: geo.GeoMap | None = None
        self._texts = {lang: Text(lang) for lang in LANGS}
        self._groups: dict[str, dict[str, int]] = {}
        self._members: dict[str, dict[str, list[str]]] = {}
        self._cache: dict[tuple[str, str, _dt.date], Any] = {}
        self._spellings: dict[str, str] | None = None

    def prepare(self) -> None:
        """Load what every page shares (the map) before workers fork."""
        if self._geo is None and self._geo_dir is not None:
            self._geo = geo.load_map(self._geo_dir)

    # ------------------------------------------------------------- enumeration
    def paths(self) -> Iterator[str]:
        """Every path of the static site (except the whole-scan files)."""
        m = self.m
        yield "/index.html"
        yield "/404.html"
        yield "/static/site.css"
        for lang in LANGS:
            p = f"/{lang}/"
            yield p
            for sub in ("org/", "domain/", "provider/", "parent/", "sector/", "changes/", "methods/", "data/",
                        "map/"):
                yield p + sub
            yield f"/{lang}/changes.atom"
            for c in MAP_CATEGORIES:
                yield f"/{lang}/map/{c}/"
            for kind in ("org", "domain"):
                for k in self.groups(kind):
                    yield f"/{lang}/{kind}s/{k}/"
            for part, _, keys in ITEM_KINDS:
                for k in getattr(m, keys)():
                    yield f"/{lang}/{part}/{k}/"
            for k in m.org_slugs():  # the further pages of a long domain list
                for n in range(2, m.org_pages(k) + 1):
                    yield f"/{lang}/org/{k}/domains/{n}/"
            for k in self.spellings():  # a domain's page under the name a reader types
                yield f"/{lang}/domain/{k}/"
        yield f"{API}/openapi.json"
        yield f"{API}/scan.json"
        yield f"{API}/changes.json"
        for k in LIST_KINDS:
            yield f"{API}/{k}.json"
        yield "/data/home.csv"
        yield "/data/changes.csv"
        for part, api, keys in ITEM_KINDS:
            for k in getattr(m, keys)():  # an item's JSON and CSV one after the other (they share a record)
                yield f"{API}/{api}/{k}.json"
                yield f"/data/{part}/{k}.csv"
        if "self" in m.api_provider_ids():  # own infrastructure: listed in providers.json, no page
            yield f"{API}/providers/self.json"
        yield "/data/catalog.jsonld"

    def spellings(self) -> dict[str, str]:
        """The Unicode form of each internationalised domain's name (münchen.de for
        xn--mnchen-3ya.de) -> its page's id: the name a reader types, which a static web server
        cannot redirect (``serve`` answers it with a 308 redirect); its page leads to the domain's."""
        if self._spellings is None:
            import idna

            out: dict[str, str] = {}
            for did in self.m.domain_ids():
                if "xn--" not in did:
                    continue
                try:
                    name = idna.decode(did)
                except (idna.IDNAError, UnicodeError, ValueError):
                    continue  # (not a name idna reads back: its page keeps its one spelling)
                if name != did and "/" not in name and not self.m.domain_by_id(name):
                    out[name] = did
            self._spellings = out
        return self._spellings

    # ------------------------------------------------------------- dispatch
    def render(self, path: str, params: dict[str, str] | None = None) -> Doc:
        """The document at ``path`` (raises :class:`NotFound`)."""
        if path in ("/", "/index.html"):
            return self._html("lang.html", "/index.html", Text("nl"), {})
        if path == "/404.html":  # shown by a web server at any depth: links from the root
            tpl = environment().get_template("notfound.html")
            html = tpl.render(lang="nl", t=self._texts["nl"], nl=self._texts["nl"], en=self._texts["en"],
                              u=lambda p: p, csp=Markup(CSP), version=_version())
            return Doc(html.encode("utf-8"), "text/html; charset=utf-8")
        if path == "/static/site.css":
            css = resources.files("stekker.publish").joinpath("static", "site.css").read_bytes()
            return Doc(css, "text/css; charset=utf-8")
        if path.startswith(API + "/"):
            return self._api(path[len(API) + 1:], params or {})
        if path.startswith("/data/"):
            return self._data(path[len("/data/"):])
        parts = path.strip("/").split("/")
        lang = parts[0]
        if lang not in LANGS or not (path.endswith("/") or path.endswith(".atom")):
            raise NotFound(path)
        t = self._texts[lang]
        rest = parts[1:]
        m = self.m
        if not rest:
            d = m.home(t)
            return self._page("home.html", path, t, d=d, title=t("nav_home"), sectors=d["sectors"])
        kind = rest[0]
        if kind == "changes.atom" and len(rest) == 1:
            return self._atom(t)
        if len(rest) == 1:
            return self._index(kind, path, t)
        if len(rest) == 4 and kind == "org" and rest[2] == "domains" and rest[1] in m._orgs:
            n = rest[3]
            if not (n.isdigit() and n == str(int(n)) and int(n) >= 2):  # page 1 is the organisation's page
                raise NotFound(path)
            try:
                d = m.org(rest[1], t, page=int(n))
            except KeyError:
                raise NotFound(path) from None
            return self._page("org.html", path, t, d=d,
                              title=f"{d['name']} — {t('org_domains_range', first=d['first'], last=d['last'])}")
        if len(rest) != 2:
            raise NotFound(path)
        key = rest[1]
        try:
            if kind == "org" and key in m._orgs:
                d = m.org(key, t)
                return self._page("org.html", path, t, d=d, title=d["name"])
            if kind == "domain" and m.domain_by_id(key):
                d = m.domain(m.domain_by_id(key), t)
                return self._page("domain.html", path, t, d=d, title=d["domain"])
            if kind == "domain" and key in self.spellings():
                did = self.spellings()[key]
                return self._html("moved.html", path, t, {"target": f"/{lang}/domain/{did}/", "name": did,
                                                          "shown_name": key})
            if kind == "provider" and key in m._providers:
                d = m.provider(key, t)
                return self._page("provider.html", path, t, d=d, title=d["name"], kicker=t("provider_title"),
                                  csv=f"/data/provider/{key}.csv", json=f"{API}/providers/{key}.json")
            if kind == "parent" and key in m._parents:
                d = m.parent(key, t)
                return self._page("provider.html", path, t, d=d, title=d["name"], kicker=t("parent_title"),
                                  csv=f"/data/parent/{key}.csv", json=f"{API}/parents/{key}.json")
            if kind == "sector" and key in m._sectors:
                d = m.sector(key, t)
                return self._page("sector.html", path, t, d=d, title=d["name"])
            if kind == "map" and key in MAP_CATEGORIES:
                return self._map(path, t, key)
            if kind in ("orgs", "domains"):
                return self._index(kind[:-1], path, t, group=key)
        except KeyError:
            raise NotFound(path) from None
        raise NotFound(path)

    # ------------------------------------------------------------- html
    def _html(self, template: str, path: str, t: Text, ctx: dict[str, Any]) -> Doc:
        tpl = environment().get_template(template)
        html = tpl.render(lang=t.lang, t=t, u=_rel(path), csp=Markup(CSP), version=_version(), **ctx)
        return Doc(html.encode("utf-8"), "text/html; charset=utf-8")

    def _page(self, template: str, path: str, t: Text, **ctx: Any) -> Doc:
        alternate = "/" + t.other + path[3:]
        ctx.setdefault("policies", self._shared("policies", t))
        return self._html(template, path, t, {"alternate": alternate, "about": self._shared("about", t), **ctx})

    def _shared(self, what: str, t: Text) -> Any:
        """What every page shows the same (the definitions, the measurement
        block), made once per language and day (the age of the data counts
        days; ``serve`` runs for longer)."""
        key = (what, t.lang, _dt.date.today())
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 16:
                self._cache.clear()
            hit = self._cache[key] = getattr(self.m, what)(t)
        return hit

    def groups(self, kind: str) -> dict[str, int]:
        """Index groups (prefix of the id -> count) when a list is too long
        for one page: first characters, and the first two, three … for a
        character that still has too many; empty when the list fits."""
        ids = self.m.org_slugs() if kind == "org" else self.m.domain_ids()
        if len(ids) <= INDEX_LIMIT:
            return {}
        cache = self._groups.get(kind)
        if cache is not None:
            return cache

        def split(items: list[str], n: int) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for i in items:
                out.setdefault(i[:n], []).append(i)
            return out

        members: dict[str, list[str]] = {}
        todo = [(k, v, 1) for k, v in split(ids, 1).items()]
        while todo:
            key, items, n = todo.pop()
            m = min(80, max(n, len(os.path.commonprefix(items))) + 1)
            sub = split(items, m) if len(items) > INDEX_LIMIT and m > n else {}
            if len(sub) > 1:
                if any(len(k) < m for k in sub):  # ids as short as a prefix: a group of their own
                    for k in [k for k in sub if len(k) < m]:
                        members[k + "~"] = sub.pop(k)  # "~" is in no id
                todo.extend((k, v, m) for k, v in sub.items())
            else:
                members[key] = items
        self._members[kind] = members
        self._groups[kind] = {k: len(members[k]) for k in sorted(members)}
        return self._groups[kind]

    def _index(self, kind: str, path: str, t: Text, group: str | None = None) -> Doc:
        m = self.m
        lang = t.lang
        pols = m.policies(t)
        if kind in ("org", "domain"):
            groups = self.groups(kind)
            title = t("list_orgs") if kind == "org" else t("list_domains")
            jsonp = f"{API}/organisations.json" if kind == "org" else f"{API}/domains.json"
            csvp = None if kind == "org" else "/data/scan.csv"
            if groups and group is None:
                rows = [{"name": k.upper(), "href": f"/{lang}/{kind}s/{k}/", "cells": [t.int(n)]}
                        for k, n in groups.items()]
                return self._page("list.html", path, t, title=title, rows=rows, csv=csvp, json=jsonp,
                                  head=[t("col_group"), t("col_org") if kind == "org" else t("col_domains")])
            if group is not None and group not in groups:
                raise NotFound(path)
            if kind == "org":
                slugs = m.org_slugs() if group is None else self._members["org"][group]
                rows = [{"name": r["name"], "href": f"/{lang}/org/{r['slug']}/", "cells": r["verdicts"]}
                        for r in m.org_rows(t, slugs)]
                head = [t("col_org")] + [p["short"] for p in pols]
            else:
                names = [m.domain_by_id(x) for x in (m.domain_ids() if group is None else self._members["domain"][group])]
                rows = [{"name": r["domain"], "href": f"/{lang}/domain/{r['id']}/",
                         "cells": [", ".join(r["organisations"])] + r["verdicts"]} for r in m.domain_rows(names, t)]
                head = [t("col_domain"), t("col_org")] + [p["short"] for p in pols]
            if group is not None:
                title = f"{title}: {group.upper()}"
            return self._page("list.html", path, t, title=title, rows=rows, head=head, csv=csvp, json=jsonp,
                              txt_cols=(0,) if kind == "domain" else ())
        if kind == "provider":
            rows = [{"name": r["name"], "href": f"/{lang}/provider/{r['id']}/" if r["id"] else None,
                     "cells": [r["count_text"], r["share"], r["parent"], r["jurisdiction"]]}
                    for r in m._provider_rows(t)]
            return self._page("list.html", path, t, title=t("all_providers"), rows=rows,
                              head=[t("col_provider"), t("col_count"), t("col_share"), t("col_parent"),
                                    t("col_jurisdiction")], csv=None, json=f"{API}/providers.json")
        if kind == "parent":
            rows = [{"name": r["name"], "href": f"/{lang}/parent/{r['id']}/",
                     "cells": [r["count_text"], r["share"], r["jurisdiction"]]} for r in m._parent_rows(t)]
            return self._page("list.html", path, t, title=t("top_parents"), rows=rows,
                              head=[t("col_parent"), t("col_count"), t("col_share"), t("col_jurisdiction")],
                              csv=None, json=f"{API}/parents.json")
        if kind == "sector":  # the home page's sector table, whole
            return self._page("sectors.html", path, t, title=t("list_sectors"), sectors=m._sector_rows(t),
                              json=f"{API}/sectors.json")
        if kind == "changes":
            return self._page("changes.html", path, t, d=m.changes(t), title=t("changes_title"))
        if kind == "methods":
            return self._page("methods.html", path, t, d=m.methods(t), title=t("methods_title"))
        if kind == "data":
            api = [f"{API}/{k}.json" for k in LIST_KINDS] + [f"{API}/changes.json", f"{API}/scan.json"]
            return self._page("data.html", path, t, title=t("nav_data"), api=api, publisher=m.publisher,
                              licence=m.licence)
        if kind == "map":
            return self._map(path, t, MAP_CATEGORIES[0])
        raise NotFound(path)

    # ------------------------------------------------------------- map
    def _map(self, path: str, t: Text, category: str) -> Doc:
        m = self.m
        lang = t.lang
        if self._geo is None and self._geo_dir is not None:
            self._geo = geo.load_map(self._geo_dir)
        gm = self._geo
        munis = gm.municipalities if gm else []
        matched, unmatched = geo.match(munis, m.org_names()) if munis else ({}, [])
        prov: dict[str, tuple[str, str]] = {
            code: (m.domain_provider(dom, category, t) if dom else m.org_provider(name, category, t))
            for code, (slug, name, dom) in matched.items()}
        counts: dict[str, int] = {}
        names: dict[str, str] = {}
        for key, word in prov.values():
            counts[key] = counts.get(key, 0) + 1
            names[key] = word
        ranked = [k for k in sorted(counts, key=lambda k: (-counts[k], k)) if k not in MAP_STATE_CLASSES]
        cls = {k: f"c{i}" for i, k in enumerate(ranked[:8])}
        colour = {}
        legend_counts: dict[str, int] = {}
        for code, (key, _) in prov.items():
            c = cls.get(key) or MAP_STATE_CLASSES.get(key, "cother")
            colour[code] = c
            legend_counts[c] = legend_counts.get(c, 0) + 1
        legend = [{"cls": cls[k][1:], "name": names[k], "count": counts[k]} for k in ranked[:8]]
        if legend_counts.get("cother"):
            legend.append({"cls": "other", "name": t("map_other"), "count": legend_counts["cother"]})
        # a failed measurement, a service not recognised and no such service each their own colour:
        # on the map an error must not look like "not present"
        for key, c in MAP_STATE_CLASSES.items():
            if legend_counts.get(c):
                legend.append({"cls": c[1:], "name": names[key], "count": legend_counts[c]})
        legend.append({"cls": "missing", "name": t("map_missing"), "count": len(munis) - len(matched)})
        u = _rel(path)
        service = t.category(category)
        svg = None
        if gm is not None:
            svg = Markup(geo.svg(gm, colour, {c: w for c, (_, w) in prov.items()},
                                 {c: u(f"/{lang}/domain/{safe_id(dom)}/") if dom else u(f"/{lang}/org/{slug}/")
                                  for c, (slug, _, dom) in matched.items()},
                                 t("map_title", service=service)))
        by_code = {x.code: x for x in munis}
        rows = [{"name": by_code[c].name, "slug": slug, "org": name, "provider": prov[c][1],
                 "domain": dom, "domain_id": safe_id(dom) if dom else None}
                for c, (slug, name, dom) in sorted(matched.items(), key=lambda kv: by_code[kv[0]].name)]
        from stekker.text import visible

        for r in rows:
            r["org"] = visible(r["org"])
        choices = [{"id": c, "name": t.category(c), "current": c == category} for c in MAP_CATEGORIES]
        d = {"service_name": service, "svg": svg, "legend": legend, "rows": rows, "choices": choices,
             "matched": len(matched), "total": len(munis),
             "unmatched": [{"slug": s, "name": visible(n)} for s, n in unmatched]}
        return self._page("map.html", path, t, d=d, title=t("map_title", service=service))

    # ------------------------------------------------------------- atom
    def _atom(self, t: Text) -> Doc:
        m = self.m
        c = m.changes(t)
        scan = m.scan
        updated = scan.get("finished_at") or scan.get("started_at") or _dt.datetime.now(_dt.timezone.utc).isoformat()
        if not isinstance(updated, str):
            updated = str(updated)
        if "T" not in updated:
            updated = updated[:10] + "T00:00:00+00:00"
        x = xml_escape
        ident = _feed_ids(m, t.lang)
        # the links are relative to the feed's own address; with the site's public address they are
        # said against it (xml:base), and the ids name it (field trial publish 15)
        base = f' xml:base="{x(m.site_url + t.lang + "/", {chr(34): "&quot;"})}"' if m.site_url else ""
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{t.lang}"{base}>',
                 f"<title>{x(t('changes_title'))}</title>",
                 f"<id>{x(ident('feed'))}</id>",
                 f"<updated>{x(updated)}</updated>", "<author><name>stekker</name></author>",
                 '<link rel="alternate" href="changes/"/>']
        # a domain's verdict under a definition flipping first (what a subscriber most wants to
        # know), then each change of a service; the definition and the verdicts in the feed's language
        entries = [(f"verdict:{x(str(scan['scan_id']))}:{i}",
                    f"{v['domain']}: {v['title']} — {t('change_verdict')}: {v['old']} → {v['new']}", v)
                   for i, v in enumerate((c or {}).get("verdict_changes", [])[:500])]
        entries += [(f"change:{x(str(scan['scan_id']))}:{i}",
                     f"{ch['domain']}: {ch['category']} — {ch['kind_text']}: {ch['old']} → {ch['new']}", ch)
                    for i, ch in enumerate((c or {}).get("changes", [])[:500])]
        # a domain taken off or put on the input list: named (a removed one has no page of its own)
        for key, word in (("removed", t("change_removed_from_input")), ("added", t("change_added_to_input"))):
            entries += [(f"{key}:{x(str(scan['scan_id']))}:{i}", f"{r['domain']}: {word}", {**r, "organisations": []})
                        for i, r in enumerate((c or {}).get(f"{key}_rows", [])[:500])]
        for tag, title, ch in entries:
            link = f"domain/{ch['id']}/" if ch["id"] else "changes/"
            lines += ["<entry>", f"<title>{x(_xml_text(title))}</title>",
                      f"<id>{x(ident(tag))}</id>",
                      f"<updated>{x(updated)}</updated>", f'<link href="{x(link)}"/>',
                      f"<summary>{x(_xml_text(', '.join(ch['organisations'])))}</summary>", "</entry>"]
        lines.append("</feed>")
        return Doc("\n".join(lines).encode("utf-8"), "application/atom+xml; charset=utf-8")

    # ------------------------------------------------------------- api
    def _api(self, rest: str, params: dict[str, str]) -> Doc:
        m = self.m
        if rest == "openapi.json":
            from .api import openapi

            return _json(openapi(_version()))
        if rest == "scan.json":
            return _json(m.api_scan())
        if rest == "changes.json":
            return _json(m.api_changes())
        if not rest.endswith(".json"):
            raise NotFound(rest)
        name = rest[: -len(".json")]
        if name in LIST_KINDS:
            return _json(self._list(name, params))
        kind, _, key = name.partition("/")
        try:
            if kind == "organisations" and key in m._orgs:
                return _json(m.api_org(key))
            if kind == "domains" and m.domain_by_id(key):
                return _json(m.api_domain(m.domain_by_id(key)))
            if kind == "providers" and key in m.api_provider_ids():
                return _json(m.api_provider(key))
            if kind == "parents" and key in m._parents:
                return _json(m.api_parent(key))
            if kind == "sectors" and key in m._sectors:
                return _json(m.api_sector(key))
        except (KeyError, StopIteration):
            pass
        raise NotFound(rest)

    def _list(self, kind: str, params: dict[str, str]) -> dict[str, Any]:
        m = self.m
        sector = params.get("sector") or None
        provider = params.get("provider") or None
        try:  # ids and names matched without regard to case; a value naming nothing is an error, not 0 items
            sector = m.sector_filter(sector) if sector is not None else None
            provider = m.provider_filter(provider) if provider is not None else None
        except LookupError as exc:
            raise NoSuchValue(exc.args[0]) from None
        except ValueError as exc:
            raise BadRequest(exc.args[0]) from None
        if kind == "domains":
            items: Any = m.api_domain_rows(sector, provider)
        elif kind == "organisations":
            items = m.api_org_rows(sector)
        elif kind == "providers":
            items = m.api_provider_rows()
        elif kind == "parents":
            items = m.api_parent_rows()
        else:
            items = m.api_sector_rows()
        items = list(items)
        total = len(items)
        offset = _int_param(params.get("offset"), 0)
        limit = _int_param(params.get("limit"), None)
        if limit is not None or offset:
            items = items[offset: offset + limit if limit is not None else None]
        return {"kind": kind, "scan": m.scan["scan_id"], "total": total, "offset": offset, "limit": limit,
                "items": items}

    # ------------------------------------------------------------- data
    def _data(self, rest: str) -> Doc:
        m = self.m
        if rest == "catalog.jsonld":
            return _json(self.catalog(), "application/ld+json")
        if rest == "home.csv":  # numbers, not the page's words (docs/PUBLISH.md)
            return _csv(list(m.HOME_CSV), ([r[k] for k in m.HOME_CSV] for r in m.api_home_rows()))
        if rest == "changes.csv":
            # every change of the comparison: the service changes, then each verdict change (kind
            # "verdict": the definition, the old and the new verdict) - the list `report --compare` names
            c = m.api_changes()
            services = ([x["kind"], x["domain"], " | ".join(x["organisations"]), x["category"], x["old"], x["new"],
                         x["host"], None] for x in c["changes"])
            verdicts = (["verdict", v["domain"], " | ".join(v["organisations"]), None, v["old"], v["new"], None,
                         v["policy"]] for v in c["verdict_changes"])
            # the input list's own changes, by name (a removed domain is named nowhere else)
            listed = itertools.chain(([k, d, None, None, None, None, None, None] for k, key in
                                      (("removed_from_input", "removed_domains"), ("added_to_input", "added_domains"))
                                      for d in c[key]))
            return _csv(["kind", "domain", "organisations", "category", "old", "new", "host", "definition"],
                        itertools.chain(services, verdicts, listed))
        if rest in ("scan.csv", "scan.parquet"):
            import os
            import tempfile

            fd, tmp = tempfile.mkstemp(suffix="." + rest.rsplit(".", 1)[1])
            os.close(fd)
            try:
                (m.write_scan_csv if rest.endswith(".csv") else m.write_scan_parquet)(tmp)
                body = Path(tmp).read_bytes()
            finally:
                os.unlink(tmp)
            return Doc(body, "text/csv; charset=utf-8" if rest.endswith(".csv") else "application/vnd.apache.parquet")
        if not rest.endswith(".csv"):
            raise NotFound(rest)
        kind, _, key = rest[: -len(".csv")].partition("/")
        pids = [p.id for p in m.report.policies]
        if kind == "org" and key in m._orgs:
            doc = m.api_org(key)
            return _csv(["domain", "status"] + [f"verdict_{p}" for p in pids],
                        ([d["domain"], d["status"]] + [d["verdicts"][p] for p in pids] for d in doc["domains"]))
        if kind == "domain" and m.domain_by_id(key):
            doc = m.api_domain(m.domain_by_id(key))
            return _csv(["category", "primary", "status", "provider", "provider_name", "chain", "jurisdiction"]
                        + [f"verdict_{p}" for p in pids] + [f"reason_{p}" for p in pids],
                        ([d["category"], d["primary"], d["status"], d["provider"], d["provider_name"],
                          " > ".join(e["name"] for e in d["chain"]), d["jurisdiction"]]
                         + [(d["verdicts"].get(p) or {}).get("verdict") for p in pids]
                         + [(d["verdicts"].get(p) or {}).get("reason") for p in pids] for d in doc["dependencies"]))
        if kind in ("provider", "parent") and key in (m._providers if kind == "provider" else m._parents):
            doc = m.api_provider(key) if kind == "provider" else m.api_parent(key)
            return _csv(["domain", "categories"], ([d["domain"], " | ".join(d["categories"])]
                                                   for d in doc["dependents"]))
        if kind == "sector" and key in m._sectors:
            rows = list(m.api_org_rows(key))
            return _csv(["organisation"] + [f"verdict_{p}" for p in pids],
                        ([r["name"]] + [r["verdicts"][p] for p in pids] for r in rows))
        raise NotFound(rest)

    def catalog(self) -> dict[str, Any]:
        """DCAT-AP description of the dataset (JSON-LD). Relative IRIs resolve against the
        document's own address, ``/data/catalog.jsonld``: the catalogue is the site (``../``), the
        files sit beside it (``scan.csv``) or under ``../api/v1/``."""
        m = self.m
        scan = m.scan
        issued = str(scan.get("finished_at") or scan.get("started_at") or "")[:10] or None
        iana = "http://www.iana.org/assignments/media-types/"
        dist = [("scan.csv", "text/csv", "CSV"), ("scan.parquet", "application/vnd.apache.parquet", "PARQUET"),
                ("../api/v1/domains.json", "application/json", "JSON")]
        eu = "http://publications.europa.eu/resource/authority/"
        # who publishes and under which licence: only as the publisher stated them (stekker site
        # --publisher / --licence), never assumed
        publisher = {"dct:publisher": {"@type": "foaf:Agent", "foaf:name": m.publisher}} if m.publisher else {}
        licence = {"dct:license": {"@id": m.licence}} if m.licence else {}
        return {
            "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                         "foaf": "http://xmlns.com/foaf/0.1/", "xsd": "http://www.w3.org/2001/XMLSchema#"},
            "@type": "dcat:Catalog", "@id": "../", **publisher, **licence,
            "dct:title": {"@value": "stekker", "@language": "en"},
            "dct:description": {"@value": "Measurements of dependence on non-European providers from public DNS.",
                                "@language": "en"},
            "dcat:dataset": [{
                "@type": "dcat:Dataset", "@id": f"#scan-{scan['scan_id']}",
                "dct:identifier": f"stekker-scan-{scan['scan_id']}",
                "dct:title": [{"@value": f"stekker scan {scan['scan_id']}", "@language": "en"},
                              {"@value": f"stekker-scan {scan['scan_id']}", "@language": "nl"}],
                "dct:description": [
                    {"@value": "Per domain: who runs which service (provider, company, ultimate parent, jurisdiction), "
                               "the DNS evidence, and the verdict under several definitions of sovereign.",
                     "@language": "en"},
                    {"@value": "Per domein: wie welke dienst draait (aanbieder, bedrijf, uiteindelijke eigenaar, "
                               "rechtsgebied), het DNS-bewijs en het oordeel onder meerdere definities van soeverein.",
                     "@language": "nl"}],
                **({"dct:issued": {"@value": issued, "@type": "xsd:date"}} if issued else {}),
                **({"dct:temporal": {"@type": "dct:PeriodOfTime",
                                     "dcat:startDate": {"@value": issued, "@type": "xsd:date"}}} if issued else {}),
                "dcat:keyword": ["DNS", "cloud", "sovereignty", "soevereiniteit"],
                "dct:language": [{"@id": eu + "language/NLD"}, {"@id": eu + "language/ENG"}],
                "dct:spatial": {"@id": eu + "country/NLD"},
                # the knowledge base the findings rest on
                "dcat:version": str((m.report.meta or {}).get("kb_version") or ""),
                **publisher,
                "dcat:distribution": [{"@type": "dcat:Distribution", "dcat:accessURL": {"@id": u},
                                       "dcat:downloadURL": {"@id": u}, "dcat:mediaType": {"@id": iana + mt},
                                       "dct:format": {"@id": eu + "file-type/" + f},
                                       **licence}
                                      for u, mt, f in dist],
            }],
        }


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _json(obj: Any, media: str = "application/json") -> Doc:
    text = json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
    if not text.isprintable():  # fast path: nothing a terminal could act on
        text = json_inert(text)
    return Doc(text.encode("utf-8"), media)


def _csv(header: list[str], rows: Any) -> Doc:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in r])
    return Doc(buf.getvalue().encode("utf-8"), "text/csv; charset=utf-8")


_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _cell(v: str) -> str:
    """:func:`stekker.text.cell`, with a fast path for plain text."""
    if v.isprintable() and v.lstrip()[:1] not in _FORMULA_START:
        return v
    return cell(v)


def _feed_ids(m: Any, lang: str) -> Any:
    """The ids of a changes feed and its entries (``what``: ``feed`` or an entry's key), the same
    each time the same scan is published.  With the site's public address a tag URI of its host
    (RFC 4151: ``tag:example.org,2026-12-06:/stekker/nl/changes/2/verdict:2:0``); without one a
    name-based UUID of the scan (its number and start: not the knowledge base, whose version changes
    with each stekker release, so an upgrade would show every entry again), so that two publishers'
    feeds never share an id ("tag:stekker,2026:…" named no one)."""
    import uuid
    from urllib.parse import urlsplit

    scan = m.scan
    sid = str(scan.get("scan_id"))
    if m.site_url:
        u = urlsplit(m.site_url)
        day = _measured_day(scan)
        return lambda what: f"tag:{u.hostname},{day}:{u.path or '/'}{lang}/changes/{sid}/{what}"
    seed = f"stekker|{sid}|{scan.get('started_at')}|{lang}"
    return lambda what: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed + '|' + what)}"


def _measured_day(scan: dict[str, Any]) -> str:
    from .model import _measured

    d = _measured(scan)
    return d.isoformat() if d else "2000-01-01"  # (a fixed day: an id must not change from one day to the next)


def _xml_text(s: str) -> str:
    """Characters XML 1.0 cannot carry are dropped (the text was made visible already)."""
    return "".join(ch for ch in s if ch in "\t\n\r" or (ord(ch) >= 0x20 and ord(ch) not in (0xFFFE, 0xFFFF)))


def _int_param(v: str | None, default: int | None) -> int | None:
    if v is None or v == "":
        return default
    n = int(v)  # the server validates before; a bad value is a 400 there
    if n < 0:
        raise ValueError("negative")
    return n
