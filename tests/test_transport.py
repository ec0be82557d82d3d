"""The transport against hostile DNS servers on loopback: answers to another
question, spoofed ids, garbage, compression loops, silence, truncation
without TCP, and the adaptive window.  Each server is a real UDP socket on
127.0.0.1 answering in a way no honest resolver would."""

from __future__ import annotations

import asyncio
import socket
import threading

import dns.message
import dns.rcode
import dns.rrset
import pytest

from stekker.collect.transport import NoResolverError, Transport, TransportConfig
from stekker.evidence import ErrorKind


class HostileServer:
    """A UDP DNS server on 127.0.0.1 whose behaviour is a function of the query."""

    def __init__(self, behave):
        self.behave = behave
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.addr = self.sock.getsockname()
        self.queries = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=2)
        self.sock.close()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1
            for out in self.behave(dns.message.from_wire(data), data) or []:
                self.sock.sendto(out, peer)


def answer(q: dns.message.Message, records=(), rcode=dns.rcode.NOERROR, tc=False) -> bytes:
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if tc:
        r.flags |= 0x0200
    for owner, rtype, value in records:
        r.answer.append(dns.rrset.from_text(owner, 60, "IN", rtype, value))
    return r.to_wire()


def ask(server_addr, qname="example.nl", qtype="A", **cfg):
    async def main():
        t = Transport([server_addr], TransportConfig(**{"timeout": 0.3, "retries": 1, **cfg}))
        await t.start()
        try:
            return await t.query(qname, qtype), t.stats
        finally:
            await t.close()

    return asyncio.run(main())


def test_answer_to_another_question_is_malformed_not_absent():
    def behave(q, raw):
        other = dns.message.make_query("evil.example", "A")
        other.id = q.id
        return [answer(other, [("evil.example.", "A", "6.6.6.6")])]

    with HostileServer(behave) as srv:
        reply, stats = ask(srv.addr)
    assert reply.error is ErrorKind.MALFORMED
    assert "another question" in reply.detail
    assert srv.queries == 2  # retried once


def test_spoofed_id_is_ignored_and_the_real_answer_taken():
    def behave(q, raw):
        fake = dns.message.make_response(q)
        fake.id = (q.id + 1) % 65536
        fake.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "6.6.6.6"))
        return [fake.to_wire(), answer(q, [("example.nl.", "A", "192.0.2.1")])]

    with HostileServer(behave) as srv:
        reply, _ = ask(srv.addr)
    assert reply.error is None
    assert [rr.value for rr in reply.answer.answers] == ["192.0.2.1"]


def test_garbage_and_compression_loop_are_errors():
    def loop(q, raw):
        wire = bytearray(answer(q, [("example.nl.", "A", "192.0.2.1")]))
        wire[12:14] = b"\xc0\x0c"  # question name points at itself
        return [bytes(wire)]

    with HostileServer(loop) as srv:
        reply, stats = ask(srv.addr)
    assert reply.error is ErrorKind.MALFORMED and stats.malformed == 2

    with HostileServer(lambda q, raw: [raw[:2] + b"\x80"]) as srv:  # 3 bytes: too short to be anything
        reply, _ = ask(srv.addr)
    assert reply.error is ErrorKind.TIMEOUT


def test_silence_is_a_timeout_after_retries():
    with HostileServer(lambda q, raw: []) as srv:
        reply, stats = ask(srv.addr, retries=2)
    assert reply.error is ErrorKind.TIMEOUT and reply.attempts == 3
    assert stats.timeouts == 3 and srv.queries == 3


def test_truncated_without_tcp_is_truncated_error():
    # nothing listens on TCP at this address: the TCP retry is refused
    with HostileServer(lambda q, raw: [answer(q, tc=True)]) as srv:
        reply, stats = ask(srv.addr, retries=0)
    assert reply.error is ErrorKind.TRUNCATED
    assert stats.tcp == 1


def test_servfail_and_refused_are_errors_with_their_kind():
    with HostileServer(lambda q, raw: [answer(q, rcode=dns.rcode.SERVFAIL)]) as srv:
        reply, _ = ask(srv.addr)
    assert reply.error is ErrorKind.SERVFAIL
    with HostileServer(lambda q, raw: [answer(q, rcode=dns.rcode.REFUSED)]) as srv:
        reply, _ = ask(srv.addr)
    assert reply.error is ErrorKind.REFUSED


def test_probe_finds_no_resolver_behind_a_silent_address():
    async def main():
        with HostileServer(lambda q, raw: []) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2))
            await t.start()
            try:
                return (await t.probe(timeout=0.2, tries=1))[0]
            finally:
                await t.close()

    assert asyncio.run(main()) == []


def test_window_shrinks_when_the_server_drops_most_questions():
    seen = {"n": 0}

    def behave(q, raw):
        seen["n"] += 1
        return [answer(q, [(q.question[0].name.to_text(), "A", "192.0.2.1")])] if seen["n"] % 4 == 0 else []

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=0, window=256, window_min=16))
            await t.start()
            try:
                replies = await asyncio.gather(*(t.query(f"h{i}.example.nl", "A") for i in range(600)))
            finally:
                await t.close()
            return replies, t.stats

    replies, stats = asyncio.run(main())
    assert stats.window_min < 256  # it backed off
    errors = sum(1 for r in replies if r.error is ErrorKind.TIMEOUT)
    ok = sum(1 for r in replies if r.error is None)
    assert errors + ok == 600 and ok > 0 and errors > 0  # every question accounted for


def test_qps_cap_is_respected():
    import time

    async def main():
        with HostileServer(lambda q, raw: [answer(q)]) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.5, qps=200))
            await t.start()
            t0 = time.monotonic()
            try:
                await asyncio.gather(*(t.query(f"q{i}.example.nl", "A") for i in range(100)))
            finally:
                await t.close()
            return time.monotonic() - t0

    took = asyncio.run(main())
    assert took >= 0.35  # 100 questions at 200/s with a burst of at most 21


def test_no_resolver_given():
    with pytest.raises(NoResolverError):
        Transport([])


def test_probe_refuses_a_resolver_that_denies_the_root_and_keeps_a_working_one():
    """A filtering or captive resolver that answers NXDOMAIN for everything
    would make every domain "absent": it is left out before the scan."""

    def liar(q, raw):
        return [answer(q, rcode=dns.rcode.NXDOMAIN)]

    def honest(q, raw):
        return [answer(q, [(".", "NS", "a.root-servers.net.")])]

    async def main(behaviours):
        servers = [HostileServer(b) for b in behaviours]
        for s in servers:
            s.__enter__()
        try:
            t = Transport([s.addr for s in servers], TransportConfig(timeout=0.3))
            await t.start()
            try:
                ok, problems = await t.probe(timeout=0.3, tries=1)
                return ok, problems, [r.addr for r in t.resolvers], [s.addr for s in servers]
            finally:
                await t.close()
        finally:
            for s in servers:
                s.__exit__()

    ok, problems, rotation, addrs = asyncio.run(main([liar]))
    assert ok == [] and "NXDOMAIN" in next(iter(problems.values()))
    ok, problems, rotation, addrs = asyncio.run(main([liar, honest]))
    assert len(ok) == 1 and len(problems) == 1
    assert rotation == [addrs[1]]  # only the honest one is asked during the scan


# -- the scan's long tail: slow zones, resolver distress, rate limiting ------------

def test_a_dead_zone_does_not_take_the_window_from_healthy_ones():
    """Questions of a zone that never answers move to the slow lane: healthy
    questions behind them are answered long before the dead ones time out,
    and the window does not shrink for one zone's silence."""
    import time

    def behave(q, raw):
        name = q.question[0].name.to_text()
        if name.endswith("dead.example."):
            return []  # a lame delegation: the resolver never answers
        return [answer(q, [(name, "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.4, retries=2, window=16, window_min=16,
                                                      window_max=16))
            await t.start()
            try:
                t0 = time.monotonic()
                dead = [t.submit(f"q{i}.dead.example", "A", tag="dead.example") for i in range(40)]
                healthy = await asyncio.gather(*(t.submit(f"h{i}.ok.example", "A", tag=f"ok{i % 50}.example")
                                                 for i in range(600)))
                healthy_took = time.monotonic() - t0
                dead = await asyncio.gather(*dead)
                return healthy, healthy_took, dead, t.stats
            finally:
                await t.close()

    healthy, took, dead, stats = asyncio.run(main())
    assert all(r.error is None for r in healthy)
    assert all(r.error is ErrorKind.TIMEOUT and r.attempts == 3 for r in dead)
    # 40 dead questions with a window of 16 would have blocked the 600 healthy
    # ones for 3 x 0.4 s x (40 / 16) without the slow lane
    assert took < 1.0, took
    assert stats.distress_ticks == 0 and stats.slow_zones == 1


def test_timeouts_spread_over_many_zones_shrink_the_window():
    """A resolver that drops questions of zones that otherwise answer is
    overloaded: the window shrinks (the resolver's distress, not a zone's)."""
    seen = {"n": 0}

    def behave(q, raw):
        seen["n"] += 1
        return [answer(q, [(q.question[0].name.to_text(), "A", "192.0.2.1")])] if seen["n"] % 3 == 0 else []

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=3, window=256, window_min=16))
            await t.start()
            try:
                replies = await asyncio.gather(*(t.submit(f"h{i}.example.nl", "A", tag=f"z{i % 20}.nl")
                                                 for i in range(800)))
            finally:
                await t.close()
            return replies, t.stats

    replies, stats = asyncio.run(main())
    assert stats.window_min < 256 and stats.distress_ticks > 0
    assert all(r.error in (None, ErrorKind.TIMEOUT) for r in replies)


def test_refused_bursts_slow_down_instead_of_recording_errors():
    """A resolver that rate-limits by answering REFUSED for a while: the
    questions are asked again after a pause, not recorded as errors."""
    import time

    state = {"until": None}

    def behave(q, raw):
        now = time.monotonic()
        if state["until"] is None:
            state["until"] = now + 0.8  # refuses everything for the first 0.8 s
        if now < state["until"]:
            return [answer(q, rcode=dns.rcode.REFUSED)]
        return [answer(q, [(q.question[0].name.to_text(), "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.5, retries=1))
            await t.start()
            try:
                replies = await asyncio.gather(*(t.submit(f"r{i}.example.nl", "A") for i in range(200)))
            finally:
                await t.close()
            return replies, t.stats

    replies, stats = asyncio.run(main())
    assert all(r.error is None for r in replies), {r.error for r in replies}
    assert stats.refused_requeued >= 200


@pytest.mark.parametrize("loss_retries", [0, 4])
def test_drops_by_a_rate_limiting_resolver_slow_down_instead_of_recording_timeouts(loss_retries):
    """A resolver that rate-limits by dropping (Unbound's ip-ratelimit lets a
    share through): while it drops, questions of zones that answer are lost
    at the resolver, not timed out by their zones -- they are asked again
    later (loss_retries), not recorded as timeouts.  With loss_retries=0 (the
    old behaviour) the same run records timeouts: the test can fail."""
    import time

    state = {"until": None, "n": 0}

    def behave(q, raw):
        now = time.monotonic()
        if state["until"] is None:
            state["until"] = now + 1.2  # drops 2 in 3 for the first 1.2 s (replies keep coming:
        state["n"] += 1  # no silence, so no pause)
        if now < state["until"] and state["n"] % 3:
            return []
        return [answer(q, [(q.question[0].name.to_text(), "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=2, window=256, window_min=64,
                                                      loss_retries=loss_retries))
            await t.start()
            try:
                replies = await asyncio.gather(*(t.submit(f"d{i}.example.nl", "A", tag=f"z{i % 10}.nl")
                                                 for i in range(1500)))
            finally:
                await t.close()
            return replies, t.stats

    replies, stats = asyncio.run(main())
    timeouts = sum(r.error is ErrorKind.TIMEOUT for r in replies)
    assert all(r.error in (None, ErrorKind.TIMEOUT) for r in replies)
    if loss_retries:
        assert timeouts == 0 and stats.loss_requeued > 0, (timeouts, stats)
    else:
        assert timeouts > 0 and stats.loss_requeued == 0


@pytest.mark.parametrize("retries", [0, 2])
def test_a_dead_name_in_an_answering_zone_gets_bounded_tries(retries):
    """A name that never answers in a zone that does (a CNAME into a lame
    zone) is re-asked a bounded number of times (loss_retries, at most twice
    its retries: none with --retries 0), and the reply says how many tries
    were sent."""

    def behave(q, raw):
        name = q.question[0].name.to_text()
        return [] if name.startswith("dead.") else [answer(q, [(name, "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=retries))
            await t.start()
            try:
                ok = await asyncio.gather(*(t.submit(f"h{i}.z.nl", "A", tag="z.nl") for i in range(40)))
                dead = await t.submit("dead.z.nl", "A", tag="z.nl")
            finally:
                await t.close()
            return ok, dead, t.stats, srv.queries

    ok, dead, stats, _ = asyncio.run(main())
    assert all(r.error is None for r in ok)
    extra = min(4, 2 * retries)
    assert dead.error is ErrorKind.TIMEOUT and dead.attempts == retries + 1 + extra
    assert stats.loss_requeued == extra


def test_silence_mid_scan_pauses_and_resumes_without_recording_timeouts():
    """Every resolver falls silent for a while (restart, network blip): the
    liveness probe fails, the transport pauses, and nothing that timed out
    during the silence is recorded; when the resolver is back, it resumes."""
    import time

    state = {"down": None}

    def behave(q, raw):
        now = time.monotonic()
        name = q.question[0].name.to_text()
        if name.startswith("start"):
            state["down"] = (now + 0.05, now + 2.5)  # silent from 50 ms to 2.5 s after this question
            return [answer(q, [(name, "A", "192.0.2.1")])]
        if state["down"] and state["down"][0] <= now < state["down"][1]:
            return []
        if name == ".":
            return [answer(q, [(".", "NS", "a.root-servers.net.")])]
        return [answer(q, [(name, "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.3, retries=1, liveness_after=0.2))
            await t.start()
            try:
                await t.submit("start.example.nl", "A")
                await asyncio.sleep(0.1)
                replies = await asyncio.gather(*(t.submit(f"p{i}.example.nl", "A") for i in range(50)))
            finally:
                await t.close()
            return replies, t.stats

    replies, stats = asyncio.run(main())
    assert all(r.error is None for r in replies), [r.error for r in replies]
    assert stats.outages == 1 and stats.paused_s >= 1.0


def test_an_outage_longer_than_outage_max_sets_dead():
    import time

    state = {"t0": None}

    def behave(q, raw):
        now = time.monotonic()
        if state["t0"] is None:
            state["t0"] = now
        if now - state["t0"] < 0.1:
            return [answer(q, [(q.question[0].name.to_text(), "A", "192.0.2.1")])]
        return []  # gone for good

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.3, retries=1, liveness_after=0.2, outage_max=1.5))
            await t.start()
            try:
                await t.submit("first.example.nl", "A")
                await asyncio.sleep(0.2)
                futs = [t.submit(f"x{i}.example.nl", "A") for i in range(10)]
                for _ in range(100):
                    if t.dead:
                        break
                    await asyncio.sleep(0.1)
                return t.dead, [f.done() for f in futs], t.stats
            finally:
                await t.close()

    dead, done, stats = asyncio.run(main())
    assert dead and stats.outages == 1
    assert not any(done)  # nothing was recorded: the questions stay open for a resume


def test_workers_are_chosen_from_the_cores_for_a_fast_local_resolver_only():
    from stekker.collect.run import choose_workers

    with HostileServer(lambda q, raw: [answer(q, [(".", "NS", "a.root-servers.net.")])]) as srv:
        n, why = choose_workers([srv.addr], cpus=2)
        assert n == 2 and "on this machine or a private network replied in" in why and "2 cores" in why
        n, _ = choose_workers([srv.addr], cpus=16)
        assert n == 4  # at most 4
    n, why = choose_workers([("9.9.9.9", 53)], cpus=8)  # decided without asking it
    assert n == 1 and "not on this machine or a private network" in why
    with HostileServer(lambda q, raw: []) as srv:  # silent: the scan's own check reports it
        n, why = choose_workers([srv.addr], cpus=8)
        assert n == 1 and "did not answer" in why


def test_scan_gc_collects_cycles_and_restores_the_collector():
    """During a scan the young generation is collected less often (the
    default cost a fifth of a scan's CPU), but cycles are still collected and
    the caller's settings come back afterwards."""
    import gc
    import weakref

    from stekker.collect.run import GC_YOUNG, scan_gc

    class Node:
        pass

    before = gc.get_threshold()
    with scan_gc():
        assert gc.get_threshold()[0] == GC_YOUNG > before[0]
        assert gc.get_freeze_count() > 0  # what was loaded before is out of the walks
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None
        junk = [[] for _ in range(GC_YOUNG + 10)]  # new containers past the threshold: a young collection
        del junk
        assert ref() is None
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_servfail_does_not_make_a_lame_zone_answering():
    """A lame zone whose NS question got Unbound's SERVFAIL and whose SOA
    question times out (Unbound's infra cache after an earlier scan: seen in
    the lab, a black-holed zone cost 17 s of a resume instead of 6) is not a
    zone that answers: its timeouts are its own, not questions the resolver
    lost: they get two re-asks, not four, and are no sign of the resolver's
    distress. A zone that answered NOERROR still gets its four re-asks."""

    def behave(q, raw):
        name = q.question[0].name.to_text()
        qtype = dns.rdatatype.to_text(q.question[0].rdtype)
        if name.endswith("lame.nl."):
            return [answer(q, rcode=dns.rcode.SERVFAIL)] if qtype == "NS" else []
        if name == "dead.ok.nl.":
            return []
        return [answer(q, [(name, "A", "192.0.2.1")])]

    async def main():
        with HostileServer(behave) as srv:
            t = Transport([srv.addr], TransportConfig(timeout=0.2, retries=2))
            await t.start()
            try:
                ns = await t.submit("lame.nl", "NS", tag="lame.nl")
                soa = await t.submit("lame.nl", "SOA", tag="lame.nl")
                ok = await t.submit("ok.nl", "A", tag="ok.nl")
                dead = await t.submit("dead.ok.nl", "A", tag="ok.nl")
            finally:
                await t.close()
            return ns, soa, ok, dead, t.stats

    ns, soa, ok, dead, stats = asyncio.run(main())
    assert ns.error is ErrorKind.SERVFAIL and ok.error is None
    # its retries and the two re-asks of a zone that has not answered (a SERVFAIL may be the
    # resolver giving up under load), not the four of an answering zone's lost question
    assert soa.error is ErrorKind.TIMEOUT and soa.attempts == 3 + 2, soa.attempts
    assert dead.error is ErrorKind.TIMEOUT and dead.attempts == 3 + 4  # the answering zone's lost question
    assert stats.loss_requeued == 2 + 4
