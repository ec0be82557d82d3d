"""Asynchronous DNS client for national-scale scans.

One :class:`Transport` sends every question of a scan to a pool of
recursive resolvers over UDP (a handful of sockets, 16-bit ids matched to
pending questions), falls back to TCP when an answer is truncated, retries
timeouts on the next resolver (round-robin with failover), and keeps the
number of questions in flight inside an adaptive window that shrinks when
timeouts or SERVFAILs rise and grows back when they fall.  An optional
``qps`` cap limits the global send rate.

Every reply is validated against its question: it must come from the
resolver it was sent to, carry the query id, and repeat the question (name
and type); a reply that does not is recorded as ``malformed``.  Nothing here
decides what an answer *means*: that is :mod:`stekker.collect.engine`.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import random
import socket
import time
from dataclasses import dataclass, field

from stekker.collect.wire import Answer, WireError, build_query, decode_response, encode_name, qtype_code
from stekker.evidence import ErrorKind

_RCODE_ERRORS = {
    "SERVFAIL": ErrorKind.SERVFAIL,
    "REFUSED": ErrorKind.REFUSED,
    "FORMERR": ErrorKind.FORMERR,
    "NOTIMP": ErrorKind.NOTIMP,
}


class NoResolverError(RuntimeError):
    """No configured resolver answers at all (offline machine, wrong address)."""


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address -> (ip, port)."""
    t = text.strip()
    port = 53
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif t.count(":") == 1:
        host, _, p = t.partition(":")
        port = int(p)
    else:
        host = t
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"resolver must be an IP address (optionally :PORT), got {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"resolver port out of range in {text!r}")
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
        raise NoResolverError(f"cannot read the system's resolver configuration: {exc}") from None
    out = []
    for ns in r.nameservers:
        try:
            out.append(parse_resolver(str(ns)))
        except ValueError:
            continue  # DoH/DoT URLs are not usable here
    if not out:
        raise NoResolverError("the system has no usable nameserver configured; pass --resolver IP")
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


class _Window:
    """An adaptive limit on questions in flight (AIMD)."""

    def __init__(self, initial: int, minimum: int, maximum: int):
        self.limit = initial
        self.minimum = minimum
        self.maximum = maximum
        self.inflight = 0
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self) -> None:
        if self.inflight < self.limit and not self._waiters:
            self.inflight += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # we were handed a slot we no longer use
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        self.inflight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.inflight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self.inflight += 1
                fut.set_result(None)

    def resize(self, limit: int) -> None:
        self.limit = max(self.minimum, min(self.maximum, limit))
        self._wake()


class _RateLimiter:
    """Token bucket for a global queries-per-second cap (0 = unlimited)."""

    def __init__(self, qps: float):
        self.qps = qps
        self.tokens = min(qps, 100.0) if qps else 0.0
        self.last = time.monotonic()

    async def acquire(self) -> None:
        if not self.qps:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(self.qps / 10 + 1, self.tokens + (now - self.last) * self.qps)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.qps)


@dataclass(slots=True)
class _Pending:
    fut: asyncio.Future
    addr: tuple[str, int]
    qname: str
    qtype: int
    deadline: float


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


@dataclass
class TransportConfig:
    timeout: float = 2.0  # seconds per attempt
    retries: int = 2  # further attempts after the first (timeouts, malformed; SERVFAIL/REFUSED with failover)
    qps: float = 0.0  # global cap; 0 = none
    window: int = 1024  # initial questions in flight
    window_min: int = 16
    window_max: int = 4096
    sockets: int = 4
    edns: bool = True
    tcp_timeout: float = 4.0


class Transport:
    def __init__(self, resolvers: list[tuple[str, int]], config: TransportConfig | None = None):
        if not resolvers:
            raise NoResolverError("no resolver given")
        self.config = config or TransportConfig()
        self.resolvers = [_ResolverState(addr) for addr in resolvers]
        self.stats = TransportStats()
        self._rr = 0
        self._window = _Window(self.config.window, self.config.window_min, self.config.window_max)
        self._rate = _RateLimiter(self.config.qps)
        self._protos: dict[int, list[_UdpProto]] = {}  # family -> sockets
        self._pending: list[dict[int, _Pending]] = []
        self._timeouts: collections.deque[tuple[float, int, int, asyncio.Future]] = collections.deque()
        self._name_cache: dict[str, bytes] = {}
        self._sweeper: asyncio.Task | None = None
        self._tuner: asyncio.Task | None = None
        self._sock_rr = 0
        self.last_reply = time.monotonic()
        self._recent = collections.deque(maxlen=64)  # (answers, bad) per tuning tick
        self._tick_answers = 0
        self._tick_bad = 0
        self._closed = False

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        families = {socket.AF_INET6 if ":" in r.addr[0] else socket.AF_INET for r in self.resolvers}
        for fam in sorted(families):
            protos = []
            for _ in range(self.config.sockets):
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
                _, proto = await loop.create_datagram_endpoint(lambda i=idx: _UdpProto(self, i), sock=sock)
                protos.append(proto)
            self._protos[fam] = protos
        self._sweeper = asyncio.create_task(self._sweep())
        self._tuner = asyncio.create_task(self._tune())
        self.last_reply = time.monotonic()

    async def close(self) -> None:
        self._closed = True
        for t in (self._sweeper, self._tuner):
            if t:
                t.cancel()
        for protos in self._protos.values():
            for p in protos:
                if p.transport:
                    p.transport.close()
        for pend in self._pending:
            for p in pend.values():
                if not p.fut.done():
                    p.fut.cancel()
            pend.clear()

    @property
    def inflight(self) -> int:
        return self._window.inflight

    @property
    def window(self) -> int:
        return self._window.limit

    # ---------------------------------------------------------------- receive
    def _on_datagram(self, idx: int, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        qid = (data[0] << 8) | data[1]
        pend = self._pending[idx].get(qid)
        if pend is None:
            return  # late (already timed out) or unsolicited: ignore
        if addr[1] != pend.addr[1] or (addr[0] != pend.addr[0] and not _same_ip(addr[0], pend.addr[0])):
            self.stats.mismatched += 1
            return  # not from the resolver we asked: keep waiting for the real answer
        del self._pending[idx][qid]
        self.last_reply = time.monotonic()
        if not pend.fut.done():
            pend.fut.set_result(data)

    def _on_socket_error(self, idx: int, exc: Exception) -> None:
        # ICMP errors are not tied to a query id on unconnected sockets; the
        # affected questions time out and are retried.
        pass

    async def _sweep(self) -> None:
        """Expire pending UDP questions whose deadline passed (one timer for all)."""
        dq = self._timeouts
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            while dq and dq[0][0] <= now:
                _, idx, qid, fut = dq.popleft()
                pend = self._pending[idx].get(qid)
                if pend is not None and pend.fut is fut:
                    del self._pending[idx][qid]
                if not fut.done():
                    fut.set_result(None)  # None = timeout

    async def _tune(self) -> None:
        """Every 0.5 s: shrink the window when >10% of outcomes were timeouts or
        SERVFAILs (multiplicative), grow it slowly when <2% (additive)."""
        while True:
            await asyncio.sleep(0.5)
            total = self._tick_answers + self._tick_bad
            if total >= 20:
                bad = self._tick_bad / total
                if bad > 0.10:
                    self._window.resize(int(self._window.limit * 0.7))
                elif bad < 0.02:
                    self._window.resize(self._window.limit + max(8, self._window.limit // 16))
            self._tick_answers = self._tick_bad = 0
            self.stats.window = self._window.limit
            self.stats.window_max_seen = max(self.stats.window_max_seen, self._window.limit)
            if not self.stats.window_min or self._window.limit < self.stats.window_min:
                self.stats.window_min = self._window.limit

    # ------------------------------------------------------------------- send
    def _next_resolver(self, avoid: set[int]) -> int:
        now = time.monotonic()
        n = len(self.resolvers)
        for k in range(n):
            i = (self._rr + k) % n
            r = self.resolvers[i]
            if i not in avoid and r.down_until <= now:
                self._rr = i + 1
                return i
        for k in range(n):  # all down or avoided: any not avoided, else any
            i = (self._rr + k) % n
            if i not in avoid:
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

    async def _udp_once(
        self, addr: tuple[str, int], qname: str, qwire: bytes, qtype: int, timeout: float | None = None
    ) -> bytes | None:
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        protos = self._protos[fam]
        self._sock_rr = (self._sock_rr + 1) % len(protos)
        proto = protos[self._sock_rr]
        idx = proto.idx
        pend = self._pending[idx]
        qid = random.getrandbits(16)
        while qid in pend:
            qid = random.getrandbits(16)
        fut = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + (timeout if timeout is not None else self.config.timeout)
        pend[qid] = _Pending(fut, addr, qname, qtype, deadline)
        self._timeouts.append((deadline, idx, qid, fut))
        msg = build_query(qid, qwire, qtype, self.config.edns)
        self.stats.sent += 1
        try:
            proto.transport.sendto(msg, addr)  # type: ignore[union-attr]
        except OSError:
            pend.pop(qid, None)
            raise
        try:
            return await fut
        finally:
            if pend.get(qid) is not None and pend[qid].fut is fut:
                del pend[qid]

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
            raise WireError("TCP answer id does not match the query")
        return data

    def _validate(self, data: bytes, qname: str, qtype: int) -> Answer:
        ans = decode_response(data)
        if ans.qname != qname.lower().rstrip(".") or ans.qtype != qtype:
            raise WireError(
                f"answer repeats another question ({ans.qname} type {ans.qtype}) than asked ({qname} type {qtype})"
            )
        return ans

    async def query(self, qname: str, qtype: str) -> Reply:
        """Ask one question; never raises for DNS-level failures (see Reply.error)."""
        code = qtype_code(qtype)
        try:
            qwire = self._qname_wire(qname)
        except WireError as exc:
            return Reply(None, None, None, ErrorKind.MALFORMED, f"cannot ask: {exc}", time.time())
        attempts = self.config.retries + 1
        avoid: set[int] = set()
        last_error = ErrorKind.TIMEOUT
        last_detail = None
        last_wire = None
        last_answer = None
        last_resolver = None
        failover = len(self.resolvers) > 1
        servfail_retries = 0
        for attempt in range(attempts):
            ri = self._next_resolver(avoid)
            rs = self.resolvers[ri]
            addr = rs.addr
            last_resolver = format_resolver(addr)
            await self._rate.acquire()
            await self._window.acquire()
            try:
                data = await self._udp_once(addr, qname, qwire, code)
            except OSError as exc:
                data = None
                last_error, last_detail = ErrorKind.OTHER, f"send failed: {exc}"
                self._window.release()
                avoid.add(ri)
                continue
            else:
                self._window.release()
            if data is None:
                self.stats.timeouts += 1
                self._tick_bad += 1
                rs.consecutive_timeouts += 1
                if rs.consecutive_timeouts >= 20 and failover:
                    rs.down_until = time.monotonic() + 5.0
                last_error, last_detail = ErrorKind.TIMEOUT, f"no answer within {self.config.timeout:g} s"
                if failover:
                    avoid.add(ri)
                    if len(avoid) >= len(self.resolvers):
                        avoid.clear()
                continue
            rs.consecutive_timeouts = 0
            rs.answered += 1
            self.stats.received += 1
            tcp = False
            try:
                ans = self._validate(data, qname, code)
                if ans.truncated:
                    tcp = True
                    try:
                        data = await self._tcp_once(addr, qwire, code)
                        ans = self._validate(data, qname, code)
                    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, WireError) as exc:
                        last_error = ErrorKind.TRUNCATED
                        last_detail = f"truncated over UDP; TCP retry failed: {type(exc).__name__} {exc}".strip()
                        last_wire, last_answer = data, None
                        self._tick_bad += 1
                        continue
            except WireError as exc:
                self.stats.malformed += 1
                last_error, last_detail = ErrorKind.MALFORMED, str(exc)
                last_wire, last_answer = data, None
                continue
            err = _RCODE_ERRORS.get(ans.rcode)
            if err is not None:
                if err is ErrorKind.SERVFAIL:
                    self.stats.servfails += 1
                    self._tick_bad += 1
                else:
                    self._tick_answers += 1
                last_error, last_detail = err, f"{ans.rcode} from {last_resolver}"
                last_wire, last_answer = data, ans
                # another resolver may know better; one resolver repeating itself won't
                if failover and servfail_retries < 1 and attempt + 1 < attempts:
                    servfail_retries += 1
                    avoid.add(ri)
                    continue
                return Reply(ans, data, last_resolver, err, last_detail, time.time(), tcp, attempt + 1)
            self._tick_answers += 1
            return Reply(ans, data, last_resolver, None, None, time.time(), tcp, attempt + 1)
        return Reply(last_answer, last_wire, last_resolver, last_error, last_detail, time.time(), False, attempts)

    async def probe(self, timeout: float = 2.0, tries: int = 2) -> list[str]:
        """Ask every resolver for the root NS set; return those that answered.

        Used before a scan so that an offline machine or a wrong address is
        reported within seconds instead of as a timeout on every domain.
        """
        qwire = encode_name(".")
        code = qtype_code("NS")

        async def one(rs: _ResolverState) -> str | None:
            for _ in range(tries):
                try:
                    data = await self._udp_once(rs.addr, ".", qwire, code, timeout)
                except OSError:
                    data = None
                if data is not None:
                    try:
                        decode_response(data)
                    except WireError:
                        continue
                    return format_resolver(rs.addr)
            return None

        res = await asyncio.gather(*(one(r) for r in self.resolvers))
        return [r for r in res if r]


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.split("%")[0]) == ipaddress.ip_address(b)
    except ValueError:
        return False
