"""What a lab is made of: organisations (:class:`Org`) and a :class:`LabSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

Record = tuple  # (owner, type, rdata); rdata str (TXT: str | bytes | list of them)


@dataclass(slots=True)
class Org:
    """One organisation of the lab, with its DNS records and ground truth.

    ``records`` are ``(owner, type, rdata)``; owners/targets may omit the
    trailing dot (all names are absolute).  Each record goes to the zone with
    the longest matching apex the lab knows (root, TLDs, provider zones, org
    zones); the org zone apex is the registrable domain of ``domain``.
    ``truth`` maps categories of stekker.attribute.model (plus ``saas``) to
    provider ids.  ``hosts`` fills the input file's ``hosts`` column.

    Additive lab-only knobs (used by stekker.lab.faults, usable by tests):
    ``delegated=False`` leaves the domain out of its parent zone (NXDOMAIN);
    ``served=False`` delegates but no server has the zone (lame: REFUSED);
    ``glue`` maps an NS host name to a fixed address ("{net}" = lab net).
    """

    domain: str
    organisation: str | None = None
    sector: str | None = None
    records: list[Record] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    delegated: bool = True
    served: bool = True
    glue: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LabSpec:
    """The organisations of a lab (any iterable: it is consumed once, while
    the lab builds, so a generator of a million orgs is fine) and whether the
    fault fixtures of stekker.lab.faults are added."""

    orgs: Iterable[Org] = field(default_factory=list)
    with_faults: bool = False
    org_tiers: int = 2  # org-tier knotd instances (<net>.0.4, <net>.0.5, ...)
