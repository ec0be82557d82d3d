"""The :class:`Lab`: build zones, start knotd instances + unbound (+ black
hole), wait until the resolver answers, stop everything again."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

import dns.flags
import dns.message
import dns.query
import dns.rcode

from stekker.i18n import _
from stekker.lab import procs
from stekker.lab.build import (
    BLACKHOLE_OCTET,
    RESOLVER_OCTET,
    TRUNCATOR_OCTET,
    Builder,
    write_ip2asn,
)
from stekker.lab.model import LabSpec, Org

REGISTRY_DIR = Path(os.environ.get("STEKKER_LAB_REGISTRY", "/tmp"))


class LabError(RuntimeError):
    pass


def _ask(server: str, qname: str, rdtype: str = "SOA", timeout: float = 0.5) -> dns.message.Message | None:
    try:
        return dns.query.udp(dns.message.make_query(qname, rdtype), server, timeout=timeout)
    except Exception:
        return None


class Lab:
    """A loopback DNS hierarchy.  See the package docstring / docs/LAB.md."""

    def __init__(self, spec: LabSpec | None = None, workdir: str | os.PathLike = ".lab", net: str = "127.77"):
        parts = net.split(".")
        if len(parts) != 2 or parts[0] != "127" or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
            raise ValueError(_("net must be '127.X' (first two octets on loopback), got {net!r}").format(net=net))
        self.spec = spec if spec is not None else LabSpec()
        self.workdir = Path(workdir).resolve()
        self.net = net
        self.resolver = f"{net}.0.{RESOLVER_OCTET}"
        self.blackhole = f"{net}.0.{BLACKHOLE_OCTET}"
        self.truncator = f"{net}.0.{TRUNCATOR_OCTET}"
        self.warnings: list[str] = []
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self._instances: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        self._started = False
        self._lock_fd: int | None = None

    # -- context manager ----------------------------------------------------
    def __enter__(self) -> "Lab":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- build --------------------------------------------------------------
    def _orgs(self) -> Iterable[Org]:
        from stekker.lab import faults as _faults

        mix = self.spec.fault_mix
        for org in self.spec.orgs:
            yield _faults.apply_mix(org, mix) if mix is not None else org
        if self.spec.with_faults:
            from stekker.lab import faults

            yield from faults.orgs()

    def build(self) -> None:
        """Write zone files and configs into the work directory."""
        t0 = time.monotonic()
        for sub in ("zones", "run"):
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # the directory is the lab's from the first file on: a build cut short (Ctrl-C) leaves it
        # reusable by the next `lab start --dir` (it refused a directory without lab.json)
        (self.workdir / "lab.json").write_text(json.dumps({"net": self.net, "building": True}), encoding="utf-8")
        b = Builder(self.workdir, self.net, self.spec.org_tiers)
        for org in self._orgs():
            b.add_org(org)
        b.finish()
        self.warnings = b.warnings
        self.counts = dict(b.counts)
        self._instances = b.instances()
        for name, (addr, zones) in self._instances.items():
            procs.knot_conf(self.workdir, name, addr, zones)
        procs.unbound_conf(self.workdir, self.net, self.spec.resolver_profile)
        write_ip2asn(self.workdir / "ip2asn-v4.tsv")
        meta = {"net": self.net, "resolver": self.resolver, "counts": self.counts,
                "instances": {n: {"addr": a, "zones": len(z)} for n, (a, z) in self._instances.items()},
                "samples": {n: [z[0][0], z[-1][0]] for n, (a, z) in self._instances.items() if z}}
        (self.workdir / "lab.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if self.warnings:
            (self.workdir / "warnings.txt").write_text("\n".join(self.warnings) + "\n", encoding="utf-8")
        self.timings["build"] = time.monotonic() - t0

    # -- processes ----------------------------------------------------------
    def _registry(self) -> Path:
        return REGISTRY_DIR / f"stekker-lab-{self.net}.dir"

    def _acquire_net(self, timeout: float) -> None:
        """Hold an exclusive lock on the net for as long as this Lab object
        runs the lab: two test sessions on one machine take turns instead of
        stopping each other's servers."""
        if self._lock_fd is not None:
            return
        fd = os.open(REGISTRY_DIR / f"stekker-lab-{self.net}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_fd = fd
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LabError(_("another lab holds net {net} (lock {lock})").format(
                        net=self.net, lock=f"{REGISTRY_DIR}/stekker-lab-{self.net}.lock"))
                time.sleep(0.2)

    def _release_net(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _stop_other_lab_on_net(self) -> None:
        reg = self._registry()
        try:
            other = Path(reg.read_text(encoding="utf-8").strip())
        except OSError:
            return
        if other != self.workdir and (other / "pids.json").exists():
            procs.stop_all(other)

    def running(self) -> bool:
        pids = procs.read_pids(self.workdir)
        return bool(pids) and all(procs.alive(e) for e in pids.values())

    def start(self, timeout: float = 120.0, lock_timeout: float | None = None) -> "Lab":
        """Build, start every server, wait until unbound answers.  Idempotent.

        Waits up to ``lock_timeout`` seconds (default $STEKKER_LAB_LOCK_TIMEOUT
        or 600) while another live Lab object holds the same net; a lab left
        behind by a dead process (or by ``stekker lab start``) is stopped."""
        if self._started and self.running():
            return self
        missing = procs.missing_binaries()
        if missing:
            raise LabError(_("missing DNS server binaries: {binaries}").format(binaries=", ".join(missing)))
        if lock_timeout is None:
            lock_timeout = float(os.environ.get("STEKKER_LAB_LOCK_TIMEOUT", "600"))
        self._acquire_net(lock_timeout)
        try:
            self._stop_other_lab_on_net()
            procs.stop_all(self.workdir)  # a stale lab in this directory
            if not self._instances:  # built once per Lab: spec.orgs may be a one-shot iterator
                self.build()
            t0 = time.monotonic()
            for name in self._instances:
                conf = self.workdir / f"knot-{name}.conf"
                procs.spawn(self.workdir, f"knot-{name}", [procs.KNOTD, "-c", str(conf)])
            if self.counts.get("lame_timeout"):
                from stekker.lab import faults as _faults

                procs.spawn(self.workdir, "deadpool",
                            procs.python_argv("stekker.lab.blackhole", ",".join(_faults.dead_pool(self.net)),
                                              "53", "silent"))
            if self.spec.with_faults:
                procs.spawn(self.workdir, "blackhole",
                            procs.python_argv("stekker.lab.blackhole", self.blackhole, "53", "silent"))
                procs.spawn(self.workdir, "truncator",
                            procs.python_argv("stekker.lab.blackhole", self.truncator, "53", "truncate"))
            self._registry().write_text(str(self.workdir), encoding="utf-8")
            self._started = True
            self._wait_knots(t0 + timeout)
            self._start_unbound(t0 + timeout)
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - t0
        return self

    def _wait_knots(self, deadline: float) -> None:
        for name, (addr, zones) in self._instances.items():
            if not zones:
                continue
            step = max(1, len(zones) // 40)  # ~40 evenly spread zones + the last one
            samples = [z for z, _file in zones[::step]] + [zones[-1][0]]
            for z in samples:
                while True:
                    r = _ask(addr, z if z == "." else z + ".")
                    if r is not None and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA:
                        break
                    if time.monotonic() > deadline:
                        raise LabError(_("knotd {name} on {addr} does not serve {zone}; see {log}").format(
                            name=name, addr=addr, zone=z, log=f"{self.workdir}/run/{name}/knotd.log"))
                    if not procs.alive(procs.read_pids(self.workdir).get(f"knot-{name}", {})):
                        log = self.workdir / f"knot-{name}.out"
                        raise LabError(_("knotd {name} exited: {output}").format(
                            name=name, output=log.read_text(errors="replace")[-2000:]))
                    time.sleep(0.05)

    def _start_unbound(self, deadline: float) -> None:
        conf = self.workdir / "unbound.conf"
        procs.spawn(self.workdir, "unbound", [procs.UNBOUND, "-d", "-c", str(conf)])
        probe = "."
        for name, (addr, zones) in self._instances.items():
            if name.startswith("org") and zones:
                probe = zones[0][0] + "."
                break
        while True:
            r = _ask(self.resolver, probe, timeout=1.0)
            if r is not None and r.rcode() == dns.rcode.NOERROR and r.answer:
                return
            if time.monotonic() > deadline:
                raise LabError(_("unbound on {resolver} does not answer {probe}; see {log}").format(
                    resolver=self.resolver, probe=probe, log=f"{self.workdir}/unbound.log"))
            if not procs.alive(procs.read_pids(self.workdir).get("unbound", {})):
                log = self.workdir / "unbound.out"
                raise LabError(_("unbound exited: {output}").format(output=log.read_text(errors="replace")[-2000:]))
            time.sleep(0.05)

    def flush(self) -> None:
        """Cold cache: restart unbound and wait until it answers again."""
        procs.stop_one(self.workdir, "unbound")
        self._start_unbound(time.monotonic() + 30)

    def stop(self) -> list[str]:
        """Stop every process this lab (this work directory) started."""
        stopped = procs.stop_all(self.workdir)
        try:
            reg = self._registry()
            if reg.read_text(encoding="utf-8").strip() == str(self.workdir):
                reg.unlink()
        except OSError:
            pass
        self._started = False
        self._release_net()
        return stopped

    # -- files for the scan -------------------------------------------------
    def write_input(self, path: str | os.PathLike, fmt: str = "csv") -> Path:
        """The input file for ``stekker scan``: csv (domain,organisation,
        sector,hosts; hosts space-separated) or txt (one domain a line)."""
        src = self.workdir / "input.csv"
        if not src.exists():
            raise LabError(_("the lab is not built yet: call start() first"))
        path = Path(path)
        if fmt == "csv":
            if path.resolve() != src:
                shutil.copyfile(src, path)
        elif fmt == "txt":
            with open(src, newline="", encoding="utf-8") as fi, open(path, "w", encoding="utf-8") as fo:
                for row in csv.DictReader(fi):
                    fo.write(row["domain"] + "\n")
        else:
            raise ValueError(_("fmt must be 'csv' or 'txt'"))
        return path

    def write_ip2asn(self, path: str | os.PathLike) -> Path:
        """iptoasn ip2asn-v4.tsv rows for every prefix of the provider catalogue."""
        write_ip2asn(path)
        return Path(path)

    def faults(self) -> dict[str, str]:
        """domain -> the FaultMix fault of each org of the last build that has one."""
        out: dict[str, str] = {}
        with open(self.workdir / "truth.jsonl", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d.get("fault"):
                    out[d["domain"]] = d["fault"]
        return out

    def truth(self) -> dict[str, dict]:
        """domain -> ground truth of every org of the last build (read from truth.jsonl)."""
        out = {}
        with open(self.workdir / "truth.jsonl", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                out[d["domain"]] = d["truth"]
        return out

    def zone_files(self) -> Iterable[tuple[str, Path]]:
        """(zone, path) of every zone the lab serves."""
        for _name, (_addr, zones) in self._instances.items():
            for z, rel in zones:
                yield z, self.workdir / "zones" / rel

    def check_zones(self) -> list[str]:
        """Validate every zone with ``knotc zone-check`` (offline, the same
        loader knotd uses; kzonecheck is not packaged everywhere).  Returns
        the problems found (errors and warnings); empty when all is well."""
        import subprocess

        problems = []
        for conf in self.knot_confs():
            res = subprocess.run([procs.KNOTC, "-c", str(conf), "zone-check"],
                                 capture_output=True, text=True, timeout=600)
            out = (res.stdout + res.stderr).strip()
            if res.returncode != 0 or out:
                problems.append(f"{conf.name}: rc={res.returncode} {out}")
        return problems

    def knot_confs(self) -> list[Path]:
        return [self.workdir / f"knot-{n}.conf" for n in self._instances]
