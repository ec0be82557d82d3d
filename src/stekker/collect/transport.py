"""Asynchronous DNS client for national-scale scans.

One :class:`Transport` sends every question of a scan to a pool of
recursive resolvers over UDP (a handful of sockets, 16-bit ids matched to
pending questions), falls back to TCP when an answer is truncated, retries
timeouts on the next resolver (round-robin with failover), and keeps the
number of questions in flight inside an adaptive window.  An optional
``qps`` cap limits the global send rate.

The window follows the *resolver's* health, not one zone's: a question is
tagged with the zone it belongs to (the input domain, or the shared name
itself); a timeout on a zone that has never answered is "this zone is
slow" (the question and the rest of that zone move to a slow lane that does
not take the window's slots), while timeouts on zones that do answer, or on
many fresh zones at once, and REFUSED bursts mean "the resolver is
overloaded or rate-limiting" and shrink the window (and the send rate).

A resolver that falls silent is checked before anything is concluded: after
a second without any reply, a liveness probe (the root's NS, which any
recursive resolver answers from its cache) goes to every resolver.  While a
resolver answers it, questions that time out are the slow zones' business.
When none answers, the transport pauses: nothing is sent, nothing that
times out during the pause is counted as an attempt, and the probe is
repeated until a resolver answers again (then it resumes by itself) or
``outage_max`` seconds pass (then :attr:`Transport.dead` is set and the
caller stops cleanly).

Every reply is validated against its question: it must come from the
resolver it was sent to, carry the query id, and repeat the question (name
and type); a reply that does not is recorded as ``malformed``.  Nothing here
decides what an answer *means*: that is :mod:`stekker.collect.engine`.

Size (over 400 lines on purpose): the transport is one asyncio state machine
(:class:`Transport`: UDP with TCP fallback, per-resolver pacing, retries,
health accounting) whose parts share its state; the helpers around it are
small.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import random
import socket
import time
from dataclasses import dataclass

from stekker.collect.wire import Answer, WireError, build_query, decode_response, encode_name, qtype_code
from stekker.evidence import ErrorKind
from stekker.i18n import N_, Said, _

_RCODE_ERRORS = {
    "SERVFAIL": ErrorKind.SERVFAIL,
    "REFUSED": ErrorKind.REFUSED,
    "FORMERR": ErrorKind.FORMERR,
    "NOTIMP": ErrorKind.NOTIMP,
}


class NoResolverError(RuntimeError):
    """No configured resolver answers at all (offline machine, wrong address).

    Its text is a :class:`stekker.i18n.Said`: ``str(exc)`` and ``record`` are the English (what
    is stored: an aborted scan's message), ``stekker.i18n.shown(exc)`` the user's language."""

    @property
    def record(self) -> str:
        return str(self.args[0]) if self.args else ""

    @classmethod
    def of(cls, template: str, **fields: object) -> "NoResolverError":
        """From a template marked with ``N_`` and its values."""
        return cls(Said(template, **fields))


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address -> (ip, port)."""
    t = text.strip()
    port = "53"
    if t.startswith("["):
        host, _sep, rest = t[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif t.count(":") == 1:
        host, _sep, port = t.partition(":")
    else:
        host = t
    if not (port.isascii() and port.isdigit()):
        raise ValueError(_("resolver port must be a number (IP:PORT such as 127.0.0.1:5353), got {text!r}").format(
            text=text))
    port = int(port)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(_("resolver must be an IP address (optionally :PORT), got {text!r}").format(text=text)) from None
    if not 0 < port < 65536:
        raise ValueError(_("resolver port out of range in {text!r}").format(text=text))
    return str(ip), port


def format_resolver(addr: tuple[str, int]) -> str:
    ip, port = addr
    if ":" in ip:
        return f"[{ip}]:{port}"
    return f"{ip}:{port}"


def system_resolvers() -> list[tuple[str, int]]:
    """The nameservers of the system configuration (/etc/resolv.conf)."""
    import dns.resolver

    try:
        r = dns.resolver.Resolver(configure=True)
    except Exception as exc:  # no resolv.conf, unreadable, ...
        raise NoResolverError.of(N_("cannot read the system's resolver configuration: {error}"), error=exc) from None
    out = []
    for ns in r.nameservers:
        try:
            out.append(parse_resolver(str(ns)))
        except ValueError:
            continue  # DoH/DoT URLs are not usable here
    if not out:
        raise NoResolverError.of(N_("the system has no usable nameserver configured; pass --resolver IP"))
    return out


@dataclass(slots=True)
class Reply:
    """The outcome of one question after retries and TCP fallback."""

    answer: Answer | None  # decoded response (None on error without a usable response)
    wire: bytes | None  # the response as received (last one)
    resolver: str | None
    error: ErrorKind | None  # set when the question ended in an error
    detail: str | None
    ts: float
    tcp: bool = False
    attempts: int = 1


@dataclass
class TransportStats:
    sent: int = 0
    received: int = 0
    timeouts: int = 0
    servfails: int = 0
    malformed: int = 0
    tcp: int = 0
    mismatched: int = 0  # replies with a known id from an unexpected source or question
    window: int = 0
    window_min: int = 0
    window_max_seen: int = 0
    slow_zones: int = 0  # zones (tags) that timed out before ever answering
    distress_ticks: int = 0  # half-seconds in which the window shrank
    probes: int = 0  # liveness probes sent
    outages: int = 0  # times every resolver fell silent and the scan paused
    paused_s: float = 0.0  # seconds spent paused
    refused_requeued: int = 0  # REFUSED answers asked again after a pause (rate limiting)
    loss_requeued: int = 0  # last attempts lost at a resolver that was dropping, asked again


class _UdpProto(asyncio.DatagramProtocol):
    def __init__(self, owner: "Transport", idx: int):
        self.owner = owner
        self.idx = idx
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[override]
        self.owner._on_datagram(self.idx, data, addr)

    def error_received(self, exc) -> None:  # ICMP port unreachable etc.
        self.owner._on_socket_error(self.idx, exc)


@dataclass
class _ResolverState:
    addr: tuple[str, int]
    consecutive_timeouts: int = 0
    down_until: float = 0.0
    answered: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        self.name = format_resolver(self.addr)


@dataclass
class TransportConfig:
    timeout: float = 2.0  # seconds per attempt
    retries: int = 2  # further attempts after the first (timeouts, malformed; SERVFAIL/REFUSED with failover)
    qps: float = 0.0  # global cap; 0 = none
    # Questions in flight (the window's slots; the slow lane has its own).
    # Resolvers bound how many questions of one client may wait for
    # recursion (Unbound's wait-limit and BIND's recursive-clients are 1,000
    # by default; past that they drop): the default maximum stays below that
    # per resolver.
    window: int = 256  # initial
    window_min: int = 16
    window_max: int = 384  # per resolver
    slow_max: int = 256  # questions of slow zones in flight (outside the window)
    sockets: int = 4
    edns: bool = True
    tcp_timeout: float = 4.0
    liveness_after: float = 1.0  # seconds without any reply before the resolvers are probed
    outage_max: float = 120.0  # seconds of silence (failed probes) before giving up
    refused_retries: int = 4  # extra tries of a REFUSED question (rate limiting) after a pause
    # extra tries of a question of a zone that answers, whose last attempt
    # timed out while the resolver was losing such questions (drops under load
    # or by rate limiting: 2% or more of the last half second's, with 50 or
    # more answers): asked again after 0.25-1 s instead of being recorded as
    # a timeout
    loss_retries: int = 4


class _Question:
    """One question on its way: attempts, resolvers tried, last outcome."""

    __slots__ = ("qname", "qwire", "code", "fut", "attempt", "attempts", "avoid", "servfail_retries", "timeout",
                 "resolver", "ri", "last_error", "last_detail", "last_wire", "last_answer", "last_resolver", "tcp",
                 "tag", "slow", "sent_at", "force", "refused", "lane", "lost")

    def __init__(self, qname: str, qwire: bytes, code: int, fut: asyncio.Future, attempts: int,
                 timeout: float, resolver: int | None, tag: str | None = None):
        self.qname = qname
        self.qwire = qwire
        self.code = code
        self.fut = fut
        self.attempt = 0
        self.attempts = attempts
        self.avoid: set[int] | None = None
        self.servfail_retries = 0
        self.timeout = timeout
        self.resolver = resolver  # fixed resolver index (probe) or None (round-robin)
        self.ri = 0
        self.last_error: ErrorKind = ErrorKind.TIMEOUT
        self.last_detail: str | None = None
        self.last_wire: bytes | None = None
        self.last_answer: Answer | None = None
        self.last_resolver: str | None = None
        self.tcp = False
        self.tag = tag or self.qname  # the zone this question belongs to (health accounting)
        self.slow = False  # in the slow lane (its zone timed out before ever answering)
        self.sent_at = 0.0
        self.force = False  # liveness probe: sent even while paused, outside the window
        self.refused = 0  # REFUSED answers asked again
        self.lane = 0  # where it is counted while in flight: 0 none, 1 window, 2 slow lane, 3 outside
        self.lost = 0  # last attempts lost at the resolver and asked again (loss_retries)


# seconds after a spell of lost questions in which a zone that has not answered
# yet still gets up to two re-asks of a timed-out question (its SOA and NS may have
# been dropped in the spell)
LOSSY_GRACE = 10.0

# tag state bits
_ANSWERED, _SLOW, _SERVFAILED = 1, 2, 4


class Transport:
    """Callback-driven: a question is a future plus a small record, never a
    task; the event loop only runs code when a datagram arrives or the
    one-per-transport timers fire.  Questions wait in a queue until the
    window (and the qps cap) lets them go."""

    def __init__(self, resolvers: list[tuple[str, int]], config: TransportConfig | None = None):
        if not resolvers:
            raise NoResolverError.of(N_("no resolver given"))
        self.config = config or TransportConfig()
        self.resolvers = [_ResolverState(addr) for addr in resolvers]
        self.stats = TransportStats()
        self._rr = 0
        self.window_max = self.config.window_max * len(self.resolvers)
        self.window = max(self.config.window_min, min(self.window_max, self.config.window))
        self.inflight = 0  # in the window
        self.inflight_slow = 0  # in the slow lane
        self._queue: collections.deque[_Question] = collections.deque()
        self._slow_queue: collections.deque[_Question] = collections.deque()
        self._tags: dict[str, int] = {}
        self._tick_suspects: set[str] = set()
        self._tick_suspect_timeouts = 0
        self._tick_refused = 0
        self._rate_factor = 1.0  # multiplies the qps cap (and paces sending) after REFUSED bursts
        self._lossy_until = 0.0  # monotonic time until which the resolver counts as losing questions
        self.paused = False
        self.dead = False
        self._probe_task: asyncio.Task | None = None
        self._paused_since = 0.0
        self._paused_total = 0.0
        self._busy_since = 0.0
        self._tokens = 0.0
        self._token_time = time.monotonic()
        self._pump_timer: asyncio.TimerHandle | None = None
        self._protos: dict[int, list[_UdpProto]] = {}  # family -> sockets
        self._pending: list[dict[int, tuple]] = []  # per socket: qid -> (question, addr)
        self._timeouts: collections.deque[tuple[float, int, int, _Question]] = collections.deque()
        self._name_cache: dict[str, bytes] = {}
        self._sweeper: asyncio.Task | None = None
        self._tuner: asyncio.Task | None = None
        self._sock_rr = 0
        self.last_reply = time.monotonic()
        self._tick_answers = 0
        self._tick_bad = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tcp_tasks: set[asyncio.Task] = set()

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        families = {socket.AF_INET6 if ":" in r.addr[0] else socket.AF_INET for r in self.resolvers}
        for fam in sorted(families):
            protos = []
            for _n in range(self.config.sockets):
                sock = socket.socket(fam, socket.SOCK_DGRAM)
                sock.setblocking(False)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                except OSError:
                    pass
                sock.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
                idx = len(self._pending)
                self._pending.append({})
                _tr, proto = await loop.create_datagram_endpoint(lambda i=idx: _UdpProto(self, i), sock=sock)
                protos.append(proto)
            self._protos[fam] = protos
        self._sweeper = asyncio.create_task(self._sweep())
        self._tuner = asyncio.create_task(self._tune())
        self.last_reply = time.monotonic()

    async def close(self) -> None:
        for t in (self._sweeper, self._tuner, self._probe_task, *self._tcp_tasks):
            if t:
                t.cancel()
        if self._pump_timer:
            self._pump_timer.cancel()
        for protos in self._protos.values():
            for p in protos:
                if p.transport:
                    p.transport.close()
        for pend in self._pending:
            for q, _addr in pend.values():
                if not q.fut.done():
                    q.fut.cancel()
            pend.clear()
        for dq in (self._queue, self._slow_queue):
            while dq:
                q = dq.popleft()
                if not q.fut.done():
                    q.fut.cancel()

    # ------------------------------------------------------------------ API
    def submit(self, qname: str, qtype: str, *, resolver: int | None = None, timeout: float | None = None,
               retries: int | None = None, tag: str | None = None, force: bool = False) -> asyncio.Future:
        """Queue one question; the future's result is a Reply (never an exception
        for DNS-level failures).  ``tag`` names the zone it belongs to (the
        input domain); questions without one are their own zone."""
        loop = self._loop or asyncio.get_running_loop()
        fut = loop.create_future()
        code = qtype_code(qtype)
        try:
            qwire = self._qname_wire(qname)
        except WireError as exc:
            fut.set_result(Reply(None, None, None, ErrorKind.MALFORMED, f"cannot ask: {exc}", time.time()))
            return fut
        attempts = (self.config.retries if retries is None else retries) + 1
        q = _Question(qname.lower().rstrip("."), qwire, code, fut, attempts,
                      self.config.timeout if timeout is None else timeout, resolver, tag)
        if force:  # outside the window and the health accounting (resolver probes)
            q.force = True
            self._send(q)
            return fut
        if self._tags.get(q.tag, 0) & _SLOW:
            q.slow = True
            self._slow_queue.append(q)
        else:
            self._queue.append(q)
        self._pump()
        return fut

    async def query(self, qname: str, qtype: str) -> Reply:
        """Ask one question; never raises for DNS-level failures (see Reply.error)."""
        return await self.submit(qname, qtype)

    def forget(self, tag: str) -> None:
        """The zone ``tag`` is finished with: drop its health state."""
        self._tags.pop(tag, None)

    def waiting_on_slow_zones(self) -> int:
        """Questions of slow zones in flight or queued."""
        return self.inflight_slow + len(self._slow_queue)

    def paused_for(self) -> float:
        """Seconds the current pause (every resolver silent) has lasted; 0 when not paused."""
        return time.monotonic() - self._paused_since if self.paused else 0.0

    def active_time(self) -> float:
        """A monotonic clock that stands still while the transport is paused
        (resolvers silent): deadlines measured on it do not run out during
        an outage."""
        now = time.monotonic()
        paused = self._paused_total + (now - self._paused_since if self.paused else 0.0)
        return now - paused

    # ------------------------------------------------------------------ send
    def _take_token(self) -> bool:
        qps = self.config.qps * self._rate_factor if self.config.qps else 0.0
        if not qps:
            return True
        now = time.monotonic()
        self._tokens = min(qps / 10 + 1, self._tokens + (now - self._token_time) * qps)
        self._token_time = now
        if self._tokens < 1:
            if self._pump_timer is None:
                delay = (1 - self._tokens) / qps
                self._pump_timer = self._loop.call_later(delay, self._pump_later)
            return False
        self._tokens -= 1
        return True

    def _pump(self) -> None:
        """Send queued questions while the window, the slow lane and the qps cap allow."""
        if self.paused or self.dead:
            return
        slow_q = self._slow_queue
        slow_max = self.config.slow_max
        while slow_q and self.inflight_slow < slow_max:
            if not self._take_token():
                return
            q = slow_q.popleft()
            if q.fut.done():  # cancelled while waiting
                continue
            self._send(q)
        queue = self._queue
        while queue and self.inflight < self.window:
            q = queue[0]
            if q.fut.done():
                queue.popleft()
                continue
            if self._tags.get(q.tag, 0) & _SLOW:  # its zone turned slow while it waited
                queue.popleft()
                q.slow = True
                slow_q.append(q)
                continue
            if not self._take_token():
                return
            queue.popleft()
            self._send(q)

    def _pump_later(self) -> None:
        self._pump_timer = None
        self._pump()

    def _next_resolver(self, avoid: set[int] | None) -> int:
        n = len(self.resolvers)
        if n == 1:
            return 0
        now = time.monotonic()
        for k in range(n):
            i = (self._rr + k) % n
            r = self.resolvers[i]
            if (not avoid or i not in avoid) and r.down_until <= now:
                self._rr = i + 1
                return i
        for k in range(n):  # all down or avoided: any not avoided, else any
            i = (self._rr + k) % n
            if not avoid or i not in avoid:
                self._rr = i + 1
                return i
        self._rr += 1
        return self._rr % n

    def _qname_wire(self, qname: str) -> bytes:
        w = self._name_cache.get(qname)
        if w is None:
            w = encode_name(qname)
            if len(self._name_cache) > 100_000:
                self._name_cache.clear()
            self._name_cache[qname] = w
        return w

    def _enter(self, q: _Question) -> None:
        if not (self.inflight or self.inflight_slow):
            self._busy_since = time.monotonic()  # silence is counted from here after an idle spell
        q.lane = 3 if q.force else 2 if q.slow else 1
        if q.lane == 1:
            self.inflight += 1
        elif q.lane == 2:
            self.inflight_slow += 1

    def _leave(self, q: _Question) -> None:
        if q.lane == 1:
            self.inflight -= 1
        elif q.lane == 2:
            self.inflight_slow -= 1
        q.lane = 0

    def _send(self, q: _Question) -> None:
        ri = q.resolver if q.resolver is not None else self._next_resolver(q.avoid)
        q.ri = ri
        rs = self.resolvers[ri]
        addr = rs.addr
        q.last_resolver = rs.name
        q.attempt += 1
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        protos = self._protos[fam]
        self._sock_rr = (self._sock_rr + 1) % len(protos)
        proto = protos[self._sock_rr]
        idx = proto.idx
        pend = self._pending[idx]
        qid = random.getrandbits(16)
        while qid in pend:
            qid = random.getrandbits(16)
        pend[qid] = (q, addr)
        q.sent_at = time.monotonic()
        self._timeouts.append((q.sent_at + q.timeout, idx, qid, q))
        self._enter(q)
        self.stats.sent += 1
        try:
            proto.transport.sendto(build_query(qid, q.qwire, q.code, self.config.edns), addr)  # type: ignore[union-attr]
        except OSError as exc:
            del pend[qid]
            self._leave(q)
            q.avoid = (q.avoid or set()) | {ri}
            self._retry(q, ErrorKind.OTHER, f"send failed: {exc}")

    # ---------------------------------------------------------------- receive
    def _on_datagram(self, idx: int, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        qid = (data[0] << 8) | data[1]
        pend = self._pending[idx]
        entry = pend.get(qid)
        if entry is None:
            return  # late (already timed out) or unsolicited: ignore
        q, sent_to = entry
        if addr[1] != sent_to[1] or (addr[0] != sent_to[0] and not _same_ip(addr[0], sent_to[0])):
            self.stats.mismatched += 1
            return  # not from the resolver we asked: keep waiting for the real answer
        del pend[qid]
        self._leave(q)
        self.last_reply = time.monotonic()
        rs = self.resolvers[q.ri]
        rs.consecutive_timeouts = 0
        rs.answered += 1
        self.stats.received += 1
        if not q.fut.done():
            self._handle(q, data)
        if self._queue or self._slow_queue:
            self._pump()

    def _on_socket_error(self, idx: int, exc: Exception) -> None:
        # ICMP errors are not tied to a query id on unconnected sockets; the
        # affected questions time out and are retried.
        pass

    def _handle(self, q: _Question, data: bytes) -> None:
        try:
            ans = self._validate(data, q.qname, q.code)
        except WireError as exc:
            self.stats.malformed += 1
            q.last_wire, q.last_answer = data, None
            self._retry(q, ErrorKind.MALFORMED, str(exc))
            return
        if ans.truncated:
            task = asyncio.ensure_future(self._tcp_fallback(q))
            self._tcp_tasks.add(task)
            task.add_done_callback(self._tcp_tasks.discard)
            return
        self._answered(q, ans, data)

    def _answered(self, q: _Question, ans: Answer, data: bytes) -> None:
        err = _RCODE_ERRORS.get(ans.rcode)
        if err is None or err is ErrorKind.SERVFAIL:
            # NOERROR/NXDOMAIN: the zone answers, so a later timeout of one of its questions is a
            # question the resolver lost.  A SERVFAIL is not the zone's answer but the resolver's
            # word that it got none: mostly a lame zone (Unbound answers one of its questions
            # SERVFAIL from its infra cache while another times out), sometimes a healthy zone the
            # resolver itself gave up on under load.  Taken for an answer, it gave a lame zone's
            # timeouts the four re-asks of lost questions (a black-holed zone cost 17 s, not 6)
            # and counted them as the resolver's distress; now they get the two re-asks of a
            # zone that has not answered during a lossy spell, always, and are not distress.
            # REFUSED is rate limiting, FORMERR/NOTIMP the resolver's.
            tags = self._tags
            if len(tags) > 200_000:
                tags.clear()
            tags[q.tag] = tags.get(q.tag, 0) | (_ANSWERED if err is None else _SERVFAILED)
        if err is None:
            self._tick_answers += 1
            q.fut.set_result(Reply(ans, data, q.last_resolver, None, None, time.time(), q.tcp, q.attempt + q.lost))
            return
        if err is ErrorKind.SERVFAIL:
            self.stats.servfails += 1
        self._tick_answers += 1
        q.last_wire, q.last_answer = data, ans
        detail = f"{ans.rcode} from {q.last_resolver}"
        if err is ErrorKind.REFUSED and not q.force and q.refused < self.config.refused_retries:
            # A recursive resolver that answered the liveness probe and now
            # refuses is limiting our rate: slow down and ask again later
            # (not counted as an attempt), rather than record an error.
            q.refused += 1
            self._tick_refused += 1
            self.stats.refused_requeued += 1
            q.attempt -= 1
            delay = min(4.0, 0.25 * 2 ** (q.refused - 1))  # 0.25, 0.5, 1, 2 s
            self._loop.call_later(delay, self._requeue, q)
            return
        # another resolver may know better; one resolver repeating itself won't
        if len(self.resolvers) > 1 and q.resolver is None and q.servfail_retries < 1 and q.attempt < q.attempts:
            q.servfail_retries += 1
            q.avoid = (q.avoid or set()) | {q.ri}
            self._retry(q, err, detail)
            return
        q.fut.set_result(Reply(ans, data, q.last_resolver, err, detail, time.time(), q.tcp, q.attempt + q.lost))

    def _requeue(self, q: _Question) -> None:
        if q.fut.done():
            return
        (self._slow_queue if q.slow else self._queue).appendleft(q)
        self._pump()

    async def _tcp_fallback(self, q: _Question) -> None:
        q.tcp = True
        addr = self.resolvers[q.ri].addr
        try:
            data = await self._tcp_once(addr, q.qwire, q.code)
            ans = self._validate(data, q.qname, q.code)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, WireError) as exc:
            q.last_wire, q.last_answer = None, None
            self._retry(q, ErrorKind.TRUNCATED,
                        f"truncated over UDP; TCP retry failed: {type(exc).__name__} {exc}".strip())
            return
        if not q.fut.done():
            self._answered(q, ans, data)

    def _retry(self, q: _Question, error: ErrorKind, detail: str | None) -> None:
        """Record the failed attempt; queue the question again or finish it."""
        q.last_error, q.last_detail = error, detail
        if q.fut.done():
            return
        if q.attempt < q.attempts:
            (self._slow_queue if q.slow else self._queue).appendleft(q)  # retries go first
            self._pump()
            return
        q.fut.set_result(Reply(q.last_answer, q.last_wire, q.last_resolver, q.last_error, q.last_detail,
                               time.time(), q.tcp, q.attempt + q.lost))

    async def _sweep(self) -> None:
        """Expire pending UDP questions whose deadline passed (one timer for
        all); start the liveness check when every resolver has been silent."""
        dq = self._timeouts
        cfg = self.config
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            expired = False
            while dq and dq[0][0] <= now:
                _due, idx, qid, q = dq.popleft()
                entry = self._pending[idx].get(qid)
                if entry is None or entry[0] is not q:
                    continue  # answered in time
                del self._pending[idx][qid]
                self._leave(q)
                expired = True
                self._timed_out(q, now)
            if (not self.paused and not self.dead and self._probe_task is None and self.stats.received
                    and (self.inflight or self.inflight_slow)
                    and now - max(self.last_reply, self._busy_since) > min(cfg.liveness_after, cfg.timeout / 2)):
                self._probe_task = asyncio.ensure_future(self._liveness())
            if expired:
                self._pump()

    def _timed_out(self, q: _Question, now: float) -> None:
        self.stats.timeouts += 1
        if q.force:
            self._retry(q, ErrorKind.TIMEOUT, f"no answer within {q.timeout:g} s")
            return
        # silent: no resolver said anything since this attempt was sent (a
        # live resolver answers the liveness probe within every attempt).
        # Only meaningful once one has answered at all: a resolver that never
        # did is the startup probe's business.
        silent = bool(self.stats.received) and self.last_reply < q.sent_at
        if self.paused or (silent and self._probe_task is not None):
            # every resolver is silent (or being checked): this attempt says
            # nothing about the question; ask again once a resolver answers
            q.attempt -= 1
            (self._slow_queue if q.slow else self._queue).appendleft(q)
            return
        state = self._tags.get(q.tag, 0)
        if state & _ANSWERED:
            if not q.lost:  # a question lost before says more about itself than about the resolver
                self._tick_bad += 1  # the zone answers, this question got lost: the resolver's distress
        elif not q.slow:
            self._tick_suspects.add(q.tag)
            self._tick_suspect_timeouts += 1
        if not state & _SLOW and not state & _ANSWERED:
            self._tags[q.tag] = state | _SLOW
            self.stats.slow_zones += 1
        if not state & _ANSWERED:
            q.slow = True  # its retries and its zone's other questions go to the slow lane
        rs = self.resolvers[q.ri]
        rs.consecutive_timeouts += 1
        if len(self.resolvers) > 1 and q.resolver is None:
            if rs.consecutive_timeouts >= 20:
                rs.down_until = now + 5.0
            q.avoid = (q.avoid or set()) | {q.ri}
            if len(q.avoid) >= len(self.resolvers):
                q.avoid = None
        if silent and q.attempt >= q.attempts and not self.dead:
            # the last attempt of a question saw no reply from anyone: hold it
            # until the liveness check says whether the resolvers are alive
            q.attempt -= 1
            (self._slow_queue if q.slow else self._queue).appendleft(q)
            if self._probe_task is None:
                self._probe_task = asyncio.ensure_future(self._liveness())
            return
        cap = min(self.config.loss_retries, 2 * (q.attempts - 1))
        if not state & _ANSWERED:
            cap = min(cap, 2) if state & _SERVFAILED or now < self._lossy_until + LOSSY_GRACE else 0
        if q.attempt >= q.attempts and not self.dead and q.lost < cap:
            # its zone answers other questions, or the resolver is (or was, within
            # LOSSY_GRACE) losing questions of zones that answer (drops under load,
            # rate limiting): the timeout says nothing about the name.  Ask again
            # shortly instead of recording a timeout -- and instead of calling a
            # healthy zone unreachable because its SOA and NS were both dropped.
            # Bounded: loss_retries more for a zone that answers, two for a zone
            # that has not answered yet (a lame zone pays up to two timeouts more,
            # in the slow lane, only during a lossy spell), none with --retries 0.
            q.lost += 1
            q.attempt -= 1
            q.last_error, q.last_detail = ErrorKind.TIMEOUT, f"no answer within {q.timeout:g} s"
            self.stats.loss_requeued += 1
            self._loop.call_later(min(1.0, 0.25 * q.lost), self._requeue, q)  # type: ignore[union-attr]
            return
        self._retry(q, ErrorKind.TIMEOUT, f"no answer within {q.timeout:g} s")

    async def _liveness(self) -> None:
        """Probe every resolver with the root's NS (answered from any
        recursive resolver's cache).  An answer: resolvers alive, carry on.
        None: pause, and probe again every second until one answers
        (resume) or ``outage_max`` passes (``dead``)."""
        cfg = self.config
        started = time.monotonic()
        try:
            while True:
                futs = []
                for i in range(len(self.resolvers)):
                    for _n in range(3):  # a lossy resolver still answers one of three
                        futs.append(self.submit(".", "NS", resolver=i, timeout=min(1.0, cfg.timeout), retries=0,
                                                force=True))
                self.stats.probes += len(futs)
                replies = await asyncio.gather(*futs)
                # any answer at all (even REFUSED or SERVFAIL) means the resolver is alive
                if any(r.answer is not None for r in replies):
                    if self.paused:
                        self._paused_total += time.monotonic() - self._paused_since
                        self.stats.paused_s = round(self._paused_total, 1)
                        self.paused = False
                    self.last_reply = time.monotonic()
                    return
                if not self.paused:
                    self.paused = True
                    self._paused_since = time.monotonic()
                    self.stats.outages += 1
                if time.monotonic() - started > cfg.outage_max:
                    self.dead = True
                    return
                await asyncio.sleep(1.0)
        finally:
            self._probe_task = None
            if not self.dead:
                self._pump()

    async def _tune(self) -> None:
        """Every 0.5 s: shrink the window (multiplicatively) when more than
        10% of the outcomes were the resolver's distress -- timeouts on zones
        that answer, timeouts spread over many fresh zones at once, REFUSED
        (rate limiting) -- and grow it slowly while below 2% and questions
        wait.  A slow zone's timeouts are not the resolver's distress."""
        cfg = self.config
        while True:
            await asyncio.sleep(0.5)
            suspects = len(self._tick_suspects)
            bad = self._tick_bad + self._tick_refused
            if self._tick_answers >= 50 and self._tick_bad >= max(3, self._tick_answers // 50):
                # questions of zones that answer are being lost (2% or more): the
                # resolver drops (load, rate limiting); for a while a timeout is no
                # verdict on a name (see _timed_out and the engine's zone recheck)
                self._lossy_until = time.monotonic() + 3.0
            if suspects >= 8:  # many zones fell silent at once: the resolver drops, not the zones
                bad += self._tick_suspect_timeouts
                if self._tick_bad:
                    # and it lost questions of zones that answer in the same half
                    # second: a resolver that drops (as at the start of a scan
                    # against a rate-limiting one, when most zones have not answered
                    # yet), not a list with many lame zones asked at once; their SOA
                    # and NS get their re-asks
                    self._lossy_until = time.monotonic() + 3.0
            total = self._tick_answers + self._tick_bad + self._tick_suspect_timeouts
            if total >= 20:
                share = bad / total
                if share > 0.10:
                    self.window = max(cfg.window_min, int(self.window * 0.7))
                    self.stats.distress_ticks += 1
                elif share < 0.02 and self._queue:
                    self.window = min(self.window_max, self.window + max(8, self.window // 16))
            if self._tick_refused:
                self._rate_factor = max(0.05, self._rate_factor * 0.5)
                if not cfg.qps:  # no cap given: pace by the window alone
                    self.window = max(cfg.window_min, int(self.window * 0.5))
            elif self._rate_factor < 1.0:
                self._rate_factor = min(1.0, self._rate_factor * 1.1)
            self._tick_answers = self._tick_bad = self._tick_refused = self._tick_suspect_timeouts = 0
            self._tick_suspects.clear()
            self.stats.window = self.window
            self.stats.window_max_seen = max(self.stats.window_max_seen, self.window)
            if not self.stats.window_min or self.window < self.stats.window_min:
                self.stats.window_min = self.window
            self._pump()

    async def _tcp_once(self, addr: tuple[str, int], qwire: bytes, qtype: int) -> bytes:
        self.stats.tcp += 1
        qid = random.getrandbits(16)
        msg = build_query(qid, qwire, qtype, self.config.edns)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(addr[0], addr[1]), timeout=self.config.tcp_timeout
        )
        try:
            writer.write(len(msg).to_bytes(2, "big") + msg)
            await writer.drain()
            hdr = await asyncio.wait_for(reader.readexactly(2), timeout=self.config.tcp_timeout)
            ln = int.from_bytes(hdr, "big")
            data = await asyncio.wait_for(reader.readexactly(ln), timeout=self.config.tcp_timeout)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass
        if len(data) < 2 or int.from_bytes(data[:2], "big") != qid:
            raise WireError(_ID_MISMATCH)
        return data

    def _validate(self, data: bytes, qname: str, qtype: int) -> Answer:
        ans = decode_response(data)
        if ans.qname != qname or ans.qtype != qtype:
            detail = f"answer repeats another question ({ans.qname} type {ans.qtype}) than asked ({qname} type {qtype})"
            raise WireError(detail)  # stored with the question: English, as collect/wire.py's details
        return ans

    async def probe(self, timeout: float = 2.0, tries: int = 2) -> tuple[list[str], dict[str, str]]:
        """Ask every resolver for the root NS set, before a scan.

        Returns (usable resolvers, {resolver: why not usable}). Silence means
        offline or a wrong address; an answer that says the root zone does
        not exist, or refuses or fails to recurse, means this is no working
        recursive resolver (a captive or filtering resolver, an authoritative
        server) whose answers would be recorded as "absent" for every domain.
        A truncated answer counts as working (size is the scan's business).
        Unusable resolvers are dropped from the rotation when others remain.
        """
        futs = [self.submit(".", "NS", resolver=i, timeout=timeout, retries=tries - 1, force=True)
                for i in range(len(self.resolvers))]
        replies = await asyncio.gather(*futs)
        usable: list[_ResolverState] = []
        problems: dict[str, str] = {}
        for rs, rep in zip(self.resolvers, replies):
            ans = rep.answer
            if not rs.answered:
                problems[rs.name] = Said(N_("no answer within {timeout:g} s ({tries} tries)"), timeout=timeout,
                                         tries=tries)
            elif rep.error is ErrorKind.TRUNCATED or (ans is not None and ans.truncated):
                usable.append(rs)
            elif ans is None:
                problems[rs.name] = Said(N_("no usable answer ({error}: {detail})"),
                                         error=rep.error.value if rep.error else "none", detail=rep.detail)
            elif ans.rcode != "NOERROR" or not any(rr.rtype == "NS" for rr in ans.answers):
                problems[rs.name] = Said(N_("answered {rcode} with {n} records for the root zone's name servers: "
                                            "not a working recursive resolver"), rcode=ans.rcode, n=len(ans.answers))
            else:
                usable.append(rs)
        if usable:
            self.resolvers = usable
        return [rs.name for rs in usable], problems


# A malformed answer's detail is stored with its question (as collect/wire.py's): data, in English.
_ID_MISMATCH = "TCP answer id does not match the query"


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.split("%")[0]) == ipaddress.ip_address(b)
    except ValueError:
        return False
