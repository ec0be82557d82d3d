"""The evidence model: what the collect stage stores and every later stage reads.

One DNS question and its outcome is a :class:`QueryResult`; all results for one
input domain form a :class:`DomainEvidence`.  Every result is in exactly one of
three states (issue #2, item 5):

* ``present``: the name exists and has records of the asked type (possibly
  reached through a CNAME chain);
* ``absent``: NXDOMAIN or NODATA — the authoritative "there is nothing";
* ``error``: we do not know (SERVFAIL, REFUSED, timeout, malformed answer,
  CNAME loop, ...).  An error is never counted as absent.

Records are kept as text in dnspython's canonical presentation format, plus
the raw wire-format answer in storage, so anyone can re-derive a finding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator


class Status(str, enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"
    ERROR = "error"


class ErrorKind(str, enum.Enum):
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"  # undecodable answer, or id/question mismatch
    CNAME_LOOP = "cname_loop"
    CNAME_TOO_LONG = "cname_too_long"
    TRUNCATED = "truncated"  # truncated over UDP and TCP retry failed
    FORMERR = "formerr"
    NOTIMP = "notimp"
    SPF_LIMIT = "spf_limit"  # RFC 7208 lookup limit reached
    SPF_LOOP = "spf_loop"
    # not asked: the zone's SOA and NS both failed after their retries, so
    # every other question below the apex would fail the same way
    ZONE_UNREACHABLE = "zone_unreachable"
    # not answered before the domain's deadline (--domain-deadline)
    DEADLINE = "deadline"
    OTHER = "other"


class AbsentKind(str, enum.Enum):
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"


# The record type of a host name a look-up beyond DNS names in its answer
# (plan.yaml ``lookups:``): for Microsoft's realm answer of a federated domain,
# the identity provider's host from ``AuthURL`` (``<domain> IDP sts.example.nl``).
IDP_RTYPE = "IDP"


@dataclass(frozen=True, slots=True)
class RR:
    """One resource record of an answer section, as text.

    ``name`` is the owner name, lowercase, absolute without the trailing dot.
    ``value`` is the rdata in presentation format (dnspython ``to_text``);
    names inside rdata are lowercase without the trailing dot: CNAME/NS
    ``target``, MX ``"10 mx.example.nl"``, SRV ``"0 5 443 host.example"``.
    A TXT value is its character-strings concatenated and decoded as UTF-8
    with ``errors="backslashreplace"`` (hostile bytes stay visible, inert).
    """

    name: str
    rtype: str
    ttl: int
    value: str


@dataclass(slots=True)
class QueryResult:
    domain: str  # the input domain this query belongs to
    purpose: str  # plan item id (see data/plan.yaml)
    qname: str  # lowercase, no trailing dot
    qtype: str  # "A", "MX", ...
    status: Status
    error_kind: ErrorKind | None = None
    absent_kind: AbsentKind | None = None
    rcode: str | None = None  # "NOERROR", "NXDOMAIN", "SERVFAIL", ...
    answers: list[RR] = field(default_factory=list)  # full answer section incl. CNAMEs
    wildcard: bool = False  # the answer equals this domain's wildcard probe answer
    resolver: str | None = None
    ts: float | None = None  # unix time the answer arrived
    detail: str | None = None  # human text for errors

    # -- convenience ---------------------------------------------------------
    @property
    def chain(self) -> list[str]:
        """The CNAME chain from qname to the final name (qname first)."""
        chain = [self.qname]
        cnames = {rr.name: rr.value for rr in self.answers if rr.rtype == "CNAME"}
        seen = {self.qname}
        cur = self.qname
        while cur in cnames:
            cur = cnames[cur]
            if cur in seen:
                break
            seen.add(cur)
            chain.append(cur)
        return chain

    @property
    def final_name(self) -> str:
        return self.chain[-1]

    def values(self, rtype: str | None = None) -> list[str]:
        """rdata values of the asked type (or ``rtype``) in the answer."""
        want = rtype or self.qtype
        return [rr.value for rr in self.answers if rr.rtype == want]

    @property
    def via_http(self) -> bool:
        """A look-up beyond DNS (plan.yaml ``lookups:``): its ``resolver`` is
        the HTTP(S) origin that was asked, not a DNS resolver."""
        return (self.resolver or "").startswith(("https://", "http://"))

    @property
    def usable(self) -> bool:
        """Present and not a wildcard echo: safe to attribute."""
        return self.status is Status.PRESENT and not self.wildcard


@dataclass(slots=True)
class DomainEvidence:
    domain: str
    organisations: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    results: list[QueryResult] = field(default_factory=list)

    def __iter__(self) -> Iterator[QueryResult]:
        return iter(self.results)

    def by_purpose(self, purpose: str, qtype: str | None = None) -> list[QueryResult]:
        return [
            r for r in self.results if r.purpose == purpose and (qtype is None or r.qtype == qtype)
        ]

    def get(self, qname: str, qtype: str) -> QueryResult | None:
        qname = qname.lower().rstrip(".")
        for r in self.results:
            if r.qname == qname and r.qtype == qtype:
                return r
        return None

    def first(self, purpose: str, qtype: str) -> QueryResult | None:
        found = self.by_purpose(purpose, qtype)
        return found[0] if found else None

    @property
    def status(self) -> str:
        """``ok``, ``nxdomain`` or ``error`` for the domain as a whole.

        ``nxdomain`` when the apex SOA question says the name does not exist;
        ``error`` when the apex SOA or NS question failed (we cannot even say
        whether the domain exists); otherwise ``ok``.
        """
        soa = self.first("apex_soa", "SOA")
        ns = self.first("apex_ns", "NS")
        if soa is None:
            return "error"
        if soa.status is Status.ABSENT and soa.absent_kind is AbsentKind.NXDOMAIN:
            return "nxdomain"
        if soa.status is Status.ERROR or (ns is not None and ns.status is Status.ERROR):
            return "error"
        return "ok"

    def errors(self) -> list[QueryResult]:
        return [r for r in self.results if r.status is Status.ERROR]
