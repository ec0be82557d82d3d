"""The evidence store on SQLite and (with STEKKER_TEST_PG) PostgreSQL:
round trips in all three states, resume semantics, kill -9 safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from stekker.evidence import RR, AbsentKind, ErrorKind, QueryResult, Status
from stekker.store import ScanNotFound, Store, StoreError
from stekker.targets import InputIssue, Target

PG_URL = os.environ.get("STEKKER_TEST_PG")
SRC = str(Path(__file__).resolve().parents[1] / "src")

HOSTILE_TXT = [
    "v=spf1 include:spf.protection.outlook.com -all",
    "<script>alert(1)</script>",
    "nul\x00byte and bell\x07 and esc\x1b[31m",
    "invalid utf-8: \\xff\\xfe\\xc3(",  # as produced by errors="backslashreplace"
    "unicode: zoë ✓ 😀",
    "x" * 2000,
]


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _fresh_pg_schema():
    """Yield the URL of a new, empty PostgreSQL schema; dropped afterwards."""
    if not PG_URL:
        pytest.skip("STEKKER_TEST_PG not set")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_schema_url(schema)
    finally:
        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """A database spec (path or URL) for a fresh, empty database."""
    if request.param == "sqlite":
        yield str(tmp_path / "stekker.db")
        return
    yield from _fresh_pg_schema()


@pytest.fixture
def pg_db():
    """A fresh, empty PostgreSQL schema's URL (the PostgreSQL-only tests)."""
    yield from _fresh_pg_schema()


@pytest.fixture
def store(db):
    s = Store.open(db)
    yield s
    s.close()


def new_scan(store: Store, label: str | None = None) -> int:
    return store.create_scan(
        tool_version="0.1.0",
        plan_version=1,
        input_path="/data/orgs.csv",
        input_sha256="ab" * 32,
        resolvers=["127.0.0.1:53", "[::1]:5353"],
        options={"qps": 5000, "timeout": 2.0},
        label=label,
    )


def results_for(domain: str) -> list[tuple[QueryResult, bytes | None]]:
    now = 1_790_000_000.25
    return [
        (QueryResult(domain, "apex_soa", domain, "SOA", Status.PRESENT, rcode="NOERROR",
                     answers=[RR(domain, "SOA", 3600, f"ns1.{domain} hostmaster.{domain} 1 7200 3600 1209600 300")],
                     resolver="127.0.0.1:53", ts=now), b"\x12\x34\x81\x80" + bytes(range(256))),
        (QueryResult(domain, "apex_txt", domain, "TXT", Status.PRESENT, rcode="NOERROR",
                     answers=[RR(domain, "TXT", 300, v) for v in HOSTILE_TXT],
                     resolver="127.0.0.1:53", ts=now), b"\x00wire\x00"),
        (QueryResult(domain, "www", f"www.{domain}", "A", Status.PRESENT, rcode="NOERROR",
                     answers=[RR(f"www.{domain}", "CNAME", 60, "edge.example.net"),
                              RR("edge.example.net", "A", 20, "192.0.2.10")],
                     resolver="[::1]:5353", ts=now), None),
        (QueryResult(domain, "dmarc", f"_dmarc.{domain}", "TXT", Status.ABSENT,
                     absent_kind=AbsentKind.NXDOMAIN, rcode="NXDOMAIN", resolver="127.0.0.1:53", ts=now), b"nx"),
        (QueryResult(domain, "apex_a", domain, "AAAA", Status.ABSENT,
                     absent_kind=AbsentKind.NODATA, rcode="NOERROR", resolver="127.0.0.1:53", ts=now), b"nodata"),
        (QueryResult(domain, "apex_mx", domain, "MX", Status.ERROR, error_kind=ErrorKind.SERVFAIL,
                     rcode="SERVFAIL", resolver="127.0.0.1:53", ts=now, detail="SERVFAIL from 127.0.0.1:53"), b"sf"),
        (QueryResult(domain, "autodiscover", f"autodiscover.{domain}", "A", Status.ERROR,
                     error_kind=ErrorKind.TIMEOUT, resolver=None, ts=now, detail="no answer after 3 tries"), None),
        (QueryResult(domain, "sip", f"sip.{domain}", "CNAME", Status.PRESENT, rcode="NOERROR", wildcard=True,
                     answers=[RR(f"sip.{domain}", "CNAME", 60, "wild.example.net")], ts=now), b"w"),
    ]


def add(store: Store, sid: int, domains: list[str]) -> None:
    store.add_targets(sid, [Target(d, d, [f"Org {d}"], ["test"], [], [i + 1]) for i, d in enumerate(domains)])


# -- opening ----------------------------------------------------------------------------


def test_open_refuses_clearly(tmp_path):
    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
        Store.open("mysql://u@h/db")
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(str(tmp_path / "missing" / "x.db"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot use SQLite database"):
        Store.open(str(junk))
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="cannot use PostgreSQL database"):
        Store.open("postgresql://nobody@127.0.0.1:9/nothing")
    assert time.monotonic() - t0 < 10


def test_sqlite_pragmas(tmp_path):
    s = Store.open(str(tmp_path / "p.db"))
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_reopen_keeps_data(db):
    s = Store.open(db)
    sid = new_scan(s)
    add(s, sid, ["a.nl"])
    s.close()
    s2 = Store.open(db)
    assert s2.resolve_scan(None) == sid
    assert [t["domain"] for t in s2.iter_targets(sid)] == ["a.nl"]
    s2.close()


# -- round trip -------------------------------------------------------------------------


def test_round_trip_three_states_and_hostile_txt(store):
    sid = new_scan(store)
    add(store, sid, ["gemeente-a.nl", "zorg-b.nl"])
    rows = results_for("gemeente-a.nl")
    store.write_domain(sid, "gemeente-a.nl", "ok", rows)

    ev = store.evidence(sid, "gemeente-a.nl")
    assert ev is not None and ev.domain == "gemeente-a.nl"
    assert ev.organisations == ["Org gemeente-a.nl"] and ev.sectors == ["test"]
    assert len(ev.results) == len(rows)
    for got, (want, _wire) in zip(ev.results, rows):
        assert got == want  # every field, in the order written
    txt = ev.get("gemeente-a.nl", "TXT")
    assert txt.values() == HOSTILE_TXT
    assert ev.first("apex_mx", "MX").status is Status.ERROR
    assert ev.first("apex_mx", "MX").error_kind is ErrorKind.SERVFAIL
    assert ev.first("dmarc", "TXT").absent_kind is AbsentKind.NXDOMAIN
    assert ev.first("sip", "CNAME").wildcard and not ev.first("sip", "CNAME").usable
    assert ev.status == "ok"

    assert store.query_wire(sid, "gemeente-a.nl", "gemeente-a.nl", "SOA") == rows[0][1]
    assert store.query_wire(sid, "gemeente-a.nl", "GEMEENTE-A.NL.", "txt") == b"\x00wire\x00"
    assert store.query_wire(sid, "gemeente-a.nl", "www.gemeente-a.nl", "A") is None
    assert store.query_wire(sid, "gemeente-a.nl", "nope.gemeente-a.nl", "A") is None

    assert store.evidence(sid, "zorg-b.nl") is None  # not done yet
    assert store.evidence(sid, "unknown.nl") is None

    info = store.scan_info(sid)
    assert info["resolvers"] == ["127.0.0.1:53", "[::1]:5353"]
    assert info["options"] == {"qps": 5000, "timeout": 2.0}
    assert info["input_sha256"] == "ab" * 32 and info["state"] == "created"
    c = info["counts"]
    assert (c["targets"], c["done"], c["ok"], c["nxdomain"], c["error"], c["pending"]) == (2, 1, 1, 0, 0, 1)
    assert (c["queries"], c["queries_present"], c["queries_absent"], c["queries_error"]) == (8, 4, 2, 2)


def test_nul_in_detail_is_kept_visible(store):
    sid = new_scan(store)
    add(store, sid, ["a.nl"])
    r = QueryResult("a.nl", "apex_ns", "a.nl", "NS", Status.ERROR, error_kind=ErrorKind.MALFORMED,
                    detail="bad\x00name \udcff")
    store.write_domain(sid, "a.nl", "error", [(r, None)])
    got = store.evidence(sid, "a.nl").results[0]
    assert got.detail == "bad\\x00name \\udcff"
    assert got.error_kind is ErrorKind.MALFORMED


def test_iter_evidence_order_filter_and_streaming(store):
    sid = new_scan(store)
    domains = [f"org{i:03d}.nl" for i in range(120)]
    add(store, sid, list(reversed(domains)))  # input order is reversed alphabetical
    for d in domains[::2]:
        store.write_domain(sid, d, "ok", results_for(d)[:3])
    got = [ev.domain for ev in store.iter_evidence(sid, batch=7)]
    assert got == [d for d in reversed(domains) if int(d[3:6]) % 2 == 0]
    some = [ev.domain for ev in store.iter_evidence(sid, ["ORG004.nl.", "org001.nl", "org002.nl"])]
    assert some == ["org004.nl", "org002.nl"]  # input order; org001 not done
    assert all(len(ev.results) == 3 for ev in store.iter_evidence(sid))


# -- targets and issues -----------------------------------------------------------------


def test_add_targets_merges_duplicates_and_keeps_order(store):
    sid = new_scan(store)
    n = store.add_targets(sid, [
        Target("b.nl", "B.nl", ["Org B"], ["zorg"], ["portal.b.nl"], [2]),
        Target("a.nl", "a.nl", ["Org A"], [], [], [3]),
        Target("b.nl", "www.b.nl", ["Org B2"], ["zorg", "onderwijs"], ["portal.b.nl", "x.b.nl"], [4], duplicate=True),
    ], batch=2)
    assert n == 2
    # a second call appends (and merges into rows of the first call)
    assert store.add_targets(sid, [{"domain": "c.nl", "lines": [5]}, Target("a.nl", organisations=["Org A3"], lines=[6])]) == 1
    ts = list(store.iter_targets(sid))
    assert [t["domain"] for t in ts] == ["b.nl", "a.nl", "c.nl"]
    b = ts[0]
    assert b["input_name"] == "B.nl"
    assert b["organisations"] == ["Org B", "Org B2"]
    assert b["sectors"] == ["zorg", "onderwijs"]
    assert b["hosts"] == ["portal.b.nl", "x.b.nl"]
    assert b["lines"] == [2, 4]
    assert ts[1]["organisations"] == ["Org A", "Org A3"] and ts[1]["lines"] == [3, 6]
    assert [t["domain"] for t in store.pending_targets(sid, batch=1)] == ["b.nl", "a.nl", "c.nl"]


def test_input_issues(store):
    sid = new_scan(store)
    store.add_input_issues(sid, [
        InputIssue(7, "co.uk", "public_suffix", "co.uk is a public suffix"),
        {"line": 3, "raw": "x\x00y", "kind": "invalid", "reason": "character U+0000"},
        InputIssue(None, None, "encoding", "read as Windows-1252"),
    ])
    got = store.input_issues(sid)
    assert [(i["line"], i["kind"]) for i in got if i["line"] is not None] == [(3, "invalid"), (7, "public_suffix")]
    assert any(i["kind"] == "encoding" for i in got)
    assert store.scan_info(sid)["counts"]["input_issues"] == 3


# -- resume -----------------------------------------------------------------------------


def test_resume_pending_and_rewrite_does_not_duplicate(store):
    sid = new_scan(store)
    domains = [f"d{i}.nl" for i in range(25)]
    add(store, sid, domains)
    store.write_domains(sid, [(d, "ok", results_for(d)) for d in domains[:10]])
    store.write_domain(sid, domains[12], "nxdomain", results_for(domains[12])[:1])
    pending = [t["domain"] for t in store.pending_targets(sid, batch=4)]
    assert pending == [d for i, d in enumerate(domains) if i >= 10 and i != 12]

    # writing while iterating pending (keyset pagination) skips nothing
    seen = []
    for t in store.pending_targets(sid, batch=3):
        seen.append(t["domain"])
        store.write_domain(sid, t["domain"], "ok", results_for(t["domain"]))
    assert seen == pending
    assert list(store.pending_targets(sid)) == []

    # a domain written again replaces its rows
    store.write_domain(sid, domains[0], "error", results_for(domains[0])[:2])
    store.write_domain(sid, domains[12], "ok", results_for(domains[12]))
    info = store.scan_info(sid)["counts"]
    assert info["queries"] == 23 * 8 + 2 + 8
    assert (info["done"], info["ok"], info["error"], info["nxdomain"]) == (25, 24, 1, 0)
    assert len(store.evidence(sid, domains[0]).results) == 2


def test_write_domains_is_all_or_nothing(store):
    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl"])
    with pytest.raises(StoreError, match="not a target"):
        store.write_domains(sid, [("a.nl", "ok", results_for("a.nl")), ("zz.nl", "ok", results_for("zz.nl"))])
    assert store.scan_info(sid)["counts"]["queries"] == 0
    assert [t["domain"] for t in store.pending_targets(sid)] == ["a.nl", "b.nl"]


# -- scans ------------------------------------------------------------------------------


def test_latest_passes_over_a_scan_that_measured_nothing(store, tmp_path):
    """Field trial 1: after a scan whose resolver did not answer (aborted, 0 domains), `latest`
    named it, and `report --html` replaced a good report with one of "0 domains"."""
    s1 = new_scan(store)
    add(store, s1, ["a.nl", "b.nl"])
    store.write_domain(s1, "a.nl", "ok", results_for("a.nl"))
    store.finish_scan(s1, "interrupted")
    s2 = new_scan(store)
    add(store, s2, ["a.nl", "b.nl"])
    store.finish_scan(s2, "aborted", {"message": "no DNS resolver answered"})
    assert store.resolve_scan("latest") == store.resolve_scan(None) == s1
    assert store.resolve_scan(s2) == s2  # by its number it is still there
    assert store.skipped_by_latest(s1) == [{"id": s2, "state": "aborted"}]
    if isinstance(store.url, str) and "://" not in store.url:  # the command line says it (SQLite file)
        r = subprocess.run([sys.executable, "-m", "stekker", "show", "a.nl", "--db", store.url],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
        assert r.returncode == 0, r.stderr
        assert f"note: 'latest' is scan {s1}, the newest that measured domains; newer scan(s) {s2} (aborted) " \
               "measured none" in r.stderr
    s3 = new_scan(store)
    add(store, s3, ["a.nl"])
    store.write_domain(s3, "a.nl", "ok", results_for("a.nl"))
    assert store.resolve_scan("latest") == s3 and store.skipped_by_latest(s3) == []


def test_resolve_list_finish(store):
    with pytest.raises(ScanNotFound, match="no scans"):
        store.resolve_scan("latest")
    s1 = new_scan(store, label="januari")
    s2 = new_scan(store)
    assert store.resolve_scan(None) == s2
    assert store.resolve_scan("latest") == s2
    assert store.resolve_scan(str(s1)) == s1 and store.resolve_scan(s1) == s1
    assert store.resolve_scan("januari") == s1
    with pytest.raises(ScanNotFound, match="no scan 999"):
        store.resolve_scan(999)
    with pytest.raises(ScanNotFound, match="'februari'"):
        store.resolve_scan("februari")

    store.mark_running(s1)
    assert store.scan_info(s1)["state"] == "running"
    store.finish_scan(s1, "interrupted", {"done": 3})
    info = store.scan_info(s1)
    assert info["state"] == "interrupted" and info["finished_at"] >= info["started_at"]
    assert info["summary"] == {"done": 3}
    store.mark_running(s1)  # resumed
    assert store.scan_info(s1)["finished_at"] is None
    store.finish_scan(s1, "finished", {"done": 5})
    with pytest.raises(StoreError, match="state must be"):
        store.finish_scan(s1, "done", {})
    with pytest.raises(ScanNotFound):
        store.finish_scan(12345, "finished", {})

    scans = store.list_scans()
    assert [s["id"] for s in scans] == [s2, s1]
    assert scans[1]["state"] == "finished" and scans[1]["label"] == "januari"


# -- attributions and datasets -------------------------------------------------------------


def test_attributions_replace_and_order(store):
    sid = new_scan(store)
    add(store, sid, ["z.nl", "a.nl", "m.nl"])
    recs = [{"domain": d, "services": {"mail": {"provider": "microsoft", "note": "zoë \x00"}}} for d in ["a.nl", "z.nl", "m.nl"]]
    assert store.save_attributions(sid, "kb-1", recs) == 3
    assert [r["domain"] for r in store.iter_attributions(sid, "kb-1", batch=2)] == ["z.nl", "a.nl", "m.nl"]
    assert next(store.iter_attributions(sid, "kb-1"))["services"]["mail"]["note"] == "zoë \x00"
    store.save_attributions(sid, "kb-1", recs[:1])  # replaces
    assert [r["domain"] for r in store.iter_attributions(sid, "kb-1")] == ["a.nl"]
    store.save_attributions(sid, "kb-2", recs)
    assert store.attribution_versions(sid) == ["kb-1", "kb-2"]
    assert list(store.iter_attributions(sid, "kb-9")) == []
    with pytest.raises(StoreError, match="two attribution records"):
        store.save_attributions(sid, "kb-2", recs + recs[:1])
    assert len(list(store.iter_attributions(sid, "kb-2"))) == 3  # unchanged: the failed save rolled back


def test_a_look_up_during_a_save_of_attributions_never_leaves_them_stale(store):
    """A finished scan's evidence can still change (the Microsoft realm pass
    of a --resume, add_results).  When that look-up commits while attributions
    of the scan are being saved, the saved records rest on the old evidence:
    they must not survive as the scan's current attributions.  On PostgreSQL
    (READ COMMITTED) the look-up's DELETE cannot see the save's uncommitted
    rows, so without a lock on the scan the stale rows were kept."""
    import threading

    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl"])
    store.write_domains(sid, [(d, "ok", results_for(d)) for d in ("a.nl", "b.nl")])
    store.finish_scan(sid, "finished", {})
    looked_up = threading.Event()
    failed: list[BaseException] = []

    def look_up():
        try:
            store.add_results(sid, "ms_realm", [("a.nl", [(QueryResult(
                "a.nl", "ms_realm", "a.nl", "REALM", Status.PRESENT, answers=[RR("a.nl", "REALM", 0, "managed")],
                resolver="https://login.microsoftonline.com"), None)])])
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failed.append(exc)
        looked_up.set()

    worker = threading.Thread(target=look_up, daemon=True)

    def records():
        yield {"domain": "a.nl", "services": {}}
        worker.start()  # the look-up starts while the save is under way ...
        looked_up.wait(1.5)  # ... and has had time to commit, unless the save holds it back
        yield {"domain": "b.nl", "services": {}}

    store.save_attributions(sid, "kb-1", records())
    worker.join(30)
    assert not worker.is_alive() and not failed, failed
    # the look-up came last: whatever the save stored rests on the old evidence and is gone
    assert not store.attributions_current(sid, "kb-1")
    assert list(store.iter_attributions(sid, "kb-1")) == []


def test_datasets(store):
    store.record_dataset("psl", "https://publicsuffix.org/list/", "2026-10-23", 1.5, "/d/psl.dat")
    store.record_dataset("ip2asn-v4", "https://iptoasn.com", "v1", 2.0, None)
    store.record_dataset("psl", "https://publicsuffix.org/list/", "2026-11-01", 3.0, "/d/psl2.dat")
    ds = store.datasets()
    assert [d["name"] for d in ds] == ["ip2asn-v4", "psl"]
    assert ds[1]["version"] == "2026-11-01" and ds[1]["path"] == "/d/psl2.dat"


# -- kill -9 --------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[3])
    from stekker.evidence import RR, QueryResult, Status
    from stekker.store import Store
    store = Store.open(sys.argv[1])
    sid = int(sys.argv[2])
    pause_after = int(sys.argv[4])  # 0: never
    writes = 0
    if pause_after:
        # stop inside a transaction: query rows inserted, done flags not yet set
        orig = store._insert_queries
        def insert_then_wait(conn, rows):
            orig(conn, rows)
            if writes >= pause_after:
                print("in-tx", flush=True)
                time.sleep(60)
        store._insert_queries = insert_then_wait
    batch = []
    for t in store.pending_targets(sid, batch=50):
        d = t["domain"]
        rows = [(QueryResult(d, "p%d" % i, "q%d.%s" % (i, d), "TXT", Status.PRESENT,
                             answers=[RR(d, "TXT", 60, "x" * 300)]), b"w" * 300) for i in range(30)]
        batch.append((d, "ok", rows))
        if len(batch) == 3:
            store.write_domains(sid, batch)
            writes += 1
            batch = []
            print("w", flush=True)
    """
)


def _run_and_kill(db: str, sid: int, tmp_path: Path, pause_after: int, kill_after_lines: int) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), db, str(sid), SRC, str(pause_after)],
                            stdout=subprocess.PIPE, text=True)
    try:
        n = 0
        for line in proc.stdout:
            if pause_after and line.strip() == "in-tx":
                break
            n += 1
            if not pause_after and n >= kill_after_lines:
                time.sleep(0.013)  # land somewhere inside a later transaction
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _check_after_kill(db: str, sid: int, domains: list[str], min_done: int) -> None:
    store = Store.open(db)
    counts = store.scan_info(sid)["counts"]
    assert min_done <= counts["done"] < len(domains), counts
    assert counts["queries"] == counts["done"] * 30  # no half-written domain
    per = {ev.domain: len(ev.results) for ev in store.iter_evidence(sid)}
    assert len(per) == counts["done"] and set(per.values()) == {30}
    pending = [t["domain"] for t in store.pending_targets(sid)]
    assert sorted(pending + list(per)) == domains

    # resume: the remaining domains, nothing twice
    for i in range(0, len(pending), 100):
        chunk = pending[i : i + 100]
        store.write_domains(sid, [(d, "ok", results_for(d)) for d in chunk])
    c = store.scan_info(sid)["counts"]
    assert c["done"] == len(domains) and c["queries"] == counts["done"] * 30 + len(pending) * 8
    store.close()


def test_kill_9_inside_a_transaction(db, tmp_path):
    store = Store.open(db)
    sid = new_scan(store)
    domains = [f"k{i:05d}.nl" for i in range(300)]
    add(store, sid, domains)
    store.close()
    _run_and_kill(db, sid, tmp_path, pause_after=5, kill_after_lines=0)
    store = Store.open(db)
    c = store.scan_info(sid)["counts"]
    # five committed batches of three; the sixth (rows inserted, not committed) is gone
    assert (c["done"], c["queries"]) == (15, 15 * 30)
    assert [t["domain"] for t in store.pending_targets(sid)][:3] == domains[15:18]
    store.close()
    _check_after_kill(db, sid, domains, min_done=15)
    store = Store.open(db)
    assert store.scan_info(sid)["counts"]["done"] == 300
    store.close()


def test_kill_9_leaves_every_domain_complete_or_pending(db, tmp_path):
    store = Store.open(db)
    sid = new_scan(store)
    domains = [f"k{i:05d}.nl" for i in range(3000)]
    add(store, sid, domains)
    store.close()
    _run_and_kill(db, sid, tmp_path, pause_after=0, kill_after_lines=40)
    _check_after_kill(db, sid, domains, min_done=40 * 3)


# -- from an input file to pending targets ------------------------------------------------


def test_input_file_into_store(store, tmp_path):
    from stekker.targets import read_targets

    p = tmp_path / "orgs.csv"
    p.write_text(
        "domain;organisation;hosts\n"
        "gemeente-a.nl;Gemeente A;loket.gemeente-a.nl\n"
        "co.uk;Nope;\n"
        "www.gemeente-a.nl;Samenwerking;portaal.gemeente-a.nl\n"
        "zoë.nl;Zoë;\n",
        encoding="utf-8",
    )
    tf = read_targets(p)
    sid = store.create_scan(tool_version="t", plan_version=1, input_path=str(p), input_sha256=tf.sha256,
                            resolvers=[], options={})
    assert store.add_targets(sid, tf) == 2
    store.add_input_issues(sid, tf.issues)
    pending = list(store.pending_targets(sid))
    assert [(t["domain"], t["input_name"], t["organisations"], t["hosts"], t["lines"]) for t in pending] == [
        ("gemeente-a.nl", "gemeente-a.nl", ["Gemeente A", "Samenwerking"],
         ["loket.gemeente-a.nl", "portaal.gemeente-a.nl"], [2, 4]),
        ("xn--zo-ija.nl", "zoë.nl", ["Zoë"], [], [5]),
    ]
    assert [(i["line"], i["kind"]) for i in store.input_issues(sid)] == [(3, "public_suffix"), (4, "duplicate")]
    assert store.scan_info(sid)["input_sha256"] == tf.sha256


def test_store_constructor_shorthand(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    assert s.dialect == "sqlite" and s.list_scans() == []
    s.close()


# -- property: any text survives the round trip ----------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=5),
       wire=st.binary(max_size=600))
def test_any_txt_value_and_wire_round_trip(store, values, wire):
    # one database for all examples (SQLite and PostgreSQL), a new scan each
    sid = new_scan(store)
    add(store, sid, ["a.nl"])
    r = QueryResult("a.nl", "apex_txt", "a.nl", "TXT", Status.PRESENT, rcode="NOERROR",
                    answers=[RR("a.nl", "TXT", 300, v) for v in values])
    store.write_domain(sid, "a.nl", "ok", [(r, wire)])
    store.write_domain(sid, "a.nl", "ok", [(r, wire)])  # rewrite: still one row
    ev = store.evidence(sid, "a.nl")
    assert ev.results == [r]
    assert store.query_wire(sid, "a.nl", "a.nl", "TXT") == wire
    assert store.scan_info(sid)["counts"]["queries"] == 1


def test_another_programs_sqlite_file_is_not_touched(tmp_path):
    """Exploratory test (2026-12-06): `stekker scans --db other.db` gave
    another program's SQLite file seven stekker tables and switched it to WAL
    mode. Now refused before anything is written, by every command."""
    import hashlib
    import sqlite3
    import subprocess
    import sys

    from stekker.store import Store, StoreError

    def sqlite_file(path, *statements):
        c = sqlite3.connect(path)
        for sql in statements:
            c.execute(sql)
        c.commit()
        c.close()
        return path

    db = sqlite_file(tmp_path / "other.db", "create table foo(x)", "insert into foo values (1)")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for create in (False, True):
        with pytest.raises(StoreError, match="database of another program"):
            Store.open(str(db), create=create)
    for args in (["scans"], ["report", "--scan", "latest"], ["show", "x.nl"]):
        r = subprocess.run([sys.executable, "-m", "stekker", *args, "--db", str(db)], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2 and "database of another program" in r.stderr, (args, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (tmp_path / "other.db-wal").exists()
    # a database of an older stekker (no schema version) keeps its own message (review 26)
    old = sqlite_file(tmp_path / "old.db", "create table scans(id integer)", "create table queries(x)")
    with pytest.raises(StoreError, match="older stekker"):
        Store.open(str(old), create=False)
    # an empty file and a stekker database open as before
    (tmp_path / "empty.db").write_bytes(b"")
    Store.open(str(tmp_path / "empty.db")).close()
    Store.open(str(tmp_path / "empty.db"), create=False).close()


@pytest.mark.postgres
def test_another_applications_postgresql_database_is_not_written(pg_db):
    """Exploratory test (explore-d H4): `scan --db postgresql://.../otherapp`
    created stekker's seven tables next to another application's `customers`
    table (SQLite refused the same). Now refused the same way, nothing created."""
    db = pg_db
    import sqlalchemy as sa

    from stekker.store import Store, StoreError

    eng = sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id integer)"))
    for create in (True, False):
        with pytest.raises(StoreError, match=r"database of another program \(tables: customers\)"):
            Store.open(db, create=create)
    with eng.begin() as conn:  # one rule with SQLite: a foreign `meta` table does not make it stekker's
        assert set(sa.inspect(conn).get_table_names()) == {"customers"}  # nothing added
        conn.execute(sa.text("CREATE TABLE meta (key text primary key, value text)"))
    with pytest.raises(StoreError, match=r"database of another program \(tables: customers, meta\)"):
        Store.open(db)
    with eng.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"customers", "meta"}
    eng.dispose()


def test_an_unfinished_scan_is_reported_as_a_partial_result(tmp_path):
    """Exploratory test (2026-12-06): a scan killed after 1 of 321 domains
    was published as "Domains in the input: 1 — 1 measured", its headline
    total 1, exit 0. The input's count is kept, the figures say which part
    they cover, and `report` and `site` exit 1 (a partial result)."""
    import subprocess
    import sys

    import sqlalchemy as sa

    from stekker import kb as K
    from stekker.store import Store
    from stekker.store import schema as S
    from test_report_support import dom, svc

    kb = K.load()
    db = tmp_path / "k.db"
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                         resolvers=["127.0.0.1:53"], options={})
    st.mark_running(sid)
    st.add_targets(sid, [{"domain": f"d{i}.nl", "organisation": f"O{i}", "sector": "gemeente"} for i in range(5)])
    rec = dom("d0.nl", "O0", "gemeente", {"mailbox": svc("mailbox", "microsoft", name="Microsoft")})
    st.save_attributions(sid, kb.version, [rec.to_dict() | {"kb_version": kb.version}])
    with st.engine.begin() as conn:
        conn.execute(sa.update(S.targets).where(S.targets.c.scan_id == sid, S.targets.c.domain == "d0.nl")
                     .values(done=True, status="ok"))
    st.close()
    r = subprocess.run([sys.executable, "-m", "stekker", "report", "--db", str(db)], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "1 of the 5 domains of the input were measured" in r.stdout + r.stderr
    # -q (no tables, as in a cron job's log): the caveat is still said (field trial cron 4: an empty log)
    r = subprocess.run([sys.executable, "-m", "stekker", "report", "--db", str(db), "-q"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and r.stdout == "", (r.returncode, r.stdout)
    assert "warning: scan 1 is running: 1 of the 5 domains of the input were measured" in r.stderr, r.stderr
    out = tmp_path / "site"
    # without --partial the site is not written (field trial cron 2: a cron job replaced a published
    # site with an interrupted scan's); this scan runs (marked running by this test's process)
    r = subprocess.run([sys.executable, "-m", "stekker", "site", "--db", str(db), "--out", str(out), "--workers", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert (f"scan {sid} is running (1 of the 5 domains measured): the site was not written, {out} stays as it "
            "is; wait until it has finished, or publish it as a partial result with --partial"
            ) in " ".join(r.stderr.split()), r.stderr
    assert not out.exists() and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "stekker", "site", "--db", str(db), "--out", str(out), "--workers", "1",
                        "--partial"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "partial" in r.stderr, (r.returncode, r.stderr)
    home = (out / "en" / "index.html").read_text("utf-8")
    assert "Domains in the input: 5" in home and "4 not measured (the scan did not finish)" in home
    assert "1 of the 5 domains of the input were measured" in home


def test_a_database_this_process_may_not_write_is_read_read_only(tmp_path, monkeypatch):
    """Exploratory test (2026-12-06): on a read-only copy every command, even
    `scans`, failed with "unable to open database file". A command that only
    reads now opens such a file read-only; nothing is created beside it."""
    import hashlib

    from stekker.store import engine as E

    db = tmp_path / "ro.db"
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={}, label="archief")
    st.close()
    for extra in ("ro.db-wal", "ro.db-shm"):
        (tmp_path / extra).unlink(missing_ok=True)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    real = E.os.access
    monkeypatch.setattr(E.os, "access", lambda p, mode, *a, **k: False if mode == os.W_OK else real(p, mode))
    ro = Store.open(str(db), create=False)
    assert ro.readonly and [s["label"] for s in ro.list_scans()] == ["archief"]
    assert ro.resolve_scan("latest") == sid
    ro.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (tmp_path / "ro.db-wal").exists() and not (tmp_path / "ro.db-shm").exists()
    # a command that writes still opens it for writing (and fails there if it cannot)
    assert not Store.open(str(db), create=True).readonly


def test_a_scan_whose_process_is_gone_is_not_running(tmp_path):
    """Exploratory test (2026-12-06): a scan killed with kill -9 stayed
    "running" in `stekker scans` and in every report for ever. A running scan
    records its process; when that process no longer exists on this machine
    the scan reads as interrupted (finished domains kept, --resume goes on)."""
    import json
    import subprocess

    import sqlalchemy as sa

    st = Store.open(str(tmp_path / "k.db"))
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={"qps": 10})
    st.mark_running(sid)
    info = st.scan_info(sid)
    assert info["state"] == "running" and info["options"]["qps"] == 10  # this process: alive
    gone = subprocess.Popen(["true"])
    gone.wait()
    with st.engine.begin() as conn:  # as if a process that has ended had started it
        opts = dict(info["options"], runner={**info["options"]["runner"], "pid": gone.pid})
        conn.execute(sa.text("UPDATE scans SET options = :o WHERE id = :i"), {"o": json.dumps(opts), "i": sid})
    assert st.scan_info(sid)["state"] == "interrupted"
    assert [s["state"] for s in st.list_scans()] == ["interrupted"]
    with st.engine.begin() as conn:  # another machine's scan cannot be checked: as recorded
        opts["runner"]["host"] = "elders.example"
        conn.execute(sa.text("UPDATE scans SET options = :o WHERE id = :i"), {"o": json.dumps(opts), "i": sid})
    assert st.scan_info(sid)["state"] == "running"
    st.close()


def _set_runner(st, sid, **runner):
    import json

    import sqlalchemy as sa

    with st.engine.begin() as conn:
        conn.execute(sa.text("UPDATE scans SET state = 'running', options = :o WHERE id = :i"),
                     {"o": json.dumps({"runner": runner}), "i": sid})


def test_a_scan_run_by_another_live_process_is_not_run_twice(store):
    """explore-f M6: two `scan --resume` of one scan at once both ran it (UNIQUE constraint failed,
    a complete scan left aborted). mark_running() is the scan's run lock: refused while another
    process that is alive runs it; a dead one's (kill -9) or a stale heartbeat's lock is taken over."""
    import socket

    from stekker.store import ScanBusy

    st = store
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={})
    here = socket.gethostname()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _set_runner(st, sid, pid=other.pid, host=here, beat=time.time())
        with pytest.raises(ScanBusy, match=f"scan {sid} is being run by another process \\(pid {other.pid}\\)"):
            st.mark_running(sid)
        assert st.scan_info(sid)["options"]["runner"]["pid"] == other.pid  # untouched
        assert st.run_by_another(sid)
        with pytest.raises(ScanBusy, match=f"\\(pid {other.pid}\\)"):
            st.refuse_if_run_by_another(sid)
        # the pid runs, but the scan has not beaten for two hours: a process that got the pid after a
        # crash or a reboot, not the scan (review 28 M2: the resume was refused for good)
        _set_runner(st, sid, pid=other.pid, host=here, beat=time.time() - 7200)
        assert not st.run_by_another(sid) and st.scan_info(sid)["state"] == "interrupted"
        _set_runner(st, sid, pid=other.pid, host=here, beat=time.time())
    finally:
        other.kill()
        other.wait()
    st.mark_running(sid)  # its process is gone (kill -9): taken over
    assert st.scan_info(sid)["options"]["runner"]["pid"] == os.getpid()
    st.mark_running(sid)  # this process again: its own lock
    st.finish_scan(sid, "interrupted")

    # another machine's scan (a shared PostgreSQL database): alive while it beats
    _set_runner(st, sid, pid=1, host="elders.example", beat=time.time())
    with pytest.raises(ScanBusy, match="pid 1 on elders.example"):
        st.mark_running(sid)
    _set_runner(st, sid, pid=1, host="elders.example", beat=time.time() - 3600)
    assert st.scan_info(sid)["state"] == "interrupted"  # no heartbeat for an hour: stopped
    st.mark_running(sid)
    st.finish_scan(sid, "finished")


@pytest.mark.postgres
def test_heartbeats_are_judged_by_the_database_clock(pg_db, monkeypatch):
    """Review 28 L4: a scan run from machine A against a shared PostgreSQL server, looked at from
    machine B whose clock is an hour ahead: B read A's fresh heartbeat as an hour old, showed the
    scan as interrupted and let a resume run it a second time. Beats are written and judged by the
    server's clock."""
    from stekker.store import ScanBusy
    from stekker.store import scans as S

    st = Store.open(pg_db)
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={})
    import sqlalchemy as sa

    def server_clock() -> float:
        with st.engine.connect() as conn:
            return float(conn.execute(sa.text("select extract(epoch from clock_timestamp())")).scalar())

    server_now = server_clock()
    _set_runner(st, sid, pid=1, host="elders.example", beat=server_now)  # machine A, beating now
    real = time.time
    monkeypatch.setattr(S.time, "time", lambda: real() + 3600)  # this machine's clock: an hour ahead
    assert st.scan_info(sid)["state"] == "running"
    with pytest.raises(ScanBusy, match="pid 1 on elders.example"):
        st.mark_running(sid)
    _set_runner(st, sid, pid=1, host="elders.example", beat=server_now - 3600)  # A stopped an hour ago
    assert st.scan_info(sid)["state"] == "interrupted"
    st.mark_running(sid)
    assert abs(st.scan_info(sid)["options"]["runner"]["beat"] - server_clock()) < 60  # the server's clock
    st.finish_scan(sid, "finished")
    st.close()


def test_a_running_scan_beats(tmp_path, monkeypatch):
    from stekker.store import scans as S

    monkeypatch.setattr(S, "RUNNER_BEAT", 0.05)
    st = Store.open(str(tmp_path / "k.db"))
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={})
    with st.keep_running(sid):
        first = st.scan_info(sid)["options"]["runner"]["beat"]
        time.sleep(0.5)
        assert st.scan_info(sid)["options"]["runner"]["beat"] > first
    st.finish_scan(sid, "finished")


def test_a_read_only_database_says_what_cannot_be_done(tmp_path, monkeypatch):
    """Review 26: on a read-only copy whose attributions are of another
    knowledge-base version, report, site and audit seed tried to compute and
    store them and failed with raw SQL. They now say why, exit 2."""
    from stekker import kb as K
    from stekker.attribute import attribute_scan, load_attributions
    from stekker.store import engine as E
    from test_report_support import dom, svc

    kb = K.load()
    db = tmp_path / "ro.db"
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={})
    st.add_targets(sid, [{"domain": "a.nl", "organisation": "A", "sector": "gemeente"}])
    rec = dom("a.nl", "A", "gemeente", {"mailbox": svc("mailbox", "kpn", name="KPN")}).to_dict()
    st.save_attributions(sid, "an-older-kb", [rec | {"kb_version": "an-older-kb"}])
    st.finish_scan(sid, "finished")
    st.close()
    real = E.os.access
    monkeypatch.setattr(E.os, "access", lambda p, mode, *a, **k: False if mode == os.W_OK else real(p, mode))
    ro = Store.open(str(db), create=False)
    with pytest.raises(StoreError, match="opened read-only .* no attributions of scan 1 .*stored: an-older-kb"):
        list(load_attributions(ro, sid, kb=kb))
    with pytest.raises(StoreError, match="read-only"):
        attribute_scan(ro, sid, kb=kb, asn_table=None)
    ro.close()


def test_a_read_command_creates_nothing_in_an_empty_database(db):
    """Review 26: the refusal of another program's database covered SQLite
    only; a command that only reads still created stekker's tables in an
    empty or foreign PostgreSQL database (a typo in --db)."""
    if db.startswith("postgresql"):
        with pytest.raises(StoreError, match="holds no stekker database"):
            Store.open(db, create=False)
        import sqlalchemy as sa

        eng = sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1)
                               if db.startswith("postgresql://") else db)
        try:
            assert sa.inspect(eng).get_table_names() == []  # nothing was created
        finally:
            eng.dispose()
    else:
        with pytest.raises(StoreError, match="no database"):
            Store.open(db, create=False)
    Store.open(db).close()  # a command that writes creates it
    Store.open(db, create=False).close()  # and then it reads


def _open_new(path: str, q) -> None:  # a process of the test below
    from stekker.store import Store, StoreError

    try:
        Store.open(path).close()
        q.put("ok")
    except StoreError as exc:
        q.put(str(exc))


def test_processes_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path):
    """Exploratory test (explore-d M6): two scans started at once on a new
    SQLite file: one failed with "table meta already exists" (1 run in 4;
    measured here: 31 of 160 opens by 4 processes at once failed, with "already
    exists" or "UNIQUE constraint failed: meta.key"). Now the loser of the race
    looks again."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    failed = []
    for i in range(30):  # 6 of 20 runs of 15 rounds failed with the retry alone (review 27: BEGIN IMMEDIATE)
        path = str(tmp_path / f"race-{i}.db")
        q = ctx.Queue()
        procs = [ctx.Process(target=_open_new, args=(path, q)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failed += [r for r in (q.get(timeout=10) for _ in procs) if r != "ok"]
    assert not failed, failed


@pytest.mark.postgres
def test_a_postgresql_password_is_never_printed(pg_db, tmp_path):
    """Exploratory test (explore-d M1): the password of a --db URL was printed
    in the `scans` title, the "resume with" hint, `data import --db` and the
    bad-URL error. Each now shows `user:***@`."""
    db = pg_db
    import subprocess
    import sys

    from stekker.store import Store, display_db

    url = db.replace("://stekker@", "://stekker:sekrit-pw@", 1)
    assert "sekrit-pw" in url and "sekrit-pw" not in display_db(url) and "stekker@" in display_db(url)
    for other in ("postgresql://u@h/db?password=sekrit-pw", "postgresql://u:sekrit@pw@h/db",
                  "postgresql:///db?host=h&PASSWORD=sekrit-pw&sslmode=require"):
        assert "sekrit" not in display_db(other) and "pw" not in display_db(other), display_db(other)
    Store.open(url).close()  # trust authentication: the password is not checked, only carried
    for u in (url, url + "&password=sekrit-pw"):  # a store's own URL in messages follows the same rule
        st = Store.open(u)
        assert "sekrit" not in st.url and "***" not in st.url, st.url
        st.close()

    def run(*args):
        r = subprocess.run([sys.executable, "-m", "stekker", *args], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "STEKKER_DATA_DIR": str(tmp_path / "data")})
        assert "sekrit-pw" not in r.stdout + r.stderr, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        return r

    assert "stekker@127.0.0.1" in run("scans", "--db", url).stdout
    tsv = tmp_path / "t.tsv"
    tsv.write_text("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n", encoding="utf-8")
    run("data", "import", str(tsv), "--db", url)
    bad = run("scans", "--db", "postgresql://stekker:sekrit-pw@127.0.0.1:notaport/x")
    assert bad.returncode == 2 and "invalid PostgreSQL URL" in bad.stderr
    # a scan that cannot reach any resolver: the resume hint names the database without the password
    inp = tmp_path / "in.csv"
    inp.write_text("domain\nexample.nl\n", encoding="utf-8")
    r = run("scan", str(inp), "--db", url, "-r", "127.0.0.1:9", "--timeout", "0.2", "--progress", "none")
    assert f"--resume 1 --db {display_db(url)}" in r.stderr, r.stderr
    # pasted back, the hint works: the password comes from PGPASSWORD / ~/.pgpass, not from '***'
    hint = r.stderr.split("--db ", 1)[1].split()[0]
    import shlex

    assert run("scans", "--db", shlex.split(hint)[0]).returncode == 0
    # a crash file a user is asked to attach to a report has no password either
    from stekker.cli import _shareable_argv

    assert "sekrit" not in repr(_shareable_argv(["stekker", "scans", "--db", url]))


@pytest.mark.postgres
def test_a_postgresql_server_lost_mid_scan_gives_the_resume_command(pg_db, tmp_path, monkeypatch):
    """Exploratory test (explore-d M5): the PostgreSQL server stopped mid-scan
    gave exit 2 (a usage error), a message with escaped newlines (\\x0a\\x09)
    and no resume hint. Now exit 3 (network), one line, the resume command."""
    db = pg_db
    import sqlalchemy.exc as sa_exc
    from typer.testing import CliRunner

    import stekker.collect.run as run_mod
    from stekker.cli import app

    class Lost(Exception):
        def __str__(self):
            return ("connection failed: connection to server at \"127.0.0.1\", port 55499 failed: Connection refused\n"
                    "\tIs the server running on that host and accepting TCP/IP connections?")

    def lost(*a, **k):
        raise sa_exc.OperationalError("INSERT INTO queries ...", {}, Lost())

    monkeypatch.setattr(run_mod, "run_scan", lost)
    import stekker.cli as cli_mod

    cli_mod._register()
    inp = tmp_path / "in.csv"
    inp.write_text("domain\nexample.nl\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["scan", str(inp), "--db", db, "-r", "127.0.0.1:9", "--progress", "none"])
    assert r.exit_code == 3, r.output
    assert "the connection to the database was lost (connection failed:" in r.output
    assert "stekker scan --resume 1 --db " in r.output and "\\x0a" not in r.output and "\\x09" not in r.output


def test_a_multi_line_database_error_is_shown_as_its_first_line():
    """A server's message with a hint on its next line read
    'refused\\x0a\\x09Is the server running ...' in one line (explore-d M5)."""
    from stekker.cli import _one_line

    assert _one_line(Exception("Connection refused\n\tIs the server running?")) == "Connection refused"
    assert _one_line(Exception("bell\x07 here")) == "bell\\x07 here"  # still inert


def test_a_database_lost_in_any_pass_of_a_scan_is_exit_3_with_the_resume_command(capsys):
    """Review 27: the realm and identity-provider passes had no such handling
    (a PostgreSQL server lost there was an internal error, exit 4)."""
    import sqlalchemy.exc as sa_exc
    import typer

    from stekker.cli.scan import _database_lost

    class PG:
        dialect = "postgresql"

    with pytest.raises(typer.Exit) as exc:
        with _database_lost(PG(), 7, "postgresql://u:pw@h/db"):
            raise sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection\nunexpectedly"))
    assert exc.value.exit_code == 3
    err = capsys.readouterr().err
    assert "the connection to the database was lost (server closed the connection)" in err
    assert "stekker scan --resume 7 --db postgresql://u@h/db" in err and "pw" not in err

    class Lite:
        dialect = "sqlite"

    with pytest.raises(sa_exc.OperationalError):  # a SQLite error keeps its own message
        with _database_lost(Lite(), 7, "s.db"):
            raise sa_exc.OperationalError("SELECT 1", {}, Exception("database is locked"))


def test_export_of_an_unfinished_scan_says_it_is_partial(tmp_path):
    """Explore-f M5: `export` of a scan interrupted at 105 of 171 domains
    wrote 105 records, said nothing and exited 0 (report and site exit 1)."""
    from cli_util import cli

    db = str(tmp_path / "p.db")
    store = Store.open(db)
    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl", "c.nl"])
    store.write_domains(sid, [("a.nl", "ok", results_for("a.nl"))])
    store.finish_scan(sid, "interrupted", {})
    store.close()
    out = tmp_path / "e.jsonl"
    res = cli("export", "--db", db, "--scan", str(sid), "-o", str(out))
    assert res.rc == 1, res.text
    assert "is interrupted: 1 of the 3 domains" in res.err and f"scan --resume {sid}" in res.err
    assert len(out.read_text().splitlines()) == 1


def test_an_ascii_only_terminal_gets_escapes_not_an_internal_error(tmp_path):
    """Explore-f L8: with PYTHONIOENCODING=ascii, `report` and `show` of an
    internationalised name (or the '·' of a header) ended in exit 4."""
    import os
    import subprocess
    import sys

    db = str(tmp_path / "a.db")
    store = Store.open(db)
    new_scan(store, label="München · Fryslân")
    store.close()
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-m", "stekker", "scans", "--db", db], capture_output=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert b"M\\xfcnchen" in r.stdout and b"Traceback" not in r.stderr


def test_an_empty_user_file_is_not_made_a_database(tmp_path):
    """Explore-f L12: `scan ... --db notes.txt` on an empty file of the user's
    turned it into a 64 KB SQLite database.  An empty file is taken only when
    its name says database (`touch stekker.db`)."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"")
    with pytest.raises(StoreError, match="is an empty file, not a database"):
        Store.open(str(notes))
    assert notes.read_bytes() == b""
    made = tmp_path / "stekker.db"
    made.write_bytes(b"")
    Store.open(str(made)).close()
    assert made.stat().st_size > 0


@pytest.mark.parametrize("content", [b"x", b"\n", b"SQLite", b"notes of the meeting\n" * 3])
def test_a_short_user_file_is_not_made_a_database(tmp_path, content):
    """Field trial F8: SQLite takes a file shorter than its header for an empty database, so
    `scans --db one.txt` (a command that only reads) turned a 1-byte note into a 64 KB database.
    A non-empty file that does not begin as a SQLite database is refused, for every command."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    for create in (False, True):
        with pytest.raises(StoreError, match="the file is not a database"):
            Store.open(str(notes), create=create)
    assert notes.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no -wal, -shm or journal


def test_an_error_of_several_lines_keeps_its_line_breaks(capsys):
    """Explore-f L3: a knowledge base's validation errors (one per line) were
    printed as one line joined by literal \\x0a; escapes stay escaped."""
    from stekker.cli.common import fail

    exc = fail("kb/providers.yaml: 2 validation error(s)\n  providers: Field required\n  a: \x1b[2J")
    err = capsys.readouterr().err
    assert exc.exit_code == 2
    assert err.splitlines() == ["error: kb/providers.yaml: 2 validation error(s)", "  providers: Field required",
                                "  a: \\x1b[2J"]


def test_closed_or_full_standard_streams_are_no_internal_error(tmp_path):
    """Explore-f L9: `export >&-` and `scan 2>&-` crashed with exit 4
    (NoneType has no attribute write/isatty); `scan 2>/dev/full` left its
    scan in state 'created' for good."""
    import os
    import subprocess
    import sys

    db = str(tmp_path / "c.db")
    store = Store.open(db)
    sid = new_scan(store)
    add(store, sid, ["a.nl"])
    store.write_domains(sid, [("a.nl", "ok", results_for("a.nl"))])
    store.finish_scan(sid, "finished", {})
    store.close()
    env = {**os.environ, "PYTHONPATH": SRC}
    base = [sys.executable, "-m", "stekker"]
    r = subprocess.run(base + ["export", "--db", db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                       timeout=120, close_fds=True, preexec_fn=lambda: os.close(1))
    assert r.returncode == 1 and b"Traceback" not in r.stderr and b"internal error" not in r.stderr, r.stderr
    inp = tmp_path / "in.txt"
    inp.write_text("example.nl\n")
    for name, kw in (("closed", {"preexec_fn": lambda: os.close(2)}), ("full", {"stderr": open("/dev/full", "w")})):
        sdb = str(tmp_path / f"{name}.db")
        r = subprocess.run(base + ["scan", str(inp), "--resolver", "127.0.0.1:9", "--db", sdb],
                           stdout=subprocess.DEVNULL, env=env, timeout=120, **kw)
        assert r.returncode == 3, (name, r.returncode)  # no resolver answers: exit 3, not 4
        st = Store.open(sdb)
        assert [s["state"] for s in st.list_scans()] == ["aborted"], name
        st.close()


def test_a_worker_that_cannot_start_leaves_no_signal_handler_behind(tmp_path, monkeypatch):
    """Review 28 L2: when starting an engine worker failed (EAGAIN, EMFILE),
    the handler that forwards Ctrl-C to the workers stayed installed and
    swallowed the user's next Ctrl-C."""
    import multiprocessing.context
    import signal

    from stekker.collect.run import RunOptions, _spawn_workers
    from stekker.collect.transport import TransportConfig

    store = Store.open(str(tmp_path / "w.db"))
    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl"])
    started = []

    def start(self):
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        started.append(self)

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", start)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(OSError, match="temporarily unavailable"):
        _spawn_workers(store, sid, [("127.0.0.1", 9)], {}, TransportConfig(), RunOptions(workers=2, progress="none"), 2)
    assert {s: signal.getsignal(s) for s in before} == before
    store.close()


def test_a_pass_over_a_finished_scan_has_its_own_lock(store):
    """`scan --resume N --ms-realm` of a finished scan took no run lock: two at once asked and wrote the
    same look-ups twice (left from the run lock of explore-f M6). The pass's lock keeps the scan
    finished, with its dates; it refuses another pass and a resume while its process lives, and is
    released when the pass ends (or taken over when its process is gone)."""
    import socket

    from stekker.store import ScanBusy

    st = store
    sid = st.create_scan(tool_version="t", plan_version=1, input_path="x", input_sha256=None,
                         resolvers=["127.0.0.1"], options={"keep": 1})
    st.finish_scan(sid, "finished")
    finished_at = st.scan_info(sid)["finished_at"]
    with st.keep_running(sid, finished_pass=True):
        info = st.scan_info(sid)
        assert info["state"] == "finished" and info["finished_at"] == finished_at
        assert info["options"]["pass_runner"]["pid"] == os.getpid() and info["options"]["keep"] == 1
        assert not st.run_by_another(sid)  # its own lock
    info = st.scan_info(sid)
    assert "pass_runner" not in info["options"] and info["options"]["keep"] == 1 and info["state"] == "finished"

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import json

        import sqlalchemy as sa

        with st.engine.begin() as conn:
            conn.execute(sa.text("UPDATE scans SET options = :o WHERE id = :i"), {"o": json.dumps(
                {"pass_runner": {"pid": other.pid, "host": socket.gethostname(), "beat": time.time()}}), "i": sid})
        for attempt in (lambda: st.mark_running(sid, "pass_runner"), lambda: st.mark_running(sid),
                        lambda: st.refuse_if_run_by_another(sid)):
            with pytest.raises(ScanBusy, match=f"scan {sid} is being run by another process \\(pid {other.pid}\\)"):
                attempt()
        assert st.scan_info(sid)["state"] == "finished"
    finally:
        other.kill()
        other.wait()
    with st.keep_running(sid, finished_pass=True):  # its process is gone: taken over
        assert st.scan_info(sid)["options"]["pass_runner"]["pid"] == os.getpid()
    assert st.scan_info(sid)["state"] == "finished"
