"""The scan's long tail against a resolver as users have it (Unbound's
shipped defaults): a fault lab with lame zones finishes without aborting,
a resolver outage pauses the scan and it resumes by itself, an outage past
the bound stops cleanly, and ten kill -9 at random moments lose and
duplicate nothing and change no evidence.

Each test starts its own lab on net ``127.<base+9>`` (see conftest), except
the kill test, which uses the session lab."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NET_BASE, lab_missing_reason
from stekker.lab import FaultMix, Lab, LabSpec, profiles
from stekker.lab import faults as lab_faults

LONG_NET = f"127.{NET_BASE + 9}"

pytestmark = pytest.mark.lab


def _start_lab(tmp_path, n: int, mix: FaultMix, with_faults: bool = False, seed: int = 11) -> Lab:
    reason = lab_missing_reason()
    if reason:
        pytest.skip(reason)
    lab = Lab(LabSpec(orgs=profiles.generate(n, seed=seed), with_faults=with_faults, fault_mix=mix),
              workdir=tmp_path / "lab", net=LONG_NET)
    lab.start(timeout=300)
    return lab


def _stekker(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "stekker", *args], capture_output=True, text=True, timeout=timeout)


def _q(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _wait_done(db, n: int, within: float = 60.0) -> None:
    """Until n domains are committed (the scan runs in another process)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            if _q(db, "select count(*) from targets where done")[0][0] >= n:
                return
        except sqlite3.OperationalError:  # not created yet, or locked for a moment
            continue


def test_fault_lab_finishes_and_every_lame_domain_is_an_error(tmp_path):
    """2,000 domains, 2% lame-timeout, 5% lame-refused, 5% not existing, with
    default options: finished, never aborted, no lame domain absent or
    attributed (issue 8: this scan used to abort at 98%)."""
    lab = _start_lab(tmp_path, 2000, FaultMix(0.02, 0.05, 0.05))
    try:
        inp = lab.write_input(tmp_path / "in.csv")
        db = tmp_path / "f.db"
        p = _stekker("scan", str(inp), "--resolver", lab.resolver, "--db", str(db), "--progress", "lines")
        assert p.returncode == 0, p.stderr[-3000:]
        assert _q(db, "select state from scans")[0][0] == "finished"
        assert _q(db, "select count(*) from targets where not done")[0][0] == 0
        fl = lab.faults()
        assert sum(k == "lame_timeout" for k in fl.values()) >= 20
        status = dict(_q(db, "select domain, status from targets"))
        for dom, kind in fl.items():
            want = "nxdomain" if kind == "nonexistent" else "error"
            assert status[dom] == want, (dom, kind, status[dom])
        lame = [d for d, k in fl.items() if k != "nonexistent"]
        marks = ",".join("?" * len(lame))
        # nothing of a lame domain is "absent"; what was not asked says why
        assert _q(db, f"select count(*) from queries where domain in ({marks}) and status != 'error'", *lame)[0][0] == 0
        kinds = dict(_q(db, f"select error_kind, count(*) from queries where domain in ({marks}) group by 1", *lame))
        assert kinds.get("zone_unreachable", 0) >= 25 * len(lame) * 0.9, kinds
        # healthy domains are complete: no zone_unreachable or deadline among them
        healthy = [d for d in status if d not in fl]
        hm = ",".join("?" * len(healthy))
        bad = _q(db, f"select domain, purpose, error_kind from queries where domain in ({hm}) and error_kind in "
                     f"('zone_unreachable', 'deadline')", *healthy)
        assert bad == []
        # and lame domains are never attributed
        from stekker.attribute import attribute_scan, load_attributions
        from stekker.kb import load as load_kb
        from stekker.store import Store

        store = Store.open(str(db))
        kb = load_kb()
        attribute_scan(store, 1, kb=kb, as_of="2026-12-01")
        for a in load_attributions(store, 1, kb=kb):
            if a.domain in lame:
                assert a.status == "error"
                assert all(s.status == "error" for s in a.services.values()), a.domain
    finally:
        lab.stop()


def test_resolver_outage_pauses_the_scan_and_it_resumes_by_itself(tmp_path):
    """Unbound is stopped for 20 s in the middle of a scan and started again:
    the scan pauses (says so), nothing is recorded as a timeout, it finishes."""
    lab = _start_lab(tmp_path, 300, FaultMix(0.0, 0.0, 0.0))
    try:
        from stekker.lab import procs

        inp = lab.write_input(tmp_path / "in.csv")
        db = tmp_path / "o.db"
        proc = subprocess.Popen([sys.executable, "-m", "stekker", "scan", str(inp), "--resolver", lab.resolver,
                                 "--db", str(db), "--progress", "lines", "--qps", "1000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # at 1,000 questions a second (and 96 domains in flight) the first domains are done after
        # about 3 s and the whole scan takes about 10 s: the outage comes in its middle
        _wait_done(db, 20)
        procs.stop_one(lab.workdir, "unbound")
        t_down = time.monotonic()
        time.sleep(20)
        lab._start_unbound(time.monotonic() + 30)
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        assert "PAUSED" in err
        assert _q(db, "select state from scans")[0][0] == "finished"
        assert _q(db, "select count(*) from targets where not done")[0][0] == 0
        errors = _q(db, "select domain, qname, qtype, error_kind from queries where status = 'error'")
        assert errors == [], errors[:10]
        summary = json.loads(_q(db, "select summary from scans")[0][0])
        assert summary["transport"]["outages"] >= 1 and summary["transport"]["paused_s"] >= 10
        assert time.monotonic() - t_down >= 20
    finally:
        lab.stop()


def test_an_outage_past_the_bound_stops_cleanly_and_resume_finishes(tmp_path):
    lab = _start_lab(tmp_path, 200, FaultMix(0.0, 0.0, 0.0))
    try:
        from stekker.lab import procs

        inp = lab.write_input(tmp_path / "in.csv")
        db = tmp_path / "b.db"
        proc = subprocess.Popen([sys.executable, "-m", "stekker", "scan", str(inp), "--resolver", lab.resolver,
                                 "--db", str(db), "--progress", "lines", "--qps", "1000", "--outage-max", "4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_done(db, 20)
        procs.stop_one(lab.workdir, "unbound")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, err[-2000:]
        assert "resume with: stekker scan --resume 1" in err
        assert _q(db, "select state from scans")[0][0] == "aborted"
        # nothing was recorded as a timeout while the resolver was gone
        assert _q(db, "select count(*) from queries where status = 'error'")[0][0] == 0
        lab._start_unbound(time.monotonic() + 30)
        p = _stekker("scan", "--resume", "1", "--db", str(db), "--progress", "none")
        assert p.returncode == 0, p.stderr[-2000:]
        assert _q(db, "select count(*) from targets where not done")[0][0] == 0
    finally:
        lab.stop()


_WC = re.compile(r"stekker-wc-[0-9a-f]+")


def _evidence(db: Path, faulty: set[str]) -> dict[str, set]:
    """Per domain, what was asked and answered, without times, TTLs, the
    random wildcard label and (for fault domains, whose resolver outcome
    depends on timing) the error kind."""
    out: dict[str, set] = {}
    for dom, purpose, qname, qtype, status, kind, answers in _q(
            db, "select domain, purpose, qname, qtype, status, error_kind, answers from queries"):
        ans = tuple(sorted((_WC.sub("*", n), t, v) for n, t, _ttl, v in json.loads(answers)))
        key = (purpose, _WC.sub("*", qname), qtype, status)
        if dom not in faulty:
            key += (kind, ans)
        out.setdefault(dom, set()).add(key)
    return out


def test_ten_kills_at_random_moments_lose_duplicate_and_change_nothing(lab, lab_scan, tmp_path):
    store, sid = lab_scan
    ref_db = Path(store.engine.url.database)
    inp = lab.write_input(tmp_path / "in.csv")
    db = tmp_path / "k.db"
    rng = random.Random(8)
    kills = 0
    args = ["scan", str(inp), "--resolver", lab.resolver, "--db", str(db), "--progress", "none", "--qps", "600"]
    for i in range(10):
        proc = subprocess.Popen([sys.executable, "-m", "stekker", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.8, 2.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        args = ["scan", "--resume", "1", "--db", str(db), "--progress", "none", "--qps", "600"]
    assert kills == 10
    p = _stekker("scan", "--resume", "1", "--db", str(db), "--progress", "none")
    assert p.returncode == 0, p.stderr[-2000:]
    assert _q(db, "select count(*) from targets where not done")[0][0] == 0
    # every domain stored exactly once, no question twice
    assert _q(db, "select count(*) from (select domain from targets group by domain having count(*) > 1)")[0][0] == 0
    assert _q(db, "select count(*) from (select domain, purpose, qname, qtype, count(*) c from queries "
                  "group by 1, 2, 3, 4 having c > 1)")[0][0] == 0
    faulty = {o.domain for o in lab_faults.orgs()} | {"chain-user.nl"}
    got, want = _evidence(db, faulty), _evidence(ref_db, faulty)
    assert set(got) == set(want)
    diff = {d: (want[d] ^ got[d]) for d in want if want[d] != got[d]}
    assert diff == {}, list(diff.items())[:3]
