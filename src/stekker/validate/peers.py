"""Validation against independent peer classifiers (issue #3, item 6).

The peers (mxmap for Swiss municipalities, mxmap.it for Belgian ones,
mxmap-dk for Nordic companies and Icelandic municipalities) published both
the DNS records they observed and the mail provider they concluded. We turn
the observed records back into lab zones, scan them with stekker through the
real loopback DNS lab, attribute them, and compare stekker's *mailbox
platform* with the peer's label in four buckets: Microsoft / Google /
Amazon / other.

The peer files are read from ``../shared/data/peers`` (see its PROVENANCE.md;
MIT and CC BY-SA 4.0). Nothing from them is copied into the package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Peer labels -> comparison bucket (anything not listed is "other") and the
# verification-record text per provider: data/peers.yaml.
with (Path(__file__).parent / "data" / "peers.yaml").open(encoding="utf-8") as _fh:
    _DATA = yaml.safe_load(_fh)
BUCKETS: dict[str, str] = dict(_DATA["buckets"])
TXT_PREFIX: dict[str, str] = dict(_DATA["txt_prefix"])

_DKIM_DETAIL = re.compile(r"DKIM (\S+) CNAME \S+ (\S+)")
_AUTODISCOVER_DETAIL = re.compile(r"autodiscover CNAME \S+ (\S+)")
_AUTODISCOVER_SRV_DETAIL = re.compile(r"autodiscover SRV \S+ (\S+)")
_ASN_DETAIL = re.compile(r"^ASN (\d+)\b")
_TENANT_DETAIL = re.compile(r"tenant detected: (managed|federated)\b", re.I)


def bucket(label: str | None) -> str:
    return BUCKETS.get((label or "").lower(), "other")


@dataclass
class PeerObservation:
    dataset: str
    domain: str
    name: str
    label: str  # the peer's mail-provider label as published
    reason: str = ""
    gateway: str | None = None
    mx: list[str] = field(default_factory=list)
    mx_cnames: dict[str, str] = field(default_factory=dict)
    spf: str | None = None
    autodiscover_cname: str | None = None
    autodiscover_srv: str | None = None
    dkim: dict[str, str] = field(default_factory=dict)  # selector -> CNAME target
    txt: list[str] = field(default_factory=list)  # verification TXT records (reconstructed)
    non_dns_signals: list[str] = field(default_factory=list)  # signals a DNS scan cannot see
    tenant: str | None = None  # Microsoft realm answer the peer published (Managed / Federated), served by the lab
    mx_asns: list[int] = field(default_factory=list)  # ASNs of the MX hosts' addresses, as the peer published them

    @property
    def bucket(self) -> str:
        return bucket(self.label)


def _clean(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _from_dns_cache(dataset: str, domain: str, rec: dict, summary: dict | None) -> PeerObservation:
    summary = summary or {}
    ad = rec.get("autodiscover") or {}
    txt = []
    for key, value in (rec.get("txt_verifications") or {}).items():
        fmt = TXT_PREFIX.get(key)
        if fmt:
            txt.append(fmt.format(value))
    obs = PeerObservation(
        dataset=dataset,
        domain=_clean(domain),
        name=summary.get("name", domain),
        label=summary.get("provider") or "unknown",
        reason=summary.get("reason", ""),
        gateway=summary.get("gateway"),
        mx=[_clean(m) for m in rec.get("mx") or []],
        mx_cnames={_clean(k): _clean(v) for k, v in (rec.get("mx_cnames") or {}).items()},
        spf=rec.get("spf") or None,
        autodiscover_cname=_clean(ad["autodiscover_cname"]) if ad.get("autodiscover_cname") else None,
        autodiscover_srv=_clean(ad["autodiscover_srv"]) if ad.get("autodiscover_srv") else None,
        dkim={k: _clean(v) for k, v in (rec.get("dkim") or {}).items()},
        txt=txt,
        mx_asns=sorted({int(a) for a in rec.get("mx_asns") or [] if str(a).isdigit()}),
    )
    if rec.get("tenant"):
        obs.non_dns_signals.append(f"Microsoft tenant realm API: {rec['tenant']}")
        obs.tenant = str(rec["tenant"])
    return obs


def load_mxmapit(peers: Path, country: str = "be") -> list[PeerObservation]:
    """mxmap.it layout (also used by mxmap-dk for Iceland): a DNS cache plus a
    classified summary."""
    prefix = "mxmapit" if country == "be" else "mxmapdk"
    cache = json.loads((peers / f"{prefix}_{country}_dns_cache.json").read_text())
    summary = {s["domain"]: s for s in json.loads((peers / f"{prefix}_{country}_summary_classified.json").read_text())}
    dataset = f"{prefix}-{country}"
    return [_from_dns_cache(dataset, d, rec, summary.get(d)) for d, rec in sorted(cache.items())]


def load_mxmapch(peers: Path) -> list[PeerObservation]:
    """mxmap (Swiss municipalities): raw MX and SPF plus weighted signals whose
    details carry the DKIM and autodiscover CNAME targets."""
    data = json.loads((peers / "mxmapch_data.json").read_text())["municipalities"]
    out = []
    for rec in data.values():
        obs = PeerObservation(
            dataset="mxmap-ch",
            domain=_clean(rec["domain"]),
            name=rec.get("name", rec["domain"]),
            label=rec.get("provider") or "unknown",
            reason="; ".join(s.get("detail", "") for s in rec.get("classification_signals", [])[:4]),
            gateway=rec.get("gateway"),
            mx=[_clean(m) for m in rec.get("mx") or []],
            spf=rec.get("spf") or None,
        )
        for sig in rec.get("classification_signals", []):
            detail = sig.get("detail", "")
            kind = sig.get("kind")
            if kind == "dkim" and (m := _DKIM_DETAIL.search(detail)):
                selector = m.group(1).split("._domainkey")[0]
                obs.dkim[selector] = _clean(m.group(2))
            elif kind == "autodiscover" and (m := _AUTODISCOVER_DETAIL.search(detail)):
                obs.autodiscover_cname = _clean(m.group(1))
            elif kind == "autodiscover" and (m := _AUTODISCOVER_SRV_DETAIL.search(detail)):
                obs.autodiscover_srv = _clean(m.group(1))
            elif kind == "txt_verification" and sig.get("provider") == "microsoft":
                # mxmap does not publish the token itself, only that an MS= token exists
                obs.txt.append("MS=ms00000000")
            elif kind == "tenant":
                obs.non_dns_signals.append(detail)
                if m := _TENANT_DETAIL.search(detail):
                    obs.tenant = m.group(1).capitalize()
            elif kind == "asn" and (m := _ASN_DETAIL.search(detail)):
                if int(m.group(1)) not in obs.mx_asns:
                    obs.mx_asns.append(int(m.group(1)))
        out.append(obs)
    out.sort(key=lambda o: o.domain)
    return out


def load_mxmapdk_companies(peers: Path) -> list[PeerObservation]:
    out = []
    for path in sorted(peers.glob("mxmapdk_o*_classified.json")):
        for rec in json.loads(path.read_text())["companies"]:
            obs = PeerObservation(
                dataset="mxmap-dk-companies",
                domain=_clean(rec["domain"]),
                name=rec.get("name", rec["domain"]),
                label=rec.get("provider") or "unknown",
                reason=rec.get("reason", ""),
                gateway=rec.get("gateway"),
                mx=[_clean(m) for m in rec.get("mx") or []],
                spf=rec.get("spf") or None,
            )
            if rec.get("tenant"):
                obs.non_dns_signals.append(f"Microsoft tenant realm API: {rec['tenant']}")
                obs.tenant = str(rec["tenant"])
            out.append(obs)
    # the same company can be listed in two indices
    seen: dict[str, PeerObservation] = {}
    for o in out:
        seen.setdefault(o.domain, o)
    return sorted(seen.values(), key=lambda o: o.domain)


def load_all(peers: Path) -> dict[str, list[PeerObservation]]:
    return {
        "mxmap.it (BE municipalities)": load_mxmapit(peers, "be"),
        "mxmap (CH municipalities)": load_mxmapch(peers),
        "mxmap-dk (IS municipalities)": load_mxmapit(peers, "is"),
        "mxmap-dk (Nordic listed companies)": load_mxmapdk_companies(peers),
    }


def observation_records(obs: PeerObservation) -> list[tuple[str, str, str]]:
    """The observed records as (owner, type, rdata) for the lab."""
    d = obs.domain
    recs: list[tuple[str, str, str]] = []
    for i, mx in enumerate(obs.mx):
        recs.append((d, "MX", f"{10 * (i + 1)} {mx}."))
    for host, target in obs.mx_cnames.items():
        recs.append((host, "CNAME", f"{target}."))
    txts = list(obs.txt)
    if obs.spf:
        txts.append(obs.spf.strip())
    for t in txts:
        recs.append((d, "TXT", t))
    if obs.autodiscover_cname and obs.autodiscover_cname != f"autodiscover.{d}":
        recs.append((f"autodiscover.{d}", "CNAME", f"{obs.autodiscover_cname}."))
    if obs.autodiscover_srv:
        recs.append((f"_autodiscover._tcp.{d}", "SRV", f"0 0 443 {obs.autodiscover_srv}."))
    for selector, target in obs.dkim.items():
        recs.append((f"{selector}._domainkey.{d}", "CNAME", f"{target}."))
    return recs
