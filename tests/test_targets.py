"""Input parsing: formats, encodings, normalisation, issues with line numbers."""

from __future__ import annotations

import codecs
import re
import hashlib
import resource
from pathlib import Path

import pytest

from stekker.targets import (
    InputError,
    NameProblem,
    Target,
    normalise_domain,
    normalise_host,
    read_targets,
)


def write(tmp_path: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        text = text.encode(encoding)
    p.write_bytes(text)
    return p


def issues_by_line(tf) -> dict[int, list]:
    out: dict[int, list] = {}
    for i in tf.issues:
        out.setdefault(i.line, []).append(i)
    return out


# -- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, want",
    [
        ("Gemeente.NL.", "gemeente.nl"),
        ("  amsterdam.nl  ", "amsterdam.nl"),
        ("https://www.Utrecht.nl/contact?x=1", "utrecht.nl"),
        ("http://gemeente.nl:8080", "gemeente.nl"),
        ("gemeente.nl/loket", "gemeente.nl"),
        ("www.rijksoverheid.nl", "rijksoverheid.nl"),
        ("loket.gemeente.nl", "loket.gemeente.nl"),  # a subdomain stays as given
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("MÜNCHEN.DE", "xn--mnchen-3ya.de"),
        ("zoë.nl", "xn--zo-ija.nl"),
        ("xn--zo-ija.nl", "xn--zo-ija.nl"),
        ("straße.de", "xn--strae-oqa.de"),  # IDNA 2008: ß kept, not mapped to ss
        ("x.gov.nl", "x.gov.nl"),
        ("www.nl", "www.nl"),  # www. is only dropped when a domain remains
    ],
)
def test_normalise_domain(raw, want):
    assert normalise_domain(raw) == want


@pytest.mark.parametrize(
    "raw, kind, words",
    [
        ("192.0.2.1", "ip_address", "IP address"),
        ("[2001:db8::1]", "ip_address", "IP address"),
        ("https://10.0.0.1/x", "ip_address", "IP address"),
        ("nl", "public_suffix", "public suffix"),
        ("co.uk", "public_suffix", "public suffix"),
        ("gov.nl", "public_suffix", "public suffix"),
        ("github.io", "public_suffix", "public suffix"),
        ("localhost", "invalid", "single label"),
        ("😀.nl", "invalid", "IDNA"),
        ("a" * 64 + ".nl", "invalid", "63"),
        (".".join(["abcdefghi"] * 26) + ".nl", "invalid", "253"),
        ("a..nl", "invalid", "empty label"),
        ("-gemeente.nl", "invalid", "hyphen"),
        ("bad_name.nl", "invalid", "underscore"),
        ("gemeente nl", "invalid", "whitespace"),
        ("x\x07y.nl", "invalid", "U+0007"),
        ("info@gemeente.nl", "invalid", "e-mail"),
        ("xn--zz.nl", "invalid", "A-label"),
        ("x.123", "invalid", "digits"),
        ("", "invalid", "empty"),
    ],
)
def test_normalise_domain_rejects(raw, kind, words):
    with pytest.raises(NameProblem) as e:
        normalise_domain(raw)
    assert e.value.kind == kind
    assert words.lower() in e.value.reason.lower()


def test_host_keeps_www():
    assert normalise_host("WWW.Gemeente.nl.") == "www.gemeente.nl"


# -- text files -------------------------------------------------------------------------


def test_txt_comments_blank_lines_and_line_numbers(tmp_path):
    p = write(
        tmp_path,
        "list.txt",
        "# gemeenten\n\ngemeente-a.nl\nGemeente-B.NL.  # inline comment\n  \n1.2.3.4\nzoë.nl\n",
    )
    tf = read_targets(p)
    assert tf.format == "txt" and tf.encoding == "utf-8" and tf.dialect is None
    targets = tf.merged()
    assert [(t.domain, t.lines) for t in targets] == [
        ("gemeente-a.nl", [3]),
        ("gemeente-b.nl", [4]),
        ("xn--zo-ija.nl", [7]),
    ]
    assert targets[2].input_name == "zoë.nl"
    [issue] = tf.issues
    assert (issue.line, issue.kind, issue.raw) == (6, "ip_address", "1.2.3.4")
    assert issue.rejected


def test_sha256_is_of_the_file_bytes(tmp_path):
    data = "gemeente-a.nl\r\ngemeente-b.nl\r\n"
    p = write(tmp_path, "l.txt", data)
    tf = read_targets(p)
    assert tf.sha256 == hashlib.sha256(data.encode()).hexdigest()
    assert [t.domain for t in tf] == ["gemeente-a.nl", "gemeente-b.nl"]


# -- CSV ----------------------------------------------------------------------------------


def test_csv_columns_hosts_and_duplicates_merged(tmp_path):
    p = write(
        tmp_path,
        "orgs.csv",
        "Domain,Organisation,Sector,Hosts\n"
        "gemeente-a.nl,Gemeente A,gemeente,loket.gemeente-a.nl; mijn.gemeente-a.nl\n"
        "ziekenhuis-b.nl,Ziekenhuis B,zorg,\n"
        "https://www.gemeente-a.nl/,Samenwerking A-B,gemeenschappelijke regeling,portaal.gemeente-a.nl bad_host.nl\n"
        "GEMEENTE-A.NL,Gemeente A,gemeente,\n",
    )
    tf = read_targets(p)
    assert tf.format == "csv" and tf.dialect == "comma"
    assert tf.columns == {"domain": 0, "organisation": 1, "sector": 2, "hosts": 3}
    streamed = list(tf)
    assert [(t.domain, t.duplicate) for t in streamed] == [
        ("gemeente-a.nl", False),
        ("ziekenhuis-b.nl", False),
        ("gemeente-a.nl", True),
        ("gemeente-a.nl", True),
    ]
    targets = tf.merged()
    assert len(targets) == 2
    a = targets[0]
    assert a.organisations == ["Gemeente A", "Samenwerking A-B"]
    assert a.sectors == ["gemeente", "gemeenschappelijke regeling"]
    assert a.hosts == ["loket.gemeente-a.nl", "mijn.gemeente-a.nl", "portaal.gemeente-a.nl"]
    assert a.lines == [2, 4, 5]
    kinds = {(i.line, i.kind) for i in tf.issues}
    assert kinds == {(4, "invalid_host"), (4, "duplicate"), (5, "duplicate")}
    dup = next(i for i in tf.issues if i.line == 4 and i.kind == "duplicate")
    assert "line 2" in dup.reason and not dup.rejected
    assert tf.stats["duplicates"] == 2 and tf.stats["targets"] == 2


def test_semicolon_csv_from_excel_with_bom_and_crlf(tmp_path):
    text = "domein;naam;sector\r\ngemeente-a.nl;Gemeente A, afdeling ICT;gemeente\r\nwaterschap-c.nl;Waterschap C;waterschap\r\n"
    p = write(tmp_path, "excel.csv", codecs.BOM_UTF8 + text.encode("utf-8"))
    tf = read_targets(p)
    assert tf.dialect == "semicolon" and tf.encoding == "utf-8-sig"
    assert [(t.domain, t.organisations) for t in tf.merged()] == [
        ("gemeente-a.nl", ["Gemeente A, afdeling ICT"]),
        ("waterschap-c.nl", ["Waterschap C"]),
    ]
    assert tf.issues == []


def test_tab_separated(tmp_path):
    p = write(tmp_path, "orgs.tsv", "domain\torganization\ngemeente-a.nl\tGemeente A\n")
    tf = read_targets(p)
    assert tf.dialect == "tab"
    assert tf.merged()[0].organisations == ["Gemeente A"]


def test_cp1252_fallback_is_recorded(tmp_path):
    text = "domain,organisation\ngemeente-a.nl,Gemeente Súdwest-Fryslân\nzorg-b.nl,Zorg “B”\n"
    p = write(tmp_path, "win.csv", text, encoding="cp1252")
    tf = read_targets(p)
    assert tf.encoding == "cp1252"
    orgs = [t.organisations[0] for t in tf.merged()]
    assert orgs == ["Gemeente Súdwest-Fryslân", "Zorg “B”"]
    [enc] = [i for i in tf.issues if i.kind == "encoding"]
    assert enc.line == 2 and "Windows-1252" in enc.reason and not enc.rejected


def test_latin1_when_not_cp1252(tmp_path):
    p = write(tmp_path, "l1.txt", b"gemeente-a.nl\n\x81bad.nl\n")
    tf = read_targets(p)
    assert tf.encoding == "latin-1"
    assert [t.domain for t in tf.merged()] == ["gemeente-a.nl"]
    assert {i.kind for i in tf.issues} == {"encoding", "invalid"}


@pytest.mark.parametrize("enc", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16(tmp_path, enc):
    text = "domain,organisation\nzoë.nl,Zoë\ngemeente-a.nl,Gemeente A\n"
    p = write(tmp_path, "u16.csv", text, encoding=enc)
    tf = read_targets(p)
    assert tf.encoding.startswith("utf-16")
    assert [(t.domain, t.organisations) for t in tf.merged()] == [
        ("xn--zo-ija.nl", ["Zoë"]),
        ("gemeente-a.nl", ["Gemeente A"]),
    ]


def test_broken_csv_rows_reported_and_reading_continues(tmp_path):
    p = write(
        tmp_path,
        "broken.csv",
        "domain,organisation,sector\n"
        'gemeente-a.nl,"Gemeente A",gemeente\n'
        'gemeente-b.nl,"Gemeente "B" x,gemeente\n'  # stray quote inside a quoted field
        'gemeente-c.nl,"Gemeente C\n'  # unterminated quote
        "gemeente-d.nl,Gemeente D,gemeente\n"
        "gemeente-e.nl,Gemeente, E,gemeente\n"  # one field too many
        ",Zonder domein,\n"
        "gemeente-f.nl,Gemeente F,gemeente,,\n",  # trailing empty cells are fine
    )
    tf = read_targets(p)
    domains = [t.domain for t in tf.merged()]
    assert domains == ["gemeente-a.nl", "gemeente-d.nl", "gemeente-f.nl"]
    got = {(i.line, i.kind) for i in tf.issues}
    assert got == {(3, "malformed"), (4, "malformed"), (6, "malformed"), (7, "missing_domain")}
    reasons = issues_by_line(tf)
    assert "closing" in reasons[4][0].reason
    assert "4 fields" in reasons[6][0].reason


def test_unterminated_quote_at_end_does_not_swallow_rows(tmp_path):
    rows = "".join(f"org{i}.nl,Org {i}\n" for i in range(100))
    p = write(tmp_path, "q.csv", 'domain,organisation\nfirst.nl,"Open quote\n' + rows)
    tf = read_targets(p)
    assert len(tf.merged()) == 100
    [issue] = tf.issues
    assert issue.line == 2 and issue.kind == "malformed"


def test_invalid_names_in_csv_with_line_numbers(tmp_path):
    p = write(
        tmp_path,
        "mixed.csv",
        "domain,organisation\n"
        "münchen.de,Stadt München\n"
        "😀.nl,Emoji BV\n"
        f"{'x' * 64}.nl,Te lang\n"
        "co.uk,Public suffix\n"
        "192.0.2.7,IP\n"
        "localhost,Enkel label\n"
        "onbekend.invalidtld,Onbekend\n",
    )
    tf = read_targets(p)
    assert [t.domain for t in tf.merged()] == ["xn--mnchen-3ya.de", "onbekend.invalidtld"]
    got = {i.line: i.kind for i in tf.issues}
    assert got == {3: "invalid", 4: "invalid", 5: "public_suffix", 6: "ip_address", 7: "invalid", 8: "unknown_tld"}
    assert tf.stats["rejected"] == 5


def test_headerless_csv_first_cell_is_domain(tmp_path):
    p = write(tmp_path, "rijk.csv", "http://2017.jaarverslag.nl,JenV\nminbzk.nl,BZK\n")
    tf = read_targets(p)
    assert tf.header is None
    assert [(t.domain, t.organisations, t.lines) for t in tf.merged()] == [
        ("2017.jaarverslag.nl", ["JenV"], [1]),
        ("minbzk.nl", ["BZK"], [2]),
    ]


# -- refusals -----------------------------------------------------------------------------


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_targets(write(tmp_path, "empty.txt", ""))


def test_only_comments(tmp_path):
    with pytest.raises(InputError, match="no domains"):
        read_targets(write(tmp_path, "c.txt", "# nothing here\n\n"))


def test_header_without_domain_column(tmp_path):
    with pytest.raises(InputError, match="no 'domain' column") as e:
        read_targets(write(tmp_path, "h.csv", "organisatie;sector\nGemeente A;gemeente\n"))
    assert "'organisatie'" in str(e.value)


def test_header_only(tmp_path):
    with pytest.raises(InputError, match="header but no data"):
        read_targets(write(tmp_path, "h.csv", "domain,organisation\n"))


def test_no_valid_row_lists_reasons(tmp_path):
    with pytest.raises(InputError) as e:
        read_targets(write(tmp_path, "bad.txt", "nl\n1.2.3.4\nfoo bar\n"))
    msg = str(e.value)
    assert "no valid domain in 3 row(s)" in msg and "line 1" in msg and "line 3" in msg
    assert [i.line for i in e.value.issues] == [1, 2, 3]


def test_binary_and_spreadsheet_refused(tmp_path):
    with pytest.raises(InputError, match="binary"):
        read_targets(write(tmp_path, "b.txt", b"gemeente.nl\n\x00\x01\x02\x03garbage\x00\xff"))
    with pytest.raises(InputError, match="spreadsheet"):
        read_targets(write(tmp_path, "b.xlsx", b"PK\x03\x04" + b"\x00" * 100))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_targets(tmp_path / "nope.txt")


# -- streaming --------------------------------------------------------------------------


def test_streams_50k_lines_in_order_with_bounded_memory(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "w") as fh:
        fh.write("domain,organisation\n")
        for i in range(50_000):
            fh.write(f"org-{i}.nl,Org {i}\n")
        fh.write("org-7.nl,Org 7 bis\n")
    tf = read_targets(p)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = 0
    last = None
    for t in tf:
        assert isinstance(t, Target)
        if not t.duplicate:
            assert t.domain == f"org-{n}.nl"
            n += 1
        last = t
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert n == 50_000
    assert last.duplicate and last.domain == "org-7.nl" and last.organisations == ["Org 7 bis"]
    assert grown_mb < 40, f"RSS grew {grown_mb:.0f} MB streaming 50k lines"


def test_cp1252_with_utf8_lookalike_bytes_early_in_the_file(tmp_path):
    # the first 1 MiB is valid UTF-8 and holds 0x81 (a byte cp1252 lacks);
    # the invalid UTF-8 comes later: the file must still be read (as latin-1)
    first = "".join(f"org{i}.nl,Łódź {i}\n" for i in range(70_000)).encode("utf-8")
    assert len(first) > 1 << 20 and b"\x81" in first
    data = b"domain,organisation\n" + first + b"laatste.nl,Caf\xe9\n"
    tf = read_targets(write(tmp_path, "mixed.csv", data))
    assert tf.encoding == "latin-1"
    targets = tf.merged()
    assert len(targets) == 70_001 and targets[-1].organisations == ["Café"]
    [enc] = [i for i in tf.issues if i.kind == "encoding"]
    assert enc.line == 70_002


def test_txt_with_columns_gets_a_hint(tmp_path):
    tf = read_targets(write(tmp_path, "l.txt", "gemeente-a.nl\ngemeente-b.nl;Gemeente B\n"))
    tf.merged()
    [issue] = tf.issues
    assert issue.line == 2 and ".csv" in issue.reason


# -- properties ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LDH = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_normalise_any_text_gives_a_clean_name_or_a_reason(raw):
    try:
        name = normalise_domain(raw)
    except NameProblem as p:
        assert p.kind in ("invalid", "ip_address", "public_suffix") and p.reason
        return
    assert _LDH.match(name) and len(name) <= 253 and "." in name
    assert normalise_domain(name) == name  # idempotent


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z0-9äöüéëïçñ]{1,20}", fullmatch=True), min_size=1, max_size=3),
       st.sampled_from(["nl", "de", "com", "eu"]))
def test_unicode_names_round_trip_through_idna(labels, tld):
    import idna

    raw = ".".join(labels + [tld])
    try:
        name = normalise_domain(raw)
    except NameProblem:
        return
    assert name.isascii() and name == name.lower()
    expected = raw[4:] if labels[0] == "www" and len(labels) >= 2 else raw
    assert idna.decode(name) == expected


def test_issue_list_is_capped_with_a_count(tmp_path, monkeypatch):
    import stekker.targets as targets_mod

    monkeypatch.setattr(targets_mod, "MAX_ISSUES", 5)
    p = write(tmp_path, "many.txt", "ok.nl\n" + "nl\n" * 8 + "ok.nl\n" * 3)
    tf = read_targets(p)
    assert [t.domain for t in tf.merged()] == ["ok.nl"]
    assert len(tf.issues) == 6
    assert tf.issues[-1].kind == "truncated" and "6 more" in tf.issues[-1].reason
    assert "3 duplicate" in tf.issues[-1].reason and "3 public_suffix" in tf.issues[-1].reason
    assert tf.stats["rejected"] == 8 and tf.stats["duplicates"] == 3


def test_merging_repeats_keeps_every_line_once():
    """Repeats of one domain are merged with their line numbers, each once,
    in order (merging searched the whole list for every repeat: 300,000
    repeats ran for minutes; now about 3 s, measured in the session note)."""
    from stekker.targets import merge_lines

    assert merge_lines([3], [5]) == [3, 5]
    assert merge_lines([3, 5], [5]) == [3, 5]  # the same line twice stays once
    assert merge_lines([3, 9], [5]) == [3, 9, 5]  # an earlier line (another batch) is still added
    assert merge_lines([], [7]) == [7]
    lines: list = [1]
    for n in range(2, 5001):
        merge_lines(lines, [n])
    assert lines == list(range(1, 5001))


def test_two_domain_columns_are_refused(tmp_path):
    """Exploratory test (2026-12-06): `domain,domain` read the first column
    only; the second's names were neither measured nor reported."""
    from stekker.targets import InputError, read_targets

    for header in ("domain,domain", "domain;domeinnaam;organisation"):
        p = tmp_path / "d.csv"
        sep = ";" if ";" in header else ","
        p.write_text(header + "\n" + sep.join(["a.nl", "b.nl", "X"][: header.count(sep) + 1]) + "\n")
        with pytest.raises(InputError, match="more than one column holds domain names"):
            list(read_targets(str(p)).iter_targets())
    ok = tmp_path / "ok.csv"
    ok.write_text("Domain Name,Domain Type,Agency\na.nl,gemeente,X\n")
    assert [t.domain for t in read_targets(str(ok)).iter_targets()] == ["a.nl"]


def test_an_overlong_cell_is_its_rows_issue_in_words(tmp_path):
    """Field trial F1 (the reader the audit's inventory shares): a cell over the csv module's limit
    is the row's `malformed` issue, said so (not the csv module's "field larger than field limit")."""
    p = write(tmp_path, "t.csv", "domain,notes\nexample.nl," + "x" * 200_000 + "\nexample.org,a\n")
    tf = read_targets(p)
    assert [t.domain for t in tf] == ["example.org"]
    (issue,) = tf.issues
    assert issue.line == 2 and issue.kind == "malformed"
    assert issue.reason == 'a cell is longer than 131,072 characters (perhaps a " without its closing ")'
