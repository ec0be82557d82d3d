"""Fault fixtures of the lab (``LabSpec(with_faults=True)``).

Each constant names a domain or host the lab serves (for the default net
127.77; addresses for another net: replace the first two octets).  The
expected outcome through the lab resolver is in :data:`EXPECTED` and in
docs/LAB.md.
"""

from __future__ import annotations

import dataclasses
import hashlib

from stekker.lab.model import FaultMix, Org

# Silent hosts for the FaultMix's lame-timeout zones: <net>.9.1 .. <net>.9.DEAD_POOL
# (one black-hole process listens on all of them and never answers).
DEAD_POOL_OCTET = 9
DEAD_POOL = 250


def dead_pool(net: str) -> list[str]:
    return [f"{net}.{DEAD_POOL_OCTET}.{i}" for i in range(1, DEAD_POOL + 1)]


def apply_mix(org: Org, mix: FaultMix) -> Org:
    """``org`` itself, or a broken copy of it when ``mix`` picks it."""
    kind = mix.pick(org.domain)
    if kind is None:
        return org
    if kind == "nonexistent":
        return dataclasses.replace(org, delegated=False, served=False, truth={}, fault=kind)
    if kind == "lame_refused":
        return dataclasses.replace(org, served=False, truth={}, fault=kind)
    # lame_timeout: two in-bailiwick name servers on two silent pool hosts
    h = int.from_bytes(hashlib.blake2b(org.domain.encode("utf-8", "replace"), digest_size=4).digest(), "big")
    a, b = h % DEAD_POOL + 1, (h // DEAD_POOL) % DEAD_POOL + 1
    if a == b:
        b = a % DEAD_POOL + 1
    apex = org.domain.lower().rstrip(".")
    recs = [r for r in org.records if not (str(r[1]).upper() == "NS" and str(r[0]).lower().rstrip(".") == apex)]
    recs += [(apex, "NS", f"ns1.{apex}"), (apex, "NS", f"ns2.{apex}")]
    glue = {f"ns1.{apex}": "{net}.%d.%d" % (DEAD_POOL_OCTET, a), f"ns2.{apex}": "{net}.%d.%d" % (DEAD_POOL_OCTET, b)}
    return dataclasses.replace(org, records=recs, served=False, glue=glue, truth={}, fault=kind)

BLACKHOLE_RESOLVER = "127.77.0.99"  # never answers (UDP and TCP port 53)
TRUNCATING_RESOLVER = "127.77.0.98"  # UDP: empty answer with TC=1; TCP: connection closed at once

SERVFAIL_DOMAIN = "lame-delegation.nl"  # delegated to a server without the zone: REFUSED -> SERVFAIL
TIMEOUT_DOMAIN = "blackhole-delegation.nl"  # delegated to the black hole -> no answer (Unbound defaults), SERVFAIL once its name servers are marked down
TCP_ONLY_DOMAIN = "tcp-only.nl"  # apex TXT RRset > 1232 bytes
TCP_ONLY_NAME = "big.tcp-only.nl"  # TXT and A RRsets > 1232 bytes: TC over UDP, full over TCP
CNAME_LOOP_DOMAIN = "cname-loop.nl"
CNAME_LOOP_NAME = "a.cname-loop.nl"  # a -> b -> a
CNAME_CHAIN_NAME = "start.cname-loop.nl"  # 12 CNAME hops, each in its own zone, ends in an A
CNAME_CHAIN_HOPS = 12
WILDCARD_DOMAIN = "wildcard-org.nl"  # * A, * TXT, *.mail MX...; every label answers
WILDCARD_CNAME_DOMAIN = "wildcard-cname.nl"  # * CNAME autodiscover.outlook.com.
HOSTILE_TXT_DOMAIN = "hostile-txt.nl"  # apex TXT with HTML, control bytes, invalid UTF-8, long strings
BROKEN_IDN_DOMAIN = "broken-idn.nl"  # www CNAME xn--broken-.nl. (invalid punycode; NXDOMAIN)
BROKEN_IDN_TARGET = "xn--broken-.nl"
NXDOMAIN_DOMAIN = "not-delegated-org.nl"  # in the input file, not delegated: NXDOMAIN
NS_ONLY_DOMAIN = "ns-only-org.nl"  # SOA + NS only: every other question is NODATA/NXDOMAIN

HOSTILE_TXT = [
    "<script>alert('stekker')</script>",
    '<a href="javascript:alert(1)">klik</a> "quoted" \\backslash; semicolon',
    "ctrl:\x00\x01\x07\x1b[31mred\x1b[0m\r\nnewline\ttab",
    b"invalid-utf8:\xff\xfe\xc3\x28\x80",
    "v=spf1 include:" + "x" * 200 + ".example -all",
    "long:" + "L" * 600,  # split into 255-byte character-strings
    "unicode: gemeente\u2019s \u202eevil\u202c \U0001f50c",
]

# the CNAME chain: start -> hop1.chain1.nl -> ... -> hop11.chain11.nl -> A
_CHAIN = [CNAME_CHAIN_NAME] + [f"hop{i}.chain{i}.nl" for i in range(1, CNAME_CHAIN_HOPS)]
CNAME_CHAIN_END = _CHAIN[-1]

_BIG_TXT = ["tcp-only filler %02d " % i + "z" * 90 for i in range(16)]  # ~1.7 kB

EXPECTED = {
    SERVFAIL_DOMAIN: "any question: SERVFAIL (lame delegation; the tier answers REFUSED)",
    TIMEOUT_DOMAIN: "any question: SERVFAIL within a few seconds (or a client timeout if the client waits less)",
    BLACKHOLE_RESOLVER: "used as resolver: no answer at all (timeout), UDP and TCP",
    TRUNCATING_RESOLVER: "used as resolver: UDP answer has TC=1 and no records; TCP is closed without answer",
    TCP_ONLY_NAME: "TXT/A over UDP without EDNS (or with 512..1232 bytes): TC=1; over TCP: full RRset",
    TCP_ONLY_DOMAIN: "apex TXT: TC over UDP, full answer over TCP (SPF inside a big RRset)",
    CNAME_LOOP_NAME: "A: SERVFAIL from unbound (CNAME loop a->b->a)",
    CNAME_CHAIN_NAME: "A: 12 CNAMEs then an A; unbound follows at most ~11 restarts: SERVFAIL or a partial chain",
    WILDCARD_DOMAIN: "every label (random, autodiscover, sip, ...) answers A/TXT from the wildcard",
    WILDCARD_CNAME_DOMAIN: "every label answers CNAME autodiscover.outlook.com. (and its A)",
    HOSTILE_TXT_DOMAIN: "apex TXT: the strings of HOSTILE_TXT, byte-exact",
    BROKEN_IDN_DOMAIN: "www: CNAME xn--broken-.nl, whose lookup is NXDOMAIN",
    NXDOMAIN_DOMAIN: "every question: NXDOMAIN",
    NS_ONLY_DOMAIN: "SOA/NS present; MX/TXT/A NODATA; www NXDOMAIN",
}


def orgs() -> list[Org]:
    """The fault organisations (added by ``LabSpec(with_faults=True)``)."""
    chain_recs = []
    chain_orgs = []
    for i, name in enumerate(_CHAIN):
        nxt = _CHAIN[i + 1] if i + 1 < len(_CHAIN) else None
        rec = (name, "CNAME", nxt) if nxt else (name, "A", "192.0.2.12")
        if i == 0:
            chain_recs.append(rec)
        else:
            chain_orgs.append(Org(domain=f"chain{i}.nl", organisation=None, records=[rec],
                                  truth={}, hosts=[]))
    out = [
        Org(SERVFAIL_DOMAIN, "Fault: lame delegation", "fault", served=False,
            records=[(SERVFAIL_DOMAIN, "NS", f"ns1.{SERVFAIL_DOMAIN}")]),
        Org(TIMEOUT_DOMAIN, "Fault: black-hole delegation", "fault", served=False,
            records=[(TIMEOUT_DOMAIN, "NS", f"ns1.{TIMEOUT_DOMAIN}")],
            glue={f"ns1.{TIMEOUT_DOMAIN}": "{net}.0.99"}),
        Org(TCP_ONLY_DOMAIN, "Fault: TCP-only answers", "fault",
            records=[(TCP_ONLY_DOMAIN, "TXT", "v=spf1 include:spf.protection.outlook.com -all"),
                     *[(TCP_ONLY_DOMAIN, "TXT", t) for t in _BIG_TXT],
                     *[(TCP_ONLY_NAME, "TXT", t) for t in _BIG_TXT],
                     *[(TCP_ONLY_NAME, "A", f"192.0.2.{i}") for i in range(1, 101)],
                     (TCP_ONLY_DOMAIN, "MX", "0 tcponly-nl.mail.protection.outlook.com."),
                     ("tcponly-nl.mail.protection.outlook.com", "A", "52.101.68.77")],
            truth={"mailbox": "microsoft", "mail_inbound": "microsoft", "mail_outbound": ["microsoft"]}),
        Org(CNAME_LOOP_DOMAIN, "Fault: CNAME loop and long chain", "fault",
            records=[(CNAME_LOOP_NAME, "CNAME", f"b.{CNAME_LOOP_DOMAIN}"),
                     (f"b.{CNAME_LOOP_DOMAIN}", "CNAME", CNAME_LOOP_NAME),
                     (f"www.{CNAME_LOOP_DOMAIN}", "CNAME", CNAME_LOOP_NAME),
                     *chain_recs]),
        *chain_orgs,
        Org(WILDCARD_DOMAIN, "Fault: wildcard", "fault",
            records=[(f"*.{WILDCARD_DOMAIN}", "A", "149.210.10.10"),
                     (f"*.{WILDCARD_DOMAIN}", "TXT", "wildcard text"),
                     (f"*.{WILDCARD_DOMAIN}", "MX", f"10 mail.{WILDCARD_DOMAIN}."),
                     (f"*.cdn.{WILDCARD_DOMAIN}", "CNAME", "wildcard-org.map.fastly.net."),
                     (WILDCARD_DOMAIN, "A", "149.210.10.10"),
                     (WILDCARD_DOMAIN, "MX", f"10 mail.{WILDCARD_DOMAIN}.")],
            truth={"web": "transip", "mail_inbound": "transip", "mailbox": "transip"}),
        Org(WILDCARD_CNAME_DOMAIN, "Fault: wildcard CNAME to Microsoft", "fault",
            records=[(f"*.{WILDCARD_CNAME_DOMAIN}", "CNAME", "autodiscover.outlook.com."),
                     (WILDCARD_CNAME_DOMAIN, "A", "149.210.10.11")],
            truth={"web": "transip"}),
        Org(HOSTILE_TXT_DOMAIN, "Fault: hostile <b>TXT</b> \"org\"", "fault",
            records=[(HOSTILE_TXT_DOMAIN, "TXT", t) for t in HOSTILE_TXT]),
        Org(BROKEN_IDN_DOMAIN, "Fault: broken IDN", "fault",
            records=[(f"www.{BROKEN_IDN_DOMAIN}", "CNAME", BROKEN_IDN_TARGET + "."),
                     (BROKEN_IDN_DOMAIN, "MX", f"10 {BROKEN_IDN_TARGET}.")]),
        Org(NXDOMAIN_DOMAIN, "Fault: not delegated", "fault", delegated=False, served=False),
        Org(NS_ONLY_DOMAIN, "Fault: NS only", "fault"),
    ]
    return out


def for_net(value: str, net: str) -> str:
    """An address constant of this module for another lab net."""
    return value.replace("127.77.", net + ".", 1) if value.startswith("127.77.") else value
