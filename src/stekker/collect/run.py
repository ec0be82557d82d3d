"""Run a scan: stream pending targets from the store through the engine and
write each finished domain back, with progress, Ctrl-C and resume.

The store is the queue: targets are inserted first (streamed from the input
file), then read back in input order in batches of those not yet done.  A
bounded number of domains is in flight; finished domains go to a writer
thread in batches (one transaction per batch, all-or-nothing), so memory
stays flat however long the input is, and a crash or ``kill -9`` loses at
most the domains that were in flight — ``stekker scan --resume ID`` does
exactly those again.

Size (over 400 lines on purpose): the in-process and the multi-process
runner, the writer thread and progress share ``RunOptions``/``RunResult``
and the resume contract above.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from stekker.collect.engine import DEFAULT_DOMAIN_DEADLINE, DomainScanner, ScanCounters
from stekker.collect.plan import load_plan
from stekker.collect.transport import NoResolverError, Transport, TransportConfig, format_resolver
from stekker.i18n import N_, Said, _, ngettext, num, shown


# The cyclic garbage collector's default (collect the young generation every
# 700 new container objects) cost about a fifth of a scan's CPU: a question
# lives for milliseconds to seconds, so with the default it survives into the
# old generations, whose collections then walk every live question, cache
# entry and pending domain again and again.  During a scan the young
# generation is collected every GC_YOUNG allocations instead (by then nearly
# every question is answered and freed by reference counting), and what was
# loaded before the scan (plan, knowledge, modules) is frozen out of the
# collector's walks.  Cycles are still collected, so memory stays flat.
GC_YOUNG = 50_000


@contextlib.contextmanager
def scan_gc():
    """Collector settings for the duration of a scan (restored afterwards)."""
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


class ScanAborted(RuntimeError):
    """The scan stopped because no resolver answers any more."""


class StoreWriteFailed(RuntimeError):
    """The database refused the answers (a full disk, a lost PostgreSQL connection): what was
    committed before is kept.  ``lost_connection``: the database server went away (a network
    failure), else the database itself (a full disk, a read-only file)."""

    def __init__(self, reason: str, lost_connection: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.lost_connection = lost_connection


def store_write_failed(exc: BaseException, dialect: str) -> StoreWriteFailed | None:
    """``exc`` as a :class:`StoreWriteFailed` when it is the database's error (None otherwise): its
    first line, without SQLAlchemy's wrapping and "Background on this error" link.  An operational
    error of a PostgreSQL database is a lost connection."""
    if isinstance(exc, StoreWriteFailed):
        return exc
    import sqlite3

    import sqlalchemy.exc as sa_exc

    if not isinstance(exc, (sa_exc.DBAPIError, sqlite3.Error)):
        return None
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    lost = isinstance(exc, sa_exc.OperationalError) and dialect == "postgresql"
    return StoreWriteFailed(lines[0] if lines else type(orig).__name__, lost_connection=lost)


@dataclass
class RunOptions:
    concurrency: int = 0  # domains in flight; 0 = derived from the transport window
    batch: int = 200  # domains per write transaction
    progress: str = "auto"  # auto|bar|lines|none
    progress_interval: float = 10.0  # seconds between plain progress lines
    domain_deadline: float = DEFAULT_DOMAIN_DEADLINE  # seconds one domain may take (0 = none)
    lookahead: int = 4096  # domains whose SOA and NS are asked before their turn
    probe: bool = True  # check the resolvers answer before starting
    workers: int = 1  # engine processes; the window and the qps cap are shared out among them


@dataclass
class RunResult:
    scan_id: int
    state: str  # finished|interrupted|aborted
    counters: ScanCounters
    elapsed: float
    transport: dict = field(default_factory=dict)
    message: str | None = None

    @property
    def qps(self) -> float:
        return self.counters.queries / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> dict:
        d = self.counters.to_dict()
        d.update(
            elapsed_s=round(self.elapsed, 3),
            queries_per_s=round(self.qps, 1),
            domains_per_s=round(self.counters.domains / self.elapsed, 1) if self.elapsed > 0 else 0.0,
            transport=self.transport,
            state=self.state,
        )
        if self.message:
            d["message"] = self.message
        return d


class _Writer(threading.Thread):
    """Writes finished domains in batches on its own thread."""

    def __init__(self, store, scan_id: int, batch: int):
        super().__init__(name="stekker-writer", daemon=True)
        self.store = store
        self.scan_id = scan_id
        self.batch = batch
        # back-pressure: the engine waits while more than `max_backlog` batches
        # wait here (see backlog()); the hard bound only guards against a bug
        self.max_backlog = 4
        self.q: queue.Queue = queue.Queue(maxsize=64)
        self.error: BaseException | None = None
        self._buf: list = []
        self._last = time.monotonic()
        self.max_delay = 1.0  # seconds a finished domain may wait before it is committed

    def put(self, item) -> None:
        self._buf.append(item)
        if len(self._buf) >= self.batch or time.monotonic() - self._last > self.max_delay:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if self._buf:
            self.q.put(self._buf)
            self._buf = []

    def backlog(self) -> int:
        return self.q.qsize()

    def close(self) -> None:
        self.flush()
        self.q.put(None)
        self.join()
        if self.error:
            raise self.error

    def run(self) -> None:
        while True:
            items = self.q.get()
            if items is None:
                return
            if self.error:
                continue
            try:
                self.store.write_domains(self.scan_id, items)
            except BaseException as exc:  # surfaced by close()
                self.error = exc


class _Progress:
    def __init__(self, mode: str, total: int, interval: float, label: str):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode
        self.total = total
        self.interval = interval
        self.label = label
        self.start = time.monotonic()
        self.last = self.start
        self._bar = None
        if mode == "bar":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total or None, rate="")

    def update(self, c: ScanCounters, window: int, slow: int = 0, paused: float = 0.0) -> None:
        now = time.monotonic()
        el = max(now - self.start, 1e-9)
        extra = ""
        if slow:
            extra += _(", {n} waiting on slow zones").format(n=slow)
        if paused:
            extra += _(", PAUSED: no resolver answers (for {seconds:.0f} s; resumes by itself)").format(seconds=paused)
        if self._bar is not None:
            self._bar.update(
                self._task, completed=c.domains,
                rate=_("{domains:,.0f} dom/s {queries:,.0f} q/s err {errors}{extra}").format(
                    domains=c.domains / el, queries=c.queries / el, errors=c.error, extra=extra),
            )
        elif self.mode == "lines" and now - self.last >= self.interval:
            self.last = now
            pct = f" ({num(100 * c.domains / self.total, '.1f')}%)" if self.total else ""
            eta = ""
            if self.total and c.domains:
                eta = _(", ETA {seconds:.0f} s").format(seconds=max(0.0, (self.total - c.domains) / (c.domains / el)))
            print(
                _("{label}: {done}/{total} domains{pct}, {queries} queries, {qps:,.0f} q/s, window {window}, "
                  "domain errors {errors}{eta}{extra}").format(
                    label=self.label, done=c.domains, total=self.total, pct=pct, queries=c.queries,
                    qps=c.queries / el, window=window, errors=c.error, eta=eta, extra=extra),
                file=sys.stderr, flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


async def _run_async(store, scan_id: int, transport: Transport, opts: RunOptions,
                     stop: asyncio.Event, total: int, shard: tuple[int, int] | None = None,
                     report: Callable[[ScanCounters, int, float], None] | None = None) -> RunResult:
    plan = load_plan()
    scanner = DomainScanner(transport, plan, domain_deadline=opts.domain_deadline)
    counters = ScanCounters()
    writer = _Writer(store, scan_id, opts.batch)
    writer.start()
    progress = _Progress(opts.progress, total, opts.progress_interval, f"scan {scan_id}")
    started = time.monotonic()
    state = "finished"
    message = None
    concurrency = opts.concurrency or max(64, transport.window_max // 4)
    free = concurrency  # domains that may still start
    wake: asyncio.Future | None = None  # the loop waits on it for a free place, a stop or an abort
    tasks: set[asyncio.Task] = set()
    aborted = asyncio.Event()

    def release(*_args) -> None:
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def stop_or_abort() -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(aborted.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    stopper = asyncio.ensure_future(stop_or_abort())  # one for the run, not three tasks per domain
    stopper.add_done_callback(release)

    def done_cb(task: asyncio.Task, domain: str) -> None:
        nonlocal free
        tasks.discard(task)
        free += 1
        release()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # a bug, not a DNS outcome: keep the domain pending and stop loudly
            nonlocal message
            message = Said(N_("internal error while scanning {domain}: {error}"), domain=domain,
                           error=f"{type(exc).__name__}: {exc}")
            aborted.set()
            return
        status, rows = task.result()
        counters.add_domain(status, rows)
        writer.put((domain, status, rows))

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(0.5)
            progress.update(counters, transport.window, transport.waiting_on_slow_zones(), transport.paused_for())
            if report is not None:
                report(counters, transport.waiting_on_slow_zones(), transport.paused_for())
            if time.monotonic() - writer._last > writer.max_delay:
                writer.flush()
            if writer.error is not None:
                # the database refused a batch (a full disk, a lost server): nothing measured from
                # here on could be kept, so stop now instead of asking the rest of the list first
                # (writer.close() raises the error)
                aborted.set()
                return
            if transport.dead:
                # the liveness checks failed for outage_max seconds: a real
                # outage (a live but busy resolver answers them from its cache)
                nonlocal message
                message = Said(N_("no resolver has answered for {seconds:.0f} s, not even the root's name servers "
                                  "from its cache ({resolvers}); stopping"), seconds=transport.config.outage_max,
                               resolvers=", ".join(format_resolver(r.addr) for r in transport.resolvers))
                aborted.set()
                return

    dog = asyncio.create_task(watchdog())
    try:
        def mine():
            for t in store.pending_targets(scan_id):
                if shard is None or t["seq"] % shard[1] == shard[0]:
                    yield t  # (else another worker's domain)

        # Look ahead: the SOA and NS of the domains a few thousand places on
        # are asked early, so a lame zone's timeouts overlap the scan of the
        # domains before it instead of piling up at the end (issue 8).
        ahead: collections.deque = collections.deque()
        targets = mine()
        lookahead = max(0, opts.lookahead)

        def next_target():
            while len(ahead) <= lookahead:
                t = next(targets, None)
                if t is None:
                    break
                if lookahead:
                    scanner.ask_early(t["domain"])
                ahead.append(t)
            return ahead.popleft() if ahead else None

        while True:
            t = next_target()
            if t is None:
                break
            if stop.is_set() or aborted.is_set():
                break
            while writer.backlog() > writer.max_backlog and not (stop.is_set() or aborted.is_set()):
                await asyncio.sleep(0.02)  # the database is behind: do not pile up answers in memory
            while free <= 0 and not (stop.is_set() or aborted.is_set()):
                wake = asyncio.get_running_loop().create_future()
                await wake
            if stop.is_set() or aborted.is_set():
                break
            free -= 1
            domain = t["domain"]
            task = asyncio.ensure_future(scanner.scan(domain, t.get("hosts") or []))
            tasks.add(task)
            task.add_done_callback(lambda tk, d=domain: done_cb(tk, d))
        while tasks and not stop.is_set() and not aborted.is_set():
            await asyncio.wait(list(tasks), timeout=0.5)
    finally:
        stopper.cancel()
        scanner.forget_early()
        if tasks:  # interrupted: drop half-scanned domains, they stay pending
            for tk in list(tasks):
                tk.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        dog.cancel()
        progress.update(counters, transport.window, transport.waiting_on_slow_zones())
        progress.close()
        writer.close()
    if aborted.is_set():
        state = "aborted"
    elif stop.is_set():
        state = "interrupted"
        message = Said(_INTERRUPTED)
    counters.cache_hits = scanner.cache_hits
    st = transport.stats
    return RunResult(
        scan_id, state, counters, time.monotonic() - started,
        transport={"sent": st.sent, "received": st.received, "timeouts": st.timeouts, "servfails": st.servfails,
                   "malformed": st.malformed, "tcp": st.tcp, "mismatched": st.mismatched,
                   "window_final": transport.window, "window_min": st.window_min, "window_max": st.window_max_seen,
                   "slow_zones": st.slow_zones, "distress_ticks": st.distress_ticks, "probes": st.probes,
                   "outages": st.outages, "paused_s": st.paused_s, "refused_requeued": st.refused_requeued,
                   "loss_requeued": st.loss_requeued,
                   "zone_unreachable_domains": scanner.unreachable, "deadline_domains": scanner.deadlines},
        message=message,
    )


def _runner():
    try:
        import uvloop  # type: ignore

        return uvloop.run
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run


async def _probe(transport: Transport) -> dict[str, str]:
    """Check the resolvers before anything is written; returns those left out."""
    ok, problems = await transport.probe()
    if not ok:
        silent = all(why.startswith("no answer") for why in problems.values())
        # shown translated, stored (the aborted scan's message) in English: NoResolverError.record;
        # why each resolver failed is the probe's record (the scan's summary keeps it): English
        raise NoResolverError.of(
            N_("no DNS resolver answered ({problems}): is this machine offline, or is the --resolver address "
               "wrong? No domain was measured.") if silent else
            N_("no working DNS resolver ({problems}): use another --resolver. No domain was measured."),
            problems=tuple(Said(N_("{resolver}: {why}"), resolver=r, why=why) for r, why in problems.items()))
    for r, why in problems.items():
        print(_("warning: resolver {resolver} left out: {why}").format(resolver=r, why=shown(why)), file=sys.stderr,
              flush=True)
    return problems


def _is_local(ip: str) -> bool:
    import ipaddress

    a = ipaddress.ip_address(ip.split("%")[0])
    return a.is_loopback or a.is_private or a.is_link_local


def choose_workers(resolvers: list[tuple[str, int]], config: TransportConfig | None = None,
                   cpus: int | None = None) -> tuple[int, str]:
    """How many engine processes a scan with default options should use, and
    why (said on the scan's first line).

    One Python engine process tops out near 12,000 questions a second; a
    resolver on this machine or the local network that answers the start-up
    check within 10 ms can take more, so use one process per core (at most
    4).  A public resolver rate-limits its clients: one process, whose window
    adapts to it.  Raises NoResolverError like the start-up check."""
    config = config or TransportConfig()
    cpus = cpus or os.cpu_count() or 1

    async def probe() -> list[float]:
        t = Transport(resolvers, config)
        await t.start()
        try:
            rtts = []
            for i in range(len(t.resolvers)):
                t0 = time.monotonic()
                rep = await t.submit(".", "NS", resolver=i, timeout=1.0, retries=0, force=True)
                rtts.append((time.monotonic() - t0) * 1000 if rep.error is None else float("inf"))
            return rtts
        finally:
            await t.close()

    names = ", ".join(format_resolver(r) for r in resolvers)
    if not all(_is_local(ip) for ip, _port in resolvers):
        return 1, _("1 engine process (resolver {names} is not on this machine or a private network; public "
                    "resolvers limit a client's rate)").format(names=names)
    rtts = _runner()(probe())
    best = min(rtts) if rtts else float("inf")
    if best == float("inf"):
        return 1, _("1 engine process (resolver {names} did not answer the check)").format(names=names)
    if best > 10.0:
        return 1, _("1 engine process (resolver {names} on this machine or a private network replied in "
                    "{ms:.0f} ms)").format(names=names, ms=best)
    n = max(1, min(cpus, 4))
    return n, ngettext("{n} engine process (resolver {names} on this machine or a private network replied in "
                       "{ms:.1f} ms; {cpus} cores)",
                       "{n} engine processes (resolver {names} on this machine or a private network replied in "
                       "{ms:.1f} ms; {cpus} cores)", n).format(n=n, names=names, ms=best, cpus=cpus)


def run_scan(store, scan_id: int, resolvers: list[tuple[str, int]], config: TransportConfig | None = None,
             opts: RunOptions | None = None, on_stop_signal: Callable[[], None] | None = None) -> RunResult:
    """Scan every pending target of ``scan_id``; return when done or stopped.

    Raises NoResolverError (before anything is written) when no resolver
    answers the probe.  SIGINT/SIGTERM stop cleanly: domains in flight stay
    pending, finished ones are kept, the scan is marked ``interrupted``.
    With ``opts.workers > 1`` the domains are shared out over that many
    engine processes (see :func:`_run_workers`).
    """
    opts = opts or RunOptions()
    config = config or TransportConfig()
    info = store.scan_info(scan_id)
    counts = info.get("counts", {})
    total = max(0, int(counts.get("targets", 0)) - int(counts.get("done", 0)))
    if opts.workers > 1:
        res = _run_workers(store, scan_id, resolvers, config, opts, total)
        store.finish_scan(scan_id, res.state, res.summary())
        return res

    async def main() -> RunResult:
        transport = Transport(resolvers, config)
        await transport.start()
        stop = asyncio.Event()
        try:
            with stop_on_signals(asyncio.get_running_loop(), stop, on_stop_signal):
                problems = await _probe(transport) if opts.probe else {}
                with store.keep_running(scan_id):  # the run lock: ScanBusy when another process runs it
                    res = await _run_async(store, scan_id, transport, opts, stop, total)
                res.transport["resolvers_left_out"] = problems  # kept in the scan's summary
        finally:
            await transport.close()
        return res

    with scan_gc():
        try:
            res = _runner()(main())
        except Exception as exc:
            failed = store_write_failed(exc, store.dialect)
            if failed is None:
                raise
            raise failed from None
    store.finish_scan(scan_id, res.state, res.summary())
    return res


# -- several engine processes ---------------------------------------------------
#
# One Python process spends about 50 us of CPU per question (decoding,
# sockets, classification, storage; measured on the NOS-size lab), so one
# process is CPU-bound well below what a local resolver answers.
# With --workers N the parent checks the resolvers, then starts N engine
# processes; worker k scans the pending targets whose input position is k
# modulo N, with its own transport (window and qps cap divided by N), its
# own shared-name cache and its own writer on its own database connection.
# The store's per-batch transactions keep every domain complete or pending,
# as with one process. Workers report their counters to the parent, which
# shows one progress bar and writes one summary; a worker dies with the
# parent (PR_SET_PDEATHSIG), so a killed scan leaves nothing running.
# Ctrl-C and SIGTERM are the parent's alone: a worker ignores them from its
# first instant and stops when the parent closes the stop pipe, so a Ctrl-C
# while the workers start is the same clean interrupt as one later on.

def _db_spec(store) -> str:
    """The database of ``store`` as Store.open() takes it (path or URL)."""
    url = store.engine.url
    if store.dialect == "sqlite":
        return url.database
    return url.render_as_string(hide_password=False)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _worker(db: str, scan_id: int, k: int, n: int, resolvers, config: TransportConfig, opts: RunOptions,
            out, stop_r, parent: int | None = None) -> None:
    """Engine process ``k`` of ``n``: its share of the pending targets; reports on ``out`` (a pipe to the
    parent) and stops when the parent closes the other end of ``stop_r``.

    Ctrl-C and SIGTERM are the parent's to handle (a terminal sends Ctrl-C to every process of the group):
    this process starts with them blocked (see :func:`_run_workers`), ignores them from its first line and
    stops only when the parent says so - never half-way through its start-up with a traceback."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # (drops one that arrived while starting: the parent has it too)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    from stekker.workers import die_with_parent

    die_with_parent(parent)
    try:
        from stekker.store import Store

        store = Store.open(db)

        async def main() -> RunResult:
            transport = Transport(resolvers, config)
            await transport.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def stop_now() -> None:  # the parent closed its end (or died)
                loop.remove_reader(stop_r.fileno())
                stop.set()

            loop.add_reader(stop_r.fileno(), stop_now)
            try:
                return await _run_async(store, scan_id, transport, opts, stop, 0, shard=(k, n),
                                        report=lambda c, slow, paused: out.send(
                                            ("progress", k, {**c.to_dict(), "_slow": slow, "_paused": paused})))
            finally:
                loop.remove_reader(stop_r.fileno())
                await transport.close()

        with scan_gc():
            res = _runner()(main())
        out.send(("done", k, {"state": res.state, "counters": res.counters.to_dict(), "transport": res.transport,
                              "message": res.message}))
    except BaseException as exc:  # reported to the parent, which marks the scan aborted
        failed = store_write_failed(exc, "postgresql" if "://" in db else "sqlite")
        try:
            out.send(("done", k, {"state": "aborted", "counters": {}, "transport": {},
                                  "message": Said(N_("worker {k}: {error}"), k=k,
                                                  error=f"{type(exc).__name__}: {exc}"),
                                  "store_failed": failed and [failed.reason, failed.lost_connection]}))
        except OSError:  # the parent is gone (a second Ctrl-C ends it at once): nothing to report to
            os._exit(130)


def _run_workers(store, scan_id: int, resolvers, config: TransportConfig, opts: RunOptions, total: int) -> RunResult:
    if opts.probe:
        async def probe_only() -> tuple[list[tuple[str, int]], dict[str, str]]:
            t = Transport(resolvers, config)
            await t.start()
            try:
                problems = await _probe(t)
                return [r.addr for r in t.resolvers], problems
            finally:
                await t.close()

        resolvers, problems = _runner()(probe_only())
    else:
        problems = {}
    with store.keep_running(scan_id):  # the run lock: ScanBusy when another process runs it
        return _spawn_workers(store, scan_id, resolvers, problems, config, opts, total)


def _spawn_workers(store, scan_id: int, resolvers, problems: dict, config: TransportConfig, opts: RunOptions,
                   total: int) -> RunResult:
    import dataclasses
    import multiprocessing
    from multiprocessing.connection import wait as _wait

    n = opts.workers
    db = _db_spec(store)
    wconfig = dataclasses.replace(
        config, qps=config.qps / n if config.qps else 0.0, slow_max=max(16, config.slow_max // n),
        window=max(config.window_min, config.window // n), window_max=max(config.window_min, config.window_max // n))
    wopts = dataclasses.replace(opts, progress="none", probe=False, workers=1)
    # fresh interpreters: a worker inherits neither the parent's heap (the
    # input's seen-set of a million names) nor its database connections.
    # Pipes, not a multiprocessing.Queue: no named semaphores that a killed
    # scan leaves to the resource tracker ("leaked semaphore objects").
    ctx = multiprocessing.get_context("spawn")
    stop_r, stop_w = ctx.Pipe(duplex=False)  # closed by the parent: every worker stops
    pipes = [ctx.Pipe(duplex=False) for _k in range(n)]  # (parent reads, worker writes)
    parent = os.getpid()  # a worker that starts after its parent is gone ends at once (die_with_parent)
    procs = [ctx.Process(target=_worker, args=(db, scan_id, k, n, resolvers, wconfig, wopts, pipes[k][1], stop_r,
                                               parent), name=f"stekker-scan-{k}") for k in range(n)]
    stopping = {"n": 0}

    def forward(signum, frame) -> None:  # Ctrl-C / SIGTERM: every worker stops cleanly
        stopping["n"] += 1
        if stopping["n"] > 1:
            os._exit(130)
        stop_w.close()

    started = time.monotonic()
    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in _STOP_SIGNALS:
            old[sig] = signal.signal(sig, forward)
    # The workers start with Ctrl-C and SIGTERM blocked (a blocked mask survives fork and exec) until
    # their first line ignores them; one that comes meanwhile waits here and reaches `forward` after.
    # (The resource tracker is started first: starting it unblocks both signals - bpo-33613's fix.)
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        for p in procs:
            p.start()
    except BaseException:
        # a worker that could not start (EAGAIN, EMFILE): the ones started stop, the handlers go back
        # (review 28 L2: `forward` stayed installed and swallowed the next Ctrl-C)
        stop_w.close()
        for sig, h in old.items():
            signal.signal(sig, h)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        stop_r.close()
        for _r, w in pipes:
            w.close()  # the worker's end: its pipe reads as closed once the worker has exited
    progress = _Progress(opts.progress, total, opts.progress_interval, f"scan {scan_id}")
    latest: dict[int, dict] = {}
    finals: dict[int, dict] = {}
    reading = {pipes[k][0]: k for k in range(n)}
    try:
        while reading and len(finals) < n:
            for r in _wait(list(reading), timeout=0.5):
                k = reading[r]
                try:
                    kind, _k, payload = r.recv()
                except (EOFError, OSError):
                    del reading[r]  # the worker has exited (without a word if not in finals: see below)
                    continue
                if kind == "done":
                    finals[k] = payload
                    latest[k] = payload["counters"]
                    if payload.get("store_failed") and not stop_w.closed:
                        stop_w.close()  # the database refuses answers: the other workers stop too
                else:
                    latest[k] = payload
            progress.update(ScanCounters.merged(latest.values()), wconfig.window_max * n * len(resolvers),
                            sum(int(v.get("_slow", 0)) for v in latest.values()),
                            max([float(v.get("_paused", 0.0)) for v in latest.values()] or [0.0]))
        for p in procs:
            p.join()
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        progress.close()
        if not stop_w.closed:
            stop_w.close()
        for r, _w in pipes:
            r.close()
    for f in finals.values():
        if f.get("store_failed"):  # the database refused a worker's answers: the scan's own error
            raise StoreWriteFailed(*f["store_failed"])
    counters = ScanCounters.merged(f["counters"] for f in finals.values())
    states = [f["state"] for f in finals.values()]
    messages = [f["message"] for f in finals.values() if f.get("message")]
    for k, p in enumerate(procs):
        if k not in finals:
            # A worker stopped by the user's Ctrl-C / SIGTERM reports as interrupted (it ignores both
            # signals and stops when the parent closes its pipe); one that ended without a word crashed
            # or was killed (the kernel's OOM killer), also during a stop (review 28 L3): aborted.
            states.append("aborted")
            messages.append(Said(N_("worker {k} ended without reporting ({why})"), k=k, why=_exit_text(p.exitcode)))
    state = "aborted" if "aborted" in states else "interrupted" if "interrupted" in states else "finished"
    if state == "interrupted":
        messages = [Said(_INTERRUPTED)]
    transport: dict = {"workers": n, "resolvers_left_out": problems}
    for f in finals.values():
        for key, v in (f.get("transport") or {}).items():
            if isinstance(v, (int, float)) and key not in ("window_final", "window_min", "window_max"):
                transport[key] = transport.get(key, 0) + v
    return RunResult(scan_id, state, counters, time.monotonic() - started, transport=transport,
                     message=_joined(messages))


_INTERRUPTED = N_("interrupted; finished domains are kept")


def _joined(messages: list) -> Said | None:
    """The workers' messages as one (each once, "; " between them): English as the scan stores it,
    said in the user's language (a :class:`Said` of the items)."""
    items = tuple(sorted(set(messages)))
    if not items:
        return None
    return items[0] if len(items) == 1 and isinstance(items[0], Said) else Said("{messages}", messages=items)


def _exit_text(code: int | None) -> Said:
    """A process's exit status as a person reads it (stored in English, as every scan record; said
    in the user's language)."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = Said(N_("signal {number}"), number=-code)
        if -code == signal.SIGKILL:
            return Said(N_("killed by {signal}, perhaps out of memory"), signal=name)
        return Said(N_("killed by {signal}"), signal=name)
    return Said(N_("exit code {code}"), code=code)


@contextlib.contextmanager
def stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, cb: Callable[[], None] | None = None):
    """Within: Ctrl-C / SIGTERM set ``stop`` (a second one leaves at once),
    when this is the main thread; the handlers are removed afterwards."""
    installed = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, _on_signal, stop, cb)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _on_signal(stop: asyncio.Event, cb) -> None:
    if stop.is_set():  # second Ctrl-C: leave at once (finished domains are committed)
        os._exit(130)
    stop.set()
    if cb:
        cb()
