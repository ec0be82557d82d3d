"""Configuration files and processes of the lab's servers (knotd, unbound,
the black hole).  Processes run in their own session, so they outlive the
Python process that started them (``stekker lab start``); their pids are
recorded in ``<workdir>/pids.json`` and checked against /proc before any
signal is sent, so only processes of this lab are ever stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stekker.i18n import _

KNOTD = os.environ.get("STEKKER_KNOTD", "/usr/sbin/knotd")
KNOTC = os.environ.get("STEKKER_KNOTC", "/usr/sbin/knotc")
UNBOUND = os.environ.get("STEKKER_UNBOUND", "/usr/sbin/unbound")


def missing_binaries() -> list[str]:
    return [b for b in (KNOTD, UNBOUND) if not os.access(b, os.X_OK)]


def knot_conf(workdir: Path, name: str, addr: str, zones: list[tuple[str, str]]) -> Path:
    run = workdir / "run" / name
    (run / "db").mkdir(parents=True, exist_ok=True)
    zdir = workdir / "zones"
    workers = 2 if name.startswith("org") else 1
    parts = [
        "server:\n",
        f'    rundir: "{run}"\n',
        "    user: root:root\n",
        f'    pidfile: "{run}/knot.pid"\n',
        f"    listen: {addr}@53\n",
        f"    udp-workers: {workers}\n",
        "    tcp-workers: 1\n",
        f"    background-workers: {workers}\n",
        "control:\n",
        f'    listen: "{run}/knot.sock"\n',
        "database:\n",
        f'    storage: "{run}/db"\n',
        "log:\n",
        f'  - target: "{run}/knotd.log"\n',
        "    any: warning\n",
        "template:\n",
        "  - id: default\n",
        f'    storage: "{zdir}"\n',
        "    zonefile-sync: -1\n",
        "    zonefile-load: whole\n",
        "    journal-content: none\n",
        "zone:\n",
    ]
    for zone, rel in zones:
        z = zone if zone == "." else zone + "."
        parts.append(f'  - domain: "{z}"\n    file: "{rel}"\n')
    if not zones:  # knotd wants at least a valid file; an empty zone list is fine
        parts.pop()
    path = workdir / f"knot-{name}.conf"
    path.write_text("".join(parts), encoding="utf-8")
    return path


# The lab's recursive resolver runs with Unbound's *shipped defaults* for
# timeouts, retries, the infrastructure cache, socket buffers and capacity, as
# the resolver a user points stekker at does.  Only what a loopback lab needs
# is set: addresses, no chroot/user switch, do-not-query-localhost off,
# access control, the root hints, no IPv6 (the lab has no IPv6 servers), the
# iterator alone (the lab's zones are unsigned; there is no trust anchor) and
# cache sizes.  Nothing here makes a dead name server fail faster than it
# would for a user.
RESOLVER_PROFILES = ("default", "public")

# "public": a public resolver that rate-limits its clients and the zones it
# queries (Unbound's ip-ratelimit / ratelimit, as operators of open resolvers
# enable them).  Queries over the client limit are dropped (1 in
# ip-ratelimit-factor is let through), as a public resolver does.
_PUBLIC = """    ip-ratelimit: {ip_ratelimit}
    ip-ratelimit-factor: 10
    ratelimit: {zone_ratelimit}
    ratelimit-factor: 10
"""


def unbound_conf(workdir: Path, net: str, profile: str = "default", ip_ratelimit: int = 2000,
                 zone_ratelimit: int = 5000) -> Path:
    if profile not in RESOLVER_PROFILES:
        raise ValueError(_("resolver profile must be one of {profiles}, got {profile!r}").format(
            profiles=RESOLVER_PROFILES, profile=profile))
    hints = workdir / "root.hints"
    hints.write_text(
        f".                        3600000      NS    a.root-servers.net.\n"
        f"a.root-servers.net.      3600000      A     {net}.0.1\n",
        encoding="utf-8",
    )
    extra = _PUBLIC.format(ip_ratelimit=ip_ratelimit, zone_ratelimit=zone_ratelimit) if profile == "public" else ""
    conf = f"""# stekker lab resolver, profile {profile}: Unbound's shipped defaults except
# what a loopback lab needs (see stekker/lab/procs.py)
server:
    verbosity: 1
    interface: {net}.0.53
    port: 53
    outgoing-interface: {net}.0.53
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "{workdir}"
    pidfile: "{workdir}/unbound.pid"
    logfile: "{workdir}/unbound.log"
    use-syslog: no
    log-servfail: yes
    root-hints: "{hints}"
    do-not-query-localhost: no
    module-config: "iterator"
    msg-cache-size: 32m
    rrset-cache-size: 64m
    neg-cache-size: 4m
{extra}remote-control:
    control-enable: no
"""
    path = workdir / "unbound.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def spawn(workdir: Path, name: str, argv: list[str]) -> int:
    log = open(workdir / f"{name}.out", "ab")
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, close_fds=True,
    )
    log.close()
    pids = read_pids(workdir)
    pids[name] = {"pid": proc.pid, "argv": argv}
    write_pids(workdir, pids)
    return proc.pid


def _load_pids(workdir: Path) -> tuple[dict, str | None]:
    """(the entries of ``<workdir>/pids.json`` that are process records, what is wrong with the file)."""
    p = Path(workdir) / "pids.json"
    if not p.exists():
        return {}, None
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return {}, _("{path} cannot be read ({error})").format(
            path=p, error=getattr(exc, "strerror", None) or type(exc).__name__)
    if not isinstance(doc, dict):
        return {}, _("{path} is not the record of processes stekker writes (a JSON object)").format(path=p)
    good = {str(k): v for k, v in doc.items() if isinstance(v, dict) and isinstance(v.get("pid"), int)}
    bad = sorted(str(k) for k in doc if str(k) not in good)
    if bad:
        return good, _("{path} holds entries that are not process records: {names}").format(
            path=p, names=", ".join(bad[:5]))
    return good, None


def read_pids(workdir: Path) -> dict:
    """name -> {"pid", "argv"} of ``<workdir>/pids.json``; what is not such a record is left out
    (:func:`pids_problem` says so)."""
    return _load_pids(workdir)[0]


def pids_problem(workdir: Path) -> str | None:
    """What is wrong with ``<workdir>/pids.json`` (hand-edited, damaged), or None."""
    return _load_pids(workdir)[1]


def write_pids(workdir: Path, pids: dict) -> None:
    p = Path(workdir) / "pids.json"
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(pids, indent=1), encoding="utf-8")
    tmp.replace(p)


def _ours(argv: list) -> bool:
    """Only a lab server is ever signalled: knotd, unbound, or the lab's own
    black hole -- never whatever a hand-edited or hostile pids.json names."""
    if not argv or not all(isinstance(a, str) for a in argv):
        return False
    if argv[0] in (KNOTD, UNBOUND):
        return True
    return len(argv) >= 3 and argv[1:3] == ["-m", "stekker.lab.blackhole"]


def alive(entry: dict) -> bool:
    """The recorded process still runs, is still the one we started, and is
    a lab server."""
    if not isinstance(entry, dict):
        return False
    pid = entry.get("pid")
    if not isinstance(pid, int) or pid <= 1 or not _ours(entry.get("argv") or []):
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    argv = [a.encode() for a in entry.get("argv", [])]
    if cmd[: len(argv)] != argv:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            os.waitpid(pid, os.WNOHANG)  # our own zombie child
            return False
    except (OSError, ChildProcessError):
        pass
    return True


def stop_all(workdir: Path, timeout: float = 5.0) -> list[str]:
    pids = read_pids(workdir)
    if not pids:
        return []
    live = {n: e for n, e in pids.items() if alive(e)}
    for e in live.values():
        try:
            os.kill(e["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(e) for e in live.values()):
        time.sleep(0.05)
    for e in live.values():
        if alive(e):
            try:
                os.kill(e["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    for e in live.values():
        try:
            os.waitpid(e["pid"], os.WNOHANG)
        except ChildProcessError:
            pass
    write_pids(workdir, {})
    return sorted(live)


def stop_one(workdir: Path, name: str, timeout: float = 5.0) -> None:
    pids = read_pids(workdir)
    e = pids.pop(name, None)
    if e and alive(e):
        os.kill(e["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(e):
            time.sleep(0.02)
        if alive(e):
            os.kill(e["pid"], signal.SIGKILL)
        try:
            os.waitpid(e["pid"], 0)
        except ChildProcessError:
            pass
    write_pids(workdir, pids)


def python_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
