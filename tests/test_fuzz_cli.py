"""Fuzzing the command line: every command, with hypothesis-generated and
hand-picked hostile arguments and input files, must end

* with an exit code from the documented table other than 4 (0, 1, 2, 3; an
  internal error is a bug, and 130 only comes from a signal),
* without a traceback on the terminal,
* within a bounded time (a hang or an alias bomb trips the alarm),
* without changing any file that is not the command's output.

The commands run in-process through :func:`stekker.cli.run` (the same
top-level handler as the installed script), so hundreds of cases take
seconds.  Nothing leaves loopback: scans go to a resolver on 127.0.0.1 where
nothing listens (the engine itself is replaced by one that reports "no
resolver answered", as the real one does, so a case costs milliseconds
instead of the probe's 2 s), downloads to 127.0.0.1:9, and ``lab start`` /
``validate peers`` only ever get a --net that must be refused (they would
start daemons).

The matrix of commands x input kinds is in :data:`MATRIX`; the closing note
of issue 9 records its size and run time.
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_util import cli, make_db
from stekker.cli import EXIT_INTERNAL, EXIT_INTERRUPTED

OK_CODES = {0, 1, 2, 3}
TERMINAL_CONTROLS = ("\x1b", "\x00", "\x07", "\x9b", "\u202e", "\u2066", "\x08", "\r")
CASE_SECONDS = 20  # one command on one input; the slowest real case takes < 2 s

BOMB = (b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n".encode()
                   for p, c in zip("abcdef", "bcdefg"))
        + b"items: [*g]\n")

# -- input kinds (file contents) ---------------------------------------------------------
INPUT_KINDS: dict[str, bytes] = {
    "empty": b"",
    "nul-bytes": b"a.nl\x00\x00b.nl\nitems:\x00\n",
    "bidi-and-escapes": "evil\u202etxt.nl\n\x1b[31mred.nl\x07\n\x1b]0;title\x07x.nl\n".encode(),
    "formula-cells": b"domain,organisation\n=cmd|' /C calc'!A0,@SUM(1)\n+1.nl,-2\n",
    "huge-line": b"a" * 2_000_000 + b".nl\n",
    "many-lines": b"".join(b"x%d!.nl\n" % i for i in range(50_000)),
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "deep-mapping": b"".join(b" " * i + b"a:\n" for i in range(3000)),
    "yaml-bomb": BOMB,
    "yaml-duplicate-keys": b"items:\n  - name: A\n    category: email\n    name: B\n",
    "absurd-numbers": (b"currency: EUR\nit_budget: 1e400\nemployees: -1\nitems:\n"
                       b"  - {name: A, category: email, product: Microsoft 365, annual_cost: 1e300, users: 1e20}\n"
                       b"  - {name: B, category: email, product: Gmail, annual_cost: -0.0, notice_days: 99999999999}\n"
                       b"  - {name: C, category: email, product: X, annual_cost: " + b"9" * 5000 + b"}\n"),
    "policy-junk": b"policies: [1, 2]\ncountry_sets: {a: [*x]}\n",
    "policy-wrong-types": b"policies:\n  p: {checks: {a: 1}, extends: [q]}\ncountry_sets: 5\ndefault_policies: 7\n",
    "explanations-junk": b"explanations:\n  - {text: [1,2], domain: {a: b}}\n  - 5\n",
    "utf16": "domain\nmünchen.de\n\u202eevil.nl\n".encode("utf-16"),
    "latin1-invalid-utf8": b"domain;organisation\n\xff\xfe\xc3(.nl;caf\xe9\n",
    "csv-unclosed-quote": b'domain,organisation\n"a.nl,unclosed\nb.nl,x\n' * 100,
    "semicolon-dutch-inventory": b"name;category;product;annual_cost\nMail;email;Microsoft 365;1.200,50\n",
    "ip2asn-junk": b"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\nnot\ta\trange\n999.1.1.1\t1.1.1.1\tx\t\t\n",
    "binary-junk": bytes(range(256)) * 40,
    "valid-ish-inventory": b"items:\n  - {name: Mail, category: email, product: Microsoft 365, annual_cost: 100}\n",
    "valid-domains": b"example.nl\nm\xc3\xbcnchen.de\nxn--zz.nl\nB.6v?$eW\n",
}

HOSTILE_ARGS = [
    "", " ", "-", "--", "-1", "0", "1e309", "nan", "inf", "-inf", "99999999999999999999999999",
    "0x10", "1_000", "latest", "../../../../etc/passwd", "/dev/null", "/", "stekker.db",
    "a\x00b", "\x1b[31mred", "\u202eevil", "x" * 5000, "münchen.de", "B.6v?$eW", "127.0.0.1",
    "127.999", "10.1", "2026-13-45", "=cmd|' /C calc'!A0", "*alias", "&anchor", "{a: b}", "%s%n",
]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_ARGS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
hostile_bytes = st.one_of(st.sampled_from(list(INPUT_KINDS.values())), st.binary(max_size=4096),
                          st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")))


# -- commands: (name, argv builder(ws, x), outputs(ws)) ----------------------------------
# ``x`` is a hostile string (or the path of a hostile file); ``ws`` the workspace.
def _out(ws):
    return ws / "out"


COMMANDS = {
    "version": (lambda ws, x: ["version", x], []),
    "scans": (lambda ws, x: ["scans", "--db", x], []),
    "show": (lambda ws, x: ["show", x, "--db", ws / "s.db"], []),
    "show --issues": (lambda ws, x: ["show", "--issues", "--scan", x, "--db", ws / "s.db"], []),
    "export jsonl": (lambda ws, x: ["export", "--scan", x, "--db", ws / "s.db", "-o", _out(ws)], ["out"]),
    "export csv": (lambda ws, x: ["export", "-f", "csv", "--sep", x, "--db", ws / "s.db"], []),
    "export -o": (lambda ws, x: ["export", "--db", ws / "s.db", "-o", x], ["NEW"]),
    "report": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--scan", x], []),
    "report --policy": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--policy", x, "--as-of", x], []),
    "report --policies FILE": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--policies", x,
                                              "--csv", _out(ws)], ["out"]),
    "report --explanations FILE": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--explanations", x,
                                                  "--jsonl", _out(ws)], ["out"]),
    "report --organisation": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--organisation", x,
                                             "--lang", "nl", "--csv-sep", ";"], []),
    "report --compare": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--compare", x, "1"], []),
    "report outputs": (lambda ws, x: ["report", "-q", "--db", ws / "s.db", "--html", x], ["NEW"]),
    "attribute": (lambda ws, x: ["attribute", "--db", ws / "s.db", "--scan", x, "--as-of", "2026-01-01"],
                  ["s.db"]),
    "attribute --kb DIR": (lambda ws, x: ["attribute", "--db", ws / "s.db", "--kb", Path(x).parent], ["s.db"]),
    "scan FILE": (lambda ws, x: ["scan", x, "--db", ws / "new.db", "--resolver", "127.0.0.1:9"], ["new.db"]),
    "scan options": (lambda ws, x: ["scan", ws / "domains.txt", "--db", ws / "new.db", "--resolver", x,
                                    "--qps", x], ["new.db"]),
    "scan --resume": (lambda ws, x: ["scan", "--resume", x, "--db", ws / "s.db", "--resolver", "127.0.0.1:9"],
                      ["s.db"]),
    # option parsing only (the DNS scan against a dead resolver stops first); the look-up itself with
    # hostile URLs: tests/test_realm.py::test_hostile_realm_urls_end_in_a_message_or_an_error_row
    "scan --ms-realm-url": (lambda ws, x: ["scan", ws / "domains.txt", "--db", ws / "new.db", "--resolver",
                                           "127.0.0.1:9", "--ms-realm", "--ms-realm-url", x], ["new.db"]),
    "scan --ms-realm-qps": (lambda ws, x: ["scan", ws / "domains.txt", "--db", ws / "new.db", "--resolver",
                                           "127.0.0.1:9", "--ms-realm", "--ms-realm-qps", x], ["new.db"]),
    "audit": (lambda ws, x: ["audit", "--scan", x, "--db", ws / "s.db"], []),
    "audit init": (lambda ws, x: ["audit", "init", x], ["NEW"]),
    "audit check FILE": (lambda ws, x: ["audit", "check", x], []),
    "audit report FILE": (lambda ws, x: ["audit", "report", x, "--json", _out(ws)], ["out"]),
    "audit report options": (lambda ws, x: ["audit", "report", ws / "inv.yaml", "--lang", x, "--as-of", x], []),
    "audit seed --into FILE": (lambda ws, x: ["audit", "seed", "--scan", "1", "--db", ws / "s.db", "--into", x],
                               ["ARG", "ARG.bak"]),
    "audit seed -o": (lambda ws, x: ["audit", "seed", "--scan", x, "--db", ws / "s.db", "-o", _out(ws)], ["out"]),
    "data import FILE": (lambda ws, x: ["data", "import", x, "--data-dir", ws / "data"], ["data/*"]),
    "data update": (lambda ws, x: ["data", "update", "--data-dir", ws / "data", "--only", "psl", "--source",
                                   f"psl=http://127.0.0.1:9/{x}", "--connect-timeout", "1", "--timeout", "2"],
                    ["data/*"]),
    "data status": (lambda ws, x: ["data", "status", "--data-dir", x, "--max-age-days", "1"], []),
    "data lookup": (lambda ws, x: ["data", "lookup", x, "--data-dir", ws / "data"], []),
    "lab start": (lambda ws, x: ["lab", "start", "--dir", ws / "lab", "--net", "10." + x, "--orgs", x], []),
    "lab status": (lambda ws, x: ["lab", "status", "--dir", Path(x).parent], []),
    "lab stop": (lambda ws, x: ["lab", "stop", "--dir", ws / "nolab" / "x"], []),
    "validate peers": (lambda ws, x: ["validate", "peers", "--net", "8." + x, "--peers", x], []),
}

# which commands get hostile files (the others get hostile strings)
FILE_COMMANDS = {"report --policies FILE", "report --explanations FILE", "scan FILE", "audit check FILE",
                 "audit report FILE", "audit seed --into FILE", "data import FILE", "attribute --kb DIR",
                 "lab status", "export -o", "report outputs"}
MATRIX = {name: (sorted(INPUT_KINDS) + ["directory", "missing", "the-database"] if name in FILE_COMMANDS
                 else ["hostile-argument"]) for name in COMMANDS}


# -- the harness --------------------------------------------------------------------------
class CaseTimeout(Exception):
    pass


@contextmanager
def _alarm(seconds: float):
    def fire(signum, frame):  # noqa: ANN001
        raise CaseTimeout(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _snapshot(ws: Path) -> dict[str, str]:
    out = {}
    for p in ws.rglob("*"):
        if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal")):
            out[str(p.relative_to(ws))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _allowed(rel: str, outputs: list[str], before: dict, arg: str | None) -> bool:
    """An output: a named file, a directory's files (``data/*``), any file
    that did not exist before (``NEW``), or the argument itself (``ARG``:
    ``audit seed --into`` edits the inventory in place; ``ARG.bak``, a new
    copy of it beside it, when it is rewritten) unless it is the
    database.  An existing file changed by an output option is never allowed
    unless named: stekker must refuse foreign files without --force."""
    for o in outputs:
        if rel == o or (o.endswith("/*") and rel.startswith(o[:-1])):
            return True
        if o == "NEW" and rel not in before:
            return True
        if o == "ARG" and arg is not None and rel == arg and rel != "s.db":
            return True
        if o == "ARG.bak" and arg is not None and rel == arg + ".bak" and rel not in before:
            return True  # the copy of an inventory that could not be extended in place
    return False


_TEMPLATE: dict[str, Path] = {}


def _workspace(root: Path) -> Path:
    """A fresh copy of the template workspace (database with a scan, inputs)."""
    import shutil

    if "ws" not in _TEMPLATE:
        tpl = Path(tempfile.mkdtemp(prefix="stekker-fuzz-tpl-"))
        make_db(tpl / "s.db")
        (tpl / "domains.txt").write_text("example.nl\n")
        (tpl / "inv.yaml").write_bytes(INPUT_KINDS["valid-ish-inventory"])
        (tpl / "data").mkdir()
        (tpl / "kb").mkdir()
        _TEMPLATE["ws"] = tpl
    ws = root / "ws"
    shutil.copytree(_TEMPLATE["ws"], ws)
    return ws


def _input_path(ws: Path, kind: str, data: bytes | None) -> Path:
    if kind == "directory":
        (ws / "adir").mkdir(exist_ok=True)
        return ws / "adir"
    if kind == "missing":
        return ws / "missing" / "nothing.yaml"
    if kind == "the-database":
        return ws / "s.db"
    p = ws / "kb" / "input.yaml"  # also a hostile knowledge-base directory and lab dir
    p.write_bytes(data or b"")
    (ws / "kb" / "lab.json").write_bytes(data or b"")
    return p


@pytest.fixture(autouse=True)
def _fast_engine(monkeypatch, tmp_path):
    """The scan engine answers at once that no resolver answered (exit 3), so
    a fuzz case does not wait for the probe; crash traces go to tmp_path."""
    import stekker.collect.run as run_mod
    from stekker.collect.transport import NoResolverError

    def no_resolver(*a, **k):
        raise NoResolverError("no DNS resolver answered (fuzz harness: engine replaced)")

    monkeypatch.setattr(run_mod, "run_scan", no_resolver)
    # the default --workers 0 asks a local resolver before the scan: never from the harness
    monkeypatch.setattr(run_mod, "choose_workers", lambda *a, **k: (1, "1 engine process (fuzz harness)"))
    monkeypatch.setenv("STEKKER_CRASH_DIR", str(tmp_path))
    monkeypatch.setenv("STEKKER_DATA_DIR", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("COLUMNS", "120")


def run_case(name: str, x_kind: str, x: str | bytes) -> None:
    build, outputs = COMMANDS[name]
    with tempfile.TemporaryDirectory(prefix="stekker-fuzz-") as td:
        ws = _workspace(Path(td))
        cwd = os.getcwd()
        os.chdir(ws)
        try:
            if isinstance(x, bytes) or x_kind in ("directory", "missing", "the-database"):
                arg = str(_input_path(ws, x_kind, x if isinstance(x, bytes) else None))
            else:
                arg = x
            argv = [str(a) for a in build(ws, arg)]
            before = _snapshot(ws)
            t0 = time.monotonic()
            with _alarm(CASE_SECONDS):
                r = cli(*argv)
            took = time.monotonic() - t0
            after = _snapshot(ws)
            try:
                arg_rel = str(Path(arg).resolve().relative_to(ws.resolve()))
            except (ValueError, OSError):
                arg_rel = None
        finally:
            os.chdir(cwd)
        where = f"{name} [{x_kind}] argv={[a[:80] for a in argv]!r}"
        assert r.rc != EXIT_INTERNAL, f"{where}: internal error\n{r.err[-2000:]}"
        assert r.rc != EXIT_INTERRUPTED, f"{where}: interrupted (timeout?)\n{r.err[-2000:]}"
        assert r.rc in OK_CODES, f"{where}: exit {r.rc}\n{r.err[-2000:]}"
        assert "Traceback" not in r.text, f"{where}: traceback\n{r.text[-3000:]}"
        raw = [ch for ch in TERMINAL_CONTROLS if ch in r.text.replace("\r\n", "\n")]  # CSV lines end in CRLF
        assert not raw, f"{where}: raw control characters {raw!r} reached the terminal\n{r.text[-2000:]!r}"
        assert took < CASE_SECONDS, f"{where}: took {took:.1f} s"
        changed = sorted(k for k in set(before) | set(after)
                         if before.get(k) != after.get(k) and not _allowed(k, outputs, before, arg_rel))
        assert not changed, f"{where}: changed files that are not its output: {changed}"


# -- hand-picked: every file command x every input kind ------------------------------------
@pytest.mark.parametrize("name", sorted(FILE_COMMANDS))
def test_every_file_command_survives_every_input_kind(name):
    for kind in MATRIX[name]:
        run_case(name, kind, INPUT_KINDS.get(kind))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_survives_hand_picked_arguments(name):
    for x in HOSTILE_ARGS:
        run_case(name, "hostile-argument", x)


# -- generated ---------------------------------------------------------------------------------
_settings = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(COMMANDS))
@_settings
@given(x=hostile_text)
def test_generated_arguments(name, x):
    run_case(name, "hostile-argument", x)


@pytest.mark.parametrize("name", sorted(FILE_COMMANDS))
@_settings
@given(data=hostile_bytes)
def test_generated_files(name, data):
    run_case(name, "generated-bytes", data)


def test_the_harness_catches_a_crash(monkeypatch):
    """A test that cannot fail is a defect: an exception the handler does not
    expect must fail the harness (exit 4), and so must a changed input file."""
    import stekker.cli.show as show

    monkeypatch.setattr(show, "open_store", lambda db: 1 / 0)
    with pytest.raises(AssertionError, match="internal error"):
        run_case("scans", "hostile-argument", "x.db")
    monkeypatch.undo()
    import stekker.audit.loader as loader

    def scribble(path):
        Path(path).write_text("scribbled")
        raise loader.InventoryError([])

    monkeypatch.setattr(loader, "load", scribble)
    with pytest.raises(AssertionError, match="changed files"):
        run_case("audit check FILE", "valid-ish-inventory", INPUT_KINDS["valid-ish-inventory"])


# -- memory: the worst inputs in a separate process with a hard address-space limit ---------
MEMORY_LIMIT = 1536 * 1024 * 1024  # a YAML bomb once took 4.9 GB in 45 s


@pytest.mark.parametrize("args,kind", [
    (["audit", "check", "{f}"], "yaml-bomb"),
    (["audit", "report", "{f}"], "deep-nesting"),
    (["report", "-q", "--db", "{db}", "--policies", "{f}"], "yaml-bomb"),
    (["scan", "{f}", "--db", "{new}", "--resolver", "127.0.0.1:9"], "huge-line"),
    (["scan", "{f}", "--db", "{new}", "--resolver", "127.0.0.1:9"], "many-lines"),
])
def test_worst_inputs_stay_within_a_memory_limit(tmp_path, args, kind):
    import resource
    import subprocess
    import sys

    f = tmp_path / "input.txt"
    f.write_bytes(INPUT_KINDS[kind])
    make_db(tmp_path / "s.db")

    def limit():  # in the child only
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    argv = [a.format(f=f, db=tmp_path / "s.db", new=tmp_path / "new.db") for a in args]
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "stekker", *argv], capture_output=True, text=True, timeout=60,
                       preexec_fn=limit, cwd=tmp_path,
                       env={**os.environ, "STEKKER_CRASH_DIR": str(tmp_path)})
    took = time.monotonic() - t0
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert "Traceback" not in p.stderr and "MemoryError" not in p.stderr
    assert took < 30, took
