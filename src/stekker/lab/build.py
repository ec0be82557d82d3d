"""Turn a LabSpec into zone files and the per-server zone lists.

Layout on ``<net>`` (first two octets):

=============  ==============================================================
<net>.0.1      knotd: the root zone
<net>.0.2      knotd: all TLD zones (nl, com, net, ... and any TLD an org uses)
<net>.0.3      knotd: provider zones (outlook.com, cloudflare.com, ...)
<net>.0.4..    knotd: organisation zones, one instance per org tier
<net>.0.53     unbound: the recursive resolver (root hints -> <net>.0.1)
<net>.0.98     truncator: answers UDP with TC=1, closes TCP at once
<net>.0.99     black hole: reads UDP/TCP port 53 and never answers
=============  ==============================================================

Delegations are real: the root delegates TLDs (``ns.nic.<tld>``, glue),
TLDs delegate provider and org zones (NS + in-bailiwick glue).  A name
server host named in an org's NS records gets a lab address: the org tier
chosen by hashing the zone that contains that host (the org's own zone for
``ns1.<org>``, ``cloudflare.com`` for ``ada.ns.cloudflare.com``), so every
delegation resolves; the org zone is served on every tier its NS hosts point
to.  User A/AAAA records for an org's own NS hosts are replaced by the lab
address (reported in ``warnings``).
"""

from __future__ import annotations

import csv
import json
import os
import zlib
from pathlib import Path
from typing import IO, Iterable

from stekker.i18n import N_
from stekker.lab import catalog
from stekker.lab.model import Org
from stekker.lab.zonefile import ZoneDataError, norm_name, norm_rdata, rr_line, soa_line

DEFAULT_TLDS = ("nl", "com", "net", "org", "eu", "be", "ch", "de", "io", "cloud",
                "email", "uk", "info", "fr", "frl", "amsterdam")

ROOT_OCTET, TLD_OCTET, PROVIDER_OCTET, ORG_OCTET = 1, 2, 3, 4
RESOLVER_OCTET, BLACKHOLE_OCTET, TRUNCATOR_OCTET = 53, 99, 98

def registrable(domain: str) -> str:
    """Registrable domain (ICANN public suffix + one label), lowercase, no
    dot; a public suffix itself is returned unchanged.  The same function as
    every stage (:func:`stekker.datasets.registrable_domain`), ICANN section only."""
    from stekker.datasets import registrable_domain

    return registrable_domain(domain, icann_only=True)


def is_public_suffix(domain: str) -> bool:
    from stekker.datasets import suffix_list

    return suffix_list(icann_only=True).privatesuffix(domain.strip().lower().rstrip(".")) is None


def _suffixes(name: str) -> Iterable[str]:
    """'a.b.c.' -> 'a.b.c', 'b.c', 'c' (no trailing dots)."""
    labels = name.rstrip(".").split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])


def _under(name: str, apex: str) -> bool:
    """name and apex absolute with trailing dot."""
    return name == apex or name.endswith("." + apex)


class Builder:
    """Writes the zones of one lab into ``workdir/zones``.  Streaming: org
    zone files are written as orgs arrive; only zone names are kept."""

    def __init__(self, workdir: Path, net: str, org_tiers: int = 2):
        self.workdir = Path(workdir)
        self.net = net
        self.zdir = self.workdir / "zones"
        (self.zdir / "static").mkdir(parents=True, exist_ok=True)
        (self.zdir / "org").mkdir(parents=True, exist_ok=True)
        self.root_addr = f"{net}.0.{ROOT_OCTET}"
        self.tld_addr = f"{net}.0.{TLD_OCTET}"
        self.prov_addr = f"{net}.0.{PROVIDER_OCTET}"
        self.tier_addrs = [f"{net}.0.{ORG_OCTET + i}" for i in range(org_tiers)]
        self._tier_index = {a: i for i, a in enumerate(self.tier_addrs)}
        self.static: dict[str, str] = {}  # apex (no dot) -> 'tld' | 'provider'
        self._fh: dict[str, IO[str]] = {}
        self.root_lines: list[str] = []
        self.org_zones: dict[str, tuple[int, ...]] = {}  # apex -> tiers serving it
        self.tier_zones: list[list[str]] = [[] for _addr in self.tier_addrs]
        self.pending: list[tuple[str, str, str]] = []
        self._emitted: set[tuple[str, str, str]] = set()
        self.warnings: list[str] = []
        self.counts = {"orgs": 0, "org_zones": 0, "records": 0, "lame_timeout": 0, "lame_refused": 0, "nonexistent": 0}
        self._input = open(self.workdir / "input.csv", "w", newline="", encoding="utf-8")
        self._input_csv = csv.writer(self._input)
        self._input_csv.writerow(["domain", "organisation", "sector", "hosts"])
        self._truth = open(self.workdir / "truth.jsonl", "w", encoding="utf-8")
        self._init_static()

    # -- static zones -------------------------------------------------------
    def _init_static(self) -> None:
        provs = catalog.providers()
        tlds = set(DEFAULT_TLDS)
        for p in provs.values():
            for z in p.zones:
                tlds.add(z.rsplit(".", 1)[-1])
        for t in sorted(tlds):
            self._add_tld(t)
        for p in provs.values():
            for z in p.zones:
                self._add_provider_zone(z)
        # the root name server's address, also published in the net zone
        self._place_static("a.root-servers.net.", "A", self.root_addr)
        for p in provs.values():
            for owner, rtype, rdata in p.hosts:
                if rtype.upper() == "A" and rdata == "auto":
                    rdata = catalog.address(p.id, owner.lower())
                self._place_static(norm_name(owner), rtype.upper(), norm_rdata(rtype, rdata))

    def _open(self, apex: str) -> IO[str]:
        fh = open(self.zdir / "static" / f"{apex}.zone", "w", encoding="utf-8")
        self._fh[apex] = fh
        return fh

    def _new_static_zone(self, apex: str, kind: str, ns: str, addr: str) -> None:
        """Open a TLD/provider zone: SOA, NS with its address, and the
        delegation (NS + glue) in the parent zone."""
        parent = self._static_zone(apex, skip_self=True)
        self.static[apex] = kind
        fh = self._open(apex)
        fh.write(soa_line(apex + ".", ns))
        for line in (rr_line(apex + ".", "NS", ns, 3600), rr_line(ns, "A", addr, 3600)):
            fh.write(line)
            self._write_static(parent, line)

    def _add_tld(self, tld: str) -> None:
        if tld not in self.static:
            self._new_static_zone(tld, "tld", f"ns.nic.{tld}.", self.tld_addr)

    def _add_provider_zone(self, apex: str) -> None:
        if apex not in self.static:
            self._add_tld(apex.rsplit(".", 1)[-1])
            self._new_static_zone(apex, "provider", f"lab-ns1.{apex}.", self.prov_addr)

    def _static_zone(self, name: str, skip_self: bool = False) -> str:
        for i, cand in enumerate(_suffixes(name)):
            if skip_self and i == 0:
                continue
            if cand in self.static:
                return cand
        return "."

    def _write_static(self, zone: str, line: str) -> None:
        if zone == ".":
            self.root_lines.append(line)
        else:
            self._fh[zone].write(line)

    def _place_static(self, owner: str, rtype: str, rdata: str) -> None:
        key = (owner, rtype, rdata)
        if key in self._emitted:
            return
        self._emitted.add(key)
        self._write_static(self._static_zone(owner), rr_line(owner, rtype, rdata))

    def _place_foreign(self, owner: str, rtype: str, rdata: str) -> None:
        """A record outside the org's own zone: provider zones take it now;
        anything that would land in a TLD or the root waits until all org
        zones are known (it may belong to an org that comes later)."""
        zone = self._static_zone(owner)
        if self.static.get(zone) == "provider":
            self._place_static(owner, rtype, rdata)
        else:
            self.pending.append((owner, rtype, rdata))

    # -- addressing ---------------------------------------------------------
    def tier_for(self, apex: str) -> int:
        return zlib.crc32(apex.encode()) % len(self.tier_addrs)

    def _host_zone(self, host: str) -> str:
        zone = self._static_zone(host)
        if self.static.get(zone) == "provider":
            return zone
        return registrable(host)

    # -- organisations ------------------------------------------------------
    def add_org(self, org: Org) -> None:
        domain = norm_name(org.domain).rstrip(".")  # lowercase, IDNA-encoded
        apex = registrable(domain)
        if apex in self.static:  # e.g. foo.azurewebsites.net: a zone below a provider zone
            apex = domain
        if apex in self.static or is_public_suffix(apex):
            raise ZoneDataError(N_("org {domain}: its zone would be the lab's own zone {apex!r}"),
                                domain=org.domain, apex=apex)
        apex_abs = apex + "."
        self.counts["orgs"] += 1
        self._input_csv.writerow([org.domain, org.organisation or "", org.sector or "", " ".join(org.hosts)])
        row = {"domain": org.domain, "organisation": org.organisation, "sector": org.sector, "truth": org.truth}
        if org.fault:
            row["fault"] = org.fault
            self.counts[org.fault] += 1
        self._truth.write(json.dumps(row, ensure_ascii=False) + "\n")
        recs: list[tuple[str, str, str]] = []
        for rec in org.records:
            try:
                owner, rtype, value = rec
                rtype = str(rtype).upper()
                recs.append((norm_name(owner), rtype, norm_rdata(rtype, value)))
            except (ZoneDataError, ValueError) as exc:
                raise ZoneDataError(N_("org {domain}: record {record!r}: {error}"),
                                    domain=org.domain, record=rec, error=exc) from exc
        self.counts["records"] += len(recs)
        if apex in self.org_zones:  # a second input domain in the same zone
            self._append_org_records(apex, recs, new=False)
            return
        ns_targets = [r for (o, t, r) in recs if o == apex_abs and t == "NS"]
        if not ns_targets:
            ns_targets = [f"ns1.{apex_abs}", f"ns2.{apex_abs}"]
            recs.extend((apex_abs, "NS", n) for n in ns_targets)
        glue = {norm_name(k): v.replace("{net}", self.net) for k, v in org.glue.items()}
        ns_addr: dict[str, str] = {}
        for h in ns_targets:
            if h in glue:
                ns_addr[h] = glue[h]
            elif _under(h, apex_abs):
                ns_addr[h] = self.tier_addrs[self.tier_for(apex)]
            else:
                ns_addr[h] = self.tier_addrs[self.tier_for(self._host_zone(h))]
        own_hosts = {h for h in ns_targets if _under(h, apex_abs)}
        kept = []
        for r in recs:
            if r[0] in own_hosts and r[1] in ("A", "AAAA"):
                self.warnings.append(f"{org.domain}: {r[0]} {r[1]} {r[2]} replaced by the lab NS address")
                continue
            kept.append(r)
        recs = kept
        for h, addr in ns_addr.items():
            if h in own_hosts:
                recs.append((h, "A", addr))
            else:
                self._place_foreign(h, "A", addr)
        tiers: tuple[int, ...] = ()
        if org.served:
            tiers = tuple(sorted({self._tier_index[a] for a in ns_addr.values() if a in self._tier_index}))
        self.org_zones[apex] = tiers
        for t in tiers:
            self.tier_zones[t].append(apex)
        if tiers:
            self.counts["org_zones"] += 1
        self._append_org_records(apex, recs, new=True)
        if org.delegated:
            self._add_tld(apex.rsplit(".", 1)[-1])
            parent = self._static_zone(apex, skip_self=True)
            for h in ns_targets:
                self._write_static(parent, rr_line(apex_abs, "NS", h))
                if h in own_hosts:
                    self._write_static(parent, rr_line(h, "A", ns_addr[h]))

    def _org_path(self, apex: str) -> Path:
        return self.zdir / "org" / f"{apex}.zone"

    def _append_org_records(self, apex: str, recs: list[tuple[str, str, str]], new: bool) -> None:
        apex_abs = apex + "."
        lines = []
        if new and not any(o == apex_abs and t == "SOA" for (o, t, _rdata) in recs):
            ns = next((r for (o, t, r) in recs if o == apex_abs and t == "NS"), f"ns1.{apex_abs}")
            lines.append(soa_line(apex_abs, ns))
        for owner, rtype, rdata in recs:
            if _under(owner, apex_abs):
                lines.append(rr_line(owner, rtype, rdata))
            else:
                self._place_foreign(owner, rtype, rdata)
        with open(self._org_path(apex), "w" if new else "a", encoding="utf-8") as fh:
            fh.writelines(lines)

    # -- finish -------------------------------------------------------------
    def _org_zone_of(self, name: str) -> str | None:
        for cand in _suffixes(name):
            if cand in self.org_zones:
                return cand
        return None

    def finish(self) -> None:
        extra: dict[str, list[str]] = {}
        for owner, rtype, rdata in self.pending:
            z = self._org_zone_of(owner)
            if z is not None:
                extra.setdefault(z, []).append(rr_line(owner, rtype, rdata))
            else:
                self._place_static(owner, rtype, rdata)
        for z, lines in extra.items():
            with open(self._org_path(z), "a", encoding="utf-8") as fh:
                fh.writelines(lines)
        self.pending.clear()
        with open(self.zdir / "static" / "root.zone", "w", encoding="utf-8") as fh:
            fh.write(soa_line(".", "a.root-servers.net."))
            fh.write(rr_line(".", "NS", "a.root-servers.net.", 3600))
            fh.write(rr_line("a.root-servers.net.", "A", self.root_addr, 3600))
            fh.writelines(self.root_lines)
        for fh in self._fh.values():
            fh.close()
        self._input.close()
        self._truth.close()

    def instances(self) -> dict[str, tuple[str, list[tuple[str, str]]]]:
        """name -> (listen address, [(zone, file relative to zones/)])."""
        tlds = [z for z, k in self.static.items() if k == "tld"]
        provs = [z for z, k in self.static.items() if k == "provider"]
        out = {
            "root": (self.root_addr, [(".", "static/root.zone")]),
            "tld": (self.tld_addr, [(z, f"static/{z}.zone") for z in sorted(tlds)]),
            "provider": (self.prov_addr, [(z, f"static/{z}.zone") for z in sorted(provs)]),
        }
        for i, addr in enumerate(self.tier_addrs):
            out[f"org{i}"] = (addr, [(z, f"org/{z}.zone") for z in self.tier_zones[i]])
        return out


def write_ip2asn(path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in catalog.ip2asn_rows():
            fh.write("\t".join(str(x) for x in row) + "\n")
