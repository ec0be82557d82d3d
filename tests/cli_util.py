"""Run the stekker command line in-process, through the same top-level
handler as the installed ``stekker`` script (:func:`stekker.cli.run`)."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from stekker.cli import run

sys.path.insert(0, str(Path(__file__).resolve().parent))


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    env_cols = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = run([str(a) for a in args])
    finally:
        if env_cols is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = env_cols
    return Result(rc, out.getvalue(), err.getvalue())


def make_db(path: Path, domains=("a.nl", "b.nl", "c.nl")) -> int:
    """A SQLite store with one scan: a.nl ok with hostile TXT answers,
    b.nl nxdomain, c.nl error, the rest pending."""
    from test_store import add, new_scan, results_for

    from stekker.store import Store

    s = Store.open(str(path))
    sid = new_scan(s)
    add(s, sid, list(domains))
    s.write_domain(sid, domains[0], "ok", results_for(domains[0]))
    if len(domains) > 1:
        s.write_domain(sid, domains[1], "nxdomain", results_for(domains[1])[3:4])
    if len(domains) > 2:
        s.write_domain(sid, domains[2], "error", results_for(domains[2])[5:6])
    s.finish_scan(sid, "finished", {})
    s.close()
    return sid


def sqlite_ok(path: Path) -> bool:
    con = sqlite3.connect(str(path))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
