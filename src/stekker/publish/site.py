"""Write the static site: every page, table and JSON document, one at a
time (nothing rendered is kept, so memory does not grow with the number of
pages), into a fresh directory that replaces the previous site only when
everything was written.

Nothing a user owns is destroyed: the output directory must be missing,
empty, or a site stekker wrote before (it carries :data:`MARKER`).  The new
site is built in a temporary directory beside it and swapped in by rename;
the old site is removed only after the swap.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from stekker.outputs import OutputError

from .pages import Site

MARKER = ".stekker-site.json"


@dataclass(slots=True)
class SiteStats:
    files: int
    bytes: int
    pages: int
    seconds: float


def check_out_dir(out: str | os.PathLike, db: str | None = None) -> Path:
    """Refuse an output directory that holds something stekker did not write."""
    from stekker.outputs import db_files

    p = Path(out).expanduser()
    for d in db_files(db):
        if p.exists() and d.exists() and os.path.samefile(p, d):
            raise OutputError(f"--out {out} is the database; choose a directory")
    if p.exists() and not p.is_dir():
        raise OutputError(f"--out {out} exists and is not a directory; choose a new directory name")
    if not p.parent.is_dir():
        raise OutputError(f"--out {out}: directory {p.parent} does not exist")
    if p.is_dir() and any(p.iterdir()) and not (p / MARKER).is_file():
        raise OutputError(f"--out {out} is not empty and is not a site stekker wrote; "
                          "choose a new or empty directory (nothing in it was touched)")
    if p.is_dir():
        for d in db_files(db):
            if d.exists() and p.resolve() in d.resolve().parents:
                raise OutputError(f"--out {out} holds the database; choose another directory")
    return p


def write_site(site: Site, out: str | os.PathLike, progress: Callable[[int], None] | None = None) -> SiteStats:
    start = time.monotonic()
    out = Path(out).expanduser()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=str(out.parent)))
    files = size = pages = 0
    try:
        made: set[Path] = set()
        for path in site.paths():
            doc = site.render(path)
            rel = path.lstrip("/")
            target = tmp / (rel + "index.html" if path.endswith("/") else rel)
            parent = target.parent
            if parent not in made:
                parent.mkdir(parents=True, exist_ok=True)
                made.add(parent)
            target.write_bytes(doc.body)
            files += 1
            size += len(doc.body)
            if doc.media_type.startswith("text/html"):
                pages += 1
            if progress and files % 2000 == 0:
                progress(files)
        data = tmp / "data"
        data.mkdir(exist_ok=True)
        site.m.write_scan_csv(str(data / "scan.csv"))
        site.m.write_scan_parquet(str(data / "scan.parquet"))
        for f in ("scan.csv", "scan.parquet"):
            files += 1
            size += (data / f).stat().st_size
        (tmp / MARKER).write_text(json.dumps({"generator": "stekker site", "scan": site.m.scan["scan_id"],
                                              "files": files}), "utf-8")
        os.chmod(tmp, 0o755)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}-{int(time.time())}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteStats(files, size, pages, time.monotonic() - start)
