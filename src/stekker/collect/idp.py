"""DNS questions about the hosts a look-up beyond DNS names.

A federated realm answer (collect/realm.py) names the host Entra ID passes
sign-in on to (``<domain> IDP <host>``).  That name alone says who the host
belongs to only when a fingerprint knows it (``*.okta.com``); an own host
(``sts.<domain>``) may be an ADFS server in the organisation's own network,
a virtual machine at a cloud, or a CNAME to an identity provider (an Okta
custom domain).  So, after the realm pass, each named host's A and AAAA
records are asked (CNAME chain kept, like every address question) as the
derived plan item ``idp_host``, through the scan's own resolvers, and stored
with the domain like its other rows.  Attribution reads them as it reads the
addresses of an MX host.

Only the hosts are asked, never the realm again; a host already asked for
the domain is not asked twice (a resumed scan finishes what is missing), and
rows of a host the answer no longer names are replaced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable

from stekker.collect.engine import DomainScanner, LookupCounts
from stekker.collect.plan import Plan
from stekker.collect.transport import Transport, TransportConfig, format_resolver
from stekker.evidence import IDP_RTYPE
from stekker.i18n import N_, Said, _

PURPOSE = "idp_host"
IN_FLIGHT = 64  # domains asked at once (each one to a few questions); the transport paces the rest


@dataclass(slots=True)
class HostCounts(LookupCounts):  # (rows: the questions, present / absent / errors)
    domains: int = 0
    hosts: int = 0
    dropped: int = 0  # domains whose rows of a host no answer names any more were removed
    dead: str | None = None  # why the pass stopped: no resolver answered any more (the rest: --resume)


def run_idp_hosts(store, scan_id: int, source: str, resolvers: list[tuple[str, int]], config: TransportConfig,
                  plan: Plan, say: Callable[[str], None] = lambda m: None, redo_errors: bool = False,
                  domain_deadline: float | None = None) -> tuple[HostCounts, bool]:
    """Ask the addresses of every host the scan's ``source`` rows name as
    identity provider and store them as ``idp_host`` rows (a domain whose
    answer names no host any more loses its old rows).  Returns the counts
    and whether Ctrl-C/SIGTERM stopped it (the rest is asked on
    ``stekker scan --resume``); ``counts.dead`` says why it stopped when
    the resolvers stopped answering.  Raises NoResolverError (nothing
    asked) when no resolver answers the start-up check."""
    todo = store.named_hosts_lacking(scan_id, source, IDP_RTYPE, PURPOSE, redo_errors)
    counts = HostCounts()
    if not todo:
        return counts, False
    stale = [(d, []) for d, hosts in todo if not hosts]
    if stale:
        store.add_results(scan_id, PURPOSE, stale)
        counts.dropped = len(stale)
    todo = [(d, hosts) for d, hosts in todo if hosts]
    if not todo:
        return counts, False
    types = plan.derived_types(PURPOSE)
    say(_("identity provider hosts named by the realm answers: {hosts:,} of {domains:,} domains, their "
          "addresses").format(hosts=sum(len(h) for _d, h in todo), domains=len(todo)))

    async def main() -> bool:
        from stekker.collect.run import _probe, stop_on_signals

        stop = asyncio.Event()
        t = Transport(resolvers, config)
        await t.start()
        try:
            with stop_on_signals(asyncio.get_running_loop(), stop):  # Ctrl-C here too: the resume hint
                await _probe(t)  # a resolver that does not answer: a clear error, nothing asked
            if stop.is_set():
                return True
            scanner = DomainScanner(t, plan, **({} if domain_deadline is None else
                                                {"domain_deadline": domain_deadline}))
            gate = asyncio.Semaphore(IN_FLIGHT)
            failed: list[Exception] = []

            async def one(domain: str, hosts: list[str]) -> None:
                async with gate:
                    if stop.is_set():
                        return
                    deadline = t.active_time() + scanner.domain_deadline if scanner.domain_deadline else None
                    rows = await scanner._ask_all(domain, [(PURPOSE, h, ty) for h in hosts for ty in types],
                                                  shared=True, deadline=deadline)
                    if stop.is_set():
                        return  # not stored: asked again on resume
                    try:
                        store.add_results(scan_id, PURPOSE, [(domain, rows)])
                    except Exception as exc:  # the store failed: the others store nothing more, raised below
                        failed.append(exc)
                        stop.set()
                        return
                    counts.domains += 1
                    counts.hosts += len(hosts)
                    for r, _rest in rows:
                        counts.add(r)

            async def watchdog() -> None:
                # the transport's clock stops while every resolver is silent: without this the
                # questions' deadlines would never come (as in the scan, collect/run.py)
                while not stop.is_set():
                    await asyncio.sleep(0.5)
                    if t.dead:
                        counts.dead = Said(N_("no resolver has answered for {seconds:.0f} s ({resolvers})"),
                                           seconds=t.config.outage_max,
                                           resolvers=", ".join(format_resolver(r.addr) for r in t.resolvers))
                        stop.set()

            with stop_on_signals(asyncio.get_running_loop(), stop):
                jobs = [asyncio.ensure_future(one(d, h)) for d, h in todo]
                dog = asyncio.ensure_future(watchdog())
                waiter = asyncio.ensure_future(stop.wait())
                done = asyncio.gather(*jobs)
                try:
                    await asyncio.wait([done, waiter], return_when=asyncio.FIRST_COMPLETED)
                    if not stop.is_set():
                        await done  # an exception of a job is raised, not swallowed
                finally:  # stopped (Ctrl-C, the resolvers, the store): the jobs left store nothing
                    for f in (*jobs, done, waiter, dog):
                        f.cancel()
                    await asyncio.gather(*jobs, done, waiter, dog, return_exceptions=True)  # none unretrieved
            if failed:
                raise failed[0]
            return stop.is_set() and counts.dead is None
        finally:
            await t.close()

    from stekker.collect.run import _runner

    return counts, _runner()(main())
