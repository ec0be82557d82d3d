"""The attribution result model: the contract between attribute, judge, report
and audit, and the documented export format (issue #3, item 5).

Categories and their stable names (docs/EXPORT.md documents them for users):

====================  =======================================================
``web``               who serves the domain's website (apex and www, after CNAME
                      chains; the origin behind a CDN when visible)
``cdn``               a CDN in front of the website
``mail_inbound``      who receives mail first (the MX hosts)
``mail_gateway``      a filtering gateway in front of the mailbox platform
``mailbox``           the mailbox platform behind any gateway
``mail_outbound``     services allowed to send as the domain (SPF)
``dns``               DNS hosting (NS)
``office``            office suite / collaboration (Microsoft 365, Google
                      Workspace)
``collaboration``     real-time communication (Teams/Skype SRV and CNAMEs)
``identity``          device / identity registration (Entra ID, Intune)
====================  =======================================================

SaaS seen in TXT verification tokens (and SPF includes that are not mail
hosting) is a list under ``saas``.

``status`` of a service: ``attributed`` (a provider is named), ``self`` (the
organisation runs it on its own name/network), ``unknown`` (there is evidence
but no rule concluded), ``absent`` (the domain has no such service: an
authoritative empty answer), ``error`` (a DNS error prevented the
measurement — never counted as absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stekker.text import Message

CATEGORIES: tuple[str, ...] = (
    "web",
    "cdn",
    "mail_inbound",
    "mail_gateway",
    "mailbox",
    "mail_outbound",
    "dns",
    "office",
    "collaboration",
    "identity",
)

SERVICE_STATUSES = ("attributed", "self", "unknown", "absent", "error")
BASES = ("kb", "network", "likely", "self")  # Service.basis (None for unknown/absent/error)
SERVICE_KINDS = ("platform", "infrastructure")  # Service.service_kind

# Observation kinds (a fingerprint's ``on``, the second part of an evidence rule id
# ``<provider>.<kind>:<matcher>:<pattern>``) that show only that an account (a tenant) exists at
# the provider, not that a service of the domain runs there: a verification token in TXT
# (``google-site-verification=`` for Search Console, ``MS=``, ``facebook-domain-verification=``).
# Microsoft's user-realm answer is not one: it says that Entra ID signs the domain's users in (a
# service that runs there: identity), as the knowledge base's own note for it says.  A service that
# rests on tokens alone
# (:attr:`Service.account_only`) is not counted as dependence in the provider and company shares
# of a report or a comparison; they count it apart ("account or token only", docs/REPORT.md).
ACCOUNT_KINDS = frozenset({"txt"})


@dataclass(slots=True)
class EvidenceItem:
    """One fact behind a conclusion: which record, which value, which rule."""

    qname: str
    rtype: str
    value: str
    rule: str  # e.g. "microsoft.mx:suffix:mail.protection.outlook.com"
    purpose: str | None = None

    @property
    def kind(self) -> str | None:
        """The observation kind the rule matched (``txt`` of ``google.txt:regex:^google-site-verification=``,
        ``mx`` of ``microsoft.mx:suffix:...``); None for a rule of another shape (``self.own-domain``,
        ``network:AS...``)."""
        head, sep, _rest = self.rule.partition(":")
        if not sep or "." not in head:
            return None
        return head.rsplit(".", 1)[1]


# The stored name of a server on a provider's network (service kind
# "infrastructure"): "self-hosted on <provider>".  Stored in English, like every
# name in an attribution; shown in the reader's language by shown_name (the
# judge's reasons, the report, the site).
SELF_HOSTED_ON = "self-hosted on "
_SELF_HOSTED_SHOWN = {"en": "self-hosted on {name}", "nl": "zelf gehost op {name}"}


# The name under which a "likely" answer (weak evidence only: a tenant token
# behind a mail filter, an SPF include) is counted in the provider tables,
# apart from the provider's answers on platform evidence: "likely <provider>".
LIKELY = "likely "
_LIKELY_SHOWN = {"en": "likely {name}", "nl": "waarschijnlijk {name}"}


def shown_name(name: str, lang: str) -> str:
    """A stored provider name as shown in ``lang``: ``self-hosted on X`` reads
    ``zelf gehost op X`` in Dutch, ``likely X`` ``waarschijnlijk X``; every
    other name as it is."""
    for prefix, shown in ((SELF_HOSTED_ON, _SELF_HOSTED_SHOWN), (LIKELY, _LIKELY_SHOWN)):
        if name.startswith(prefix):
            return (shown.get(lang) or shown["en"]).format(name=name[len(prefix):])
    return name


@dataclass(slots=True)
class Service:
    category: str
    status: str  # one of SERVICE_STATUSES
    provider: str | None = None  # provider id from the knowledge base, "self", or None
    provider_name: str | None = None
    company: str | None = None  # company id operating the service
    parent: str | None = None  # ultimate parent company id on the as-of date
    jurisdiction: str | None = None  # ISO 3166 alpha-2 of the ultimate parent's legal home
    confidence: float = 0.0  # 0..1
    evidence: list[EvidenceItem] = field(default_factory=list)
    also: list["Service"] = field(default_factory=list)  # further providers in the same category
    note: str | None = None
    # what the answer rests on (issue 12; docs/EXPORT.md): "kb" (a knowledge-base
    # provider, by name or by its ASN), "network" (no provider matched: the
    # network operator of the addresses, from the IP-to-ASN data), "likely"
    # (only weak evidence: an SPF include, a tenant token behind a gateway),
    # "self"; None for unknown/absent/error
    basis: str | None = None
    # "platform" (the provider's own service, e.g. Exchange Online) or
    # "infrastructure" (a server on the provider's network: self-hosted on
    # its cloud); None when the category does not tell them apart
    service_kind: str | None = None
    network: dict[str, Any] | None = None  # {"asn", "holder", "country"} of a "network" answer
    # the parts of ``note`` as messages (key + values), so a report or page
    # shows the note in its reader's language (stekker.text.Message); ``note``
    # is their English text joined with "; " (the command line, JSON, CSV)
    note_msgs: list[Message] | None = None

    @property
    def account_only(self) -> bool:
        """A provider named only by evidence that shows an account there (:data:`ACCOUNT_KINDS`: a
        verification token), not a service of the domain that runs there."""
        return (self.status == "attributed" and bool(self.evidence)
                and all(e.kind in ACCOUNT_KINDS for e in self.evidence))

    def add_note(self, msg: Message) -> "Service":
        """Append one part to the note (its English text and its message)."""
        self.note = str(msg) if not self.note else f"{self.note}; {msg}"
        self.note_msgs = [*(self.note_msgs or []), msg]
        return self

    def to_dict(self) -> dict[str, Any]:
        # hand-written (same result as dataclasses.asdict, ~10x faster)
        d = {
            "category": self.category,
            "status": self.status,
            "provider": self.provider,
            "provider_name": self.provider_name,
            "company": self.company,
            "parent": self.parent,
            "jurisdiction": self.jurisdiction,
            "confidence": self.confidence,
            "evidence": [
                {"qname": e.qname, "rtype": e.rtype, "value": e.value, "rule": e.rule, "purpose": e.purpose}
                for e in self.evidence
            ],
            "also": [a.to_dict() for a in self.also],
            "note": self.note,
            "basis": self.basis,
            "service_kind": self.service_kind,
            "network": self.network,
        }
        if self.note_msgs:
            d["note_msgs"] = [{"key": m.key, "text": str(m), "args": m.args} for m in self.note_msgs]
        return d


@dataclass(slots=True)
class DomainAttribution:
    domain: str
    organisation: str | None
    organisations: list[str]
    sector: str | None
    sectors: list[str]
    status: str  # ok|nxdomain|error (DomainEvidence.status)
    services: dict[str, Service]
    saas: list[Service]
    kb_version: str
    as_of: str  # ISO date used for ownership
    tenant: str | None = None  # Microsoft 365 tenant name seen in DKIM CNAMEs
    errors: list[dict[str, str]] = field(default_factory=list)  # failed queries (qname, qtype, error_kind)
    datasets: list[dict[str, Any]] = field(default_factory=list)  # reference data used (IP-to-ASN: name, version, date)
    hosts: dict[str, Service] = field(default_factory=dict)  # the input's extra hosts -> who serves each

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "organisation": self.organisation,
            "organisations": self.organisations,
            "sector": self.sector,
            "sectors": self.sectors,
            "status": self.status,
            "services": {k: v.to_dict() for k, v in self.services.items()},
            "saas": [s.to_dict() for s in self.saas],
            "kb_version": self.kb_version,
            "as_of": self.as_of,
            "tenant": self.tenant,
            "errors": self.errors,
            "datasets": self.datasets,
            "hosts": {k: v.to_dict() for k, v in self.hosts.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DomainAttribution":
        def svc(x: dict[str, Any]) -> Service:
            return Service(
                category=x["category"],
                status=x["status"],
                provider=x.get("provider"),
                provider_name=x.get("provider_name"),
                company=x.get("company"),
                parent=x.get("parent"),
                jurisdiction=x.get("jurisdiction"),
                confidence=x.get("confidence", 0.0),
                evidence=[EvidenceItem(**e) for e in x.get("evidence", [])],
                also=[svc(a) for a in x.get("also", [])],
                note=x.get("note"),
                basis=x.get("basis"),
                service_kind=x.get("service_kind"),
                network=x.get("network"),
                note_msgs=[Message(m["key"], m.get("text", ""), **(m.get("args") or {}))
                           for m in x["note_msgs"]] if x.get("note_msgs") else None,
            )

        return cls(
            domain=d["domain"],
            organisation=d.get("organisation"),
            organisations=d.get("organisations", []),
            sector=d.get("sector"),
            sectors=d.get("sectors", []),
            status=d["status"],
            services={k: svc(v) for k, v in d.get("services", {}).items()},
            saas=[svc(s) for s in d.get("saas", [])],
            kb_version=d["kb_version"],
            as_of=d["as_of"],
            tenant=d.get("tenant"),
            errors=d.get("errors", []),
            datasets=d.get("datasets", []),
            hosts={k: svc(v) for k, v in d.get("hosts", {}).items()},
        )
