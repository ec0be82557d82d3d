"""The lab's provider catalogue (data/providers.yaml) and profile mix
(data/profiles.yaml): loading, zone-name range expansion, deterministic
address allocation and the ip2asn table."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

import yaml

_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def expand(pattern: str) -> list[str]:
    """Expand one ``{a..b}`` numeric range (zero-padded to the width of a)."""
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    a, b = m.group(1), m.group(2)
    width = len(a)
    return [
        pattern[: m.start()] + str(i).zfill(width) + pattern[m.end():]
        for i in range(int(a), int(b) + 1)
    ]


@dataclass(slots=True)
class Provider:
    id: str
    name: str
    asn: int
    country: str
    as_name: str
    verified: bool
    prefixes: list[ipaddress.IPv4Network]
    zones: list[str]
    hosts: list[tuple[str, str, str]] = field(default_factory=list)


def _load(name: str) -> dict[str, Any]:
    text = resources.files("stekker.lab").joinpath("data", name).read_text("utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def providers() -> dict[str, Provider]:
    out: dict[str, Provider] = {}
    for pid, d in _load("providers.yaml")["providers"].items():
        zones: list[str] = []
        for z in d.get("zones") or []:
            zones.extend(expand(z.lower().rstrip(".")))
        out[pid] = Provider(
            id=pid,
            name=d["name"],
            asn=int(d["asn"]),
            country=d["country"],
            as_name=d["as_name"],
            verified=bool(d.get("verified")),
            prefixes=[ipaddress.IPv4Network(p) for p in d["prefixes"]],
            zones=zones,
            hosts=[tuple(h) for h in d.get("hosts") or []],
        )
    return out


@lru_cache(maxsize=1)
def profile_mix() -> dict[str, Any]:
    return _load("profiles.yaml")


def address(provider_id: str, key: str) -> str:
    """A stable IPv4 address inside ``provider_id``'s prefixes for ``key``."""
    prov = providers()[provider_id]
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    net = prov.prefixes[h % len(prov.prefixes)]
    size = net.num_addresses
    offset = 1 + (h >> 16) % max(1, size - 2)
    return str(net.network_address + offset)


def ip2asn_rows() -> Iterator[tuple[str, str, int, str, str]]:
    """Rows of iptoasn's ip2asn-v4.tsv for every catalogue prefix, sorted."""
    rows = []
    for prov in providers().values():
        for net in prov.prefixes:
            rows.append((int(net.network_address), net, prov))
    rows.sort(key=lambda r: r[0])
    for _, net, prov in rows:
        yield (str(net.network_address), str(net.broadcast_address), prov.asn, prov.country, prov.as_name)
