"""Realistic generated organisations with ground truth (issue #2 item 8.3).

The mix and every hostname pattern live in data/profiles.yaml (the provider
zones and address prefixes in data/providers.yaml); this module only draws
from it.  Generation is streaming and deterministic: organisation ``i`` of
seed ``s`` depends only on ``(s, i)`` (and the i-th name when ``names`` is
given), so ``generate(1_000_000)`` holds one org at a time.
"""

from __future__ import annotations

import csv
import random
import re
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

from stekker.attribute.model import CATEGORIES
from stekker.lab import catalog
from stekker.lab.model import Org

_PH = re.compile(r"\{([A-Za-z0-9_]+)(?::(\d+))?\}")
_ALPH = {
    "digits": "0123456789",
    "hex": "0123456789abcdef",
    "lower": "abcdefghijklmnopqrstuvwxyz0123456789",
    "alnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "b64": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
}


def _pick(rng: random.Random, options: list[dict]) -> dict:
    total = sum(o["weight"] for o in options)
    x = rng.random() * total
    for o in options:
        x -= o["weight"]
        if x < 0:
            return o
    return options[-1]


class _Ctx:
    """Placeholder values of one option application (random tokens are drawn
    once per application, so a name used as target and owner stays equal)."""

    def __init__(self, rng: random.Random, base: dict[str, str], vars_: dict[str, Any] | None):
        self.rng = rng
        self.values = dict(base)
        self.rand: dict[tuple[str, int], str] = {}
        for k, spec in (vars_ or {}).items():
            if isinstance(spec, list):
                self.values[k] = rng.choice(spec)
            else:  # "range:a:b[:fmt]"
                _, a, b, *fmt = str(spec).split(":")
                self.values[k] = format(rng.randint(int(a), int(b)), fmt[0] if fmt else "d")

    def _sub(self, m: re.Match) -> str:
        key, n = m.group(1), m.group(2)
        if n is None and key in self.values:
            return self.values[key]
        if key == "uuid":
            k = ("uuid", 0)
            if k not in self.rand:
                self.rand[k] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            return self.rand[k]
        if key in _ALPH and n is not None:
            k = (key, int(n))
            if k not in self.rand:
                self.rand[k] = "".join(self.rng.choice(_ALPH[key]) for _ in range(int(n)))
            return self.rand[k]
        raise KeyError(f"unknown placeholder {m.group(0)} in profiles.yaml")

    def fill(self, text: str) -> str:
        return _PH.sub(self._sub, text)


class _OrgBuilder:
    def __init__(self, rng: random.Random, domain: str):
        self.rng = rng
        self.domain = domain
        label = domain.split(".")[0]
        self.base = {
            "domain": domain,
            "dashed": domain.replace(".", "-"),
            "label": label,
            "tenant": re.sub(r"[^a-z0-9]", "", label) or "tenant",
        }
        self.records: list[tuple[str, str, Any]] = []
        self.spf: list[str] = []
        self.tokens: list[str] = []
        self.truth: dict[str, Any] = {c: None for c in CATEGORIES}
        self.truth["mail_outbound"] = []
        self.truth["saas"] = []

    def owner(self, o: str) -> str:
        if o == "@":
            return self.domain
        if o.endswith("."):
            return o[:-1]
        return f"{o}.{self.domain}"

    def apply(self, opt: dict, keys: tuple[str, ...] = ("records",)) -> None:
        ctx = _Ctx(self.rng, self.base, opt.get("vars"))
        for key in keys:
            for owner, rtype, rdata in opt.get(key) or []:
                owner = self.owner(ctx.fill(owner))
                rdata = ctx.fill(rdata)
                if rdata.startswith("auto:"):
                    rdata = catalog.address(rdata[5:], owner.lower())
                self.records.append((owner, rtype, rdata))
        self.spf.extend(ctx.fill(s) for s in opt.get("spf") or [])
        self.tokens.extend(ctx.fill(t) for t in opt.get("tokens") or [])
        for k, v in (opt.get("truth") or {}).items():
            self.truth[k] = v
        for g in opt.get("groups") or []:
            if self.rng.random() < g["p"]:
                self.apply(g)


def _make(rng: random.Random, domain: str, organisation: str, sector: str, i: int) -> Org:
    mix = catalog.profile_mix()["roles"]
    b = _OrgBuilder(rng, domain)
    b.base["id"] = str(i)
    dns_opt = _pick(rng, mix["dns"])
    b.apply(dns_opt)
    b.truth["dns"] = dns_opt["id"]
    cdn = _pick(rng, mix["cdn"])
    if cdn["id"] != "none":
        b.apply(cdn)
        b.truth["cdn"] = b.truth["web"] = cdn["id"]
    else:
        web = _pick(rng, mix["web"])
        b.apply(web)
        b.truth["web"] = None if web["id"] == "none" else web["id"]
    mb = _pick(rng, mix["mailbox"])
    gw_role = mix["gateway"]
    gw = None
    if mb["id"] in gw_role["fronts"] and rng.random() < gw_role["p"]:
        gw = _pick(rng, gw_role["options"])
    b.apply(mb, ("records",))
    if gw:
        b.apply(gw, ("mx",))
    else:
        b.apply({k: v for k, v in mb.items() if k not in ("groups", "truth", "tokens", "spf")}, ("mx",))
    mbid = None if mb["id"] == "none" else mb["id"]
    b.truth["mailbox"] = mbid
    b.truth["mail_gateway"] = gw["id"] if gw else None
    b.truth["mail_inbound"] = gw["id"] if gw else mbid
    if mbid:
        b.truth["mail_outbound"].append(mbid)
    if gw and gw["id"] not in b.truth["mail_outbound"]:
        b.truth["mail_outbound"].append(gw["id"])
    oo = mix["office_only"]
    if mb["id"] not in oo["unless_mailbox"] and rng.random() < oo["p"]:
        b.apply(oo)
    for ob in mix["outbound"]:
        if rng.random() < ob["p"]:
            b.apply(ob)
            if ob["id"] not in b.truth["mail_outbound"]:
                b.truth["mail_outbound"].append(ob["id"])
            if ob.get("saas"):
                b.truth["saas"].append(ob["id"])
    for s in mix["saas"]:
        if rng.random() < s["p"]:
            b.apply(s)
            if s["id"] not in b.truth["saas"]:
                b.truth["saas"].append(s["id"])
    dm = mix["dmarc"]
    if rng.random() < dm["p"]:
        opt = _pick(rng, dm["options"])
        rua = _Ctx(rng, b.base, None).fill(opt["rua"])
        b.records.append((f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=quarantine; rua={rua}"))
    mechs = [m for m in dict.fromkeys(b.spf) if m != "-all"]
    b.records.append((domain, "TXT", "v=spf1 " + " ".join(mechs + ["-all"])))
    for t in dict.fromkeys(b.tokens):
        b.records.append((domain, "TXT", t))
    hosts = []
    if rng.random() < 0.1:
        h = f"mijn.{domain}"
        b.records.append((h, "A", catalog.address("self", h)))
        hosts.append(h)
    return Org(domain=domain, organisation=organisation, sector=sector,
               records=b.records, truth=b.truth, hosts=hosts)


def _generated_name(rng: random.Random, i: int) -> tuple[str, str, str]:
    prof = catalog.profile_mix()
    sector, _, pattern = _pick(rng, [{"weight": w, "v": (s, w, p)} for s, w, p in prof["sectors"]])["v"]
    word = rng.choice(prof["words"]) + rng.choice(prof["words"])
    tld = _pick(rng, [{"weight": w, "t": t} for t, w in prof["tlds"]])["t"]
    name = pattern.replace("{Word}", f"{word.capitalize()} {i}")
    domain = f"{sector}-{word}-{i}.{tld}"
    return domain, name, sector


def _clean_domain(value: str) -> str:
    d = value.strip().lower()
    d = re.sub(r"^[a-z]+://", "", d).split("/")[0].split(":")[0].rstrip(".")
    if d.startswith("www."):
        d = d[4:]
    return d


def generate(n: int, seed: int = 1, names: Iterable[str | tuple] | None = None) -> Iterator[Org]:
    """Yield ``n`` organisations (fewer if ``names`` runs out).  ``names``:
    domain strings or ``(domain, organisation[, sector])`` tuples, e.g. from
    :func:`read_names`; duplicates (same registrable domain) are skipped."""
    if names is None:
        for i in range(n):
            rng = random.Random(f"{seed}:{i}")
            domain, name, sector = _generated_name(rng, i)
            yield _make(rng, domain, name, sector, i)
        return
    from stekker.lab.build import registrable

    seen: set[str] = set()
    i = 0
    for item in names:
        if i >= n:
            return
        if isinstance(item, str):
            item = (item,)
        domain = _clean_domain(item[0])
        if not domain or "." not in domain:
            continue
        apex = registrable(domain)
        if apex in seen:
            continue
        seen.add(apex)
        organisation = item[1].strip() if len(item) > 1 and item[1].strip() else apex
        sector = item[2] if len(item) > 2 and item[2] else "publiek"
        rng = random.Random(f"{seed}:{i}:{apex}")
        yield _make(rng, apex, organisation, sector, i)
        i += 1


_DOMAIN_COLS = ("domain", "domain name", "name")


NAMES_MAX_BYTES = 64 * 1024 * 1024


def read_names(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """Read ``(domain, organisation, sector)`` from a CSV like those in
    ../shared/data/domains (a header with a domain column, or domain first).
    The file is read now, like every user file (:func:`stekker.safeyaml.read_user_file`: a
    regular file of at most 64 MiB; ``/dev/zero`` or a FIFO is refused, UserFileError), and
    parsed as the names are taken."""
    from stekker.safeyaml import read_user_file

    text = read_user_file(path, NAMES_MAX_BYTES).decode("utf-8", errors="replace")
    return _names(text)


def _names(text: str) -> Iterator[tuple[str, str, str]]:
    import io

    with io.StringIO(text, newline="") as fh:
        rows = csv.reader(fh)
        first = next(rows, None)
        if first is None:
            return
        header = [c.strip().lower() for c in first]
        col = next((header.index(c) for c in _DOMAIN_COLS if c in header), None)
        org_col = next((header.index(c) for c in ("agency", "organisation", "organization") if c in header), None)
        sec_col = next((header.index(c) for c in ("domain type", "sector", "subcategory", "category") if c in header), None)
        if col is None:  # no header: domain first, then the organisation
            col, rows_iter = 0, [first]
            org_col = 1 if len(first) > 1 else None
        else:
            rows_iter = []
        for row in [*rows_iter, *rows] if rows_iter else rows:
            if len(row) <= col or not row[col].strip():
                continue
            org = row[org_col].strip() if org_col is not None and len(row) > org_col else ""
            sec = row[sec_col].strip() if sec_col is not None and len(row) > sec_col else ""
            yield (row[col], org, sec)
