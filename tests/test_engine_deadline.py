"""The engine's bound on one domain: the per-domain deadline and the
zone-unreachable short cut, against a DNS server on loopback that answers
some questions and never others."""

from __future__ import annotations

import asyncio

import dns.rcode

from stekker.collect.engine import DomainScanner
from stekker.collect.transport import Transport, TransportConfig
from stekker.evidence import ErrorKind, Status
from test_transport import HostileServer, answer


def _scan(behave, deadline: float, timeout: float = 1.0, retries: int = 1, hosts=()):
    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=timeout, retries=retries))
            await t.start()
            try:
                sc = DomainScanner(t, domain_deadline=deadline)
                return await sc.scan("slow.example.nl", hosts), sc
            finally:
                await t.close()

    return asyncio.run(main())


def test_a_domain_past_its_deadline_records_the_rest_as_deadline_errors():
    def behave(q, raw):
        name, qtype = q.question[0].name.to_text(), q.question[0].rdtype
        if name == "slow.example.nl." and qtype in (6, 2):  # SOA, NS answer
            rt = "SOA" if qtype == 6 else "NS"
            val = "ns1.example.nl. h.example.nl. 1 2 3 4 5" if rt == "SOA" else "ns1.example.nl."
            return [answer(q, [(name, rt, val)])]
        if name.startswith("www."):
            return [answer(q, rcode=dns.rcode.NXDOMAIN)]
        return []  # everything else hangs

    (status, rows), sc = _scan(behave, deadline=0.6, timeout=2.0)
    res = [r for r, _ in rows]
    kinds = {r.error_kind for r in res if r.status is Status.ERROR}
    assert ErrorKind.DEADLINE in kinds
    deadline_rows = [r for r in res if r.error_kind is ErrorKind.DEADLINE]
    assert all("deadline of 0.6 s" in r.detail for r in deadline_rows)
    # what did answer is kept as it was
    assert next(r for r in res if r.purpose == "apex_soa").status is Status.PRESENT
    assert all(r.status is not Status.ABSENT for r in res if r.purpose not in ("www",))
    assert sc.deadlines == 1


def test_a_zone_whose_soa_and_ns_fail_is_not_asked_again():
    asked = []

    def behave(q, raw):
        asked.append(q.question[0].name.to_text())
        return [answer(q, rcode=dns.rcode.SERVFAIL)]

    (status, rows), sc = _scan(behave, deadline=30, hosts=["portal.slow.example.nl", "portal.elsewhere.nl"])
    res = [r for r, _ in rows]
    assert status == "error"
    # only SOA and NS were sent, and the extra host in another zone
    assert set(asked) == {"slow.example.nl.", "portal.elsewhere.nl."}
    inside = [r for r in res if r.qname == "portal.slow.example.nl"]
    assert inside and all(r.error_kind is ErrorKind.ZONE_UNREACHABLE for r in inside)
    rest = [r for r in res if r.purpose not in ("apex_soa", "apex_ns") and r.qname != "portal.elsewhere.nl"]
    assert rest and all(r.error_kind is ErrorKind.ZONE_UNREACHABLE for r in rest)
    assert all(r.status is Status.ERROR for r in res)
    assert sc.unreachable == 1


def _scan_lossy(behave, lossy: bool):
    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=1))
            await t.start()
            if lossy:  # as _tune sets it when answering zones' questions are being lost
                import time

                t._lossy_until = time.monotonic() + 60
            try:
                sc = DomainScanner(t, domain_deadline=30)
                return await sc.scan("slow.example.nl"), sc, t.stats
            finally:
                await t.close()

    return asyncio.run(main())


def test_soa_and_ns_lost_at_a_dropping_resolver_are_asked_again_before_unreachable():
    """SOA and NS both timed out while the resolver was dropping questions of
    answering zones: the transport asks each once more (here they answer), so
    the zone is not called zone_unreachable.  Without the dropping spell the
    same timeouts are."""
    sent = {"soa_ns": 0}

    def behave(q, raw):
        name, qtype = q.question[0].name.to_text(), q.question[0].rdtype
        if name == "slow.example.nl." and qtype in (6, 2):
            sent["soa_ns"] += 1
            if sent["soa_ns"] <= 4:  # both tries of each are dropped
                return []
            rt = "SOA" if qtype == 6 else "NS"
            val = "ns1.example.nl. h.example.nl. 1 2 3 4 5" if rt == "SOA" else "ns1.example.nl."
            return [answer(q, [(name, rt, val)])]
        return [answer(q, rcode=dns.rcode.NXDOMAIN)]

    (status, rows), sc, stats = _scan_lossy(behave, lossy=True)
    res = [r for r, _ in rows]
    assert sc.unreachable == 0 and stats.loss_requeued == 2
    assert next(r for r in res if r.purpose == "apex_soa").status is Status.PRESENT
    assert not any(r.error_kind is ErrorKind.ZONE_UNREACHABLE for r in res)
    assert len([r for r in res if r.purpose == "apex_soa"]) == 1  # stored once, the last answer

    sent["soa_ns"] = 0
    (status, rows), sc, stats = _scan_lossy(behave, lossy=False)
    assert sc.unreachable == 1 and stats.loss_requeued == 0
