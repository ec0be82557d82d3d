"""Pydantic models of the knowledge-base files (see kb/data/README.md).

The models only check the shape of each entry; cross references (provider ->
company, ownership parents, cycles) are checked by
:func:`stekker.kb.KnowledgeBase.validate` because they span files.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stekker.i18n import _

ID_RE = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")

ON_KINDS = ("mx", "ns", "cname", "srv", "dkim", "selector", "txt", "spf", "dmarc", "realm", "idp")
ROLES = (
    "web",
    "cdn",
    "mailbox",
    "gateway",
    "mail_inbound",
    "mail_outbound",
    "dns",
    "office",
    "collaboration",
    "identity",
    "sign_in",  # the identity provider a federated Entra ID domain passes sign-in on to (realm AuthURL)
    "saas",
    "verification",
)
PROVIDER_KINDS = (
    "hyperscaler",
    "cdn",
    "saas",
    "mail_gateway",
    "mail_provider",
    "hoster",
    "telecom",
    "dns",
    "security",
)
EVENT_KINDS = ("announced", "completed", "blocked", "withdrawn", "renamed")


def _known(vals, known: tuple[str, ...], what: str, key: str | None = None) -> None:
    """A misspelt kind or role would silently feed nothing: name the unknown ones (``what``:
    ``kinds`` for observation kinds, ``roles`` for roles)."""
    bad = [v for v in vals if v not in known]
    if bad:
        template = (_("unknown observation kind(s) {bad} (known: {known})") if what == "kinds" else
                    _("unknown role(s) {bad} (known: {known})"))
        message = template.format(bad=", ".join(map(str, bad)), known=", ".join(known))
        raise ValueError(f"{key}: {message}" if key else message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_id(v: str) -> str:
    if not ID_RE.match(v):
        raise ValueError(_("invalid id {id!r}: lowercase letters, digits, '-', '_', '.'").format(id=v))
    return v


def _yaml_id(v):
    """An id written as a bare YAML 1.1 boolean word (``id: true``, ``on``,
    ``no``) arrives as a bool; an id is never a boolean, so take the word."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


class Source(_Strict):
    url: str
    retrieved: _dt.date | None = None
    about: str | None = None
    verified: bool = True  # false: the URL was not read here; the fact it is cited for is unconfirmed

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://\S+$", v):
            raise ValueError(_("source url must be http(s): {url!r}").format(url=v))
        return v


class Fingerprint(_Strict):
    on: Literal[ON_KINDS]  # type: ignore[valid-type]  # one list: ON_KINDS
    suffix: str | None = None
    regex: str | None = None
    equals: str | None = None
    role: list[str]
    confidence: float = Field(ge=0.0, le=1.0)
    note: str | None = None
    source: str | None = None
    verified: bool = True

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data):
        # YAML 1.1 reads a bare `on:` key as the boolean True
        if isinstance(data, dict) and True in data and "on" not in data:
            data = dict(data)
            data["on"] = data.pop(True)
        return data

    @field_validator("role", mode="before")
    @classmethod
    def _role_list(cls, v):
        if isinstance(v, str):
            v = [v]
        for r in v:
            if r not in ROLES:
                raise ValueError(_("unknown role {role!r} (known: {known})").format(role=r, known=", ".join(ROLES)))
        if not v:
            raise ValueError(_("role must not be empty"))
        return v

    @field_validator("suffix", "equals")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().rstrip(".")
        if v != v.lower() or not v:
            raise ValueError(_("suffix/equals must be lowercase and non-empty: {value!r}").format(value=v))
        return v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(_("invalid regex {regex!r}: {error}").format(regex=v, error=exc)) from exc
        return v

    @model_validator(mode="after")
    def _one_matcher(self):
        n = sum(x is not None for x in (self.suffix, self.regex, self.equals))
        if n != 1:
            raise ValueError(_("a fingerprint needs exactly one of suffix, regex, equals"))
        if self.verified and not (self.source and re.match(r"^https?://\S+$", self.source)):
            raise ValueError(
                _("a verified fingerprint needs a source URL (or mark it verified: false with a note)")
            )
        if not self.verified and not self.note:
            raise ValueError(_("an unverified fingerprint needs a note saying why"))
        return self

    @property
    def matcher(self) -> str:
        if self.suffix is not None:
            return f"suffix:{self.suffix}"
        if self.regex is not None:
            return f"regex:{self.regex}"
        return f"equals:{self.equals}"


class Provider(_Strict):
    id: str
    name: str
    company: str
    kind: Literal[
        "hyperscaler", "cdn", "saas", "mail_gateway", "mail_provider", "hoster", "telecom", "dns", "security"
    ]
    services: list[str] = Field(default_factory=list)
    asns: list[int] = Field(default_factory=list)
    asns_unverified: list[int] = Field(default_factory=list)  # lab catalogue values, not yet sourced
    asn_role: str = "web"
    # what an address in these ASNs shows when no name matched (rules `service_kinds`):
    # infrastructure = a server on the provider's network (a VM on Azure), platform = its own service
    asn_service_kind: Literal["infrastructure", "platform"] | None = None
    eu_data_location: Literal["offered", "default", "only", "none", "unknown"] | None = None
    eu_data_location_source: str | None = None  # URL; required when eu_data_location is a claim
    fingerprints: list[Fingerprint] = Field(default_factory=list)
    sources: list[Source] = Field(min_length=1)
    note: str | None = None

    _pre = field_validator("id", "company", mode="before")(classmethod(lambda cls, v: _yaml_id(v)))

    @field_validator("id", "company")
    @classmethod
    def _ids(cls, v: str) -> str:
        return _check_id(v)

    @model_validator(mode="after")
    def _location_sourced(self):
        if self.eu_data_location not in (None, "unknown"):
            src = self.eu_data_location_source
            if not (src and re.match(r"^https?://\S+$", src)):
                raise ValueError(_("eu_data_location needs eu_data_location_source (a URL)"))
        return self

    @field_validator("asn_role")
    @classmethod
    def _asn_role(cls, v: str) -> str:
        if v not in ROLES:
            raise ValueError(_("unknown asn_role {role!r}").format(role=v))
        return v


class ProvidersFile(_Strict):
    version: int = 1
    updated: _dt.date | None = None
    providers: list[Provider]


class Ownership(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    parent: str | None = None
    _pre = field_validator("parent", mode="before")(classmethod(lambda cls, v: _yaml_id(v)))
    share: float | None = Field(default=None, ge=0.0, le=1.0)
    since: _dt.date | None = None
    until: _dt.date | None = None
    source: str | None = None
    note: str | None = None
    verified: bool = True  # false: not confirmed from a retrieved source (docs/KB_SOURCES.md)
    # one of several parents that control the company together (a joint venture of two funds, a
    # consortium): while such periods cover a date, no single parent controls it (kb.controller is
    # None) and kb.joint_controllers names them all
    joint: bool = False
    # the day control by this parent began is not known: `since` is only the first day a source shows
    # it (the day the source was read, or the date of a statement), not a change of control. Before
    # it the company's controller is unknown (the company carries controller_unknown: true;
    # tests/test_kb_lint.py), and no "new owner" is reported on that day (audit)
    start_unknown: bool = False

    def covers(self, d: _dt.date) -> bool:
        return (self.since is None or self.since <= d) and (self.until is None or d < self.until)


class Holder(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    holder: str
    country: str | None = None
    share: float | None = None
    as_of: _dt.date | None = None
    source: str | None = None


class Event(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    date: _dt.date
    kind: Literal["announced", "completed", "blocked", "withdrawn", "renamed"]
    counterparty: str | None = None
    source: str | None = None
    note: str | None = None


class Company(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    name: str
    country: str | None = None
    ownership: list[Ownership] = Field(default_factory=list)
    holders: list[Holder] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    # who controls this company was not researched: where it is the top of a control
    # chain (no ownership period on the date), control-based tests say "unknown"
    # instead of taking it as its own (European) controller
    controller_unknown: bool = False
    # other names people write for it: a brand or product line it is known by (ChipSoft: HiX), a
    # short name the legal-form rule does not give (Kiteworks USA, LLC: Kiteworks), a former name
    # (Exact Holding). `stekker audit` matches an inventory's vendor by name and aliases
    aliases: list[str] = Field(default_factory=list)

    _pre = field_validator("id", mode="before")(classmethod(lambda cls, v: _yaml_id(v)))

    @field_validator("id")
    @classmethod
    def _ids(cls, v: str) -> str:
        return _check_id(v)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Z]{2}$", v):
            raise ValueError(_("country must be ISO 3166 alpha-2 (upper case): {country!r}").format(country=v))
        return v


class CompaniesFile(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    version: int = 1
    updated: _dt.date | None = None
    companies: list[Company]


class CategoryRule(_Strict):
    """How one attribution category is decided (rules.yaml)."""

    on: list[str] = Field(default_factory=list)  # observation kinds that feed it
    purposes: list[str] | None = None  # restrict observations to these purposes (None = all)
    roles: list[str]  # fingerprint roles that count
    ip_purposes: list[str] = Field(default_factory=list)  # A/AAAA of these purposes -> ASN -> provider
    ip_roles: list[str] = Field(default_factory=list)  # provider asn_role values that count for IPs
    self_purposes: list[str] = Field(default_factory=list)  # names under the org's domain => self
    deciding: list[str] = Field(default_factory=list)  # their errors => error, all absent => absent
    presence: list[str] = Field(default_factory=list)  # usable but unmatched => unknown (else absent)
    unknown_roles: list[str] = Field(default_factory=list)  # matched only with these => unknown
    prefer_roles: list[str] = Field(default_factory=list)  # providers with these roles first (origin before CDN)
    prefer_purposes: list[str] = Field(default_factory=list)  # providers seen on these purposes first
    multi: bool = False  # several providers are normal (mail_outbound): all listed, none "wins"
    confidence_by_kind: dict[str, float] = Field(default_factory=dict)  # observation kind -> confidence here
    platform_kinds: list[str] = Field(default_factory=list)  # kinds that show the platform itself: before an own MX
    weak_kinds: list[str] = Field(default_factory=list)  # kinds that only authorise/verify: last, never over a known MX
    weak_first: list[str] = Field(default_factory=list)  # among weak-only providers, one with these kinds comes first
    record_order_first: bool = False  # the record order (MX preference) before confidence: who receives mail first
    corroborate_roles: list[str] = Field(default_factory=list)  # roles that count as another kind in a tie
    relay_of: str | None = None  # own-domain names of self_purposes are a self-run relay when that category is a provider's
    likely_roles: list[str] = Field(default_factory=list)  # roles that count as weak evidence here (an MS= tenant token)
    likely_hidden_roles: list[str] = Field(default_factory=list)  # a presence answer hidden only by these: "likely" its operator
    service_kinds: bool = False  # tell a provider's platform apart from a server on its network (infrastructure)
    list_unrecognised: list[str] = Field(default_factory=list)  # kinds whose unknown, not own names go in the note
    note: str | None = None

    @model_validator(mode="after")
    def _known_names(self):
        kinds = {"on": self.on, "platform_kinds": self.platform_kinds, "weak_kinds": self.weak_kinds,
                 "weak_first": self.weak_first,
                 "list_unrecognised": self.list_unrecognised, "confidence_by_kind": list(self.confidence_by_kind)}
        for key, vals in kinds.items():
            _known(vals, ON_KINDS, "kinds", key)
        roles = {"roles": self.roles, "unknown_roles": self.unknown_roles, "prefer_roles": self.prefer_roles,
                 "corroborate_roles": self.corroborate_roles, "likely_roles": self.likely_roles,
                 "likely_hidden_roles": self.likely_hidden_roles, "ip_roles": self.ip_roles}
        for key, vals in roles.items():
            _known(vals, ROLES, "roles", key)
        return self


class RulesFile(_Strict):
    version: int = 1
    updated: _dt.date | None = None
    observations: dict[str, list[str]]  # observation kind -> purposes it is read from
    categories: dict[str, CategoryRule]
    saas: CategoryRule
    hosts: CategoryRule | None = None  # the input's extra hosts (each attributed like a website)
    ip_confidence: float = 0.7
    unverified_asn_factor: float = Field(default=0.8, gt=0, le=1)  # times ip_confidence for asns_unverified
    self_confidence: float = 0.8
    network_confidence: float = 0.4  # the network operator of an address no provider's ASN covers
    network_roles: list[str] = Field(default_factory=lambda: ["web", "dns"])  # roles of such an answer (vs ip_roles)
    combine: Literal["noisy_or", "max"] = "noisy_or"

    @field_validator("network_roles")
    @classmethod
    def _known_roles(cls, v: list[str]) -> list[str]:
        _known(v, ROLES, "roles")
        return v

    @field_validator("observations")
    @classmethod
    def _known_kinds(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        _known(v, ON_KINDS, "kinds")
        return v
