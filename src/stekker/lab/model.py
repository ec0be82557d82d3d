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
    ``glue`` maps an NS host name to a fixed address ("{net}" = lab net);
    ``fault`` names the fault a :class:`FaultMix` gave this org (its
    ``truth`` is then empty: every question is expected to end in an error,
    or NXDOMAIN for ``nonexistent``).
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
    fault: str | None = None


FAULT_KINDS = ("lame_timeout", "lame_refused", "nonexistent")


@dataclass(frozen=True, slots=True)
class FaultMix:
    """Fractions of the lab's organisations that are broken the way real
    lists are (defaults: what a national public-sector list shows):

    * ``lame_timeout`` -- delegated to name servers that never answer (each
      zone to two addresses of a pool of silent hosts, as dead servers of
      different hosters are different addresses);
    * ``lame_refused`` -- delegated to servers that do not have the zone
      (REFUSED, which the resolver turns into SERVFAIL);
    * ``nonexistent`` -- in the input file but not delegated (NXDOMAIN).

    Which orgs are hit is a pure function of the domain name (stable across
    runs and independent of order)."""

    lame_timeout: float = 0.002
    lame_refused: float = 0.004
    nonexistent: float = 0.01

    def pick(self, domain: str) -> str | None:
        import hashlib

        u = int.from_bytes(hashlib.blake2b(domain.encode("utf-8", "replace"), digest_size=8).digest(), "big") / 2**64
        acc = 0.0
        for kind in FAULT_KINDS:
            acc += getattr(self, kind)
            if u < acc:
                return kind
        return None


NO_FAULTS = FaultMix(0.0, 0.0, 0.0)


@dataclass(slots=True)
class LabSpec:
    """The organisations of a lab (any iterable: it is consumed once, while
    the lab builds, so a generator of a million orgs is fine) and whether the
    fault fixtures of stekker.lab.faults are added."""

    orgs: Iterable[Org] = field(default_factory=list)
    with_faults: bool = False
    org_tiers: int = 2  # org-tier knotd instances (<net>.0.4, <net>.0.5, ...)
    fault_mix: FaultMix = field(default_factory=FaultMix)  # applied to ``orgs`` (not to the fixtures)
    resolver_profile: str = "default"  # "default" (Unbound's shipped defaults) or "public" (rate limits)
