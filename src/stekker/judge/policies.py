"""Policies: the definitions of "sovereign", loaded from data.

``judge/data/policies.yaml`` (shipped) plus the user files given with
``stekker report --policies FILE`` (later files win) become one
:class:`PolicyConfig`: the country sets, the policies with their checks,
the reason texts and the organisation's own country.  Nothing here judges;
:mod:`stekker.judge.evaluate` applies a policy to one dependency.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from stekker import countries
from stekker.attribute.model import CATEGORIES
from stekker.i18n import _

CHECK_KINDS = (
    "company_in",
    "controller_in",
    "chain_none_in",
    "chain_all_in",
    "data_location",
    "holders",
    "any_of",
    "flag",
)


# eu_data_location values of the knowledge base (kb/data/README.md) -> outcome;
# overridable with ``data_location_values`` in a policy file
DEFAULT_LOCATION_TABLE = {"only": "pass", "default": "pass", "offered": "offered",
                          "none": "fail", "unknown": "unknown", "true": "pass", "false": "fail"}


NETWORK_MODES = ("country", "unknown")
LIKELY_MODES = ("count", "not_sovereign_only", "separate")
# a likely answer counts on neither side unless a policy says otherwise (policies.yaml `likely:`)
DEFAULT_LIKELY = "separate"


class PolicyError(ValueError):
    """A policy file is malformed (message names the file and the policy)."""


# ---------------------------------------------------------------------------
# policy data
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Policy:
    id: str
    name: dict[str, str]
    summary: dict[str, str]
    checks: list[dict[str, Any]]
    source: str | None = None
    origin: str = "shipped"  # "shipped" or the user file's path
    short: dict[str, str] = field(default_factory=dict)  # column-header name
    categories: tuple[str, ...] | None = None  # only these categories count (None: all)
    config: "PolicyConfig | None" = field(default=None, repr=False)
    # issue 12: what a network-operator answer (Service.basis "network") counts for:
    # "country" = judged by the AS registration country (the holder as the only entity
    # of the chain, data location = that country), "unknown" = never decided
    network: str = "unknown"
    # what a "likely" answer (only weak evidence) counts for: "count" (like any other),
    # "not_sovereign_only" (can make a verdict not sovereign, never sovereign),
    # "separate" (the default: always unknown, on neither side; shown separately)
    likely: str = "separate"
    # DNS record types this definition leaves out: a dependency whose evidence is
    # only of these types is no dependency for it (nos-records: TXT)
    left_out_records: tuple[str, ...] = ()
    # plan purposes it leaves out the same way: questions asked only because of a
    # look-up beyond DNS (nos-records: idp_host, the addresses of the identity
    # provider a realm answer names)
    left_out_purposes: tuple[str, ...] = ()

    def leaves_out(self, rtype: str | None, purpose: str | None) -> bool:
        """Whether an answer of this record type and plan purpose is one this
        definition does not look at."""
        return (str(rtype or "").upper() in self.left_out_records
                or str(purpose or "") in self.left_out_purposes)

    def title(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en") or self.id

    def short_title(self, lang: str = "en") -> str:
        return self.short.get(lang) or self.short.get("en") or self.title(lang)

    def describe(self, lang: str = "en") -> str:
        return self.summary.get(lang) or self.summary.get("en") or ""


@dataclass(slots=True)
class PolicyConfig:
    """Everything loaded from the policy files: sets, policies, reason texts."""

    country_sets: dict[str, frozenset[str]]
    set_names: dict[str, dict[str, str]]
    policies: dict[str, Policy]
    reasons: dict[str, dict[str, str]]
    default_policies: list[str]
    organisation_country: str
    sources: list[str]
    location_table: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LOCATION_TABLE))
    # the sets and holder thresholds the SEAL conditions are read with (``seal:`` in policies.yaml):
    # {"home": set name, "foreign": set name, "holders": {"outside", "max_single", "max_total"}}
    seal: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, pid: str) -> Policy:
        return self.policies[pid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.policies)

    def __contains__(self, pid: object) -> bool:
        return pid in self.policies

    def select(self, ids: Iterable[str] | None) -> list[Policy]:
        """Policies by id (default: ``default_policies``); unknown ids raise."""
        ids = list(ids) if ids else list(self.default_policies)
        out = []
        for pid in ids:
            if pid not in self.policies:
                raise PolicyError(
                    _("unknown policy {policy!r}; known: {known}").format(policy=pid, known=", ".join(sorted(self.policies)))
                )
            out.append(self.policies[pid])
        return out

    def set_title(self, name: str, lang: str = "en") -> str:
        n = self.set_names.get(name, {})
        return n.get(lang) or n.get("en") or name


def _shipped_text(name: str) -> str:
    return resources.files("stekker.judge").joinpath("data", name).read_text("utf-8")


def _check_shape(check: Any, where: str) -> None:
    if not isinstance(check, dict) or len(check) != 1:
        raise PolicyError(_("{where}: each check is a mapping with one key, got {check!r}").format(where=where, check=check))
    (kind, arg), = check.items()
    if kind not in CHECK_KINDS:
        raise PolicyError(_("{where}: unknown check {kind!r}; known: {known}").format(
            where=where, kind=kind, known=", ".join(CHECK_KINDS)))
    if kind == "any_of":
        if not isinstance(arg, list) or not arg:
            raise PolicyError(_("{where}: any_of needs a non-empty list of checks").format(where=where))
        for c in arg:
            _check_shape(c, where)
    elif kind == "flag":
        _check_shape(arg, where)
    elif kind == "holders":
        if not isinstance(arg, dict) or not {"outside", "max_single", "max_total"} <= set(arg):
            raise PolicyError(_("{where}: holders needs outside, max_single and max_total").format(where=where))


def _check_sets(check: dict[str, Any], sets: dict[str, frozenset[str]], where: str) -> None:
    (kind, arg), = check.items()
    if kind == "any_of":
        for c in arg:
            _check_sets(c, sets, where)
    elif kind == "flag":
        _check_sets(arg, sets, where)
    else:
        name = arg["outside"] if kind == "holders" else arg
        if name not in sets:
            raise PolicyError(_("{where}: unknown country set {name!r}; known: {known}").format(
                where=where, name=name, known=", ".join(sorted(sets))))


def _merge_doc(base: dict[str, Any], doc: dict[str, Any], origin: str) -> None:
    if not isinstance(doc, dict):
        raise PolicyError(_("{file}: expected a mapping at the top level").format(file=origin))
    for key in ("country_sets", "reasons"):
        if key in doc:
            if not isinstance(doc[key], dict):
                raise PolicyError(_("{file}: {key} must be a mapping").format(file=origin, key=key))
            base.setdefault(key, {}).update(doc[key])
    for pid, p in (doc.get("policies") or {}).items():
        if not isinstance(p, dict):
            raise PolicyError(_("{file}: policy {policy!r} must be a mapping").format(file=origin, policy=pid))
        p = dict(p)
        p["_origin"] = origin
        base.setdefault("policies", {})[str(pid)] = p
    if "default_policies" in doc:
        base["default_policies"] = list(doc["default_policies"])
    if "data_location_values" in doc:
        base.setdefault("data_location_values", {}).update(doc["data_location_values"])
    if "seal" in doc:
        if not isinstance(doc["seal"], dict):
            raise PolicyError(_("{file}: seal must be a mapping (home, foreign, holders)").format(file=origin))
        base.setdefault("seal", {}).update(doc["seal"])
    if "organisation_country" in doc:
        base["organisation_country"] = str(doc["organisation_country"]).upper()
    base.setdefault("_sources", []).append(origin)


def _resolve_sets(raw: dict[str, Any]) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]:
    out: dict[str, frozenset[str]] = {}
    names: dict[str, dict[str, str]] = {}

    def get(name: str, stack: tuple[str, ...]) -> frozenset[str]:
        if name in out:
            return out[name]
        if name not in raw:
            raise PolicyError(_("unknown country set {name!r}").format(name=name))
        if name in stack:
            raise PolicyError(_("country set {name!r} includes itself").format(name=name))
        spec = raw[name]
        if isinstance(spec, list):
            spec = {"countries": spec}
        # a bare NO (Norway) in YAML 1.1 is the boolean false: take it as "NO"
        codes = {("NO" if c is False else str(c)).upper() for c in spec.get("countries", [])}
        if spec.get("group") is not None:  # a group of stekker/data/countries.yaml (facts, not policy)
            try:
                codes |= countries.group(str(spec["group"]))
            except KeyError:
                raise PolicyError(_("country set {name!r}: unknown country group {group!r}").format(
                    name=name, group=spec["group"])) from None
        for inc in spec.get("include", []):
            codes |= get(inc, stack + (name,))
        out[name] = frozenset(codes)
        names[name] = spec.get("name") or {"en": name}
        return out[name]

    for n in raw:
        get(n, ())
    return out, names


def load_policies(*paths: str | Path | None) -> PolicyConfig:
    """The shipped policies, plus those of each user file (later files win)."""
    try:
        return _load(tuple(str(p) for p in paths if p))
    except PolicyError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        # a hand-written file with a list where a mapping belongs, and so on
        raise PolicyError(_("policy file {files}: malformed ({kind}: {error})").format(
            files=", ".join(str(p) for p in paths if p), kind=type(exc).__name__, error=exc)) from None


@lru_cache(maxsize=16)
def _load(paths: tuple[str, ...]) -> PolicyConfig:
    raw: dict[str, Any] = {}
    _merge_doc(raw, yaml.safe_load(_shipped_text("policies.yaml")), "shipped")
    for p in paths:
        from stekker.safeyaml import YAMLInputError, read_user_yaml

        try:
            doc = read_user_yaml(p)
        except YAMLInputError as exc:
            raise PolicyError(_("{file}: not valid YAML ({error})").format(file=p, error=exc)) from None
        if doc is None or doc == {}:  # a file given and empty: a mistake, not "no changes"
            raise PolicyError(_("policy file {file} is empty: give definitions (policies:) or country sets "
                                "(country_sets:), or leave --policies out for the shipped ones").format(file=p))
        if not isinstance(doc, dict):
            raise PolicyError(_("policy file {file}: expected a mapping (policies:, country_sets:)").format(file=p))
        _merge_doc(raw, doc, p)
    sets, set_names = _resolve_sets(raw.get("country_sets", {}))
    seal_spec = raw.get("seal") or {}
    for key in ("home", "foreign"):
        if seal_spec.get(key) not in sets:
            raise PolicyError(_("seal: {key} must name a country set, got {value!r}; known: {known}").format(
                key=key, value=seal_spec.get(key), known=", ".join(sorted(sets))))
    _check_shape({"holders": seal_spec.get("holders")}, "seal")
    _check_sets({"holders": seal_spec["holders"]}, sets, "seal")

    resolved: dict[str, Policy] = {}

    def build(pid: str, stack: tuple[str, ...]) -> Policy:
        if pid in resolved:
            return resolved[pid]
        if pid not in raw.get("policies", {}):
            raise PolicyError(_("unknown policy {policy!r}").format(policy=pid))
        if pid in stack:
            raise PolicyError(_("policy {policy!r} extends itself").format(policy=pid))
        p = raw["policies"][pid]
        where = _("{file}: policy {policy!r}").format(file=p["_origin"], policy=pid)
        checks: list[dict[str, Any]] = []
        if p.get("extends"):
            checks.extend(copy.deepcopy(build(str(p["extends"]), stack + (pid,)).checks))
        own = p.get("checks") or []
        if not isinstance(own, list):
            raise PolicyError(_("{where}: checks must be a list").format(where=where))
        for c in own:
            _check_shape(c, where)
            _check_sets(c, sets, where)
        checks.extend(own)
        if not checks:
            raise PolicyError(_("{where}: no checks").format(where=where))
        name = p.get("name") or {"en": pid}
        if isinstance(name, str):
            name = {"en": name, "nl": name}
        summary = p.get("summary") or {"en": ""}
        if isinstance(summary, str):
            summary = {"en": summary, "nl": summary}
        short = p.get("short") or {}
        if isinstance(short, str):
            short = {"en": short, "nl": short}
        cats = p.get("categories")
        if cats is None and p.get("extends"):
            cats = build(str(p["extends"]), stack + (pid,)).categories
        if cats is not None:
            if not isinstance(cats, list) or not cats:
                raise PolicyError(_("{where}: categories must be a non-empty list").format(where=where))
            known = set(CATEGORIES) | {"saas", "host"}  # host: the input's extra hosts (report)
            bad = [c for c in cats if c not in known]
            if bad:
                raise PolicyError(_("{where}: unknown categories {bad}; known: {known}").format(
                    where=where, bad=bad, known=", ".join(sorted(known))))
            cats = tuple(cats)
        network = p.get("network")
        if network is None:
            network = build(str(p["extends"]), stack + (pid,)).network if p.get("extends") else "unknown"
        if network not in NETWORK_MODES:
            raise PolicyError(_("{where}: network must be one of {known}, got {value!r}").format(
                where=where, known=", ".join(NETWORK_MODES), value=network))
        likely = p.get("likely")
        if likely is None:
            likely = build(str(p["extends"]), stack + (pid,)).likely if p.get("extends") else DEFAULT_LIKELY
        if likely not in LIKELY_MODES:
            raise PolicyError(_("{where}: likely must be one of {known}, got {value!r}").format(
                where=where, known=", ".join(LIKELY_MODES), value=likely))
        left_out = p.get("left_out_records")
        if left_out is None:
            left_out = build(str(p["extends"]), stack + (pid,)).left_out_records if p.get("extends") else ()
        if not isinstance(left_out, (list, tuple)) or not all(isinstance(x, str) for x in left_out):
            raise PolicyError(_("{where}: left_out_records must be a list of record types, got {value!r}").format(
                where=where, value=left_out))
        left_purposes = p.get("left_out_purposes")
        if left_purposes is None:
            left_purposes = build(str(p["extends"]), stack + (pid,)).left_out_purposes if p.get("extends") else ()
        if not isinstance(left_purposes, (list, tuple)) or not all(isinstance(x, str) for x in left_purposes):
            raise PolicyError(_("{where}: left_out_purposes must be a list of plan purposes, got {value!r}").format(
                where=where, value=left_purposes))
        pol = Policy(id=pid, name=name, summary=summary, checks=checks,
                     source=p.get("source"), origin=p["_origin"], short=short, categories=cats,
                     network=network, likely=likely,
                     left_out_records=tuple(str(x).upper() for x in left_out),
                     left_out_purposes=tuple(str(x) for x in left_purposes))
        resolved[pid] = pol
        return pol

    for pid in raw.get("policies", {}):
        build(pid, ())
    defaults = [d for d in raw.get("default_policies", []) if d in resolved] or list(resolved)
    cfg = PolicyConfig(
        country_sets=sets,
        set_names=set_names,
        policies=resolved,
        reasons=raw.get("reasons", {}),
        default_policies=defaults,
        organisation_country=raw.get("organisation_country", "NL"),
        sources=raw.get("_sources", []),
        location_table={**DEFAULT_LOCATION_TABLE,
                        **{str(k).lower(): str(v) for k, v in (raw.get("data_location_values") or {}).items()}},
        seal=seal_spec,
    )
    for pol in resolved.values():
        pol.config = cfg
    return cfg
