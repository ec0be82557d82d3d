"""The collect stage: ask the query plan for every domain and keep the raw answers.

For one domain the engine asks every fixed plan item at once (plus one
random-label wildcard probe and the input's extra hosts), then the derived
questions: addresses of every MX and NS host, and the SPF include/redirect
tree within RFC 7208's limit of 10 DNS lookups with loop detection.  Each
question ends in exactly one of three states (present / absent / error,
see :mod:`stekker.evidence`); a CNAME chain longer than the plan's limit or
looping is an error, never an answer.

Answers that equal the wildcard probe's answer (same records once the owner
name is set aside) are flagged ``wildcard`` so attribution never mistakes a
wildcard for a real ``autodiscover`` or ``sip`` service.

A domain's cost is bounded: when its zone's SOA and NS both end in an
error after their retries, nothing else below the apex is asked -- every
other plan item (and every extra host inside the zone) is recorded as
``zone_unreachable`` naming the two failed questions (extra hosts in other
zones are still asked); and a domain that runs past its deadline (``domain_deadline``
seconds, on a clock that stands still while the resolvers are silent) stops
asking: every question without an answer by then is recorded as a
``deadline`` error.  Nothing is ever recorded as absent because it was not
asked.

Names shared by many domains (SPF includes such as
``spf.protection.outlook.com``, MX hosts such as ``aspmx.l.google.com``) are
asked once per scan (a bounded LRU of replies) and stored with every domain
that uses them, so each domain's evidence is complete on its own.

Size (over 400 lines on purpose): ``classify`` and the per-domain scanner
(fixed plan, derived questions, the SPF tree, the wildcard probe) share the
reply cache and the counters.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from stekker.collect.plan import Plan, load_plan
from stekker.spf import LOOKUP_TERMS, parse_spf, spf_records
from stekker.collect.transport import Reply, Transport
from stekker.evidence import AbsentKind, DomainEvidence, ErrorKind, QueryResult, Status

Row = tuple[QueryResult, bytes | None]


def classify(domain: str, purpose: str, qname: str, qtype: str, reply: Reply, chain_max: int) -> QueryResult:
    """Turn one transport reply into a QueryResult in one of the three states."""
    ans = reply.answer
    res = QueryResult(
        domain=domain,
        purpose=purpose,
        qname=qname,
        qtype=qtype,
        status=Status.ERROR,
        resolver=reply.resolver,
        ts=reply.ts,
        rcode=ans.rcode if ans is not None else None,
        answers=ans.answers if ans is not None else [],  # never mutated: shared replies share it
    )
    if reply.error is not None:
        res.error_kind = reply.error
        res.detail = reply.detail
        return res
    assert ans is not None
    # follow the CNAME chain inside the answer: loops and overlong chains are errors
    cnames: dict[str, str] = {}
    present = False
    for rr in ans.answers:
        rt = rr.rtype
        if rt == "CNAME":
            if rr.name in cnames and cnames[rr.name] != rr.value:
                res.error_kind = ErrorKind.MALFORMED
                res.detail = f"two different CNAMEs for {rr.name}"
                return res
            cnames[rr.name] = rr.value
        elif rt == qtype and rr.name == qname:
            present = True  # the common case: the records sit at the asked name
    cur = qname
    hops = 0
    if cnames and qtype != "CNAME":
        seen = {cur}
        while cur in cnames:
            cur = cnames[cur]
            hops += 1
            if cur in seen:
                res.error_kind = ErrorKind.CNAME_LOOP
                res.detail = f"CNAME loop at {cur} after {hops} hops"
                return res
            seen.add(cur)
            if hops > chain_max:
                res.error_kind = ErrorKind.CNAME_TOO_LONG
                res.detail = f"CNAME chain longer than {chain_max} hops"
                return res
    if ans.rcode == "NXDOMAIN":
        res.status = Status.ABSENT
        res.absent_kind = AbsentKind.NXDOMAIN
        if hops:
            res.detail = f"CNAME chain ends at {cur}, which does not exist"
        return res
    if ans.rcode != "NOERROR":
        res.error_kind = ErrorKind.OTHER
        res.detail = f"unexpected rcode {ans.rcode}"
        return res
    if qtype == "CNAME":
        present = qname in cnames
    elif hops:
        present = any(rr.rtype == qtype and rr.name == cur for rr in ans.answers)
    if present:
        res.status = Status.PRESENT
    else:
        res.status = Status.ABSENT
        res.absent_kind = AbsentKind.NODATA
        if hops:
            res.detail = f"CNAME chain ends at {cur}, which has no {qtype} records"
    return res


def _signature(res: QueryResult) -> frozenset[tuple[str, str, str]] | None:
    """The answer with the queried owner name replaced, for wildcard comparison.

    Also for an empty answer at the end of a CNAME chain (the chain itself
    came from the wildcard)."""
    if res.status is Status.ERROR or not res.answers:
        return None
    return frozenset(("*" if rr.name == res.qname else rr.name, rr.rtype, rr.value) for rr in res.answers)


@dataclass
class ScanCounters:
    domains: int = 0
    ok: int = 0
    nxdomain: int = 0
    error: int = 0
    queries: int = 0
    present: int = 0
    absent: int = 0
    errors: int = 0
    error_kinds: collections.Counter = field(default_factory=collections.Counter)
    cache_hits: int = 0

    def add_domain(self, status: str, rows: list[Row]) -> None:
        self.domains += 1
        if status == "ok":
            self.ok += 1
        elif status == "nxdomain":
            self.nxdomain += 1
        else:
            self.error += 1
        for r, _ in rows:
            self.add_result(r)

    def add_result(self, r: QueryResult) -> None:
        """One question's outcome (also a look-up beyond DNS, collect/realm.py)."""
        self.queries += 1
        if r.status is Status.PRESENT:
            self.present += 1
        elif r.status is Status.ABSENT:
            self.absent += 1
        else:
            self.errors += 1
            self.error_kinds[r.error_kind.value if r.error_kind else "other"] += 1

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["error_kinds"] = dict(self.error_kinds)
        return d

    @classmethod
    def merged(cls, dicts) -> "ScanCounters":
        """The sum of several workers' ``to_dict()`` counters."""
        c = cls()
        for d in dicts:
            for f in dataclasses.fields(cls):
                if f.name == "error_kinds":
                    c.error_kinds.update(d.get("error_kinds") or {})
                else:
                    setattr(c, f.name, getattr(c, f.name) + int(d.get(f.name, 0)))
        return c


@dataclass(slots=True)
class LookupCounts:
    """The rows of a pass after the scan (the realm look-ups, the identity
    provider hosts' addresses): present / absent / errors by kind."""

    rows: ScanCounters = field(default_factory=ScanCounters)

    def add(self, r: QueryResult) -> None:
        self.rows.add_result(r)

    @property
    def present(self) -> int:
        return self.rows.present

    @property
    def absent(self) -> int:
        return self.rows.absent

    @property
    def error(self) -> int:
        return self.rows.errors


class _ReplyCache:
    """Bounded LRU of in-flight and finished replies for names many domains share."""

    def __init__(self, maxsize: int = 4096):
        self.maxsize = maxsize
        self._d: collections.OrderedDict[tuple[str, str], asyncio.Future] = collections.OrderedDict()

    def get_or_submit(self, key: tuple[str, str], submit: Callable[[], asyncio.Future]) -> tuple[asyncio.Future, bool]:
        fut = self._d.get(key)
        if fut is not None and not fut.cancelled():
            self._d.move_to_end(key)
            return fut, True
        fut = submit()
        self._d[key] = fut
        if len(self._d) > self.maxsize:
            self._d.popitem(last=False)  # whoever awaits it still holds it
        return fut, False


def _release(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _wait_all(t: Transport, pending: list[asyncio.Future], deadline: float) -> None:
    """Wait until every future in ``pending`` is done or the transport's
    active clock (paused spells do not count) reaches ``deadline``.  Does what
    ``asyncio.wait(..., timeout=)`` in a loop did, with one callback per
    future and one timer instead of new sets, callbacks and a timer per
    wake-up (asyncio.wait was 3% of a scan's samples)."""
    if not pending:
        return
    loop = pending[0].get_loop()  # (asyncio.get_running_loop() asks the kernel for the pid each time)
    left = len(pending)
    waiter = loop.create_future()

    def one_done(_f: asyncio.Future) -> None:
        nonlocal left
        left -= 1
        if left == 0:
            _release(waiter)

    for f in pending:
        f.add_done_callback(one_done)
    try:
        while left:
            wait = deadline - t.active_time()
            if wait <= 0:
                return
            timer = loop.call_later(wait, _release, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
            if left:  # the timer: check the active clock again (a pause moves the deadline)
                waiter = loop.create_future()
    finally:
        if left:
            for f in pending:
                f.remove_done_callback(one_done)


# what a lame zone looks like through a resolver: its servers are silent
# (timeout), refuse or fail (SERVFAIL, REFUSED).  A truncated or malformed
# answer is the resolver's or the path's problem: the rest is still asked.
_ZONE_FAILURES = frozenset({ErrorKind.TIMEOUT, ErrorKind.SERVFAIL, ErrorKind.REFUSED})

DEFAULT_DOMAIN_DEADLINE = 60.0  # seconds; a healthy domain needs well under one


class DomainScanner:
    """Runs the whole plan for one domain over a shared Transport."""

    def __init__(self, transport: Transport, plan: Plan | None = None, shared_cache_size: int = 4096,
                 domain_deadline: float = DEFAULT_DOMAIN_DEADLINE):
        self.t = transport
        self.plan = plan or load_plan()
        self.cache = _ReplyCache(shared_cache_size)
        self.cache_hits = 0
        self.domain_deadline = domain_deadline
        self.deadlines = 0  # domains that ran past their deadline
        self.unreachable = 0  # domains whose zone's SOA and NS both failed
        self._early: dict[str, list[asyncio.Future]] = {}

    def ask_early(self, domain: str) -> None:
        """Ask the first plan items (SOA, NS) of a domain that will be scanned
        soon.  A lame zone's timeouts then run while the domains before it are
        scanned, instead of all at the end of the scan; ``scan(domain)``
        takes these answers.  Nothing is stored from here."""
        if domain not in self._early:
            self._early[domain] = [self.t.submit(q, ty, tag=domain)
                                   for _, q, ty in self.plan.questions(domain, first=True)]

    def forget_early(self) -> None:
        for futs in self._early.values():
            for f in futs:
                f.cancel()
        self._early.clear()

    def _submit(self, qname: str, qtype: str, shared: bool, tag: str) -> asyncio.Future:
        if not shared:
            return self.t.submit(qname, qtype, tag=tag)
        fut, hit = self.cache.get_or_submit((qname, qtype), lambda: self.t.submit(qname, qtype))
        if hit:
            self.cache_hits += 1
        return fut

    def _row(self, domain: str, purpose: str, qname: str, qtype: str, reply: Reply) -> Row:
        return classify(domain, purpose, qname, qtype, reply, self.plan.cname_chain_max), reply.wire

    async def _ask_all(self, domain: str, asks: list[tuple[str, str, str]], shared: bool = False,
                       deadline: float | None = None, futs: list[asyncio.Future] | None = None) -> list[Row]:
        """Ask many questions at once: futures only, no task per question.
        Questions still unanswered at ``deadline`` (on the transport's active
        clock) become ``deadline`` errors; their own futures are cancelled."""
        if not asks:
            return []
        t = self.t
        if deadline is not None and t.active_time() >= deadline:
            return [self._deadline_row(domain, p, q, ty) for p, q, ty in asks]
        if futs is None:
            futs = [self._submit(q, ty, shared, domain) for _, q, ty in asks]
        if deadline is None:
            replies = await asyncio.gather(*futs)
            return [self._row(domain, p, q, ty, rep) for (p, q, ty), rep in zip(asks, replies)]
        await _wait_all(t, [f for f in futs if not f.done()], deadline)
        out = []
        for (p, q, ty), f in zip(asks, futs):
            if f.done() and not f.cancelled():
                out.append(self._row(domain, p, q, ty, f.result()))
            else:
                if not shared:
                    f.cancel()  # the transport drops it; a shared one may serve other domains
                out.append(self._deadline_row(domain, p, q, ty))
        return out

    def _deadline_row(self, domain: str, purpose: str, qname: str, qtype: str) -> Row:
        res = QueryResult(domain=domain, purpose=purpose, qname=qname.lower().rstrip("."), qtype=qtype,
                          status=Status.ERROR, error_kind=ErrorKind.DEADLINE, ts=time.time(),
                          detail=f"no answer before the domain's deadline of {self.domain_deadline:g} s")
        return res, None

    async def _ask(self, domain: str, purpose: str, qname: str, qtype: str, shared: bool = False,
                   deadline: float | None = None) -> Row:
        return (await self._ask_all(domain, [(purpose, qname, qtype)], shared, deadline))[0]

    async def scan(self, domain: str, hosts: Iterable[str] = ()) -> tuple[str, list[Row]]:
        try:
            status, rows = await self._scan(domain, hosts)
        finally:
            self.t.forget(domain)
        if any(r.error_kind is ErrorKind.DEADLINE for r, _ in rows):
            self.deadlines += 1
        return status, rows

    async def _scan(self, domain: str, hosts: Iterable[str] = ()) -> tuple[str, list[Row]]:
        plan = self.plan
        dl = self.t.active_time() + self.domain_deadline if self.domain_deadline else None
        probe_name = f"stekker-wc-{secrets.token_hex(5)}.{domain}"
        host_asks = [("host", h, t) for h in dict.fromkeys(hosts) for t in plan.derived_types("host")]
        first = list(plan.questions(domain, first=True))
        early = self._early.pop(domain, None)
        rows: list[Row] = await self._ask_all(domain, first, deadline=dl,
                                              futs=early if early and len(early) == len(first) else None)
        soa = next((r for r, _ in rows if r.purpose == "apex_soa"), None)
        apex_ns = next((r for r, _ in rows if r.purpose == "apex_ns"), None)
        if (soa is not None and apex_ns is not None and soa.error_kind in _ZONE_FAILURES
                and apex_ns.error_kind in _ZONE_FAILURES):
            # the zone does not answer: the rest of the plan would fail the
            # same way (each question after its own retries); record it as
            # not asked, with why, and ask only the extra hosts
            self.unreachable += 1
            why = (f"not asked: the zone's SOA ({soa.error_kind.value if soa.error_kind else 'error'}) and NS "
                   f"({apex_ns.error_kind.value if apex_ns.error_kind else 'error'}) both failed after retries")
            asks = list(plan.questions(domain, first=False))
            asks += [("wildcard_probe", probe_name, t) for t in plan.derived_types("wildcard_probe")]
            # extra hosts in this zone are unreachable too; those elsewhere are asked
            inside = [a for a in host_asks if a[1] == domain or a[1].endswith("." + domain)]
            elsewhere = [a for a in host_asks if a not in inside]
            for p, q, ty in asks + inside:
                rows.append((QueryResult(domain=domain, purpose=p, qname=q.lower().rstrip("."), qtype=ty,
                                         status=Status.ERROR, error_kind=ErrorKind.ZONE_UNREACHABLE,
                                         ts=time.time(), detail=why), None))
            rows += await self._ask_all(domain, elsewhere, deadline=dl)
            return DomainEvidence(domain=domain, results=[r for r, _ in rows]).status, rows
        if soa is not None and soa.absent_kind is AbsentKind.NXDOMAIN:
            # the domain does not exist, so nothing below it does (RFC 8020):
            # only the input's extra hosts (often under other names) are asked
            rows += await self._ask_all(domain, host_asks, deadline=dl)
            return DomainEvidence(domain=domain, results=[r for r, _ in rows]).status, rows
        asks: list[tuple[str, str, str]] = list(plan.questions(domain, first=False))
        asks += [("wildcard_probe", probe_name, t) for t in plan.derived_types("wildcard_probe")]
        rows += await self._ask_all(domain, asks + host_asks, deadline=dl)
        by_key = {(r.purpose, r.qname, r.qtype): r for r, _ in rows}

        # derived: MX and NS host addresses (shared across domains), SPF tree
        derived: list[tuple[str, str, str]] = []
        targets: dict[str, set[str]] = {"mx_host": set(), "ns_host": set()}
        mx = by_key.get(("apex_mx", domain, "MX"))
        if mx is not None and mx.status is Status.PRESENT:
            for v in mx.values("MX"):
                host = v.split(" ", 1)[1] if " " in v else ""
                if host and host != ".":
                    targets["mx_host"].add(host)
        ns = by_key.get(("apex_ns", domain, "NS"))
        if ns is not None and ns.status is Status.PRESENT:
            targets["ns_host"].update(v for v in ns.values("NS") if v)
        for purpose, names in targets.items():
            for name in sorted(names):
                for t in plan.derived_types(purpose):
                    derived.append((purpose, name, t))
        spf_task = asyncio.ensure_future(self._spf(domain, by_key.get(("apex_txt", domain, "TXT")), dl))
        rows += await self._ask_all(domain, derived, shared=True, deadline=dl)
        rows += await spf_task

        # wildcard detection: a random label that answers means a wildcard exists
        probe_types = plan.derived_types("wildcard_probe")
        probe = by_key.get(("wildcard_probe", probe_name, probe_types[0]))
        if probe is not None and (
            probe.status is Status.PRESENT or (probe.status is Status.ABSENT and probe.absent_kind is AbsentKind.NODATA)
        ):
            more = sorted(plan.sublabel_types - set(probe_types))
            rows += await self._ask_all(domain, [("wildcard_probe", probe_name, t) for t in more], deadline=dl)
            sigs = {r.qtype: _signature(r) for r, _ in rows if r.purpose == "wildcard_probe"}
            for r, _ in rows:
                if r.purpose in ("wildcard_probe", "mx_host", "ns_host", "spf_include") or r.qname == domain:
                    continue
                if not r.qname.endswith("." + domain):
                    continue
                sig = sigs.get(r.qtype)
                if sig is not None and _signature(r) == sig:
                    r.wildcard = True
                    r.detail = "same answer as the wildcard probe " + probe_name
        # the resolver's SERVFAIL hides why a name failed; a CNAME loop is worth naming
        apex_failed = any(r.status is Status.ERROR for r, _ in rows if r.qname == domain and r.purpose == "apex_soa")
        if not apex_failed and (dl is None or self.t.active_time() < dl):
            await asyncio.gather(*(self._diagnose_servfail(r, domain, dl) for r, _ in rows
                                   if r.error_kind is ErrorKind.SERVFAIL and r.qtype != "CNAME"
                                   and r.qname.endswith("." + domain)))
        ev = DomainEvidence(domain=domain, results=[r for r, _ in rows])
        return ev.status, rows

    async def _diagnose_servfail(self, res: QueryResult, domain: str, deadline: float | None) -> None:
        """Walk the CNAME chain of a SERVFAILed name one CNAME question at a time;
        a loop or an overlong chain becomes the recorded error kind (the detail
        keeps the resolver's SERVFAIL and the chain)."""
        chain = [res.qname]
        cur = res.qname
        for _ in range(self.plan.cname_chain_max + 1):
            fut = self.t.submit(cur, "CNAME", tag=domain)
            if deadline is None:
                reply = await fut
            else:
                left = deadline - self.t.active_time()
                done, _ = await asyncio.wait({fut}, timeout=max(0.0, left))
                if not done:
                    fut.cancel()
                    return  # out of time: the resolver's SERVFAIL stays the recorded error
                reply = fut.result()
            ans = reply.answer
            if reply.error is not None or ans is None:
                return
            targets = [rr.value for rr in ans.answers if rr.rtype == "CNAME" and rr.name == cur]
            if not targets:
                return
            cur = targets[0]
            if cur in chain:
                chain.append(cur)
                res.error_kind = ErrorKind.CNAME_LOOP
                res.detail = f"SERVFAIL from {res.resolver}; CNAME loop: " + " -> ".join(chain)
                return
            chain.append(cur)
        res.error_kind = ErrorKind.CNAME_TOO_LONG
        res.detail = f"SERVFAIL from {res.resolver}; CNAME chain longer than {self.plan.cname_chain_max}: " + " -> ".join(chain)

    async def _spf(self, domain: str, apex_txt: QueryResult | None, deadline: float | None = None) -> list[Row]:
        """Expand include:/redirect= depth-first in evaluation order, counting every
        lookup term (include, a, mx, ptr, exists, redirect) against the limit."""
        out: list[Row] = []
        if apex_txt is None or apex_txt.status is not Status.PRESENT:
            return out
        limit = self.plan.spf_lookups_max
        count = 0
        visited = {domain}
        marked: set[str] = set()
        stopped = False

        def mark(target: str, kind: ErrorKind, detail: str) -> None:
            if target not in marked:
                marked.add(target)
                out.append((_synthetic(domain, target, kind, detail), None))

        async def walk(txts: list[str], via: str) -> None:
            nonlocal count, stopped
            for rec in spf_records(txts)[:1]:  # more than one SPF record is a permerror: evaluate the first
                terms = parse_spf(rec)
                for term in terms:
                    if stopped:
                        return
                    if term.kind not in LOOKUP_TERMS:
                        continue
                    count += 1
                    if term.kind not in ("include", "redirect") or not term.value:
                        continue
                    target = term.value
                    if count > limit:
                        stopped = True
                        mark(target, ErrorKind.SPF_LIMIT,
                             f"RFC 7208 limit of {limit} DNS lookups reached before {term.kind}:{target} (from {via})")
                        return
                    if "%" in target:
                        mark(target, ErrorKind.OTHER,
                             f"SPF macro in {term.kind}:{target} (from {via}) needs the sender's address; not expanded")
                        continue
                    if target in visited:
                        mark(target, ErrorKind.SPF_LOOP, f"{term.kind}:{target} from {via} was already visited (SPF loop)")
                        continue
                    visited.add(target)
                    row = await self._ask(domain, "spf_include", target, "TXT", shared=True, deadline=deadline)
                    out.append(row)
                    r = row[0]
                    if r.status is Status.PRESENT:
                        await walk(r.values("TXT"), target)

        await walk(apex_txt.values("TXT"), domain)
        return out


def _synthetic(domain: str, qname: str, kind: ErrorKind, detail: str) -> QueryResult:
    """A recorded non-question: the SPF walk stopped here (limit, loop, macro).
    Its purpose ``spf_walk`` keeps it apart from the real ``spf_include`` answers."""
    return QueryResult(
        domain=domain, purpose="spf_walk", qname=qname.lower().rstrip("."), qtype="TXT",
        status=Status.ERROR, error_kind=kind, detail=detail, ts=time.time(),
    )

