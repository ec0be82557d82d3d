"""Facts about one dependency on one date, from the knowledge base.

The knowledge base is used only through ``kb.chain(company, as_of)``
(company first, ultimate parent last; each with ``id``, ``name``,
``country``), ``kb.holders(company, as_of)`` (list of (holder, percent) or
None) and ``kb.provider(id).eu_data_location`` (True / False / None).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from stekker.countries import registration_country
from stekker.attribute.model import Service
from stekker.dates import as_date

from .policies import DEFAULT_LOCATION_TABLE


@dataclass(slots=True)
class Entity:
    id: str
    name: str
    country: str | None


def top_controllers(chain: list[Entity] | None, joint: list[list[Entity]] | None) -> list[Entity]:
    """Who controls a service's company at the top: the ultimate parent (the
    end of the chain), or the end of every joint parent's chain."""
    if joint:  # each once: two joint parents may lead to the same company (two funds of one manager)
        return list({ch[-1].id: ch[-1] for ch in joint}.values())
    return chain[-1:] if chain else []


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
    # parents that control the top of the chain together (kb.joint_controllers): each one's own chain
    joint: list[list[Entity]] | None = None
    unknown_of: str | None = None  # the company whose controller was not researched, when not the top
    unresearched: tuple[str, ...] = ()  # joint parents whose own controller was not researched

    @property
    def controllers(self) -> list[Entity]:
        return top_controllers(self.chain, self.joint)

    @property
    def entities(self) -> list[Entity]:
        """Every company in the control chain, the joint parents' chains included."""
        return [*(self.chain or []), *(e for ch in (self.joint or []) for e in ch)]


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
        code = registration_country(country)  # RIR pseudo-codes name no country (older stored records)
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
    joint: list[list[Entity]] = []
    unknown_of: str | None = None
    unresearched_ids: tuple[str, ...] = ()
    if company and kb is not None:
        raw_chain = _kb_call(kb.chain, company, day)
        if raw_chain:
            chain = _chain_entities(kb, list(raw_chain))
            top_company = _kb_call(kb.company, chain[-1].id) if hasattr(kb, "company") else None
            control_unknown = bool(getattr(top_company, "controller_unknown", False))
            if hasattr(kb, "joint_controllers"):
                joint = [_chain_entities(kb, list(ch)) for ch in (_kb_call(kb.joint_controllers, company, day) or [])]
                # a joint parent whose own controller was not researched: who controls the whole is not known
                unresearched = [ch[-1] for ch in joint
                                if getattr(_kb_call(kb.company, ch[-1].id), "controller_unknown", False)]
                unresearched_ids = tuple(e.id for e in unresearched)
                if unresearched and not control_unknown:
                    control_unknown, unknown_of = True, unresearched[0].name
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
                 control_unknown=control_unknown, joint=joint or None, unknown_of=unknown_of,
                 unresearched=unresearched_ids)

