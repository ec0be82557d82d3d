"""Judge: is one dependency sovereign under a stated definition, as of a date?

Policies are data (``judge/data/policies.yaml``, plus a user file given with
``stekker report --policies FILE``).  The entry points::

    policies = load_policies()                       # shipped presets
    policies = load_policies("my-policies.yaml")     # + user-defined ones
    v = judge(service, kb, policies["nos"], as_of=date(2026, 1, 1))
    v.verdict            # "sovereign" | "not_sovereign" | "unknown" | "error"
    v.reason("nl")       # a plain sentence, from the data file's templates
    judge(service, ...)  # None when the service is "absent" (no dependency)

    seal(service, kb, as_of)  # {"SOV-1": SealLevel, "SOV-2": SealLevel}

The knowledge base is used only through ``kb.chain(company, as_of)`` (company
first, ultimate parent last; each with ``id``, ``name``, ``country``),
``kb.holders(company, as_of)`` (list of (holder, percent) or None) and
``kb.provider(id).eu_data_location`` (True / False / None).

Service statuses: ``attributed`` is judged from the knowledge base; ``self``
(the organisation's own servers) is judged by the organisation's own country
(``organisation_country`` in the policy file, NL by default: sovereign for a
Dutch organisation under every shipped policy); ``unknown`` gives verdict
``unknown``; ``error`` gives verdict ``error`` (excluded and counted by the
report, never sovereign); ``absent`` is no dependency (``None``).
"""

from __future__ import annotations

import copy
import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from stekker.attribute.model import CATEGORIES, DomainAttribution, Service
from stekker.kb import as_date  # noqa: F401 - also part of this module's API (stekker report --as-of)

SOVEREIGN = "sovereign"
NOT_SOVEREIGN = "not_sovereign"
UNKNOWN = "unknown"
ERROR = "error"
VERDICTS = (SOVEREIGN, NOT_SOVEREIGN, UNKNOWN, ERROR)

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
                    f"unknown policy {pid!r}; known: {', '.join(sorted(self.policies))}"
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
        raise PolicyError(f"{where}: each check is a mapping with one key, got {check!r}")
    (kind, arg), = check.items()
    if kind not in CHECK_KINDS:
        raise PolicyError(f"{where}: unknown check {kind!r}; known: {', '.join(CHECK_KINDS)}")
    if kind == "any_of":
        if not isinstance(arg, list) or not arg:
            raise PolicyError(f"{where}: any_of needs a non-empty list of checks")
        for c in arg:
            _check_shape(c, where)
    elif kind == "flag":
        _check_shape(arg, where)
    elif kind == "holders":
        if not isinstance(arg, dict) or not {"outside", "max_single", "max_total"} <= set(arg):
            raise PolicyError(f"{where}: holders needs outside, max_single and max_total")


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
            raise PolicyError(f"{where}: unknown country set {name!r}; known: {', '.join(sorted(sets))}")


def _merge_doc(base: dict[str, Any], doc: dict[str, Any], origin: str) -> None:
    if not isinstance(doc, dict):
        raise PolicyError(f"{origin}: expected a mapping at the top level")
    for key in ("country_sets", "reasons"):
        if key in doc:
            if not isinstance(doc[key], dict):
                raise PolicyError(f"{origin}: {key} must be a mapping")
            base.setdefault(key, {}).update(doc[key])
    for pid, p in (doc.get("policies") or {}).items():
        if not isinstance(p, dict):
            raise PolicyError(f"{origin}: policy {pid!r} must be a mapping")
        p = dict(p)
        p["_origin"] = origin
        base.setdefault("policies", {})[str(pid)] = p
    if "default_policies" in doc:
        base["default_policies"] = list(doc["default_policies"])
    if "data_location_values" in doc:
        base.setdefault("data_location_values", {}).update(doc["data_location_values"])
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
            raise PolicyError(f"unknown country set {name!r}")
        if name in stack:
            raise PolicyError(f"country set {name!r} includes itself")
        spec = raw[name]
        if isinstance(spec, list):
            spec = {"countries": spec}
        # a bare NO (Norway) in YAML 1.1 is the boolean false: take it as "NO"
        codes = {("NO" if c is False else str(c)).upper() for c in spec.get("countries", [])}
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
        raise PolicyError(f"policy file {', '.join(str(p) for p in paths if p)}: malformed "
                          f"({type(exc).__name__}: {exc})") from None


@lru_cache(maxsize=16)
def _load(paths: tuple[str, ...]) -> PolicyConfig:
    raw: dict[str, Any] = {}
    _merge_doc(raw, yaml.safe_load(_shipped_text("policies.yaml")), "shipped")
    for p in paths:
        from stekker.safeyaml import YAMLInputError, read_user_yaml

        try:
            doc = read_user_yaml(p) or {}
        except YAMLInputError as exc:
            raise PolicyError(f"{p}: not valid YAML ({exc})") from None
        if not isinstance(doc, dict):
            raise PolicyError(f"policy file {p}: expected a mapping (policies:, country_sets:)")
        _merge_doc(raw, doc, p)
    sets, set_names = _resolve_sets(raw.get("country_sets", {}))

    resolved: dict[str, Policy] = {}

    def build(pid: str, stack: tuple[str, ...]) -> Policy:
        if pid in resolved:
            return resolved[pid]
        if pid not in raw.get("policies", {}):
            raise PolicyError(f"unknown policy {pid!r}")
        if pid in stack:
            raise PolicyError(f"policy {pid!r} extends itself")
        p = raw["policies"][pid]
        where = f"{p['_origin']}: policy {pid!r}"
        checks: list[dict[str, Any]] = []
        if p.get("extends"):
            checks.extend(copy.deepcopy(build(str(p["extends"]), stack + (pid,)).checks))
        own = p.get("checks") or []
        if not isinstance(own, list):
            raise PolicyError(f"{where}: checks must be a list")
        for c in own:
            _check_shape(c, where)
            _check_sets(c, sets, where)
        checks.extend(own)
        if not checks:
            raise PolicyError(f"{where}: no checks")
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
                raise PolicyError(f"{where}: categories must be a non-empty list")
            known = set(CATEGORIES) | {"saas", "host"}  # host: the input's extra hosts (report)
            bad = [c for c in cats if c not in known]
            if bad:
                raise PolicyError(f"{where}: unknown categories {bad}; known: {', '.join(sorted(known))}")
            cats = tuple(cats)
        network = p.get("network")
        if network is None:
            network = build(str(p["extends"]), stack + (pid,)).network if p.get("extends") else "unknown"
        if network not in NETWORK_MODES:
            raise PolicyError(f"{where}: network must be one of {', '.join(NETWORK_MODES)}, got {network!r}")
        likely = p.get("likely")
        if likely is None:
            likely = build(str(p["extends"]), stack + (pid,)).likely if p.get("extends") else DEFAULT_LIKELY
        if likely not in LIKELY_MODES:
            raise PolicyError(f"{where}: likely must be one of {', '.join(LIKELY_MODES)}, got {likely!r}")
        left_out = p.get("left_out_records")
        if left_out is None:
            left_out = build(str(p["extends"]), stack + (pid,)).left_out_records if p.get("extends") else ()
        if not isinstance(left_out, (list, tuple)) or not all(isinstance(x, str) for x in left_out):
            raise PolicyError(f"{where}: left_out_records must be a list of record types, got {left_out!r}")
        pol = Policy(id=pid, name=name, summary=summary, checks=checks,
                     source=p.get("source"), origin=p["_origin"], short=short, categories=cats,
                     network=network, likely=likely,
                     left_out_records=tuple(str(x).upper() for x in left_out))
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
    )
    for pol in resolved.values():
        pol.config = cfg
    return cfg


# ---------------------------------------------------------------------------
# facts about one dependency, as of a date
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Entity:
    id: str
    name: str
    country: str | None


@dataclass(slots=True)
class Facts:
    """What the knowledge base says about one dependency on one date."""

    provider: str | None
    provider_name: str
    chain: list[Entity] | None  # company first, ultimate parent last; None: unknown
    holders: list[tuple[str, float | None, str | None]] | None  # (holder name, percent, country)
    data_location: str  # pass | fail | offered | unknown (EU/EEA data location); "country" for a network answer
    data_location_raw: str | None = None  # the knowledge base's value
    self_hosted: bool = False
    network: bool = False  # a network-operator answer: the chain is the AS holder with its registration country
    control_unknown: bool = False  # the top of the chain has controller_unknown: who controls it is not researched


def _kb_call(fn, *args):
    """Call a KB method; a missing id gives None instead of an exception."""
    try:
        return fn(*args)
    except (KeyError, LookupError, ValueError):
        return None


def _entity(obj: Any, fallback_id: str | None = None) -> Entity:
    if isinstance(obj, str):
        return Entity(id=obj, name=obj, country=None)
    cid = getattr(obj, "id", None) or fallback_id or "?"
    name = getattr(obj, "name", None) or cid
    country = getattr(obj, "country", None)
    return Entity(id=str(cid), name=str(name), country=str(country).upper() if country else None)


def _location(v: Any, table: dict[str, str]) -> str:
    """Map a provider's ``eu_data_location`` to pass / fail / offered / unknown."""
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "pass" if v else "fail"
    return table.get(str(v).strip().lower(), "unknown")


def _share_pct(x: Any, fractions: bool) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x * 100.0 if fractions else x


def _holder_entry(kb: Any, h: Any) -> tuple[str, float | None, str | None]:
    """(display name, share as given, ISO country or None) of one holder entry."""
    if isinstance(h, (tuple, list)):
        who, share, country = h[0], (h[1] if len(h) > 1 else None), (h[2] if len(h) > 2 else None)
    elif isinstance(h, dict):
        who, share, country = h.get("holder") or h.get("id"), h.get("share"), h.get("country")
    else:
        who, share, country = (getattr(h, "holder", None) or getattr(h, "id", "?"),
                               getattr(h, "share", None), getattr(h, "country", None))
    name = str(who)
    if country is None and isinstance(who, str):
        comp = _kb_call(kb.company, who) if hasattr(kb, "company") else None
        if comp is not None:
            e = _entity(comp, who)
            name, country = e.name, e.country
        elif len(who) == 2 and who.isalpha() and who.isupper():
            country = who
    return name, share, (str(country).upper() if country else None)


def _chain_entities(kb: Any, raw: list[Any]) -> list[Entity]:
    out = []
    for c in raw:
        if isinstance(c, str):
            comp = _kb_call(kb.company, c) if hasattr(kb, "company") else None
            out.append(_entity(comp, c) if comp is not None else Entity(c, c, None))
        else:
            out.append(_entity(c))
    return out


def _holders(kb: Any, cid: str, day: _dt.date) -> list[Any] | None:
    if not hasattr(kb, "holders"):
        return None
    try:
        return kb.holders(cid, day)
    except TypeError:  # holders(company) without a date
        return _kb_call(kb.holders, cid)
    except (KeyError, LookupError, ValueError):
        return None


def facts(service: Service, kb: Any, as_of: Any, organisation: str | None = None,
          organisation_country: str = "NL", location_table: dict[str, str] | None = None) -> Facts:
    """Look up a service's control chain, holders and data location on ``as_of``."""
    day = as_date(as_of)
    if service.status == "self":
        me = Entity(id="self", name=organisation or "the organisation", country=organisation_country)
        return Facts(provider="self", provider_name=me.name, chain=[me], holders=[],
                     data_location="unknown", self_hosted=True)
    if service.basis == "network":
        net = service.network or {}
        country = net.get("country")
        code = str(country).upper() if country else None
        if code in ("AP", "ZZ", "--"):  # RIR pseudo-codes without a country (older stored records)
            code = None
        # the registration country is the data location (judged with the policy's own set in
        # _Eval.c_data_location); the pseudo-code EU is a place, not a headquarters country
        holder = Entity(id=service.provider or "?", name=service.provider_name or service.provider or "?",
                        country=None if code == "EU" else code)
        return Facts(provider=service.provider, provider_name=holder.name, chain=[holder], holders=None,
                     data_location="unknown" if code is None else "country", data_location_raw=code,
                     network=True)
    prov = _kb_call(kb.provider, service.provider) if (kb is not None and service.provider) else None
    pname = service.provider_name or (getattr(prov, "name", None) if prov else None) or service.provider or "?"
    company = service.company or (getattr(prov, "company", None) if prov else None)
    loc = _location(getattr(prov, "eu_data_location", None) if prov is not None else None,
                    location_table or DEFAULT_LOCATION_TABLE)
    chain: list[Entity] | None = None
    holders = None
    control_unknown = False
    if company and kb is not None:
        raw_chain = _kb_call(kb.chain, company, day)
        if raw_chain:
            chain = _chain_entities(kb, list(raw_chain))
            top_company = _kb_call(kb.company, chain[-1].id) if hasattr(kb, "company") else None
            control_unknown = bool(getattr(top_company, "controller_unknown", False))
        # the ownership test applies to the top of the control chain (the
        # ultimate parent): who owns the company that controls the service.
        # An empty holder list means "not recorded", the same as None.
        top = chain[-1].id if chain else company
        raw_holders = _holders(kb, top, day)
        if raw_holders:
            entries = [_holder_entry(kb, h) for h in raw_holders]
            fractions = all(e[1] is not None and float(e[1]) <= 1.0 for e in entries)
            holders = [(n, _share_pct(sh, fractions), c) for n, sh, c in entries]
    raw_loc = getattr(prov, "eu_data_location", None) if prov is not None else None
    return Facts(provider=service.provider, provider_name=pname, chain=chain, holders=holders,
                 data_location=loc, data_location_raw=None if raw_loc is None else str(raw_loc),
                 control_unknown=control_unknown)


# ---------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Reason:
    code: str  # key of the reasons table, e.g. "chain_none_in.fail"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Verdict:
    policy: str
    verdict: str  # one of VERDICTS
    reasons: list[Reason]  # the deciding reasons (first one is the headline)
    flags: list[Reason] = field(default_factory=list)
    texts: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def _fmt(self, r: Reason, lang: str) -> str:
        t = self.texts.get(r.code, {})
        tpl = t.get(lang) or t.get("en") or r.code
        try:
            return tpl.format(**r.params)
        except (KeyError, IndexError):
            return tpl

    def reason(self, lang: str = "en") -> str:
        return "; ".join(self._fmt(r, lang) for r in self.reasons)

    def flag_text(self, lang: str = "en") -> str:
        main = {self._fmt(r, lang) for r in self.reasons}
        out: list[str] = []
        for r in self.flags:
            t = self._fmt(r, lang)
            if t not in main and t not in out:
                out.append(t)
        return "; ".join(out)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"policy": self.policy, "verdict": self.verdict, "reason": self.reason(lang),
                "flags": self.flag_text(lang) or None}


def _chain_text(chain: list[Entity]) -> str:
    return " → ".join(f"{e.name} ({e.country or '?'})" for e in chain)


class _Eval:
    def __init__(self, cfg: PolicyConfig, f: Facts):
        self.cfg = cfg
        self.f = f

    def set_label(self, name: str) -> str:
        return name

    def run(self, check: dict[str, Any]) -> tuple[str, Reason, list[Reason]]:
        """-> (pass|fail|unknown, reason, flags)."""
        (kind, arg), = check.items()
        return getattr(self, "c_" + kind)(arg)

    # helpers ---------------------------------------------------------------
    def _no_chain(self) -> tuple[str, Reason, list[Reason]]:
        return "unknown", Reason("no_company", {"provider": self.f.provider_name}), []

    def _in(self, e: Entity, setname: str, code: str) -> tuple[str, Reason, list[Reason]]:
        if e.country is None:
            return "unknown", Reason("unknown_country", {"entity": e.name}), []
        ok = e.country in self.cfg.country_sets[setname]
        p = {"entity": e.name, "country": e.country, "set": setname}
        return ("pass" if ok else "fail"), Reason(f"{code}.{'pass' if ok else 'fail'}", p), []

    # checks ----------------------------------------------------------------
    def c_company_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        return self._in(self.f.chain[0], setname, "company_in")

    def _control_unknown(self) -> tuple[str, Reason, list[Reason]]:
        return "unknown", Reason("controller_unknown", {"entity": self.f.chain[-1].name}), []

    def c_controller_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        if self.f.control_unknown:
            return self._control_unknown()
        return self._in(self.f.chain[-1], setname, "controller_in")

    def c_chain_none_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        codes = self.cfg.country_sets[setname]
        ch = _chain_text(self.f.chain)
        for e in self.f.chain:
            if e.country in codes:
                return "fail", Reason("chain_none_in.fail", {"entity": e.name, "country": e.country,
                                                             "set": setname, "chain": ch}), []
        for e in self.f.chain:
            if e.country is None:
                return "unknown", Reason("unknown_country", {"entity": e.name}), []
        if self.f.control_unknown:  # a controller above the top may be in the set
            return self._control_unknown()
        return "pass", Reason("chain_none_in.pass", {"chain": ch, "set": setname}), []

    def c_chain_all_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        codes = self.cfg.country_sets[setname]
        ch = _chain_text(self.f.chain)
        for e in self.f.chain:
            if e.country is not None and e.country not in codes:
                return "fail", Reason("chain_all_in.fail", {"entity": e.name, "country": e.country,
                                                            "set": setname, "chain": ch}), []
        for e in self.f.chain:
            if e.country is None:
                return "unknown", Reason("unknown_country", {"entity": e.name}), []
        if self.f.control_unknown:
            return self._control_unknown()
        return "pass", Reason("chain_all_in.pass", {"chain": ch, "set": setname}), []

    def c_data_location(self, setname: str):
        p = {"provider": self.f.provider_name}
        loc = self.f.data_location
        if self.f.self_hosted:
            e = self.f.chain[0]
            loc = ("pass" if e.country in self.cfg.country_sets.get(setname, frozenset()) else "fail") \
                if e.country else "unknown"
        elif self.f.network:  # where the AS is registered, judged with the policy's set
            code = self.f.data_location_raw
            codes = self.cfg.country_sets.get(setname, frozenset())
            if code is None:
                loc = "unknown"
            elif code == "EU":  # RIPE's pseudo-code for the European Union: in the set when all of the EU is
                eu = self.cfg.country_sets.get("EU")
                loc = "pass" if (eu and eu <= codes) else "unknown"
            else:
                loc = "pass" if code in codes else "fail"
        if loc == "offered":
            r = Reason("data_location.offered", p)
            return "pass", r, [r]
        if loc not in ("pass", "fail"):
            code = "data_location.offered" if self.f.data_location_raw == "offered" else "data_location.unknown"
            return "unknown", Reason(code, p), []
        return loc, Reason("data_location." + loc, p), []

    def c_holders(self, arg: dict[str, Any]):
        setname = arg["outside"]
        mx1, mxt = float(arg["max_single"]), float(arg["max_total"])
        ent = self.f.chain[-1].name if self.f.chain else self.f.provider_name  # holders of the top
        if self.f.self_hosted:
            return "pass", Reason("self", {"country": self.f.chain[0].country or "?"}), []
        if self.f.control_unknown:
            return self._control_unknown()
        if self.f.holders is None:
            return "unknown", Reason("holders.unknown", {"entity": ent}), []
        codes = self.cfg.country_sets[setname]
        outside = []
        for name, share, country in self.f.holders:
            if country is None or share is None:
                return "unknown", Reason("holders.unknown_country", {"holder": name, "entity": ent}), []
            if country not in codes:
                outside.append((share, name))
        outside.sort(reverse=True)
        single = outside[0][0] if outside else 0.0
        total = sum(s for s, _ in outside)
        p = {"set": setname, "single": _pct(single), "total": _pct(total), "max_single": _pct(mx1),
             "max_total": _pct(mxt), "holder": outside[0][1] if outside else "-", "entity": ent}
        ok = single <= mx1 and total <= mxt
        return ("pass" if ok else "fail"), Reason("holders." + ("pass" if ok else "fail"), p), []

    def c_any_of(self, checks: list[dict[str, Any]]):
        results = [self.run(c) for c in checks]
        for r in results:
            if r[0] == "pass":
                return r
        unknown = [r for r in results if r[0] == "unknown"]
        if unknown:
            return unknown[0]
        return "fail", results[0][1], []

    def c_flag(self, check: dict[str, Any]):
        outcome, reason, flags = self.run(check)
        if outcome == "fail":
            return "pass", reason, flags + [reason]
        return "pass", reason, flags


def _pct(x: float) -> str:
    return f"{x:g}"


def judge(service: Service, kb: Any, policy: Policy, as_of: Any = None,
          organisation: str | None = None, _facts: Facts | None = None) -> Verdict | None:
    """The verdict of ``policy`` on one dependency, as of ``as_of`` (None: absent)."""
    cfg = policy.config
    assert cfg is not None, "policy not loaded through load_policies()"
    texts = cfg.reasons
    st = service.status
    if st == "absent":
        return None
    if policy.categories is not None and service.category not in policy.categories:
        return None  # this definition does not look at this category
    if policy.left_out_records and service.evidence and \
            all((e.rtype or "").upper() in policy.left_out_records for e in service.evidence):
        return None  # seen only in records this definition leaves out (nos-records: TXT)
    if st == "error":
        return Verdict(policy.id, ERROR, [Reason("service_error")], texts=texts)
    if st == "unknown" or (st == "attributed" and not service.provider):
        return Verdict(policy.id, UNKNOWN, [Reason("service_unknown")], texts=texts)
    basis = getattr(service, "basis", None)
    if basis == "network" and policy.network != "country":
        return Verdict(policy.id, UNKNOWN, [Reason("network.not_counted", {"provider": service.provider_name or "?"})],
                       texts=texts)
    if basis == "likely" and policy.likely == "separate":
        return Verdict(policy.id, UNKNOWN, [Reason("likely.not_counted", {"provider": service.provider_name or "?"})],
                       texts=texts)
    f = _facts or facts(service, kb, as_of, organisation, cfg.organisation_country, cfg.location_table)
    ev = _Eval(cfg, f)
    fails: list[Reason] = []
    unknowns: list[Reason] = []
    passes: list[Reason] = []
    flags: list[Reason] = []
    for check in policy.checks:
        outcome, reason, fl = ev.run(check)
        flags.extend(fl)
        {"pass": passes, "fail": fails, "unknown": unknowns}[outcome].append(reason)
    if basis == "network":
        flags.append(Reason("network.flag", {"provider": f.provider_name}))
    if fails:
        return Verdict(policy.id, NOT_SOVEREIGN, fails[:1], flags, texts)
    if unknowns:
        return Verdict(policy.id, UNKNOWN, unknowns[:1], flags, texts)
    if basis == "likely" and policy.likely != "count":
        return Verdict(policy.id, UNKNOWN, [Reason("likely.not_counted", {"provider": f.provider_name})], flags, texts)
    if f.self_hosted:
        passes = [Reason("self", {"country": f.chain[0].country or "?"})]
    return Verdict(policy.id, SOVEREIGN, passes[:1], flags, texts)


# ---------------------------------------------------------------------------
# SEAL levels (EU Cloud Sovereignty Framework)
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class SealLevel:
    objective: str  # "SOV-1" | "SOV-2"
    level: int | None  # None: cannot be said
    lower_bound: bool = False  # a missing fact could raise the level

    def label(self) -> str:
        if self.level is None:
            return "?"
        return f"SEAL-{self.level}" + ("+" if self.lower_bound else "")


@lru_cache(maxsize=1)
def seal_table() -> dict[str, Any]:
    return yaml.safe_load(_shipped_text("seal.yaml"))


def seal(service: Service, kb: Any, as_of: Any = None, config: PolicyConfig | None = None,
         organisation: str | None = None, _facts: Facts | None = None) -> dict[str, SealLevel] | None:
    """SEAL levels for SOV-1 and SOV-2 (None for absent/error/unknown services)."""
    if service.status not in ("attributed", "self") or (service.status == "attributed" and not service.provider):
        return None
    if getattr(service, "basis", None) in ("network", "likely"):
        return None  # an AS registration or weak evidence says nothing about these objectives
    cfg = config or load_policies()
    f = _facts or facts(service, kb, as_of, organisation, cfg.organisation_country, cfg.location_table)
    eea = cfg.country_sets["EEA"]
    us = cfg.country_sets["US"]
    cond: dict[str, bool | None] = {}
    if f.chain:
        countries = [e.country for e in f.chain]
        known = all(c is not None for c in countries)
        cond["chain_all_in_eea"] = (all(c in eea for c in countries) if known
                                    else (False if any(c and c not in eea for c in countries) else None))
        cond["company_in_eea"] = (countries[0] in eea) if countries[0] else None
        cond["chain_has_us"] = True if any(c in us for c in countries if c) else (False if known else None)
    else:
        cond["chain_all_in_eea"] = cond["company_in_eea"] = cond["chain_has_us"] = None
    if f.self_hosted:
        cond["holders_known"], cond["holders_ok"] = True, True
        cond["data_location_eu"] = cond["chain_all_in_eea"]
    else:
        cond["holders_known"] = f.holders is not None
        if f.holders is None or any(h[2] is None or h[1] is None for h in f.holders):
            cond["holders_ok"] = None
        else:
            outside = [h[1] for h in f.holders if h[2] not in eea]
            cond["holders_ok"] = (max(outside, default=0) <= 24 and sum(outside) <= 39)
        cond["data_location_eu"] = {"pass": True, "offered": True, "fail": False}.get(f.data_location)
    out: dict[str, SealLevel] = {}
    for obj, spec in seal_table()["objectives"].items():
        undecided = False
        level: int | None = None
        lb = False
        for rule in spec["rules"]:
            vals = [cond.get(k) for k in rule.get("when", {})]
            wants = list(rule.get("when", {}).values())
            if any(v is None for v in vals):
                # a fact is missing: could this rule have matched?
                if all(v is None or v == w for v, w in zip(vals, wants)):
                    undecided = True
                continue
            if all(v == w for v, w in zip(vals, wants)):
                level = int(rule["level"])
                lb = bool(rule.get("lower_bound")) or undecided
                break
        if not f.chain or level is None or any(e.country is None for e in f.chain) or f.control_unknown:
            out[obj] = SealLevel(obj, None, False)  # who controls it is not known
        else:
            out[obj] = SealLevel(obj, level, lb)
    return out


# ---------------------------------------------------------------------------
# a whole domain
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Dependency:
    """One provider behind one category of one domain, with its verdicts."""

    category: str  # a CATEGORIES name, or "saas"
    service: Service
    primary: bool  # False for a Service.also entry
    verdicts: dict[str, Verdict]  # policy id -> verdict
    seal: dict[str, SealLevel] | None
    chain: list[Entity] | None

    @property
    def provider_key(self) -> str:
        s = self.service
        if s.status == "self":
            return "self"
        if s.service_kind == "infrastructure" and s.provider:
            return s.provider + "#self-hosted"  # a server on the provider's network, counted apart from its platform
        return s.provider or ("?" if s.status == "unknown" else s.status)


def dependencies(da: DomainAttribution) -> Iterator[tuple[str, Service, bool]]:
    """(category, service, primary) for every non-absent service of a domain."""
    for cat, s in da.services.items():
        if s.status == "absent":
            continue
        yield cat, s, True
        for a in s.also:
            if a.status != "absent":
                yield cat, a, False
    for s in da.saas:
        if s.status != "absent":
            yield "saas", s, True


def judge_domain(da: DomainAttribution, kb: Any, policies: list[Policy], as_of: Any = None,
                 with_seal: bool = True, cache: dict | None = None) -> list[Dependency]:
    """All dependencies of a domain, each judged under every policy.

    ``cache`` (a dict the caller keeps for one date and one set of policies)
    reuses the verdicts of the same provider across domains: the verdict of
    an attributed service depends only on the provider and company."""
    org = da.organisation or (da.organisations[0] if da.organisations else None)
    out: list[Dependency] = []
    cfg = policies[0].config if policies else load_policies()
    day = as_date(as_of)
    for cat, s, primary in dependencies(da):
        key = (cat, s.status, s.provider, s.company, s.provider_name, org if s.status == "self" else None,
               s.basis, (s.network or {}).get("country"),
               frozenset((e.rtype or "").upper() for e in s.evidence))
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            f = None
            if s.status in ("attributed", "self") and (s.provider or s.status == "self"):
                f = facts(s, kb, day, org, cfg.organisation_country, cfg.location_table)
            vs = {p.id: judge(s, kb, p, day, org, _facts=f) for p in policies}
            sl = seal(s, kb, day, cfg, org, _facts=f) if (with_seal and f is not None) else None
            hit = (vs, sl, f.chain if f else None)
            if cache is not None:
                cache[key] = hit
        out.append(Dependency(cat, s, primary, hit[0], hit[1], hit[2]))
    return out
