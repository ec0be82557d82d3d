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
Empty directories the publisher added (an ``uploads/``) are carried too, and the
directory keeps its permissions (a site kept 0750 stays 0750).

``--out`` may be a symlink to a site (``current -> releases/v1``): the site is
written where it points and the link stays. A mount point cannot be replaced
by rename, so it is refused before anything is rendered (give a directory in
it). A run killed outright (SIGKILL, power loss) leaves its hidden temporary
directory beside the site; the next run removes those of processes that are
gone.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from stekker.i18n import _
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


def _empty_dirs(root: Path) -> set[str]:
    """Relative paths (POSIX) of the directories under ``root`` that hold nothing at all."""
    out = set()
    for d, dirs, names in os.walk(root):
        if not dirs and not names and d != str(root):
            out.add(os.path.relpath(d, root).replace(os.sep, "/"))
    return out


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


def _target(out: str | os.PathLike) -> Path:
    """The directory the site is written to: ``out``, or where it points when it is a symlink (the
    link is the publisher's: it stays, and what it points to is replaced)."""
    p = Path(out).expanduser()
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def check_out_dir(out: str | os.PathLike, db: str | None = None) -> Path:
    """Refuse an output directory that holds something stekker did not write, or that cannot be
    replaced (a mount point); returns the directory written to (see :func:`_target`)."""
    from stekker.outputs import db_files

    try:
        str(out).encode("utf-8")
    except UnicodeError:
        raise OutputError(_("--out {name!r}: a name that is not UTF-8 text; "
                            "choose a name of readable characters").format(name=os.fsencode(os.fspath(out)))) from None
    p = _target(out)
    if Path(out).expanduser().is_symlink() and not p.parent.is_dir():
        raise OutputError(_("--out {out} is a symlink to {target}, and directory {parent} does not exist").format(
            out=out, target=p, parent=p.parent))
    for d in db_files(db):
        if p.exists() and d.exists() and os.path.samefile(p, d):
            raise OutputError(_("--out {out} is the database; choose a directory").format(out=out))
    if p.exists() and not p.is_dir():
        raise OutputError(_("--out {out} exists and is not a directory; choose a new directory name").format(out=out))
    if not p.parent.is_dir():
        raise OutputError(_("--out {out}: directory {parent} does not exist").format(out=out, parent=p.parent))
    if not os.access(p.parent, os.W_OK | os.X_OK):
        # the new site is written beside DIR and swapped in: its parent must be writable (field trial
        # cron 3: "cannot write the site: Permission denied", without a path, after the judging)
        raise OutputError(_("--out {out}: stekker writes the new site in a hidden directory beside it, in "
                            "{parent}, and swaps it in; this user may not write in {parent} (give it write "
                            "permission there, or choose a directory in a place it may write; nothing was "
                            "changed)").format(out=out, parent=p.parent))
    if p.is_dir() and os.path.ismount(p):
        raise OutputError(_("--out {out} is a mount point: stekker writes a site beside its directory and swaps "
                            "it in (so a half-written site is never served), which cannot replace a mount "
                            "point; give a directory in it (e.g. {out}/site) and serve that").format(out=out))
    if p.is_dir() and any(p.iterdir()) and not (p / MARKER).is_file():
        raise OutputError(_("--out {out} is not empty and is not a site stekker wrote; "
                            "choose a new or empty directory (nothing in it was touched)").format(out=out))
    if p.is_dir():
        for d in db_files(db):
            if d.exists() and p.resolve() in d.resolve().parents:
                raise OutputError(_("--out {out} holds the database; choose another directory").format(out=out))
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


def _worker(paths: list[str]) -> tuple[int, int, int]:
    assert _SITE is not None and _TMP is not None
    return _write_paths(_SITE, _TMP, paths)


def default_workers() -> int:
    """One rendering process per core (at most 8); 1 where fork is missing."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


TMP_TAG, OLD_TAG = "tmp", "old"  # .NAME.tmp-PID-XXXX (being written), .NAME.old-PID-XXXX (the site replaced)
TMP_MARKER = ".stekker-site-tmp"  # in a temporary directory from the start: only such ones are cleaned up
NAME_ROOM = 100  # bytes of the site's name in a hidden name (NAME_MAX is 255)


def _hidden_prefix(out: Path) -> str:
    name = os.fsencode(out.name)[:NAME_ROOM]
    return "." + os.fsdecode(name) + "."


def clean_stale(out: str | os.PathLike) -> list[str]:
    """Remove the hidden directories beside ``out`` left by site runs killed outright
    (:func:`stekker.outputs.leftovers`): a temporary site (``.NAME.tmp-PID-*``, holding
    :data:`TMP_MARKER`) or a replaced one (``.NAME.old-PID-*``, holding :data:`MARKER`; put back
    when ``out`` is missing: a run killed between its two renames). Returns their names."""
    import re

    from stekker.outputs import leftovers

    out = Path(out)
    rx = re.compile(re.escape(_hidden_prefix(out)) + r"(tmp|old)-(\d{1,10})-[A-Za-z0-9_]+$")
    gone = []
    for e, m in leftovers(out.parent, rx, pid_group=2, dirs=True):
        if not os.path.isfile(os.path.join(e.path, TMP_MARKER if m.group(1) == TMP_TAG else MARKER)):
            continue  # not one stekker left
        if m.group(1) == OLD_TAG and not out.exists() and not out.is_symlink():
            # the previous site is restored, never removed with the publisher's files in it
            with contextlib.suppress(OSError):
                os.replace(e.path, out)
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        gone.append(e.name)
    return gone


def _take_group(tmp: Path, out: Path, shown: object) -> None:
    """Give the new site ``out``'s group (and, run as root, its owner) before anything is written
    in it, and ``out``'s setgid bit while it is written, so that its files get the group as they
    would inside ``out``: a web server that reads the site through the group (a web root of group
    www-data, mode 2750) reads the new one too (field trial cron 1: the regenerated site got the
    user's group, and the web server answered 403). Refuses (nothing written) when this user may
    not give that group."""
    import stat as st_

    if not out.is_dir():
        return
    st = out.stat()
    now = tmp.stat()
    uid = st.st_uid if os.geteuid() == 0 else -1
    if now.st_gid != st.st_gid or uid not in (-1, now.st_uid):
        try:
            os.chown(tmp, uid, st.st_gid)
        except PermissionError:
            try:
                import grp

                group = grp.getgrgid(st.st_gid).gr_name
            except (ImportError, KeyError):
                group = str(st.st_gid)
            raise OutputError(_("--out {out} belongs to group {group}, which this user may not give the new site "
                                "(it is not a member): a web server that reads the site through that group could "
                                "not read it; add the user to group {group}, or give {out} a group of this user "
                                "(nothing was changed)").format(out=shown, group=group)) from None
    os.chmod(tmp, 0o700 | (st.st_mode & st_.S_ISGID))


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def write_site(site: Site, out: str | os.PathLike, progress: Callable[[int], None] | None = None,
               workers: int = 1) -> SiteStats:
    """Write the whole site; ``workers`` > 1 renders in that many forked
    processes (they share the judged scan copy-on-write)."""
    global _SITE, _TMP
    start = time.monotonic()
    shown = out
    out = check_out_dir(out)
    clean_stale(out)
    prefix = _hidden_prefix(out)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{TMP_TAG}-{os.getpid()}-", dir=str(out.parent)))
    files = size = pages = 0
    old: Path | None = None
    try:
        _take_group(tmp, out, shown)
        (tmp / TMP_MARKER).write_text(str(os.getpid()), "utf-8")
        paths = list(site.paths())
        chunks = [[p] for p in WHOLE_SCAN] + [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
        if workers > 1 and len(chunks) > 1:
            import multiprocessing

            from stekker.workers import quiet_pool_worker

            site.prepare()
            _SITE, _TMP = site, tmp
            # the judged scan is read, never freed, by the workers: out of the
            # collector's sight it is not traversed again and again (CPU) and its
            # pages stay shared with the parent (memory)
            gc.collect()
            gc.freeze()
            try:
                with multiprocessing.get_context("fork").Pool(workers, initializer=quiet_pool_worker,
                                                              initargs=(os.getpid(),)) as pool:
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
        (tmp / TMP_MARKER).unlink()
        written = _tree(tmp)
        kept = sorted(_added_by_user(out)) if out.is_dir() else []
        empty = [d for d in sorted(_empty_dirs(out)) if not (tmp / d).is_dir()] if out.is_dir() else []
        clash = [k for k in kept + empty if k in written]
        if clash:
            raise OutputError(_("--out {out}: file(s) you added stand where the new site writes: "
                                "{names}; move them (nothing was changed)").format(
                                    out=shown, names=", ".join(clash[:5])))
        for rel in kept:
            dst = tmp / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / rel, dst, follow_symlinks=False)
        for rel in empty:  # an empty directory the publisher made (an uploads/)
            (tmp / rel).mkdir(parents=True, exist_ok=True)
            shutil.copystat(out / rel, tmp / rel, follow_symlinks=False)
        (tmp / MANIFEST).write_text("".join(f"{x}\n" for x in sorted(written)), "utf-8")
        (tmp / MARKER).write_text(json.dumps({"generator": "stekker site", "scan": site.m.scan["scan_id"],
                                              "files": files}), "utf-8")
        os.chmod(tmp, out.stat().st_mode & 0o7777 if out.is_dir() else 0o777 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{prefix}{OLD_TAG}-{os.getpid()}-", dir=str(out.parent)))
            os.replace(out, old)  # (onto the empty directory just made: a name no one else has)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        if old is not None and old.exists() and not out.exists():
            # stopped between the two renames: the previous site goes back where it was (review 28 M5:
            # it stayed hidden, and the next run's clean-up removed it with the publisher's files)
            with contextlib.suppress(OSError):
                os.replace(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteStats(files, size, pages, time.monotonic() - start, tuple(kept) + tuple(f"{d}/" for d in empty))
