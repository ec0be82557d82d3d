"""Write the static site: every page, table and JSON document, one at a
time (nothing rendered is kept, so memory does not grow with the number of
pages), into a fresh directory that replaces the previous site only when
everything was written.

Nothing a user owns is destroyed: the output directory must be missing,
empty, or a site stekker wrote before (it carries :data:`MARKER`).  The new
site is built in a temporary directory beside it and swapped in by rename;
the old site is removed only after the swap.  Files the publisher added to a
site stekker wrote (a ``.htaccess``, ``robots.txt``, a logo) are not in its
list of written files (:data:`MANIFEST`) and are carried into the new site;
one standing where the new site writes a file stops the run, nothing changed.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from stekker.outputs import OutputError

from .pages import Site

MARKER = ".stekker-site.json"
MANIFEST = ".stekker-site-files"  # every file stekker wrote, one relative path a line


def _tree(root: Path) -> set[str]:
    """Relative paths (POSIX) of every file and link under ``root``."""
    out = set()
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in names + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            out.add(n if rel == "." else f"{rel}/{n}".replace(os.sep, "/"))
    return out


# where stekker writes: a site written before the list of written files existed (no MANIFEST) keeps
# every file outside these (a .htaccess, robots.txt, a logo the publisher added)
_OWN_TOP = ("nl/", "en/", "api/", "data/", "static/")
_OWN_FILES = {"index.html", "404.html", MARKER, MANIFEST}


def _added_by_user(out: Path) -> set[str]:
    """Files in a site stekker wrote that it did not write."""
    try:
        written = set((out / MANIFEST).read_text("utf-8").splitlines())
    except OSError:  # an older site without the list: what lies outside stekker's own places
        return {f for f in _tree(out) if f not in _OWN_FILES and not f.startswith(_OWN_TOP)}
    return _tree(out) - written - {MARKER, MANIFEST}


@dataclass(slots=True)
class SiteStats:
    files: int
    bytes: int
    pages: int
    seconds: float
    kept: tuple[str, ...] = ()  # files the publisher had added, carried into the new site


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


_SITE: Site | None = None  # the site a forked worker renders (inherited, never pickled)
_TMP: Path | None = None
CHUNK = 400  # paths per task
# the whole scan's files (the report's writers); they go first, each a task of its own,
# so a worker writes them while the others render pages
WHOLE_SCAN: dict[str, Callable[[Any, str], Any]] = {
    "/data/scan.parquet": lambda m, p: m.write_scan_parquet(p),
    "/data/scan.csv": lambda m, p: m.write_scan_csv(p),
}


def _write_paths(site: Site, tmp: Path, paths: list[str]) -> tuple[int, int, int]:
    """Render and write ``paths``; (files, bytes, HTML pages).  Each document
    is written as soon as it is rendered and then dropped."""
    files = size = pages = 0
    made: set[Path] = set()  # directories made for this chunk (bounded by the chunk's size)
    for path in paths:
        rel = path.lstrip("/")
        target = tmp / (rel + "index.html" if path.endswith("/") else rel)
        parent = target.parent
        if parent not in made:
            parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        if path in WHOLE_SCAN:  # written by the report's writers straight into place
            WHOLE_SCAN[path](site.m, str(target))
            files += 1
            size += target.stat().st_size
            continue
        doc = site.render(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(doc.body)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        files += 1
        size += len(doc.body)
        if doc.media_type.startswith("text/html"):
            pages += 1
    return files, size, pages


def _quiet_worker() -> None:
    """Workers leave Ctrl-C to the parent (which stops them) and end
    silently on the SIGTERM the pool sends at its end."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker(paths: list[str]) -> tuple[int, int, int]:
    assert _SITE is not None and _TMP is not None
    return _write_paths(_SITE, _TMP, paths)


def default_workers() -> int:
    """One rendering process per core (at most 8); 1 where fork is missing."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def write_site(site: Site, out: str | os.PathLike, progress: Callable[[int], None] | None = None,
               workers: int = 1) -> SiteStats:
    """Write the whole site; ``workers`` > 1 renders in that many forked
    processes (they share the judged scan copy-on-write)."""
    global _SITE, _TMP
    start = time.monotonic()
    out = Path(out).expanduser()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=str(out.parent)))
    files = size = pages = 0
    try:
        paths = list(site.paths())
        chunks = [[p] for p in WHOLE_SCAN] + [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
        if workers > 1 and len(chunks) > 1:
            import multiprocessing

            site.prepare()
            _SITE, _TMP = site, tmp
            # the judged scan is read, never freed, by the workers: out of the
            # collector's sight it is not traversed again and again (CPU) and its
            # pages stay shared with the parent (memory)
            gc.collect()
            gc.freeze()
            try:
                with multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker) as pool:
                    for f, b, p in pool.imap_unordered(_worker, chunks):
                        files, size, pages = files + f, size + b, pages + p
                        if progress and files // 2000 != (files - f) // 2000:
                            progress(files)
            finally:
                _SITE = _TMP = None
                gc.unfreeze()
        else:
            for chunk in chunks:
                f, b, p = _write_paths(site, tmp, chunk)
                files, size, pages = files + f, size + b, pages + p
                if progress and files // 2000 != (files - f) // 2000:
                    progress(files)
        written = _tree(tmp)
        kept = sorted(_added_by_user(out)) if out.is_dir() else []
        clash = [k for k in kept if k in written]
        if clash:
            raise OutputError(f"--out {out}: file(s) you added stand where the new site writes: "
                              f"{', '.join(clash[:5])}; move them (nothing was changed)")
        for rel in kept:
            dst = tmp / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / rel, dst, follow_symlinks=False)
        (tmp / MANIFEST).write_text("".join(f"{x}\n" for x in sorted(written)), "utf-8")
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
    return SiteStats(files, size, pages, time.monotonic() - start, tuple(kept))
