"""Regression tests for the review of issues 9, 12 and 13 (one test per
defect; each failed before its fix)."""

from __future__ import annotations

import pytest

from stekker.judge import judge, load_policies
from test_attribute import AS_OF
from test_attribute_network import attr, kb, pol  # noqa: F401  (the same module-scoped fixtures)


# a Microsoft tenant token behind a Swiss mail gateway (SEPPmail): DNS shows the gateway
# in the MX records and "MS=" in a TXT record only
GATEWAY_MS = [("gemeente-t.nl", "MX", "10 gemeente-t-nl.gate.seppmail.cloud."), ("gemeente-t.nl", "TXT", "MS=ms12345678")]


def test_nos_records_leaves_out_a_tenant_token_behind_a_gateway(kb, pol):
    """[review 1] nos-records looks at A/MX/NS/CNAME only: a mailbox known only
    from a TXT token must not make the domain US-linked, nor count in the NOS
    Microsoft row."""
    from stekker.report import build

    da = attr("gemeente-t.nl", GATEWAY_MS, kb)
    mb = da.services["mailbox"]
    assert mb.provider == "microsoft" and mb.basis == "likely"
    assert all(e.rtype == "TXT" for e in mb.evidence)
    v = judge(mb, kb, pol["nos-records"], AS_OF)
    assert v is None or v.verdict == "unknown"
    rep = build([da], kb, pol.select(["nos", "nos-records"]), AS_OF)
    assert rep.results[0].verdict["nos-records"] != "not_sovereign"
    assert rep.nos.row("microsoft").count == 0
    assert rep.nos.row("big_three").count == 0


def test_likely_answers_count_on_neither_side_by_default(kb, pol, tmp_path):
    """[review 2] a likely US provider and a likely EU/Swiss provider are both
    unknown (neither counted dependent nor sovereign) under every shipped
    definition; a policy file can still say otherwise."""
    d = "gemeente-l.ch"
    eu = attr(d, [(d, "MX", "10 mx.unknown-example.ch."), (d, "TXT", "v=spf1 include:spf.infomaniak.ch -all")],
              kb).services["mailbox"]
    us = attr(d, [(d, "MX", "10 mx.unknown-example.ch."),
                  (d, "TXT", "v=spf1 include:spf.protection.outlook.com -all")], kb).services["mailbox"]
    assert (eu.basis, us.basis) == ("likely", "likely")
    for p in pol.select(None):
        for s in (us, eu):
            v = judge(s, kb, p, AS_OF)
            # nos-records leaves out the TXT-only answer altogether (review 1)
            assert (v is None) if p.id == "nos-records" else (v.verdict == "unknown"), p.id
    v = judge(us, kb, pol["nos"], AS_OF)
    assert "neither" in v.reason("en") and "Waarschijnlijk" in v.reason("nl")
    # a user's own policy that does not extend a shipped one gets the same default
    f = tmp_path / "p.yaml"
    f.write_text("policies:\n  mine:\n    checks:\n      - chain_none_in: US\n"
                 "  mine-ns:\n    extends: nos\n    likely: not_sovereign_only\n", encoding="utf-8")
    own = load_policies(f)
    assert own["mine"].likely == "separate" and judge(us, kb, own["mine"], AS_OF).verdict == "unknown"
    assert judge(us, kb, own["mine-ns"], AS_OF).verdict == "not_sovereign"


def test_network_registration_country_is_no_control_for_nos(kb, pol):
    """[review 3] an address in an AS registered in NL says where the network
    is registered, not who controls the operator: unknown under nos and
    nos-records; broad (data location) still judges it by the country."""
    d = "gemeente-n.nl"
    da = attr(d, [(d, "MX", "10 mail.isp-example.nl."), ("mail.isp-example.nl", "A", "198.51.100.25")], kb)
    mb = da.services["mailbox"]
    assert mb.basis == "network"
    for pid in ("nos", "nos-records", "eu-controlled", "strict"):
        v = judge(mb, kb, pol[pid], AS_OF)
        assert v.verdict == "unknown" and "network operator" in v.reason("en"), pid
    assert pol["broad"].network == "country"
    assert judge(mb, kb, pol["broad"], AS_OF).verdict == "sovereign"


def test_network_data_location_uses_the_policy_sets_and_rir_pseudo_codes(kb, tmp_path):
    """[review 4] a network answer's data location is judged with the policy's
    own country set (not a hard-coded EEA list); the RIR pseudo-code EU counts
    as in the EEA, AP (Asia-Pacific, no country) as unknown."""
    from test_attribute import evidence
    from test_attribute_network import HolderAsn

    from stekker.attribute import attribute_domain

    asn = HolderAsn({"198.51.100.0/24": (64510, "CH", "EXAMPLE-ISP-CH"),
                     "203.0.113.0/24": (64511, "EU", "EXAMPLE-RIPE-EU"),
                     "192.0.2.0/24": (64512, "AP", "EXAMPLE-APNIC-AP")})

    def mailbox(ip):
        d = "gemeente-w.nl"
        da = attribute_domain(evidence(d, [(d, "MX", "10 mail.elsewhere-example.net."),
                                           ("mail.elsewhere-example.net", "A", ip)]), kb, asn_table=asn, as_of=AS_OF)
        s = da.services["mailbox"]
        assert s.basis == "network", s
        return s

    ch, eu, ap = mailbox("198.51.100.7"), mailbox("203.0.113.7"), mailbox("192.0.2.7")
    assert ap.network["country"] is None and eu.network["country"] == "EU"
    f = tmp_path / "p.yaml"
    f.write_text("country_sets:\n  EEA_CH: {include: [EEA], countries: [CH]}\n"
                 "policies:\n  data-ch:\n    network: country\n    checks:\n      - data_location: EEA_CH\n",
                 encoding="utf-8")
    own = load_policies(f)
    assert judge(ch, kb, own["data-ch"], AS_OF).verdict == "sovereign"
    assert judge(ch, kb, own["broad"], AS_OF).verdict == "not_sovereign"
    assert judge(eu, kb, own["broad"], AS_OF).verdict == "sovereign"
    assert judge(eu, kb, own["data-ch"], AS_OF).verdict == "sovereign"
    assert judge(ap, kb, own["broad"], AS_OF).verdict == "unknown"


def test_nos_provider_rows_count_only_measured_domains_and_kb_answers():
    """[review 5] the base of the NOS provider rows is the domains measured
    (status ok), not those whose measurement failed; only knowledge-base
    answers count for a provider row (not a likely one)."""
    from test_report_support import FakeKB, dom, ev, svc

    from stekker.report import build

    kb = FakeKB()
    ms = svc("mailbox", "microsoft", evidence=[ev("a.nl", "MX", "0 a-nl.mail.protection.outlook.com")])
    ms.basis = "kb"
    likely = svc("mailbox", "microsoft", evidence=[ev("c.nl", "MX", "10 mx.c.nl")])
    likely.basis = "likely"
    das = [dom("a.nl", "A", "gemeente", {"mailbox": ms}),
           dom("b.nl", "B", "gemeente", {"web": svc("web", None, "error")}, status="error"),
           dom("c.nl", "C", "gemeente", {"mailbox": likely}),
           dom("d.nl", "D", "gemeente", {"web": svc("web", "transip")})]
    rep = build(das, kb, load_policies().select(None), AS_OF)
    row = rep.nos.row("microsoft")
    assert (row.count, row.base) == (1, 3)
    assert rep.nos.existing == 3


def _kb_service(kb, pid, category="web"):
    from stekker.attribute.model import Service

    p = kb.provider(pid)
    return Service(category=category, status="attributed", provider=pid, provider_name=p.name, company=p.company,
                   confidence=0.9, basis="kb")


def test_unresearched_controller_is_never_sovereign_under_control_tests(kb, pol):
    """[review 6] a company whose owners were not researched is not its own
    EU controller: control-based definitions say unknown; Contabo (KKR, US)
    and Vivacom (United Group, BC Partners, GB) have their owners recorded."""
    import datetime as dt

    today = dt.date(2026, 12, 1)
    hostnet = _kb_service(kb, "hostnet")
    assert kb.company("hostnet").controller_unknown
    for pid in ("nos", "nos-records", "eu-controlled", "strict"):
        assert judge(hostnet, kb, pol[pid], today).verdict == "unknown", pid
    contabo = _kb_service(kb, "contabo")
    assert kb.chain("contabo", today)[-1] == "kkr"
    assert judge(contabo, kb, pol["nos"], today).verdict == "not_sovereign"
    assert judge(contabo, kb, pol["eu-controlled"], dt.date(2018, 1, 1)).verdict == "unknown"
    vivacom = _kb_service(kb, "vivacom")
    assert kb.chain("vivacom", today) == ["vivacom", "united-group", "bc-partners"]
    assert judge(vivacom, kb, pol["eu-controlled"], today).verdict == "not_sovereign"
    assert judge(vivacom, kb, pol["nos"], today).verdict == "sovereign"
    assert judge(vivacom, kb, pol["nos"], dt.date(2019, 1, 1)).verdict == "unknown"


def test_report_jsonl_writes_hostile_text_inert(tmp_path):
    """[review 7] report --jsonl escapes what a terminal acts on (ESC, bidi
    overrides, line separators) as \\uXXXX; a JSON reader gets the same text."""
    import json

    from test_report_support import FakeKB, dom, svc

    from stekker.report import build
    from stekker.report.export import write_jsonl

    hostile = "Gemeente \x1b[2J\x1b]0;pwned\x07 \u202eevil\u2028X\x9b"
    das = [dom("a.nl", hostile, "gemeente", {"web": svc("web", "transip")})]
    rep = build(das, FakeKB(), load_policies().select(None), AS_OF)
    out = tmp_path / "r.jsonl"
    write_jsonl(rep, str(out))
    raw = out.read_text(encoding="utf-8")
    for ch in ("\x1b", "\x07", "\u202e", "\u2028", "\x9b"):
        assert ch not in raw, repr(ch)
    rec = json.loads(raw.splitlines()[0])
    assert hostile in json.dumps(rec, ensure_ascii=False) or rec.get("organisation") == hostile \
        or hostile in rec.get("organisations", [])


def _pdf(path, title: str, hex_utf16: bool = False):
    if hex_utf16:
        t = "<" + (b"\xfe\xff" + title.encode("utf-16-be")).hex() + ">"
    else:
        t = "(" + title + ")"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Title " + t.encode("latin-1") + b" >> endobj\n%%EOF\n")
    return path


@pytest.mark.parametrize("title, hexed, ours", [
    ("Stekker en contactdozen: catalogus 2026", False, False),   # "stekker" is an ordinary Dutch word
    ("Handleiding stekker vervangen", True, False),
    ("Why you cannot pull the plug on legacy IT", False, False),
    ("Who can pull the plug? \u2014 Scan 3", True, True),
    ("Wie kan de stekker eruit trekken? \u2014 Scan 12", True, True),
    ("Who can pull the plug on Gemeente Utrecht?", False, True),
    ("Wie kan bij Gemeente Utrecht de stekker eruit trekken?", False, True),
    ("Wie kan bij ons de stekker eruit trekken? \u2014 Gemeente X", True, True),
])
def test_only_stekker_report_titles_mark_an_earlier_pdf(tmp_path, title, hexed, ours):
    """[review 8] a PDF counts as an earlier stekker output only when its
    title is one of stekker's report titles, not when it contains 'stekker'."""
    from stekker.outputs import is_stekker_output

    assert is_stekker_output(_pdf(tmp_path / "x.pdf", title, hexed), "pdf") is ours


def test_cli_broken_pipe_is_a_partial_result(monkeypatch):
    """[review 9] `stekker export | head`: the reader closed the pipe, the
    output was cut short: exit 1 as docs/CLI.md says (was 0)."""
    import os

    import stekker.cli as cli_mod

    class Cmd:
        def main(self, **kw):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli_mod.typer.main, "get_command", lambda app: Cmd())
    monkeypatch.setattr(os, "dup2", lambda a, b: None)  # keep pytest's captured stdout
    assert cli_mod.run(["export"]) == cli_mod.EXIT_FINDINGS == 1


@pytest.mark.parametrize("wrapped", [False, True])
def test_cli_locked_database_is_one_line_and_exit_2(capsys, wrapped):
    """[review 9] a SQLite database locked by another process: a one-line
    message and exit 2, never "internal error" (4)."""
    import sqlite3

    import sqlalchemy.exc as sa_exc

    from stekker.cli import EXIT_USAGE, _unexpected

    raw = sqlite3.OperationalError("database is locked")
    exc = sa_exc.OperationalError("INSERT INTO queries ...", {}, raw) if wrapped else raw
    assert _unexpected(exc) == EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert "locked" in err and "internal error" not in err and "stekker database?" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["\uff1dHYPERLINK(\"http://x\")", "\uff0b1+1", "\uff0d1", "\uff20SUM(A1)",
                                  "  =1+1", "\u00a0=cmd|' /C calc'!A0", "\u3000+1", " @SUM(A1)"])
def test_cell_neutralises_fullwidth_and_indented_formulas(text):
    """[review 10] a leading full-width '＝' (and ＋ － ＠) and a formula after
    leading whitespace are neutralised too."""
    from stekker.text import cell

    assert cell(text).startswith("'"), cell(text)


def test_cell_leaves_plain_text_alone():
    from stekker.text import cell

    assert cell("Gemeente A") == "Gemeente A" and cell("  indented name") == "  indented name"
    assert cell(3) == 3 and cell(None) is None
