"""Microsoft's user-realm look-up: is a domain verified in an Entra ID tenant?

Opt-in (``stekker scan --ms-realm``): it is the one question stekker asks
beyond DNS, and it tells Microsoft which domains are being looked at, so it
is never asked unless the user says so.  The request and its purpose id live
in ``data/plan.yaml`` (``lookups:``).

Microsoft answers ``GET getuserrealm.srf?login=user@<domain>&json=1`` with a
JSON object whose ``NameSpaceType`` is ``Managed`` (the domain is verified in
an Entra ID tenant), ``Federated`` (verified, sign-in passed on to another
identity provider, ``AuthURL``) or ``Unknown`` (no tenant has verified it).
That is stored like a DNS answer, so attribution, export and ``stekker show``
need nothing new:

* ``present`` with one record ``<domain> REALM managed|federated``; for
  ``Federated`` also ``<domain> IDP <host>``, the host of ``AuthURL`` (who
  signs the users in: an own ADFS server, Okta, ...) when it is a valid host
  name (else the row's detail says why it is not there);
* ``absent`` (``nodata``) for ``Unknown``;
* ``error`` for everything else (HTTP status, timeout, not JSON, a
  ``NameSpaceType`` never seen, another domain's answer): an error is never
  taken for "no tenant".

The response body (at most :data:`MAX_BODY` bytes) is kept as the row's raw
answer.  After :data:`FAIL_STREAK` attempts in a row without any HTTP answer
(no route, no name, refused, timeout) the endpoint counts as unreachable:
the remaining domains are recorded as errors saying so, without asking, so an
offline machine ends in seconds (refused, no name) or about a minute (packets
dropped: 20 timeouts of 10 s, 4 at a time), not hours.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Iterable

from stekker.collect.engine import LookupCounts
from stekker.evidence import IDP_RTYPE, RR, AbsentKind, ErrorKind, QueryResult, Status
from stekker.i18n import N_, Said, _

MAX_BODY = 64 * 1024  # a realm answer is a few hundred bytes
FAIL_STREAK = 20  # attempts in a row without an HTTP answer: the endpoint is unreachable
THROTTLE_STREAK = 50  # HTTP 429/5xx answers in a row: the endpoint keeps refusing, stop asking
RETRY_AFTER_MAX = 60.0  # seconds: a longer Retry-After is not waited for in full
NAMESPACES = {"managed": Status.PRESENT, "federated": Status.PRESENT, "unknown": Status.ABSENT}


class RealmURLError(ValueError):
    pass


def check_url(url: str) -> str:
    """A realm URL template as given by a user: https (http only to a
    loopback address, for a local mirror or the lab), with ``{domain}``,
    a host and a valid port."""
    if "{domain}" not in url:
        raise RealmURLError(_("the realm URL needs {{domain}} where the domain goes").format())
    try:
        parts = urllib.parse.urlsplit(url.replace("{domain}", "example.nl"))
        port = parts.port  # a port that is no number or out of range raises here
    except ValueError as exc:
        raise RealmURLError(_("the realm URL is not a valid URL ({error})").format(error=exc)) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RealmURLError(_("the realm URL must be an https:// URL"))
    import httpx
    import idna

    try:  # what the HTTP client refuses: the URL, or a host that is no IDNA name (xn--)
        httpx.URL(url.replace("{domain}", "example.nl"))
        try:
            ipaddress.ip_address(parts.hostname)
        except ValueError:
            idna.encode(parts.hostname, uts46=True)
    except (httpx.InvalidURL, idna.IDNAError, ValueError, UnicodeError) as exc:
        raise RealmURLError(_("the realm URL is not a valid URL ({error})").format(error=str(exc)[:120])) from None
    if port == 0:
        raise RealmURLError(_("the realm URL has port 0"))
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if not loopback:
            raise RealmURLError(_("the realm URL must be https:// (http:// only to a loopback address)"))
    return url


class RealmSetupError(RuntimeError):
    """The HTTP client cannot be set up (a proxy it cannot use, no TLS
    roots): nothing was asked."""


@dataclass(slots=True)
class RealmConfig:
    url: str  # template with {domain}
    concurrency: int = 4
    qps: float = 20.0  # requests per second at most (Microsoft throttles bursts)
    timeout: float = 10.0
    retries: int = 2  # further attempts after a timeout, a connection error or HTTP 429/5xx
    backoff: float = 2.0  # seconds before the n-th retry of a 429/5xx: backoff * n (at most 30)
    purpose: str = "ms_realm"
    qtype: str = "REALM"


@dataclass(slots=True)
class RealmCounts(LookupCounts):
    not_asked: int = 0  # recorded as errors after the endpoint counted as unreachable
    unreachable: str | None = None  # why the endpoint counted as unreachable (then not_asked > 0 or soon)


def _error(cfg: RealmConfig, domain: str, kind: ErrorKind, detail: str, rcode: str | None = None) -> QueryResult:
    return QueryResult(domain=domain, purpose=cfg.purpose, qname=domain, qtype=cfg.qtype, status=Status.ERROR,
                       error_kind=kind, rcode=rcode, detail=detail[:300], ts=time.time())


def parse_realm(cfg: RealmConfig, domain: str, http_status: int, body: bytes) -> QueryResult:
    """One realm response as a stored result (see the module text)."""
    rcode = f"HTTP {http_status}"
    if http_status != 200:
        return _error(cfg, domain, ErrorKind.OTHER, f"the realm endpoint answered HTTP {http_status}", rcode)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: hostile nesting ([[[[...)
        return _error(cfg, domain, ErrorKind.MALFORMED, "the realm answer is not JSON", rcode)
    if not isinstance(data, dict):
        return _error(cfg, domain, ErrorKind.MALFORMED, "the realm answer is not a JSON object", rcode)
    ns = data.get("NameSpaceType")
    status = NAMESPACES.get(ns.lower()) if isinstance(ns, str) else None
    if status is None:
        return _error(cfg, domain, ErrorKind.MALFORMED,
                      f"unexpected NameSpaceType {str(ns)[:40]!r} in the realm answer", rcode)
    named = data.get("DomainName")
    if status is Status.PRESENT and isinstance(named, str) and named.lower().rstrip(".") != domain:
        # an answer for another domain (a parent's tenant, a proxy's cache) is not this domain's
        return _error(cfg, domain, ErrorKind.MALFORMED,
                      f"the realm answer is for another domain ({named[:80]!r})", rcode)
    if status is Status.ABSENT:
        return QueryResult(domain=domain, purpose=cfg.purpose, qname=domain, qtype=cfg.qtype, status=status,
                           absent_kind=AbsentKind.NODATA, rcode=rcode, ts=time.time(),
                           detail="NameSpaceType Unknown: no Entra ID tenant has verified this domain")
    answers = [RR(domain, cfg.qtype, 0, ns.lower())]
    detail = None
    if ns.lower() == "federated":
        host, detail = idp_host(data.get("AuthURL"))
        if host is not None:
            answers.append(RR(domain, IDP_RTYPE, 0, host))
    return QueryResult(domain=domain, purpose=cfg.purpose, qname=domain, qtype=cfg.qtype, status=status,
                       rcode=rcode, answers=answers, detail=detail, ts=time.time())


def idp_host(auth_url: object) -> tuple[str | None, str | None]:
    """(host, None) for a federated answer's ``AuthURL``, or (None, why not):
    the host as a normalised A-label name (an IP address, a non-http(s) URL
    or a host that is no valid name is kept out, never guessed at)."""
    from stekker.targets import NameProblem, normalise_host

    if not isinstance(auth_url, str) or not auth_url.strip():
        return None, "federated, but the answer names no AuthURL (identity provider not known)"
    url = auth_url.strip()
    shown = repr(url[:80])
    if len(url) > 4096:
        return None, f"federated; AuthURL {shown}... is {len(url)} characters long (identity provider not known)"
    if not url.lower().startswith(("https://", "http://")):
        return None, f"federated; AuthURL {shown} is not an http(s) URL (identity provider not known)"
    if "\\" in url.split("?", 1)[0].split("#", 1)[0]:
        # a browser reads a backslash as a slash ('https://evil.example\@idp.example/' goes to evil.example),
        # Python's URL parser does not: such a host is not taken at face value
        return None, f"federated; AuthURL {shown} has a backslash before its query (identity provider not known)"
    try:
        return normalise_host(url), None
    except NameProblem as exc:
        return None, f"federated; AuthURL {shown} has no usable host name: {exc.reason[:120]}"


def _tls_context() -> ssl.SSLContext:
    """Certificates are checked against the system's roots (which honour
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``, e.g. a TLS-inspecting proxy's root)
    and certifi's (a system without a root store still works)."""
    import certifi

    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cafile=certifi.where())
    return ctx


def _retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date),
    at most :data:`RETRY_AFTER_MAX`; ``default`` when absent or unreadable."""
    if value:
        try:
            secs = float(value)
        except ValueError:
            try:
                import email.utils

                when = email.utils.parsedate_to_datetime(value)
                secs = when.timestamp() - time.time()
            except (TypeError, ValueError, IndexError, OverflowError):
                secs = default
        if secs == secs:  # not NaN
            return max(0.0, min(RETRY_AFTER_MAX, secs))
    return max(0.0, min(RETRY_AFTER_MAX, default))


class _Pace:
    """At most ``qps`` request starts per second over all tasks; ``hold``
    keeps every task from starting one before a moment (Retry-After)."""

    def __init__(self, qps: float) -> None:
        self.gap = 1.0 / qps if qps > 0 else 0.0
        self.next = 0.0
        self.lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        self.next = max(self.next, time.monotonic() + seconds)

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if self.next > now:
                await asyncio.sleep(self.next - now)
            self.next = max(now, self.next) + self.gap


async def ask_realms(domains: Iterable[str], cfg: RealmConfig,
                     on_result: Callable[[QueryResult, bytes | None], None],
                     stop: asyncio.Event | None = None) -> RealmCounts:
    """Ask the realm of every domain; ``on_result(result, body)`` for each, in
    the order they finish.  ``stop`` set: no new look-ups start (the domains
    not reached get no row and are asked again on resume)."""
    import httpx

    counts = RealmCounts()
    parts = urllib.parse.urlsplit(cfg.url.replace("{domain}", "x"))
    origin = f"{parts.scheme}://{parts.netloc}"  # stored as the row's "resolver": who was asked, over HTTP(S)
    pace = _Pace(cfg.qps)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for d in domains:
        queue.put_nowait(d)
    # streak: attempts in a row without an HTTP answer; throttled: 429/5xx answers in a row
    state: dict = {"streak": 0, "throttled": 0, "unreachable": None, "answered": False, "last": None}
    timeout = httpx.Timeout(cfg.timeout)
    limits = httpx.Limits(max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency)
    headers = {"Accept": "application/json", "User-Agent": "stekker (sovereignty measurement; opt-in realm check)"}

    def give_up(why: str) -> None:
        if state["unreachable"] is None:
            state["unreachable"] = why

    async def one(client: httpx.AsyncClient, domain: str) -> tuple[QueryResult, bytes | None]:
        url = cfg.url.replace("{domain}", urllib.parse.quote(domain, safe=".-"))
        last: QueryResult | None = None
        for attempt in range(cfg.retries + 1):
            if attempt and state["unreachable"] is not None:
                break
            await pace.wait()
            try:
                async with client.stream("GET", url) as resp:
                    state["answered"] = True
                    body = b""
                    async for chunk in resp.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BODY:
                            state["streak"] = state["throttled"] = 0
                            return _error(cfg, domain, ErrorKind.MALFORMED,
                                          f"the realm answer is larger than {MAX_BODY} bytes",
                                          f"HTTP {resp.status_code}"), None
                    state["streak"] = 0
                    if resp.status_code == 429 or resp.status_code >= 500:
                        last = parse_realm(cfg, domain, resp.status_code, body)
                        state["throttled"] += 1
                        if state["throttled"] >= THROTTLE_STREAK:
                            give_up(Said(N_("answered HTTP {status} {n} times in a row (throttled or failing)"),
                                         status=resp.status_code, n=THROTTLE_STREAK))
                            break
                        wait = _retry_after(resp.headers.get("Retry-After"), cfg.backoff * (attempt + 1))
                        pace.hold(wait)  # every request waits: the endpoint asked to slow down
                        if attempt < cfg.retries:  # this domain's own pause, not after its last attempt
                            await asyncio.sleep(wait)
                        continue
                    state["throttled"] = 0
                    return parse_realm(cfg, domain, resp.status_code, body), body
            except httpx.TimeoutException:
                last = _error(cfg, domain, ErrorKind.TIMEOUT, f"no answer from the realm endpoint in {cfg.timeout:g} s")
            except (httpx.HTTPError, OSError) as exc:
                last = _error(cfg, domain, ErrorKind.OTHER,
                              f"the realm endpoint could not be reached: {type(exc).__name__}: {str(exc)[:160]}")
            state["streak"] += 1
            state["last"] = last.detail
            if state["streak"] >= FAIL_STREAK:
                give_up(Said(N_("did not answer {n} attempts in a row ({detail})"), n=FAIL_STREAK, detail=last.detail))
                break
        if last is None:  # given up before the first attempt was answered
            last = _error(cfg, domain, ErrorKind.OTHER, f"not asked: the realm endpoint {state['unreachable']}")
        return last, None

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            if stop is not None and stop.is_set():
                return
            domain = queue.get_nowait()
            if state["unreachable"] is not None:
                r = _error(cfg, domain, ErrorKind.OTHER, f"not asked: the realm endpoint {state['unreachable']}")
                r.resolver = origin
                counts.not_asked += 1
                counts.add(r)
                on_result(r, None)
                continue
            try:
                r, body = await one(client, domain)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - recorded as this domain's error, never a lost domain
                r, body = _error(cfg, domain, ErrorKind.OTHER,
                                 f"the realm look-up failed: {type(exc).__name__}: {str(exc)[:160]}"), None
                state["streak"] += 1
                state["last"] = r.detail
                if state["streak"] >= FAIL_STREAK:
                    give_up(Said(N_("failed {n} attempts in a row ({detail})"), n=FAIL_STREAK, detail=r.detail))
            r.resolver = origin
            counts.add(r)
            on_result(r, body)

    try:
        client_cm = httpx.AsyncClient(timeout=timeout, limits=limits, headers=headers, follow_redirects=False,
                                      verify=_tls_context())
    except Exception as exc:  # noqa: BLE001 - setup only (a socks5:// proxy without socksio, a proxy URL httpx refuses)
        raise RealmSetupError(_("cannot set up the HTTPS client for the realm look-up: {kind}: {error} (check "
                                "HTTPS_PROXY / ALL_PROXY and SSL_CERT_FILE)").format(kind=type(exc).__name__,
                                                                                     error=str(exc)[:200])) from None
    async with client_cm as client:
        tasks = [asyncio.ensure_future(worker(client)) for _n in range(max(1, cfg.concurrency))]

        async def watch() -> None:  # stop: look-ups in flight are dropped (no row: asked again on resume)
            assert stop is not None
            await stop.wait()
            for t in tasks:
                t.cancel()

        watcher = asyncio.ensure_future(watch()) if stop is not None else None
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if watcher is not None:
                watcher.cancel()
        for t in tasks:
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()  # a defect outside one domain's look-up: never swallowed
    if state["unreachable"] is None and not state["answered"] and state["last"] is not None:
        # a short list never reaches the streak
        state["unreachable"] = Said(N_("did not answer any look-up ({detail})"), detail=state["last"])
    counts.unreachable = state["unreachable"]
    return counts


def run_realm(store, scan_id: int, cfg: RealmConfig, say: Callable[[str], None] = lambda m: None,
              batch: int = 100, redo_errors: bool = False) -> tuple[RealmCounts, bool]:
    """Ask the realm of every done, existing domain of the scan that has no
    realm row yet (``redo_errors``: or an error row) and store the answers
    (``batch`` domains per transaction).
    Returns the counts and whether Ctrl-C/SIGTERM stopped it (the domains not
    reached are asked on ``stekker scan --resume``)."""
    domains = store.domains_lacking(scan_id, cfg.purpose, redo_errors)
    if not domains:
        return RealmCounts(), False
    say(_("Microsoft realm check (--ms-realm): {n:,} domains, at most {qps:g} per second").format(n=len(domains),
                                                                                                qps=cfg.qps))
    pending: list[tuple[str, list[tuple[QueryResult, bytes | None]]]] = []
    done = [0]

    def flush() -> None:
        if pending:
            store.add_results(scan_id, cfg.purpose, pending)
            done[0] += len(pending)
            pending.clear()

    def on_result(r: QueryResult, body: bytes | None) -> None:
        pending.append((r.domain, [(r, body)]))
        if len(pending) >= batch:
            flush()
            if done[0] % 1000 < batch:
                say("  " + _("realm: {done:,} of {total:,}").format(done=done[0], total=len(domains)))

    async def main() -> tuple[RealmCounts, bool]:
        from stekker.collect.run import stop_on_signals

        stop = asyncio.Event()
        with stop_on_signals(asyncio.get_running_loop(), stop):
            counts = await ask_realms(domains, cfg, on_result, stop)
        return counts, stop.is_set()

    try:
        counts, stopped = asyncio.run(main())
    finally:
        flush()
    return counts, stopped
