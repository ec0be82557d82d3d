"""Writing output files without destroying what a user owns.

Every command that writes a file (``report --html/--pdf/--csv/--jsonl/
--parquet``, ``export -o``, ``audit report --html/--pdf/--json``, ``audit
seed -o``, ``validate peers -o``) goes through :func:`check_output` and
:func:`replacing`:

* an output path that is the database, one of the command's input files, a
  file of stekker's data directory (the IP-to-ASN table, the public suffix
  list), a directory, or a SQLite database is always refused;
* an existing file is replaced only when it is a previous stekker output of
  the same kind (recognised by its content), or with ``--force`` (``report``
  and ``export`` then keep the file as it was as ``.bak``);
* the new content is written to a temporary file in the same directory and
  renamed into place, so an interrupted or failing command never leaves a
  truncated file (and never touches the old one).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from stekker.i18n import _, os_error

SQLITE_MAGIC = b"SQLite format 3\x00"


class OutputError(ValueError):
    """An output path that must not be written; the message says why and what to do."""


# ------------------------------------------------------------------ recognise
def _head(path: Path, n: int = 8192) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _tail(path: Path, n: int = 65536) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - n))
        return fh.read()


def _first_line(path: Path) -> str:
    return _head(path, 65536).split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip("\r\n")


def _is_html(path: Path) -> bool:
    head = _head(path, 4096).decode("utf-8", "replace").lower()
    return '<meta name="generator" content="stekker' in head


def _is_report_csv(path: Path) -> bool:
    line = _first_line(path)
    return bool(re.match(r"^domain[,;\t|]organisations[,;\t|]sectors[,;\t|]status[,;\t|]", line))


def _is_export_csv(path: Path) -> bool:
    line = _first_line(path)
    return bool(re.match(r"^domain[,;\t|]purpose[,;\t|]qname[,;\t|]qtype[,;\t|]status", line))


def _json_first(path: Path) -> object:
    try:
        return json.loads(_first_line(path))
    except (ValueError, RecursionError):
        return None


def _is_report_jsonl(path: Path) -> bool:
    rec = _json_first(path)
    return isinstance(rec, dict) and "domain" in rec and "verdicts" in rec and "kb_version" in rec


def _is_export_jsonl(path: Path) -> bool:
    rec = _json_first(path)
    return isinstance(rec, dict) and "domain" in rec and "scan_id" in rec


def _is_parquet(path: Path) -> bool:
    return _head(path, 4) == b"PAR1" and b"stekker.as_of" in _tail(path)


def _pdf_titles(data: bytes) -> list[str]:
    out = []
    for m in re.finditer(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)", data):
        raw = m.group(1)
        try:
            if raw.startswith(b"<"):
                b = bytes.fromhex(raw[1:-1].decode("ascii").replace(" ", "").replace("\n", ""))
                out.append(b[2:].decode("utf-16-be", "replace") if b.startswith(b"\xfe\xff") else b.decode("latin-1"))
            else:
                out.append(raw[1:-1].decode("latin-1"))
        except ValueError:
            continue
    return out


# the <title> of stekker's HTML pages (Chromium writes it into the PDF's /Title):
# (strings file, key) of the report, the organisation page and the audit report
PDF_TITLE_STRINGS = (("stekker.report", "templates/strings.yaml", "title"),
                     ("stekker.report", "templates/strings.yaml", "org_title"),
                     ("stekker.audit", "data/strings.yaml", "title"))


@lru_cache(maxsize=1)
def _pdf_title_patterns() -> tuple[re.Pattern[str], ...]:
    """The exact titles stekker gives its reports, in every language, as
    patterns: ``{org}`` stands for any name, and the report pages may add
    " — Scan N" / " — <organisation>". "stekker" alone is an ordinary Dutch
    word (a plug) and marks nothing."""
    from importlib import resources

    import yaml

    pats = []
    for pkg, rel, key in PDF_TITLE_STRINGS:
        doc = yaml.safe_load(resources.files(pkg).joinpath(*rel.split("/")).read_text("utf-8")) or {}
        entry = doc.get(key) or (doc.get("strings") or {}).get(key) or {}
        for tpl in entry.values():
            body = re.escape(str(tpl)).replace(re.escape("{org}"), ".+")
            pats.append(re.compile(rf"^{body}(?: \u2014 .*)?$", re.S))
    return tuple(pats)


def _is_pdf(path: Path) -> bool:
    if _head(path, 5) != b"%PDF-":
        return False
    data = _head(path, 65536) + _tail(path)
    return any(p.match(t.strip()) for t in _pdf_titles(data) for p in _pdf_title_patterns())


def _is_audit_json(path: Path) -> bool:
    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            return False
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and "items" in doc and "scenarios" in doc


# A file stekker writes for the user to edit (a seeded inventory) carries a hash of its own
# content: it counts as stekker's output - replaceable without --force - only while unchanged.
STAMP_PREFIX = "# stekker-sha256: "
_STAMP_LINE = re.compile(rb"^# stekker-sha256: ([0-9a-f]{64})\r?\n", re.M)


def stamp(text: str, after_line: int = 1) -> str:
    """``text`` with a ``# stekker-sha256: ...`` line (after its first ``after_line`` lines) holding
    the SHA-256 of the text without that line: :func:`unchanged_since_written` tells an edit."""
    import hashlib

    lines = text.splitlines(keepends=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return "".join(lines[:after_line]) + STAMP_PREFIX + digest + "\n" + "".join(lines[after_line:])


def unchanged_since_written(data: bytes) -> bool:
    """Whether ``data`` (a file's bytes) still holds exactly what :func:`stamp` wrote: False for a
    file without the stamp line, or with any byte changed since."""
    import hashlib

    m = _STAMP_LINE.search(data)
    if m is None:
        return False
    rest = data[:m.start()] + data[m.end():]
    return hashlib.sha256(rest).hexdigest() == m.group(1).decode("ascii")


def _is_inventory_seed(path: Path) -> bool:
    if not _head(path, 200).startswith(b"# Seeded by `stekker audit seed`"):
        return False
    if path.stat().st_size > 64 * 1024 * 1024:
        return False
    return unchanged_since_written(path.read_bytes())  # edited by the user: the user's file now


def keep_copy(path: str | os.PathLike) -> Path:
    """Copy ``path`` to ``path.bak`` - or ``.bak.1``, ``.bak.2``, ...: never over an earlier copy -
    before a command replaces it; returns the copy (OSError when it cannot be made)."""
    import shutil

    p = Path(path)
    backup, n = p.with_name(p.name + ".bak"), 1
    while backup.exists() or backup.is_symlink():
        backup, n = p.with_name(f"{p.name}.bak.{n}"), n + 1
    shutil.copy2(p, backup)
    return backup


def _is_validation_md(path: Path) -> bool:
    return b"Generated by `stekker validate peers`" in _head(path, 4096)


RECOGNISERS = {
    "html": _is_html,
    "pdf": _is_pdf,
    "csv": _is_report_csv,
    "jsonl": _is_report_jsonl,
    "parquet": _is_parquet,
    "export-csv": _is_export_csv,
    "export-jsonl": _is_export_jsonl,
    "audit-json": _is_audit_json,
    "inventory": _is_inventory_seed,
    "validation": _is_validation_md,
}


def is_stekker_output(path: str | os.PathLike, kind: str) -> bool:
    """Whether ``path`` holds a file stekker wrote as an output of ``kind``."""
    try:
        return RECOGNISERS[kind](Path(path))
    except OSError:
        return False


# ------------------------------------------------------------------ checking
def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def db_files(db: Optional[str]) -> list[Path]:
    """The files a ``--db`` value stands for (a SQLite file and its journals);
    nothing for a PostgreSQL URL."""
    if not db or "://" in db or db == ":memory:" or db.lower().startswith(("postgres", "sqlite:")):
        return []
    p = Path(db).expanduser()
    return [p, Path(str(p) + "-wal"), Path(str(p) + "-shm"), Path(str(p) + "-journal")]


def check_output(path: str | os.PathLike, kind: str, *, option: str = "output", db: Optional[str] = None,
                 inputs: Iterable[Optional[str | os.PathLike]] = (), force: bool = False,
                 others: Iterable[Optional[str | os.PathLike]] = (),
                 kept: Optional[dict[Path, Optional[Path]]] = None,
                 protected: Iterable[Path] = ()) -> Path:
    """Refuse an output path that would destroy something (see the module
    docstring); returns the path.  ``others`` are the command's other output
    paths (two outputs to one file are refused).  ``kept``: a file that
    ``--force`` replaces although stekker did not write it (a user's list, a
    scan's input file) is added to ``kept``; :func:`replacing` with that
    ``keep`` copies it to ``.bak`` (:func:`keep_copy`) just before the new
    content takes its place and records the copy there, for the command to say.
    ``protected``: files no output may replace, not even with ``--force`` - stekker's reference
    data (:func:`stekker.datasets.reference_files`; `export -o DATA/ipasn.npz --force` replaced
    the IP-to-ASN table in use with JSON lines, field trial 5)."""
    p = Path(path).expanduser()
    shown = str(path)
    for d in db_files(db):
        if _same(p, d):
            raise OutputError(_("{option} {path} is the database (--db {db}); choose another file name").format(
                option=option, path=shown, db=db))
    data_file = next((f for f in protected if _same(p, f)), None)
    if data_file is not None:
        raise OutputError(_("{option} {path} is stekker's reference data ({file} in the data directory {dir}); "
                            "no output may replace it, not even with --force; choose another file name").format(
            option=option, path=shown, file=data_file.name, dir=data_file.parent))
    for i in inputs:
        if i is not None and str(i) not in ("", "-") and _same(p, Path(i).expanduser()):
            raise OutputError(_("{option} {path} is an input file of this command; choose another file name").format(
                option=option, path=shown))
    for o in others:
        if o is not None and _same(p, Path(o).expanduser()):
            raise OutputError(_("{option} {path} is also another output of this command; give each its own file")
                              .format(option=option, path=shown))
    if p.is_dir():
        raise OutputError(_("{option} {path} is a directory; give a file name").format(option=option, path=shown))
    if not p.parent.is_dir():
        raise OutputError(_("{option} {path}: directory {parent} does not exist").format(
            option=option, path=shown, parent=p.parent))
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise OutputError(_("{option} {path} exists and is not a regular file; choose another file name").format(
                option=option, path=shown))
        try:
            magic = _head(p, 16)
        except OSError as exc:
            raise OutputError(_("{option} {path}: cannot read the existing file ({error})").format(
                option=option, path=shown, error=os_error(exc))) from None
        if magic == SQLITE_MAGIC:
            raise OutputError(_("{option} {path} is a SQLite database; stekker never overwrites one").format(
                option=option, path=shown))
        if not force and not is_stekker_output(p, kind):
            if kind == "inventory" and _head(p, 200).startswith(b"# Seeded by `stekker audit seed`"):
                raise OutputError(_("{option} {path} has been changed since stekker wrote it (or has no "
                                    "stekker-sha256 line): replacing it would lose your edits; add the detected "
                                    "items to it with --into {path}, choose another file name, or use --force "
                                    "(your file is then kept as .bak)").format(option=option, path=shown))
            raise OutputError(_("{option} {path} exists and is not an earlier stekker {kind} output; "
                                "use --force to replace it, or choose another file name").format(
                                    option=option, path=shown, kind=kind))
        if force and kept is not None and not is_stekker_output(p, kind):
            kept[p] = None  # copied by replacing(p, keep=kept) when the new content is there
    return p


# ------------------------------------------------------------------ writing
TMP_ROOM = 100  # bytes of the output's name in its temporary name: the whole fits NAME_MAX (255)


def _tmp_prefix(p: Path) -> str:
    return "." + os.fsdecode(os.fsencode(p.name)[:TMP_ROOM]) + ".tmp-"


LEFTOVER_AGE = 3600.0  # a leftover is removed only when untouched this long (a live run elsewhere touches its own)


def leftovers(folder: str | os.PathLike, rx: re.Pattern[str], pid_group: int | str = 1,
              dirs: bool = False) -> Iterator[tuple[os.DirEntry, re.Match[str]]]:
    """The entries of ``folder`` a run killed outright (SIGKILL: no ``finally`` runs) left: a name
    ``rx`` matches, holding the pid of a process that no longer runs (``pid_group``), untouched for
    :data:`LEFTOVER_AGE` (a run on another machine sharing the folder - NFS, a container - has a
    pid this machine does not know), a file (or, ``dirs``, a directory) itself.  The one rule for
    the output temporaries and the site's hidden directories."""
    from stekker.workers import process_gone

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for e in entries:
        m = rx.match(e.name)
        if m is None or not process_gone(int(m.group(pid_group))):
            continue
        try:
            if (e.is_dir(follow_symlinks=False) if dirs else e.is_file(follow_symlinks=False)) and \
                    now - e.stat(follow_symlinks=False).st_mtime >= LEFTOVER_AGE:
                yield e, m
        except OSError:
            continue


def clean_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files :func:`replacing` left beside ``path`` in runs killed outright:
    ``.NAME.tmp-PID-XXXX.tmp.EXT`` (:func:`leftovers`). Returns their names."""
    p = Path(path).expanduser()
    rx = re.compile(re.escape(_tmp_prefix(p)) + r"(\d{1,10})-[A-Za-z0-9_]+\.tmp" + re.escape(p.suffix[:20]) + "$")
    gone = []
    for e, _match in leftovers(p.parent, rx):
        with contextlib.suppress(OSError):
            os.unlink(e.path)
            gone.append(e.name)
    return gone


@contextlib.contextmanager
def replacing(path: str | os.PathLike, keep: Optional[dict[Path, Optional[Path]]] = None) -> Iterator[Path]:
    """A temporary path beside ``path``; on success it is renamed to ``path``
    (atomically, keeping an existing file's permissions), on failure removed.
    ``path`` itself is never opened for writing. Temporaries of killed runs are
    removed first (:func:`clean_stale_temporaries`). ``keep`` (from
    :func:`check_output`): when ``path`` is one of its files, the file as it was
    is copied to ``.bak`` before it is replaced, and the copy recorded in ``keep``."""
    p = Path(path).expanduser()
    clean_stale_temporaries(p)
    fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_prefix(p)}{os.getpid()}-", suffix=".tmp" + p.suffix[:20],
                               dir=str(p.parent))
    os.close(fd)
    t = Path(tmp)
    try:
        try:
            mode = p.stat().st_mode & 0o777 if p.exists() else 0o666 & ~_umask()
            os.chmod(t, mode)
        except OSError:
            pass
        yield t
        with open(t, "rb") as fh:
            os.fsync(fh.fileno())
        for k in (keep or {}):
            if keep[k] is None and p.is_file() and _same(p, k):
                keep[k] = keep_copy(p)  # (OSError: not replaced; the command says it cannot write)
        os.replace(t, p)
    except BaseException:
        with contextlib.suppress(OSError):
            t.unlink()
        raise


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` through :func:`replacing`."""
    with replacing(path) as tmp:
        # the text's own line ends, on Windows too (a stamped file's hash is of this text; a user's CRLF
        # file extended in place stays CRLF)
        tmp.write_text(text, encoding=encoding, newline="")


# ------------------------------------------------------------------ the data dir
# The files stekker writes into a data dir (`data import`, `data update`; stekker.datasets): an existing
# one is replaced only when it is stekker's own - its manifest, its table, or a download its manifest
# records. A user's own file of that name (`--data-dir .`, `--data-dir ~/Downloads`) is never touched.
# (The names are stekker.datasets': datasets.check_data_dir passes them.)


def _data_manifest(path: Path) -> Optional[dict]:
    """The manifest stekker wrote at ``path`` ({"format": 1, "datasets": {...}}), else None."""
    try:
        if path.stat().st_size > 16 * 1024 * 1024:
            return None
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("format"), int) and isinstance(doc.get("datasets"), dict) \
            and set(doc) <= {"format", "datasets"}:
        return doc
    return None


def check_data_dir(path: str | os.PathLike, *, manifest_name: str, table_name: str, downloads: Iterable[str],
                   is_table: Callable[[Path], bool], option: str = "--data-dir") -> Path:
    """Refuse a data dir that stekker must not write into: not a directory, or holding a file of a
    name stekker writes there that is not stekker's own (see above; ``is_table`` recognises stekker's
    table); returns the path. A directory
    that does not exist yet is fine (it is made)."""
    p = Path(path).expanduser()
    shown = str(path)
    if p.exists() or p.is_symlink():
        if not p.is_dir():
            raise OutputError(_("{option} {path} is not a directory; give the directory stekker keeps its "
                                "reference data in (it is made when it does not exist)").format(
                                    option=option, path=shown))
    else:
        return p
    manifest = None
    m = p / manifest_name
    if m.exists() or m.is_symlink():
        manifest = _data_manifest(m) if m.is_file() else None
        if manifest is None:
            raise OutputError(_("{option} {path} holds a {name} that is not stekker's data manifest; "
                                "stekker would replace it; choose another {option} (a directory of stekker's own), "
                                "or move the file away").format(option=option, path=shown, name=manifest_name))
    t = p / table_name
    if (t.exists() or t.is_symlink()) and not (t.is_file() and is_table(t)):
        raise OutputError(_("{option} {path} holds a {name} that is not an IP-to-ASN table stekker "
                            "wrote; stekker would replace it; choose another {option} (a directory of stekker's "
                            "own), or move the file away").format(option=option, path=shown, name=table_name))
    recorded = set()
    for e in (manifest or {}).get("datasets", {}).values():
        if isinstance(e, dict) and isinstance(e.get("path"), str):
            recorded.add(Path(e["path"]).name)
    for name in downloads:
        f = p / name
        if (f.exists() or f.is_symlink()) and not (f.is_file() and name in recorded):
            raise OutputError(_("{option} {path} holds a {name} that stekker did not download (its manifest "
                                "does not record it); stekker would replace it; choose another {option} (a "
                                "directory of stekker's own), or move the file away").format(
                                    option=option, path=shown, name=name))
    return p
