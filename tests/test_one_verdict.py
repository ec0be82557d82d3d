"""Issue 10: the judge owns every verdict, and `stekker export` reads the
stored attributions.

* What a web page, an API or a CSV computes from :mod:`stekker.judge` for a
  domain is what the report shows for it (terminal/HTML read ``Report``,
  CSV and JSONL are written from it).
* ``stekker export`` writes the scan's stored attributions (not a fresh
  computation), attributes only what is not stored, and writes its lines
  with the report's one JSONL writer.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from stekker import kb as kbmod
from stekker.attribute import attribute_scan, load_attributions
from stekker.judge import judge_results, load_policies
from stekker.report import build
from stekker.report.export import jsonl_line, write_csv, write_jsonl
from stekker.store import Store

AS_OF = "2026-01-01"


@pytest.fixture()
def own_scan(lab_scan, tmp_path):
    """A private copy of the session's lab scan (this module stores attributions)."""
    store, sid = lab_scan
    db = tmp_path / "copy.db"
    src, dst = sqlite3.connect(store.engine.url.database), sqlite3.connect(db)  # with what is still in the WAL
    src.backup(dst)
    src.close()
    dst.close()
    own = Store.open(str(db), create=False)
    for v in own.attribution_versions(sid):  # what other tests stored in the session's scan
        own.save_attributions(sid, v, [])
    assert own.attribution_versions(sid) == []
    return own, sid


def test_judge_results_are_what_the_report_shows(own_scan, tmp_path):
    store, sid = own_scan
    kb = kbmod.load()
    policies = load_policies().select(None)
    attributions = list(load_attributions(store, sid, kb=kb))
    judged = {r.domain: r for r in judge_results(attributions, kb, policies, AS_OF)}
    rep = build(attributions, kb, policies, as_of=AS_OF)
    assert len(judged) == len(rep.results) > 20
    pids = [p.id for p in policies]
    seen = set()
    for r in rep.results:
        j = judged[r.domain]
        assert r.verdict == j.verdict
        seen |= set(r.verdict.values())
        assert [(d.category, d.provider_key, {p: v.to_dict() for p, v in d.verdicts.items() if v})
                for d in r.deps] == \
               [(d.category, d.provider_key, {p: v.to_dict() for p, v in d.verdicts.items() if v})
                for d in j.deps]
        assert [(h.host, h.provider_key, h.verdict) for h in r.hosts] == \
               [(h.host, h.provider_key, h.verdict) for h in j.hosts]
    assert {"not_sovereign", "sovereign", "error", "nxdomain"} <= seen  # the comparison covers them
    # the CSV and the JSONL carry the judge's verdicts
    write_csv(rep, str(tmp_path / "r.csv"))
    write_jsonl(rep, str(tmp_path / "r.jsonl"))
    with open(tmp_path / "r.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert {p: row[f"verdict_{p}"] for p in pids} == judged[row["domain"]].verdict
    lines = (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(judged)
    for line in lines:
        rec = json.loads(line)
        assert rec["verdicts"] == judged[rec["domain"]].verdict


def _export(store, sid, **kw) -> dict[str, dict]:
    from stekker.cli.show import _export

    buf = io.StringIO()
    _export(store, sid, "jsonl", buf, ",", kw.get("evidence", False), True, kw.get("as_of"))
    lines = buf.getvalue().splitlines(keepends=True)
    out = {}
    for line in lines:
        rec = json.loads(line)
        assert line == jsonl_line(rec)  # the report's one JSONL writer
        out[rec["domain"]] = rec
    return out


def test_export_reads_the_stored_attributions(own_scan):
    store, sid = own_scan
    kb = kbmod.load()
    assert kb.version not in store.attribution_versions(sid)
    first = _export(store, sid)
    # none stored: attributed from the evidence and stored, as `stekker report` does
    assert kb.version in store.attribution_versions(sid)
    stored = list(store.iter_attributions(sid, kb.version))
    day = stored[0]["as_of"]
    assert {r["domain"]: {**r, "scan_id": sid} for r in stored} == first
    # what is written is what is stored: a changed stored record shows up
    rec = next(r for r in stored if r["domain"] == "gemeente-a.nl")
    rec["services"]["mailbox"]["provider_name"] = "Stored, not recomputed"
    store.save_attributions(sid, kb.version, stored)
    again = _export(store, sid, as_of=day)
    assert again["gemeente-a.nl"]["services"]["mailbox"]["provider_name"] == "Stored, not recomputed"
    assert {d: r for d, r in again.items() if d != "gemeente-a.nl"} == \
           {d: r for d, r in first.items() if d != "gemeente-a.nl"}
    # another ownership date than the stored one: recomputed in memory, nothing stored
    other = _export(store, sid, as_of="2025-06-01")
    assert other["gemeente-a.nl"]["services"]["mailbox"]["provider_name"] != "Stored, not recomputed"
    assert {r["as_of"] for r in other.values() if "as_of" in r} == {"2025-06-01"}
    assert next(r for r in store.iter_attributions(sid, kb.version)
                if r["domain"] == "gemeente-a.nl")["services"]["mailbox"]["provider_name"] == "Stored, not recomputed"


def test_export_attributes_a_domain_stored_after_the_attributions(own_scan):
    """A domain finished after `stekker attribute` ran (a resumed scan) is
    attributed in memory, never written without its services."""
    store, sid = own_scan
    kb = kbmod.load()
    attribute_scan(store, sid, kb=kb)
    stored = list(store.iter_attributions(sid, kb.version))
    full = _export(store, sid, as_of=stored[0]["as_of"])
    store.save_attributions(sid, kb.version, [r for r in stored if r["domain"] != "gemeente-a.nl"])
    part = _export(store, sid, as_of=stored[0]["as_of"])
    assert part == full and "services" in part["gemeente-a.nl"]
