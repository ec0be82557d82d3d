"""Shipped audit knowledge (``audit/data/*.yaml``): categories, products,
alternatives, features, scoring weights, jurisdiction groups and strings.

All of it is data with sources; this module only loads and indexes it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stekker import countries
from stekker.i18n import _

DATA_DIR = Path(__file__).parent / "data"


def _load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def norm(s: str) -> str:
    """Case-, accent- and punctuation-insensitive key for exact name matching."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = s.casefold().replace("&", " and ")
    return re.sub(r"[^a-z0-9+]+", " ", s).strip()


@lru_cache(maxsize=1)
def legal_forms() -> tuple[tuple[str, ...], ...]:
    """The legal-form words of data/legal_forms.yaml as token tuples, longest first."""
    forms = {tuple(f.split()) for f in _load("legal_forms.yaml")["forms"]}
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


def name_key(s: str) -> str:
    """The key a company's name is matched by when its exact (normalised) name is not given:
    without what stands in parentheses and without legal-form words at the end
    (data/legal_forms.yaml): "ChipSoft B.V.", "CHIPSOFT" and "ChipSoft (HiX, Zorgplatform)" are
    all "chipsoft"; "Epic Systems Corporation" is "epic systems". Never fuzzy: "Epic" is not
    "Epic Systems" (that is an alias of the company, data)."""
    tokens = norm(re.sub(r"\([^()]*\)", " ", s)).split()
    forms = legal_forms()
    while True:
        cut = next((f for f in forms if len(tokens) > len(f) and tuple(tokens[-len(f):]) == f), None)
        if cut is None:
            return " ".join(tokens)
        tokens = tokens[:-len(cut)]


@lru_cache(maxsize=1)
def categories() -> list[dict]:
    return list(_load("categories.yaml")["categories"])


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """ISO 4217 codes accepted as an inventory's currency (data/currencies.yaml)."""
    return frozenset(_load("currencies.yaml")["codes"])


@lru_cache(maxsize=1)
def column_aliases() -> dict[str, dict[str, list[str]]]:
    """data/columns.yaml: ``{"columns": {field: [other names]}, "meta": {key: [other names]}}``,
    the Dutch names of an inventory CSV's columns and ``# key:`` lines (audit/loader.py checks them)."""
    raw = _load("columns.yaml") or {}
    return {part: {str(k): [str(n) for n in v] for k, v in (raw.get(part) or {}).items()} for part in ("columns", "meta")}


def category_ids() -> tuple[str, ...]:
    return tuple(c["id"] for c in categories())


@lru_cache(maxsize=1)
def seed_rules() -> tuple[tuple[str, ...], dict[str, str]]:
    """(order, category_map) of data/seed.yaml: which attribution categories
    seed an inventory, in which order, and the inventory category of a
    provider the catalogue has no product for."""
    raw = _load("seed.yaml")
    order = tuple(raw["order"])
    cmap = dict(raw["category_map"])
    bad = sorted(v for v in cmap.values() if v not in category_ids())
    if bad:
        raise CatalogueError(_("seed.yaml: category_map names unknown inventory categories: {bad}").format(bad=bad))
    missing = [k for k in order if k not in cmap]
    if missing:
        raise CatalogueError(_("seed.yaml: order lists categories without a category_map entry: {missing}").format(
            missing=missing))
    return order, cmap


def category_label(cid: str, lang: str) -> str:
    for c in categories():
        if c["id"] == cid:
            return c[lang]
    return cid


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    company: str | None
    source: str
    aliases: tuple[str, ...] = ()
    provider: str | None = None
    detect: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    core: tuple[str, ...] = ()  # what it is used for: an alternative without one of them is no replacement


@dataclass
class Catalogue:
    products: dict[str, Product]
    by_name: dict[str, str]  # norm(name) -> product id
    by_provider: dict[str, list[str]] = field(default_factory=dict)  # KB provider id -> product ids

    def match_product(self, name: str | None) -> Product | None:
        if not name:
            return None
        pid = self.by_name.get(norm(name))
        return self.products.get(pid) if pid else None

    def detected_product(self, provider: str, category: str) -> Product | None:
        """The product a DNS attribution (provider id, attribution category or
        'saas') reveals; None when the catalogue has no such product."""
        for pid in self.by_provider.get(provider, []):
            p = self.products[pid]
            if category in p.detect:
                return p
        return None


class CatalogueError(ValueError):
    pass


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    raw = _load("products.yaml")
    cats = set(category_ids())
    feats = features()
    products: dict[str, Product] = {}
    by_name: dict[str, str] = {}
    by_provider: dict[str, list[str]] = {}
    for e in raw["products"]:
        p = Product(
            id=e["id"], name=e["name"], category=e["category"], company=e.get("company"),
            source=e["source"], aliases=tuple(e.get("aliases") or ()), provider=e.get("provider"),
            detect=tuple(e.get("detect") or ()), features=tuple(e.get("features") or ()),
            core=tuple(e.get("core") or ()),
        )
        if p.id in products:
            raise CatalogueError(_("products.yaml: duplicate product id {id!r}").format(id=p.id))
        if p.category not in cats:
            raise CatalogueError(_("products.yaml: {id}: unknown category {category!r}").format(id=p.id, category=p.category))
        bad = [f for f in p.features if f not in feats.get(p.category, {})]
        if bad:
            raise CatalogueError(_("products.yaml: {id}: features not in features.yaml[{category}]: {bad}").format(
                id=p.id, category=p.category, bad=bad))
        if not set(p.core) <= set(p.features):
            raise CatalogueError(_("products.yaml: {id}: core features not among its features: {bad}").format(
                id=p.id, bad=sorted(set(p.core) - set(p.features))))
        products[p.id] = p
        for n in (p.name, p.id, *p.aliases):
            k = norm(n)
            if k in by_name and by_name[k] != p.id:
                raise CatalogueError(_("products.yaml: name {name!r} used by {first!r} and {id!r}").format(
                    name=n, first=by_name[k], id=p.id))
            by_name[k] = p.id
        if p.provider:
            by_provider.setdefault(p.provider, []).append(p.id)
    return Catalogue(products=products, by_name=by_name, by_provider=by_provider)


@lru_cache(maxsize=1)
def features() -> dict[str, dict[str, dict[str, str]]]:
    return {k: (v or {}) for k, v in _load("features.yaml")["features"].items()}


@lru_cache(maxsize=1)
def alternatives() -> list[dict]:
    alts = list(_load("alternatives.yaml")["alternatives"])
    cats = set(category_ids())
    feats = features()
    seen = set()
    for a in alts:
        if a["id"] in seen:
            raise CatalogueError(_("alternatives.yaml: duplicate id {id!r}").format(id=a["id"]))
        seen.add(a["id"])
        for c in a["categories"]:
            if c not in cats:
                raise CatalogueError(_("alternatives.yaml: {id}: unknown category {category!r}").format(id=a["id"], category=c))
        for c, fl in (a.get("features") or {}).items():
            bad = [f for f in fl if f not in feats.get(c, {})]
            if bad:
                raise CatalogueError(_("alternatives.yaml: {id}: features not in features.yaml[{category}]: {bad}").format(
                    id=a["id"], category=c, bad=bad))
        if not a.get("sources"):
            raise CatalogueError(_("alternatives.yaml: {id}: no sources").format(id=a["id"]))
        if a.get("eu_controlled") not in (True, False, "unknown"):
            raise CatalogueError(_("alternatives.yaml: {id}: eu_controlled must be true, false or unknown").format(id=a["id"]))
    return alts


def alternatives_for(category: str) -> list[dict]:
    return [a for a in alternatives() if category in a["categories"]]


@lru_cache(maxsize=1)
def scoring() -> dict:
    return _load("scoring.yaml")


SHARED_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@lru_cache(maxsize=1)
def eu_member_states() -> frozenset[str]:
    """The EU 27, from the shared ``src/stekker/data/countries.yaml``."""
    return countries.group("eu")


@lru_cache(maxsize=1)
def jurisdictions() -> dict:
    """data/jurisdictions.yaml with ``eu`` (the EU member states) filled in
    from the shared country data."""
    j = dict(_load("jurisdictions.yaml"))
    j["eu"] = sorted(eu_member_states())
    return j


def jurisdiction_group(code: str | None) -> str:
    """eu | europe | non_european | unknown."""
    if not code:
        return "unknown"
    j = jurisdictions()
    c = code.upper()
    if c in j["eu"]:
        return "eu"
    if c in j["europe"]:
        return "europe"
    return "non_european"


def country_name(code: str | None, lang: str) -> str:
    if not code:
        return {"nl": "onbekend", "en": "unknown"}[lang]
    n = jurisdictions().get("names", {}).get(code.upper())
    return n[lang] if n else code.upper()


@lru_cache(maxsize=1)
def strings() -> dict:
    return _load("strings.yaml")


def t(key: str, lang: str, **kw: Any) -> str:
    """A user-facing string in ``lang`` (nl|en), formatted with ``kw``.

    A string may have a singular form ``nl_one``/``en_one``, used when the
    count (the placeholder named by ``count``, default ``n``) is 1: "1 systeem",
    not "1 systemen"."""
    node: Any = strings()
    for part in key.split("."):
        node = node[part]
    if isinstance(node, dict):
        count = kw.get(node.get("count", "n"))
        s = node.get(f"{lang}_one") if count == 1 and f"{lang}_one" in node else node[lang]
    else:
        s = str(node)
    return s.format(**kw) if kw else s
