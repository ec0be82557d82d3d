"""A verdict on every disagreement between stekker and a peer: who is right,
and why, from the evidence both sides have.

The rules below classify a disagreement by what each side's conclusion rests
on. Strong mailbox evidence is a fingerprint on the MX itself, a DKIM selector
CNAME into the provider's key domain (``*.onmicrosoft.com``,
``*.dkim.mail.microsoft``) or an autodiscover CNAME/SRV: those exist only when
the mailboxes are on that platform. Weak evidence is an SPF include (it only
authorises a sender), a verification TXT token (it proves control of the
domain towards some service: ``google-site-verification`` is usually Search
Console), the Microsoft tenant realm API (a tenant exists: Entra ID, Teams,
Office; not where the mailboxes are), and an MX address in a cloud ASN (the
host may be a third party's server on that network).

The evidence kinds, the causes and ``REVIEWED`` (data/verdicts.yaml) hold the few verdicts that needed reading beyond the rules, each
with its reason. Verdicts: ``stekker`` (stekker is right), ``peer`` (the peer
is right), ``undecided`` (the published evidence does not settle it).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "verdicts.yaml"


def _load_rules() -> dict:
    with DATA.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


_RULES = _load_rules()
# evidence kinds that show where mailboxes are / that only authorise or verify
STRONG: set[str] = set(_RULES["strong"])
WEAK: set[str] = set(_RULES["weak"])
# cause id -> what it means
CAUSES: dict[str, str] = dict(_RULES["causes"])
# Verdicts that needed reading beyond the rules (domain -> (verdict, cause, text)).
REVIEWED: dict[str, tuple[str, str, str]] = {k: tuple(v) for k, v in _RULES["reviewed"].items()}

_PEER_KINDS = (
    ("dkim", re.compile(r"\bDKIM\b", re.I)),
    ("autodiscover", re.compile(r"autodiscover", re.I)),
    ("txt", re.compile(r"TXT verification", re.I)),
    ("tenant", re.compile(r"tenant", re.I)),
    ("spf", re.compile(r"\bSPF\b", re.I)),
    ("mx", re.compile(r"\bMX\b", re.I)),
    ("asn", re.compile(r"\bASN\b", re.I)),
)


def _kind(rule: str) -> str:
    """'microsoft.dkim:regex:...' -> 'dkim'; 'microsoft.asn:AS8075' -> 'asn';
    'self.own-domain' -> 'self'; 'unknown' -> 'unknown'."""
    head = rule.split(":", 1)[0]
    if "." in head:
        pid, kind = head.split(".", 1)
        return "self" if pid == "self" else kind
    return head


def stekker_kinds(row, provider: str) -> set[str]:
    """Evidence kinds stekker has for ``provider`` (primary or ``also``)."""
    return {_kind(rule) for who, rule, *_ in row.items if who == provider}


def strong_items(row, provider: str) -> list[str]:
    return [f"{q} {t} {v}" for who, rule, q, t, v in row.items if who == provider and _kind(rule) in STRONG]


def peer_kinds(row) -> set[str]:
    text = " ".join([row.obs.reason, *row.obs.non_dns_signals])
    return {k for k, rx in _PEER_KINDS if rx.search(text)}


def _published(obs) -> set[str]:
    out = set()
    if obs.dkim:
        out.add("dkim")
    if obs.autodiscover_cname or obs.autodiscover_srv:
        out.add("autodiscover")
    if obs.txt:
        out.add("txt")
    return out


_WEAK_WORDS = {"spf": "an SPF include", "txt": "a verification token", "realm": "Microsoft's realm answer (a tenant)"}


def _weak(kinds: set[str]) -> str:
    """stekker's weak evidence kinds in words."""
    return " and ".join(_WEAK_WORDS.get(k, k) for k in sorted(kinds)) or "weak evidence"


def judge(row) -> None:
    """Set row.verdict / row.cause / row.verdict_text for a disagreement."""
    obs = row.obs
    if obs.domain in REVIEWED:
        row.verdict, row.cause, row.verdict_text = REVIEWED[obs.domain]
        return
    P, S = row.peer_bucket, row.stekker_bucket
    pk = peer_kinds(row)
    mx = ", ".join(obs.mx[:4]) + (" ..." if len(obs.mx) > 4 else "")
    gw = row.stekker_gateway or obs.gateway
    hyperscalers = ("microsoft", "google", "amazon")

    # the peer cites DKIM/autodiscover/TXT records that it did not publish
    # (a verification token the peer did not publish is weak evidence anyway: not counted here)
    unpublished = (pk & {"dkim", "autodiscover"}) - _published(obs)
    if P in hyperscalers and S != P and unpublished and not strong_items(row, P):
        row.verdict, row.cause = "undecided", "peer_unpublished"
        row.verdict_text = (
            f"The peer's reason cites {', '.join(sorted(unpublished))} records that its published data does not "
            f"contain, so the lab cannot reproduce them. stekker asks for selector1/selector2/google DKIM and "
            f"autodiscover on a live scan and would see them if they exist; from the published records alone "
            f"(MX {mx}{'; gateway ' + gw if gw else ''}) no mailbox platform is visible."
            + (" stekker's 'self' comes from the own-domain MX; published DKIM/autodiscover records at a provider "
               "would win over it (mailbox platform_kinds)." if row.stekker_status == "self" else ""))
        return

    # an own server, also one known only by its address in a provider's network (service kind infrastructure)
    if (row.stekker_status == "self" or getattr(row, "stekker_kind", None) == "infrastructure") and P in hyperscalers:
        strong = strong_items(row, P)
        if strong:
            exo_mx = [v for who, rule, q, t, v in row.items if who == P and _kind(rule) == "mx"]
            row.verdict, row.cause = "peer", "own_mx_decides"
            row.verdict_text = (
                f"stekker answers 'self' because an MX host is under the organisation's own domain, yet its own "
                f"evidence shows {P} as the mailbox platform: {'; '.join(strong[:3])}"
                f"{' ...' if len(strong) > 3 else ''}. "
                + (f"The provider's MX is itself listed ({', '.join(exo_mx)}); the own host is a backup or "
                   "filter next to it. " if exo_mx else
                   "DKIM keys and autodiscover at the provider exist only for mailboxes there; the own MX host is "
                   "a relay/filter in front of it. ")
                + "The peer is right. Cause: the engine's mailbox rule lets an own-domain MX decide "
                  "(rules.yaml mailbox prefer_purposes apex_mx + self), not a missing fingerprint.")
            return
        # Undecided, not "stekker right": an own MX host can hold the mailboxes or
        # be a relay in front of a hosted platform; DNS without DKIM keys or
        # autodiscover at the platform cannot tell the two apart.
        row.verdict, row.cause = "undecided", "spf_only_vs_own_mx"
        row.verdict_text = (
            f"The MX ({mx}) is the organisation's own server"
            + (f" (on {row.stekker_provider}'s network)" if row.stekker_status != "self" else "") + ". The peer's '{obs.label}' rests on "
            f"{', '.join(sorted(pk & {'spf', 'txt', 'tenant'})) or 'weak signals'}: an SPF include only "
            f"authorises {P} to send, a verification token or a tenant only proves an account exists. Nothing in "
            f"DNS shows mailboxes at {P}, but an own MX can also be a relay in front of mailboxes there: "
            "DNS cannot settle it.")
        return

    if P == "google" and S != "google" and "txt" in pk and not strong_items(row, "google") \
            and not any(m.endswith(("google.com", "googlemail.com")) for m in obs.mx):
        weak_s = S in hyperscalers and not strong_items(row, S)
        # both sides look through a filtering gateway on a token: the peer on a Google one, stekker on a tenant
        both_through = weak_s and bool(row.stekker_gateway) and getattr(row, "stekker_basis", None) == "likely"
        row.verdict = "undecided" if weak_s else "stekker"
        row.cause = ("both_look_through" if both_through else "both_weak") if weak_s else "peer_google_token"
        row.verdict_text = (
            "The peer's Google rests on a google-site-verification token: it proves someone verified the domain "
            "with a Google service (usually Search Console), not Gmail mailboxes; no Google MX, DKIM or SPF "
            f"mailbox evidence is published (MX {mx}{'; gateway ' + gw if gw else ''}). "
            + (f"stekker's '{S}' rests on {_weak(stekker_kinds(row, S))} only, which is no proof either." if weak_s
               else "stekker's 'unknown'/'other' is the honest answer."))
        return

    if P == "microsoft" and S == "other" and row.stekker_status != "attributed" \
            and not strong_items(row, "microsoft") and (pk & {"tenant", "txt"}):
        row.verdict, row.cause = "undecided", "peer_tenant_or_token"
        sig = "; ".join(obs.non_dns_signals) or "an MS= verification token"
        row.verdict_text = (
            f"The peer relies on {sig}{' and a TXT verification token' if 'txt' in pk and obs.non_dns_signals else ''}: these prove a Microsoft 365 tenant exists for the domain "
            f"(Entra ID, Teams, Office), not that the mailboxes are in Exchange Online. The published DNS shows "
            f"{('the gateway ' + gw) if gw else 'the MX ' + mx} and no DKIM/autodiscover/MX evidence behind it; "
            f"stekker says '{row.stekker_label}' on purpose. Likely Microsoft, not shown by DNS.")
        return

    if S in hyperscalers and S != P and P not in hyperscalers and getattr(row, "stekker_basis", None) == "likely" \
            and row.stekker_gateway and not strong_items(row, S):
        row.verdict, row.cause = "undecided", "likely_behind_gateway"
        row.verdict_text = (
            f"The MX is the filtering gateway {row.stekker_gateway} ({mx}); behind it stekker has only "
            f"{_weak(stekker_kinds(row, S))} as evidence of {S}. stekker answers 'likely {S}' (basis "
            f"likely: shown separately, never counted as sovereign); the peer's '{obs.label}' does not look through "
            "the gateway. A token proves a tenant, not where the mailboxes are: neither side can be shown right "
            "from DNS.")
        return

    if S in hyperscalers and S != P:
        sk = stekker_kinds(row, S)
        strong = strong_items(row, S)
        if strong and sk & {"cname", "srv"} and "mx" not in sk:
            row.verdict, row.cause = "stekker", "stekker_autodiscover"
            row.verdict_text = (
                f"stekker sees {S} behind the MX ({mx}): {'; '.join(strong)}. Autodiscover to Exchange Online is "
                "configured only for mailboxes there; the MX host is a relay. The peer looked at where the MX is "
                "hosted only.")
            return
        if not strong and sk <= {"spf", "txt", "realm"}:
            if P in hyperscalers:
                row.verdict, row.cause = "undecided", "both_weak"
                basis = sorted(pk & {"spf", "txt", "tenant", "dkim", "autodiscover"})
                row.verdict_text = (
                    f"Both sides rest on weak evidence: stekker's '{S}' on {_weak(sk)}, the peer's "
                    f"'{obs.label}' on {', '.join(basis) or 'its signals'}. The MX ({mx}) is neither."
                    + (f" stekker also has an SPF include of {P} of equal weight: the engine orders such includes "
                       f"by kinds of evidence, then by their order in the record, which is no mailbox evidence "
                       f"either." if P in row.stekker_also
                       and stekker_kinds(row, P) <= {"spf", "txt"} else ""))
            elif "spf" in pk and "mx" not in pk:
                # the peer's non-hyperscaler label rests on an SPF include too
                row.verdict, row.cause = "undecided", "both_weak"
                row.verdict_text = (
                    f"Both sides rest on SPF includes: stekker's '{S}' and the peer's '{obs.label}' "
                    f"({', '.join(sorted(pk & {'spf', 'txt', 'tenant'}))}); the MX ({mx}) is unknown to the "
                    f"knowledge base. An SPF include only authorises a sender; DNS does not show which of them "
                    f"holds the mailboxes.")
            else:
                row.verdict, row.cause = "peer", "stekker_spf_only"
                row.verdict_text = (
                    f"stekker concludes '{S}' from an SPF include alone, while the MX ({mx}) names another mail "
                    f"platform that the knowledge base does not know (so the MX leaves the mailbox unexplained and "
                    f"the SPF include wins). An SPF include only authorises sending (e.g. Exchange Online as an "
                    f"outbound service); the peer's '{obs.label}' from the MX is more likely right. KB gap: the MX "
                    f"platform; engine: SPF alone should not decide when the MX is unexplained.")
            return
        if sk == {"asn"}:
            row.verdict, row.cause = "undecided", "asn_hosting"
            row.verdict_text = (
                f"stekker names '{S}' only because the MX hosts ({mx}) have addresses in {S}'s network (the ASN "
                f"the peer published); the host names are not a {S} mail service. Infrastructure vs operator.")
            return
    if S == "other" and P in hyperscalers and row.stekker_status in ("attributed",) and row.stekker_provider:
        sk = stekker_kinds(row, row.stekker_provider)
        if "mx" in sk and not (pk & {"mx", "dkim", "autodiscover"}):
            row.verdict, row.cause = "stekker", "peer_spf_vs_mx"
            row.verdict_text = (
                f"The MX ({mx}) is {row.stekker_provider}'s mail service (a fingerprint on the MX itself). The "
                f"peer's '{obs.label}' rests on {', '.join(sorted(pk & {'spf', 'txt', 'tenant', 'asn'})) or 'weak signals'}: "
                f"an SPF include only authorises {P} to send. Nothing in DNS shows mailboxes at {P}.")
            return
        weak_s = sk <= {"spf", "txt", "realm"}
        row.verdict, row.cause = "undecided", "both_weak" if weak_s else "other"
        row.verdict_text = (
            f"stekker names '{row.stekker_provider}' from {', '.join(sorted(sk))}; "
            f"the peer '{obs.label}' from {', '.join(sorted(pk))}."
            + (f" The MX ({mx}) is neither; both rest on SPF includes / tokens." if weak_s else ""))
        return
    row.verdict, row.cause = "undecided", "other"
    row.verdict_text = "Not classified by the rules; see both explanations."
