"""SPF record parsing (RFC 7208), shared by the scan engine (which expands
include:/redirect= targets) and the attribution engine (which reads the
include:/redirect= targets back from stored evidence).  A neutral module so
that attribute need not import collect (see tests/test_import_rules.py)."""

from __future__ import annotations

from dataclasses import dataclass

# Mechanisms and modifiers that cause a DNS lookup and count against the
# limit of 10 (RFC 7208 section 4.6.4).
LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")


@dataclass(frozen=True, slots=True)
class SpfTerm:
    kind: str  # include|redirect|a|mx|ptr|exists|ip4|ip6|all|exp|other
    value: str  # the domain/spec after ':' or '=', lowercase, '' when none
    qualifier: str = "+"  # + - ~ ?


def is_spf(txt: str) -> bool:
    t = txt.strip().lower()
    return t == "v=spf1" or t.startswith("v=spf1 ")


def spf_records(txt_values: list[str]) -> list[str]:
    """The SPF records among a name's TXT strings (more than one is a permerror,
    which the caller records; we still return all of them)."""
    return [t for t in txt_values if is_spf(t)]


def parse_spf(txt: str) -> list[SpfTerm]:
    """Split one SPF record into terms. Unknown or malformed terms are kept as
    kind ``other`` so nothing is silently dropped."""
    terms: list[SpfTerm] = []
    parts = txt.strip().split()
    for raw in parts[1:]:
        q = "+"
        body = raw
        if body[:1] in "+-~?":
            q, body = body[0], body[1:]
        low = body.lower()
        if "=" in low and (":" not in low or low.index("=") < low.index(":")):
            name, _, val = low.partition("=")
            kind = name if name in ("redirect", "exp") else "other"
            terms.append(SpfTerm(kind, val.rstrip(".") if kind != "other" else low, q))
            continue
        name, sep, val = low.partition(":")
        if "/" in name and not sep:  # a/24, mx/24
            name, _, _ = name.partition("/")
        if name in ("include", "exists", "ip4", "ip6", "a", "mx", "ptr", "all"):
            val = val.split("/")[0] if name in ("a", "mx") else val
            terms.append(SpfTerm(name, val.rstrip(".") if name not in ("ip4", "ip6") else val, q))
        else:
            terms.append(SpfTerm("other", low, q))
    return terms


def lookup_targets(txt: str) -> list[tuple[str, str]]:
    """(kind, domain) for include: and redirect= terms: the names whose TXT
    records stekker fetches to expand the SPF tree."""
    return [(t.kind, t.value) for t in parse_spf(txt) if t.kind in ("include", "redirect") and t.value]
