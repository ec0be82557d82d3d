"""Reference-data updates against a local HTTP server on 127.0.0.1: download,
304 Not Modified caching, rejected downloads, fail-fast when unreachable
(previous copy kept), the public suffix list, and the `stekker data` CLI."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stekker import datasets
from stekker.ipasn import AsnTable

V4 = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n" \
     "149.210.0.0\t149.210.255.255\t20857\tNL\tTRANSIP-AS\n"
V6 = "2a00:1450::\t2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n"
PSL = ("// VERSION: 2026-11-20_10-00-00_UTC\n// COMMIT: abc\n\n// ===BEGIN ICANN DOMAINS===\n"
       "nl\ncom\nstekkertest\nco.stekkertest\n// ===END ICANN DOMAINS===\n")
LAST_MODIFIED = formatdate(1_763_600_000, usegmt=True)  # 2025-11-20


class Server:
    """Serves ``files`` (path -> bytes) with ETag / Last-Modified and honours
    conditional requests.  ``requests`` logs (path, headers)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.status: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                srv.requests.append((self.path, dict(self.headers)))
                code = srv.status.get(self.path)
                body = srv.files.get(self.path)
                if code or body is None:
                    self.send_response(code or 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag or (
                        "If-None-Match" not in self.headers and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """urllib honours *_proxy variables (users behind a proxy need that); the
    loopback tests must not go through one."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server():
    s = Server()
    s.files["/data/ip2asn-v4.tsv.gz"] = gzip.compress(V4.encode(), mtime=0)
    s.files["/data/ip2asn-v6.tsv.gz"] = gzip.compress(V6.encode(), mtime=0)
    s.files["/list/public_suffix_list.dat"] = PSL.encode()
    try:
        yield s
    finally:
        s.close()


def sources(s: Server) -> dict[str, str]:
    return {"ip2asn-v4": s.url("/data/ip2asn-v4.tsv.gz"), "ip2asn-v6": s.url("/data/ip2asn-v6.tsv.gz"),
            "psl": s.url("/list/public_suffix_list.dat")}


def refused_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_update_downloads_validates_and_builds_table(server, tmp_path):
    rep = datasets.update(tmp_path, sources=sources(server), connect_timeout=2, timeout=10)
    assert rep.ok, rep.errors
    assert [r.status for r in rep.results] == ["downloaded"] * 3
    m = datasets.read_manifest(tmp_path)
    assert set(m) == {"ip2asn-v4", "ip2asn-v6", "psl", "ipasn"}
    e = m["ip2asn-v4"]
    assert e["source"] == sources(server)["ip2asn-v4"] and e["version"] == "2025-11-20"
    assert e["etag"] and e["last_modified"] == LAST_MODIFIED and e["data_date"].startswith("2025-11-20")
    assert Path(e["path"]) == tmp_path / "ip2asn-v4.tsv.gz" and sha(Path(e["path"])) == e["sha256"]
    assert m["psl"]["version"] == "2026-11-20_10-00-00_UTC"
    assert rep.table is not None and rep.table["v4_ranges"] == 2 and rep.table["v6_ranges"] == 1

    t = AsnTable.load_default(tmp_path)
    assert t.lookup("1.0.0.1").asn == 13335
    assert t.lookup("2a00:1450::1").description == "GOOGLE"
    assert t.info["name"] == "iptoasn" and t.info["version"] == "2025-11-20"
    assert "days old" in datasets_stale(t)  # data from 2025: stale

    recs = {r["name"]: r for r in datasets.records(tmp_path)}
    assert isinstance(recs["psl"]["fetched_at"], float) and recs["ipasn"]["path"].endswith("ipasn.npz")


def datasets_stale(t):
    from stekker.ipasn import stale_warning

    return stale_warning(t) or ""


def test_not_modified_uses_cache_and_skips_rebuild(server, tmp_path):
    datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    before = {p.name: sha(p) for p in tmp_path.iterdir() if p.is_file() and p.name != "manifest.json"}
    n = len(server.requests)
    rep = datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    assert rep.ok and [r.status for r in rep.results] == ["not_modified"] * 3
    assert rep.table is None  # nothing new: table not rebuilt
    for _path, headers in server.requests[n:]:
        assert headers.get("If-None-Match", "").startswith('"') and headers.get("If-Modified-Since") == LAST_MODIFIED
    assert {p.name: sha(p) for p in tmp_path.iterdir() if p.is_file() and p.name != "manifest.json"} == before
    m = datasets.read_manifest(tmp_path)
    assert m["ip2asn-v4"]["checked_at"] >= m["ip2asn-v4"]["fetched_at"]

    # new upstream content is downloaded and the table rebuilt
    server.files["/data/ip2asn-v4.tsv.gz"] = gzip.compress((V4 + "8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n").encode())
    rep = datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    assert [r.status for r in rep.results] == ["downloaded", "not_modified", "not_modified"]
    assert rep.table is not None and AsnTable.load_default(tmp_path).lookup("8.8.8.8").asn == 15169

    # --force ignores the cache validators
    n = len(server.requests)
    rep = datasets.update(tmp_path, sources={"psl": sources(server)["psl"]}, connect_timeout=2, force=True)
    assert rep.result("psl").status == "downloaded"
    assert "If-None-Match" not in server.requests[n][1]


def test_unreachable_fails_fast_and_keeps_previous_copy(server, tmp_path):
    datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    kept = {n: sha(tmp_path / f) for n, f in datasets.FILENAMES.items()}
    table_before = sha(tmp_path / "ipasn.npz")
    port = refused_port()
    dead = {k: f"http://127.0.0.1:{port}/{k}" for k in datasets.DEFAULT_SOURCES}
    t0 = time.monotonic()
    rep = datasets.update(tmp_path, sources=dead, connect_timeout=3)
    assert time.monotonic() - t0 < 3
    assert not rep.ok and [r.status for r in rep.results] == ["failed"] * 3
    msg = rep.errors[0]
    assert msg.startswith("cannot reach 127.0.0.1: ") and "refused" in msg.lower()
    assert msg.endswith("; stekker keeps using ip2asn-v4 from 2025-11-20")
    assert rep.errors[2].endswith("; stekker keeps using the public suffix list from 2026-11-20")  # its version
    assert {n: sha(tmp_path / f) for n, f in datasets.FILENAMES.items()} == kept
    assert sha(tmp_path / "ipasn.npz") == table_before
    assert AsnTable.load_default(tmp_path).lookup("149.210.9.9").asn == 20857
    assert not list(tmp_path.glob("*.part*"))


def test_unreachable_with_nothing_yet(tmp_path):
    port = refused_port()
    rep = datasets.update(tmp_path, sources={"ip2asn-v4": f"http://127.0.0.1:{port}/a",
                                             "psl": f"http://127.0.0.1:{port}/b"}, connect_timeout=2)
    assert rep.errors[0].endswith("there is no earlier copy, so no IPv4 IP-to-ASN data will be available until a "
                                  "download succeeds")
    assert "bundled with publicsuffixlist from 20" in rep.errors[1]
    assert AsnTable.load_default(tmp_path) is None


def test_stalled_server_times_out_fast(tmp_path):
    """A server that accepts the connection but never answers."""
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(5)
        port = lsock.getsockname()[1]
        t0 = time.monotonic()
        rep = datasets.update(tmp_path, sources={"ip2asn-v4": f"http://127.0.0.1:{port}/a",
                                                 "ip2asn-v6": f"http://127.0.0.1:{port}/b"}, connect_timeout=0.5)
        elapsed = time.monotonic() - t0
    assert elapsed < 2.5  # second file of the same host is skipped, not waited for
    assert all(r.status == "failed" for r in rep.results)
    assert rep.errors[0].startswith("cannot reach 127.0.0.1: timed out after 0.5 s")


def test_bad_download_rejected_and_http_errors(server, tmp_path):
    datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    kept = sha(tmp_path / "public_suffix_list.dat")
    server.files["/list/public_suffix_list.dat"] = b"<html>captive portal</html>"
    server.files["/data/ip2asn-v4.tsv.gz"] = gzip.compress(b"not\ta\ttable\n")
    server.status["/data/ip2asn-v6.tsv.gz"] = 500
    rep = datasets.update(tmp_path, sources=sources(server), connect_timeout=2)
    assert not rep.ok
    by = {r.name: r for r in rep.results}
    assert "downloaded file rejected: unknown format" in by["ip2asn-v4"].message
    assert "HTTP 500" in by["ip2asn-v6"].message  # host reachable: not skipped, not "cannot reach"
    assert "not a public suffix list" in by["psl"].message
    assert by["psl"].message.endswith("stekker keeps using the public suffix list from 2026-11-20")
    assert sha(tmp_path / "public_suffix_list.dat") == kept
    assert datasets.psl(tmp_path).publicsuffix("x.co.stekkertest") == "co.stekkertest"


def test_psl_downloaded_else_bundled(server, tmp_path):
    p = datasets.psl(tmp_path)
    assert p.info["bundled"] is True and p.info["version"]
    assert p.publicsuffix("www.example.co.uk") == "co.uk"
    datasets.update(tmp_path, sources={"psl": sources(server)["psl"]}, connect_timeout=2)
    p = datasets.psl(tmp_path)
    assert p.info["bundled"] is False and p.info["version"] == "2026-11-20_10-00-00_UTC"
    assert p.info["source"].endswith("/list/public_suffix_list.dat")
    assert p.privatesuffix("www.org.co.stekkertest") == "org.co.stekkertest"
    assert datasets.psl(tmp_path) is p  # cached
    assert datasets.psl_info(tmp_path)["path"] == str(tmp_path / "public_suffix_list.dat")


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STEKKER_DATA_DIR", str(tmp_path / "a"))
    assert datasets.default_data_dir() == tmp_path / "a"
    monkeypatch.delenv("STEKKER_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "x"))
    assert datasets.default_data_dir() == tmp_path / "x" / "stekker"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert datasets.default_data_dir() == tmp_path / "h" / ".local" / "share" / "stekker"


# ---------------------------------------------------------------- CLI


def cli(*args: str):
    import stekker.cli.data  # noqa: F401  (registers `stekker data`)
    from stekker.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_import_status_lookup(tmp_path):
    f = tmp_path / "ip2asn-v4.tsv"
    f.write_text(V4 + "junk\n")
    d = str(tmp_path / "data")
    r = cli("data", "import", str(f), "--name", "mine", "--data-dir", d)
    assert r.exit_code == 1, r.output  # imported, but one line could not be read: a partial result
    assert "imported mine (ip2asn" in r.stdout and "2 IPv4" in r.stdout
    assert "ip2asn-v4.tsv line 4: expected 5" in r.stderr
    # a file that is mostly unreadable does not replace the table in use (exploratory test 2026-12-06)
    bad = tmp_path / "bad.tsv"
    bad.write_text(V4.splitlines()[0] + "\njunk\nmore junk\nand more\n")
    r = cli("data", "import", str(bad), "--name", "worse", "--data-dir", d)
    assert r.exit_code == 2 and "nothing was imported" in r.stderr, r.output
    assert "IP-to-ASN table: mine" in cli("data", "status", "--data-dir", d).stdout
    r = cli("data", "lookup", "1.0.0.1", "9.9.9.9", "--data-dir", d)
    assert r.exit_code == 0 and "AS13335\tUS\tCLOUDFLARENET\t1.0.0.0/24" in r.stdout and "9.9.9.9\t-" in r.stdout
    r = cli("data", "status", "--data-dir", d)
    assert r.exit_code == 0 and "IP-to-ASN table: mine" in r.stdout and "public suffix list: bundled" in r.stdout
    import time as _time

    _time.sleep(0.2)  # older than the 0.000001 days (86 ms) asked below, on any machine
    r = cli("data", "status", "--data-dir", d, "--max-age-days", "0.000001")
    assert "warning: IP-to-ASN data 'mine' is 0 days old" in r.stderr
    db = tmp_path / "s.db"
    r = cli("data", "import", str(f), "--name", "mine", "--data-dir", d, "--db", str(db))
    assert r.exit_code == 1, r.output
    from stekker.store import Store

    st = Store.open(str(db))
    try:
        rows = {x["name"]: x for x in st.datasets()}
    finally:
        st.close()
    assert rows["ipasn"]["source"] == str(f.resolve()) and rows["ipasn"]["fetched_at"] > 0
    assert rows["ipasn"]["path"].endswith("ipasn.npz")
    r = cli("data", "import", str(tmp_path / "nope.tsv"), "--data-dir", d)
    assert r.exit_code == 2 and "no such file" in r.stderr  # an input error (docs/CLI.md)
    r = cli("data", "lookup", "1.1.1.1", "--data-dir", str(tmp_path / "empty"))
    assert r.exit_code == 1 and "no IP-to-ASN data" in r.stderr


def test_cli_update_offline_exits_nonzero(server, tmp_path):
    d = str(tmp_path)
    args = []
    for k, v in sources(server).items():
        args += ["--source", f"{k}={v}"]
    r = cli("data", "update", "--data-dir", d, *args)
    assert r.exit_code == 0, r.output
    assert "ip2asn-v4: downloaded" in r.stdout and "table rebuilt" in r.stdout
    port = refused_port()
    r = cli("data", "update", "--data-dir", d, "--only", "ip2asn-v4", "--connect-timeout", "2",
            "--source", f"ip2asn-v4=http://127.0.0.1:{port}/x")
    assert r.exit_code == 3  # not one source reachable: network unavailable (docs/CLI.md)
    assert "error: cannot reach 127.0.0.1:" in r.stderr and "stekker keeps using ip2asn-v4 from 2025-11-20" in r.stderr
    r = cli("data", "update", "--data-dir", d, "--only", "bogus")
    assert r.exit_code == 2 and "unknown data set" in r.stderr
    r = cli("data", "update", "--data-dir", d, "--source", f"ip2asn-v5=http://127.0.0.1:{port}/x")
    assert r.exit_code == 2 and "'ip2asn-v5': no such data set; known: ip2asn-v4" in r.stderr  # a typo is not ignored
    for sub in ("import", "update", "status", "lookup"):
        h = cli("data", sub, "--help")
        assert h.exit_code == 0 and "Example: stekker data" in h.stdout


# ---------------------------------------------------------------- damaged, cut-off and huge files

CORRUPT_GZ = b"\x1f\x8b\x08\x00garbage-not-gzip"  # a gzip header, then a damaged deflate stream (zlib.error)


def test_corrupt_gzip_is_an_input_error_not_a_crash(server, tmp_path):
    """exploratory test 2026-12-06 (H2): a damaged deflate stream ended in 'internal error', exit 4."""
    f = tmp_path / "corrupt.gz"
    f.write_bytes(CORRUPT_GZ)
    d = str(tmp_path / "data")
    r = cli("data", "import", str(f), "--data-dir", d)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: corrupt.gz: cannot read: ") and "internal error" not in r.output
    # the same file from a mirror: rejected, the previous copy stays in use
    args = [a for k, v in sources(server).items() for a in ("--source", f"{k}={v}")]
    assert cli("data", "update", "--data-dir", d, *args).exit_code == 0
    kept = sha(Path(d) / "ip2asn-v4.tsv.gz")
    server.files["/data/ip2asn-v4.tsv.gz"] = CORRUPT_GZ
    r = cli("data", "update", "--data-dir", d, "--only", "ip2asn-v4", *args)
    assert r.exit_code == 1, r.output
    assert "downloaded file rejected: cannot read: " in r.stderr and "stekker keeps using ip2asn-v4" in r.stderr
    assert sha(Path(d) / "ip2asn-v4.tsv.gz") == kept
    assert AsnTable.load_default(d).lookup("1.0.0.1").asn == 13335


def test_gzip_bomb_and_huge_lines_use_bounded_memory(server, tmp_path, monkeypatch):
    """exploratory test 2026-12-06 (H5): 2 GB of zeros (a 9 MB .gz) took 4.2 GB of memory, because format
    detection read whole lines; now lines are read in bounded pieces and the text of one file is capped
    ($STEKKER_DATA_MAX_MB, lowered here to keep the test fast)."""
    import tracemalloc

    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 40_000_000, compresslevel=1))  # one 40 MB line
    tracemalloc.start()
    try:
        with pytest.raises(Exception, match="unknown format .the first data line: line longer than 4096"):
            AsnTable.from_file(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak  # was > 40 MB: the whole line

    d = str(tmp_path / "data")
    monkeypatch.setenv("STEKKER_DATA_MAX_MB", "1")
    first = V4.splitlines()[0] + "\n"
    capped = tmp_path / "capped.gz"  # a good first line, then 3 MB without a newline
    capped.write_bytes(gzip.compress(first.encode() + b"0" * 3_000_000))
    r = cli("data", "import", str(capped), "--data-dir", d)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: capped.gz: more than 1 MB of text (after gunzip)") and "STEKKER_DATA_MAX_MB" in r.stderr
    many = tmp_path / "many.gz"  # a good first line, then 3 MB of blank lines
    many.write_bytes(gzip.compress(first.encode() + b"\n" * 3_000_000))
    r = cli("data", "import", str(many), "--data-dir", d)
    assert r.exit_code == 2 and "more than 1 MB" in r.stderr, r.output
    assert not (Path(d) / "ipasn.npz").exists()

    # an over-long line among good ones is a bad line, reported with its number
    long = tmp_path / "long.tsv"
    long.write_text(V4 + "2.0.0.0\t2.0.0.255\t64500\tNL\t" + "x" * 10_000 + "\n")
    r = cli("data", "import", str(long), "--data-dir", d)
    assert r.exit_code == 1, r.output
    assert "long.tsv line 4: line longer than 4096 characters" in r.stderr and "1 bad lines" in r.stdout

    # through `data update`: the same cap on the decoded file, and on the download itself
    server.files["/data/ip2asn-v4.tsv.gz"] = capped.read_bytes()
    server.files["/list/public_suffix_list.dat"] = PSL.encode() + b"// padding\n" * 200_000
    rep = datasets.update(tmp_path / "up", sources=sources(server), connect_timeout=2)
    by = {r.name: r.message for r in rep.results}
    assert "downloaded file rejected: more than 1 MB of text (after gunzip)" in by["ip2asn-v4"], by
    assert "failed: more than 1 MB downloaded" in by["psl"], by
    assert not (tmp_path / "up" / "public_suffix_list.dat").exists()


def _rows(n: int, first: int = 10) -> str:
    return "".join(f"{first + i}.0.0.0\t{first + i}.0.255.255\t{64500 + i}\tNL\tAS-{i}\n" for i in range(n))


def test_cut_off_and_short_rows_are_bad_lines_and_a_shrink_is_flagged(server, tmp_path):
    """exploratory test 2026-12-06 (H3): a plain file cut inside the AS number of its last line gave AS165 for
    AS16509; rows of 3 fields were accepted; a 15-range table silently replaced a 64-range one."""
    d = str(tmp_path / "data")
    full = tmp_path / "full.tsv"
    full.write_text(_rows(64))
    assert cli("data", "import", str(full), "--data-dir", d).exit_code == 0

    cut = tmp_path / "cut.tsv"
    cut.write_text(_rows(14) + "52.84.0.0\t52.85.255.255\t165")  # meant 16509; no final newline
    r = cli("data", "import", str(cut), "--data-dir", d)
    # much smaller than the table in use: refused, the table in use stays (review 27 M3: it was installed)
    assert r.exit_code == 2, r.output
    assert "cut.tsv line 15: no newline at the end: the file looks cut off" in r.stderr
    assert "the new IP-to-ASN table has 14 IPv4 ranges, under half of the 64 of the table in use" in r.stderr
    assert "Nothing was imported" in r.stderr and "\tAS64563\t" in cli("data", "lookup", "73.0.0.1", "--data-dir", d).stdout
    r = cli("data", "import", str(cut), "--data-dir", d, "--force")
    assert r.exit_code == 1 and "1 bad lines" in r.stdout, r.output  # meant: imported, the bad line skipped
    assert cli("data", "lookup", "52.84.1.1", "--data-dir", d).stdout.startswith("52.84.1.1\t-")  # not AS165
    cut.write_text(_rows(14) + "52.84.0.0\t52.85.255.255\t16509\tUS\tAMAZ")  # cut in the last field
    r = cli("data", "import", str(cut), "--data-dir", d, "--force")
    assert r.exit_code == 1 and "line 15: no newline at the end" in r.stderr, r.output
    gz = tmp_path / "whole.tsv.gz"  # a gzip stream has its own end: a last line without newline is whole
    gz.write_bytes(gzip.compress((_rows(14) + "52.84.0.0\t52.85.255.255\t16509\tUS\tAMAZON-02").encode()))
    r = cli("data", "import", str(gz), "--data-dir", d, "--force")
    assert r.exit_code == 0 and "15 IPv4" in r.stdout and "0 bad lines" in r.stdout, r.output
    assert "\tAS16509\t" in cli("data", "lookup", "52.84.1.1", "--data-dir", d).stdout

    short = tmp_path / "short.tsv"
    short.write_text(_rows(14) + "52.84.0.0\t52.85.255.255\t165\n")
    r = cli("data", "import", str(short), "--data-dir", d, "--force")
    assert r.exit_code == 1 and "short.tsv line 15: expected 5 tab-separated fields, got 3" in r.stderr, r.output
    three = tmp_path / "three-cols.tsv"
    three.write_text("1.0.0.0\t1.0.0.255\t13335\n")
    r = cli("data", "import", str(three), "--data-dir", d)
    assert r.exit_code == 2 and "no valid rows" in r.stderr, r.output

    # meant to be smaller: --force; the warning still says so
    assert cli("data", "import", str(full), "--data-dir", d).exit_code == 0
    small = tmp_path / "small.tsv"
    small.write_text(_rows(3))
    r = cli("data", "import", str(small), "--data-dir", d, "--force")
    assert r.exit_code == 0 and "under half of the 64" in r.stderr, r.output
    r = cli("data", "import", str(small), "--data-dir", d)  # same size as the table in use: fine
    assert r.exit_code == 0 and "warning" not in r.stderr, r.output

    # the IPv6 part is judged on its own (losing all of it hid behind the IPv4 count)
    both = tmp_path / "both.tsv"
    both.write_text(_rows(64) + "".join(f"2001:db8:{i:x}::\t2001:db8:{i:x}::ffff\t645{i:02d}\tNL\tV6-{i}\n"
                                        for i in range(10)))
    assert cli("data", "import", str(both), "--data-dir", d, "--force").exit_code == 0
    r = cli("data", "import", str(full), "--data-dir", d)
    assert r.exit_code == 2 and "0 IPv6 ranges, under half of the 10" in r.stderr, r.output
    # `data update`: a download that rebuilds a much smaller table is not installed, exit 1
    args = [a for k, v in sources(server).items() for a in ("--source", f"{k}={v}")]
    up = str(tmp_path / "up")
    server.files["/data/ip2asn-v4.tsv.gz"] = gzip.compress(_rows(20).encode())
    assert cli("data", "update", "--data-dir", up, *args).exit_code == 0
    server.files["/data/ip2asn-v4.tsv.gz"] = gzip.compress(_rows(2).encode())
    r = cli("data", "update", "--data-dir", up, *args)
    assert r.exit_code == 1, r.output
    assert "the new IP-to-ASN table has 2 IPv4 ranges, under half of the 20 " in r.stderr
    assert "not installed, stekker keeps using the previous table" in r.stderr
    assert "\tAS64519\t" in cli("data", "lookup", "29.0.0.1", "--data-dir", up).stdout  # the 20-row table stays


def test_db_of_another_program_is_refused_before_the_table_is_replaced(server, tmp_path):
    """exploratory test 2026-12-06 (M7): `data import FILE --db OTHER` imported first, then refused OTHER with
    exit 2 - the table in use was already replaced; docs/CLI.md: refused before anything is written."""
    import sqlite3

    d = str(tmp_path / "data")
    first = tmp_path / "first.tsv"
    first.write_text(V4)
    assert cli("data", "import", str(first), "--name", "first", "--data-dir", d).exit_code == 0
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("create table customers(id int)")
    before = sha(other)
    second = tmp_path / "second.tsv"
    second.write_text(V4)
    r = cli("data", "import", str(second), "--name", "second", "--data-dir", d, "--db", str(other))
    assert r.exit_code == 2 and "is a database of another program" in r.stderr, r.output
    assert "imported" not in r.stdout
    assert AsnTable.load_default(d).info["name"] == "first" and sha(other) == before
    args = [a for k, v in sources(server).items() for a in ("--source", f"{k}={v}")]
    r = cli("data", "update", "--data-dir", d, *args, "--db", str(other))
    assert r.exit_code == 2 and "is a database of another program" in r.stderr, r.output
    assert not server.requests and not (Path(d) / "public_suffix_list.dat").exists()
    assert AsnTable.load_default(d).info["name"] == "first" and sha(other) == before
    r = cli("data", "update", "--data-dir", d, *args, "--db", str(tmp_path / "s.db"))  # a stekker database
    assert r.exit_code == 0 and f"recorded 4 data set(s) in {tmp_path / 's.db'}" in r.stdout, r.output


def test_psl_is_dated_by_its_version_not_by_the_download(server, tmp_path):
    """exploratory test 2026-12-06 (L1): a PSL of version 2026-10-22 fetched from a mirror read '0 days old' and
    'stekker keeps using the public suffix list from <download day>'; DATA.md: ages are measured on the data's date."""
    import json
    from datetime import datetime, timezone

    datasets.update(tmp_path, sources={"psl": sources(server)["psl"]}, connect_timeout=2)  # Last-Modified 2025-11-20
    assert datasets.read_manifest(tmp_path)["psl"]["data_date"] == "2026-11-20"  # VERSION: 2026-11-20_10-00-00_UTC
    # a manifest written before the fix holds the download moment as data_date: the version still wins
    mf = tmp_path / "manifest.json"
    m = json.loads(mf.read_text())
    m["datasets"]["psl"]["data_date"] = "2030-01-01T00:00:00+00:00"
    mf.write_text(json.dumps(m))
    assert datasets.psl_info(tmp_path)["data_date"] == "2026-11-20"
    age = (datetime.now(timezone.utc) - datetime(2026, 11, 20, tzinfo=timezone.utc)).total_seconds() / 86400
    r = cli("data", "status", "--data-dir", str(tmp_path))
    assert f"psl        version 2026-11-20_10-00-00_UTC  ({age:.0f} days old;" in r.stdout, r.stdout
    assert f"public suffix list: downloaded version 2026-11-20_10-00-00_UTC ({age:.0f} days old)" in r.stdout
    port = refused_port()
    rep = datasets.update(tmp_path, sources={"psl": f"http://127.0.0.1:{port}/psl",
                                             "ip2asn-v6": f"http://127.0.0.1:{port}/v6"}, connect_timeout=2)
    assert rep.errors[0].endswith("; stekker keeps using the public suffix list from 2026-11-20")
    assert rep.errors[1].endswith("; there is no earlier copy, so no IPv6 IP-to-ASN data will be available until "
                                  "a download succeeds")


def test_only_takes_a_comma_separated_list(server, tmp_path):
    """exploratory test 2026-12-06 (L2): `--only ip2asn-v4,psl` was refused as an unknown data set."""
    args = [a for k, v in sources(server).items() for a in ("--source", f"{k}={v}")]
    r = cli("data", "update", "--data-dir", str(tmp_path), "--only", "ip2asn-v4, psl", *args)
    assert r.exit_code == 0, r.output
    assert "ip2asn-v4: downloaded" in r.stdout and "psl: downloaded" in r.stdout and "ip2asn-v6" not in r.stdout
    r = cli("data", "update", "--data-dir", str(tmp_path), "--only", "ip2asn-v6", "--only", "psl,bogus", *args)
    assert r.exit_code == 2 and "unknown data set(s) bogus;" in r.stderr, r.output
    r = cli("data", "update", "--data-dir", str(tmp_path), "--only", ",", *args)
    assert r.exit_code == 2 and "--only needs a data set name" in r.stderr, r.output
    assert "comma-separated" in cli("data", "update", "--help").stdout


def test_update_with_no_source_reachable_exits_3_and_1_when_some_fail(server, tmp_path):
    """exploratory test 2026-12-06 (M5): with no network at all `data update` exited 1, the code for "a data set
    could not be refreshed"; docs/CLI.md keeps 3 for "resolver or network unavailable"."""
    d = str(tmp_path)
    port = refused_port()
    dead = [a for k in datasets.DEFAULT_SOURCES for a in ("--source", f"{k}=http://127.0.0.1:{port}/{k}")]
    t0 = time.monotonic()
    r = cli("data", "update", "--data-dir", d, "--connect-timeout", "2", *dead)
    assert r.exit_code == 3 and r.stderr.count("error: cannot reach 127.0.0.1:") == 3, r.output
    assert time.monotonic() - t0 < 3  # says so within seconds
    # one source reachable (its file rejected), the others not: some sources failed, exit 1
    server.status["/data/ip2asn-v4.tsv.gz"] = 500
    some = dead + ["--source", f"ip2asn-v4={sources(server)['ip2asn-v4']}"]  # (the last --source of a name wins)
    r = cli("data", "update", "--data-dir", d, "--connect-timeout", "2", *some)
    assert r.exit_code == 1 and "HTTP 500" in r.stderr, r.output
    # one reachable and downloaded, the others not: exit 1
    r = cli("data", "update", "--data-dir", d, "--connect-timeout", "2", *dead[:4],
            "--source", f"psl={sources(server)['psl']}")
    assert r.exit_code == 1 and "psl: downloaded" in r.stdout, r.output


def test_data_dir_with_a_users_own_files_is_refused(tmp_path):
    """`data import/update --data-dir DIR` replaces manifest.json, ipasn.npz and the downloads only when
    they are stekker's own: a user's files of those names stay (exploratory test explore-f M1, L2)."""
    from cli_util import cli as run_cli

    f = tmp_path / "ip2asn-v4.tsv"
    f.write_text(V4)
    ud = tmp_path / "ud"
    ud.mkdir()
    (ud / "manifest.json").write_text('{"my": "package manifest"}')
    r = run_cli("data", "import", str(f), "--data-dir", str(ud))
    assert r.rc == 2 and "manifest.json that is not stekker's" in r.err, r.text
    assert (ud / "manifest.json").read_text() == '{"my": "package manifest"}'
    assert not (ud / "ipasn.npz").exists()
    (ud / "manifest.json").unlink()
    (ud / "ipasn.npz").write_text("my precious numpy")
    r = run_cli("data", "import", str(f), "--data-dir", str(ud))
    assert r.rc == 2 and "ipasn.npz that is not an IP-to-ASN table" in r.err, r.text
    assert (ud / "ipasn.npz").read_text() == "my precious numpy" and not (ud / "manifest.json").exists()
    r = run_cli("data", "update", "--data-dir", str(ud), "--only", "psl", "--source", "psl=http://127.0.0.1:9/x")
    assert r.rc == 2 and "ipasn.npz" in r.err and not (ud / "manifest.json").exists(), r.text
    (ud / "ipasn.npz").unlink()
    (ud / "public_suffix_list.dat").write_text("mine")
    r = run_cli("data", "import", str(f), "--data-dir", str(ud))
    assert r.rc == 2 and "public_suffix_list.dat that stekker did not download" in r.err, r.text
    (ud / "public_suffix_list.dat").unlink()
    # stekker's own data dir is written again and again
    for _ in range(2):
        r = run_cli("data", "import", str(f), "--data-dir", str(ud))
        assert r.rc == 0, r.text
    # a file or a device is no data dir (it said "File exists")
    r = run_cli("data", "import", str(f), "--data-dir", str(f))
    assert r.rc == 2 and "is not a directory" in r.err, r.text
    r = run_cli("data", "import", str(f), "--data-dir", "/dev/null")
    assert r.rc == 2 and "is not a directory" in r.err, r.text
