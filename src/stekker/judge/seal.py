"""SEAL levels of the EU Cloud Sovereignty Framework for one dependency.

``seal(service, kb, as_of)`` gives ``{"SOV-1": SealLevel, "SOV-2": SealLevel}``
from the mapping in ``judge/data/seal.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from stekker.attribute.model import Service

from .facts import Facts, facts
from .policies import PolicyConfig, _shipped_text, load_policies

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
    # the sets and thresholds are data (``seal:`` in policies.yaml): EEA, US, SecNumCloud's 24/39
    eea = cfg.country_sets[cfg.seal["home"]]
    us = cfg.country_sets[cfg.seal["foreign"]]
    hold = cfg.seal["holders"]
    hold_out = cfg.country_sets[hold["outside"]]
    cond: dict[str, bool | None] = {}
    if f.chain:
        countries = [e.country for e in f.entities]  # joint parents' chains included
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
            outside = [h[1] for h in f.holders if h[2] not in hold_out]
            cond["holders_ok"] = (max(outside, default=0) <= float(hold["max_single"])
                                  and sum(outside) <= float(hold["max_total"]))
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
        if not f.chain or level is None or any(e.country is None for e in f.entities) or f.control_unknown:
            out[obj] = SealLevel(obj, None, False)  # who controls it is not known
        else:
            out[obj] = SealLevel(obj, level, lb)
    return out

