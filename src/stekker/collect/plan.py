"""The query plan (``src/stekker/data/plan.yaml``) as Python objects.

The YAML file is the only place that says what stekker asks; this module
loads it and turns it into the questions for one domain.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

import yaml

from stekker.i18n import _

DERIVED_IDS = ("wildcard_probe", "mx_host", "ns_host", "spf_include", "host")


@dataclass(frozen=True, slots=True)
class PlanItem:
    id: str
    label: str  # "@" = the domain itself
    types: tuple[str, ...]
    why: str
    first: bool = False

    def qname(self, domain: str) -> str:
        return domain if self.label == "@" else f"{self.label}.{domain}"


@dataclass(frozen=True, slots=True)
class Lookup:
    """A look-up beyond DNS (``lookups:`` in plan.yaml), asked only with its
    scan option; ``url`` has ``{domain}`` for the domain's A-label."""

    id: str
    type: str  # the qtype its rows are stored under
    url: str
    option: str
    why: str
    records: tuple[str, ...] = ()  # further record types its answers hold (REALM: IDP, the AuthURL host)

    def request_url(self, domain: str) -> str:
        return self.url.replace("{domain}", domain)


@dataclass(frozen=True, slots=True)
class Plan:
    version: int
    items: tuple[PlanItem, ...]
    derived: dict[str, tuple[tuple[str, ...], str]]  # id -> (types, why)
    cname_chain_max: int
    spf_lookups_max: int
    lookups: dict[str, Lookup] = field(default_factory=dict)  # id -> look-up beyond DNS

    def questions(self, domain: str, first: bool | None = None) -> list[tuple[str, str, str]]:
        """(purpose, qname, qtype) of the fixed items for ``domain``; with
        ``first`` only the items asked first (True) or the others (False)."""
        return [(it.id, it.qname(domain), t) for it in self.items for t in it.types
                if first is None or it.first == first]

    def derived_types(self, purpose: str) -> tuple[str, ...]:
        return self.derived[purpose][0]

    def why(self, purpose: str) -> str:
        for it in self.items:
            if it.id == purpose:
                return it.why
        if purpose in self.lookups:
            return self.lookups[purpose].why
        return self.derived.get(purpose, ((), ""))[1]

    @property
    def sublabel_types(self) -> set[str]:
        """Record types asked below the apex (what a wildcard could answer)."""
        out = {t for it in self.items if it.label != "@" for t in it.types}
        out |= set(self.derived_types("host"))
        return out


class PlanError(ValueError):
    pass


def parse_plan(data: dict) -> Plan:
    try:
        items = tuple(
            PlanItem(str(i["id"]), str(i["label"]), tuple(str(t).upper() for t in i["types"]), str(i.get("why", "")),
                     bool(i.get("first", False)))
            for i in data["items"]
        )
        derived = {
            str(d["id"]): (tuple(str(t).upper() for t in d["types"]), str(d.get("why", "")))
            for d in data.get("derived", [])
        }
        limits = data.get("limits", {})
        lookups = {
            str(lk["id"]): Lookup(str(lk["id"]), str(lk["type"]).upper(), str(lk["url"]), str(lk["option"]),
                                  str(lk.get("why", "")), tuple(str(t).upper() for t in lk.get("records") or ()))
            for lk in data.get("lookups") or []
        }
        plan = Plan(
            version=int(data["version"]),
            items=items,
            derived=derived,
            cname_chain_max=int(limits.get("cname_chain_max", 8)),
            spf_lookups_max=int(limits.get("spf_lookups_max", 10)),
            lookups=lookups,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(_("invalid query plan: {error!r}").format(error=exc)) from None
    ids = [i.id for i in items] + list(derived) + list(lookups)
    if len(set(ids)) != len(ids):
        raise PlanError(_("query plan has duplicate ids"))
    if any("{domain}" not in lk.url for lk in lookups.values()):
        raise PlanError(_("a look-up's url lacks {{domain}}").format())
    missing = [d for d in DERIVED_IDS if d not in derived]
    if missing:
        raise PlanError(_("query plan lacks derived items the engine needs: {missing}").format(missing=missing))
    return plan


@functools.lru_cache(maxsize=1)
def load_plan() -> Plan:
    text = resources.files("stekker").joinpath("data/plan.yaml").read_text(encoding="utf-8")
    return parse_plan(yaml.safe_load(text))
