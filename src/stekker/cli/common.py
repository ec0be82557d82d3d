"""What every command module shares: the one-line error exit, the ``--db``
option and opening the store with a readable error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from stekker.cli import echo
from stekker.i18n import N_, _, translate

if TYPE_CHECKING:  # pragma: no cover
    from stekker.store import Store

DB_HELP = _("SQLite file, or a postgresql://user@host/db URL.")


def fail(msg: str, code: int = 2) -> typer.Exit:
    """Print ``error: msg`` on stderr (control and bidi characters made
    visible, line breaks kept: messages may quote input text) and return the exit to raise:
    ``raise fail("...")``."""
    from stekker.text import visible

    # line breaks stay line breaks (a knowledge base's validation errors, one per line: explore-f L3
    # showed them as \x0a); every other control or bidi character is made visible
    echo(_("error: {message}").format(message=visible(msg, keep_newlines=True)), err=True)
    return typer.Exit(code)


def db_option(default: Any = "stekker.db", help: str = DB_HELP) -> Any:
    """The ``--db`` option of a command."""
    return typer.Option(default, "--db", help=help)


def display_db(db: str) -> str:
    """``--db`` as printed in messages and hints: the password hidden
    (:func:`stekker.store.display_db`; imported when used, so that ``--help``
    does not load SQLAlchemy)."""
    from stekker.store import display_db as _display

    return _display(db)


def open_store(db: str, create: bool = False) -> "Store":
    """The store at ``db``; a :class:`~stekker.store.StoreError` becomes
    ``error: ...`` and exit code 2.  ``create=False`` refuses a SQLite file
    that does not exist (a typo in --db) instead of creating it."""
    from stekker.store import Store, StoreError

    try:
        return Store.open(db, create=create)
    except StoreError as exc:
        raise fail(str(exc)) from None


def check_output(path: Any, kind: str, **kw: Any) -> Any:
    """:func:`stekker.outputs.check_output` for a command: stekker's reference data is never an output."""
    from stekker import outputs
    from stekker.datasets import reference_files

    return outputs.check_output(path, kind, protected=reference_files(), **kw)


def say_kept(kept: dict) -> None:
    """Say the copies :func:`stekker.outputs.replacing` kept of files ``--force`` replaced."""
    for path, backup in kept.items():
        if backup is not None:
            echo(_("note: {file} is replaced (--force); the file as it was is kept as {backup}").format(
                file=path, backup=backup), err=True)


def scan_id(store: "Store", ref: Any, quiet: bool = False) -> int:
    """The scan ``ref`` names (:meth:`Store.resolve_scan`; ``error: ...``, exit 2, when there is
    none). For ``latest`` it says on stderr which newer scans it passed over because they measured
    no domain (a scan whose resolver did not answer), so that nobody takes the older figures for
    the newest without knowing."""
    from stekker.store import StoreError

    try:
        sid = store.resolve_scan(ref)
    except StoreError as exc:
        raise fail(str(exc)) from None
    if not quiet and (ref is None or str(ref).strip().lower() in ("latest", "last")):
        skipped = store.skipped_by_latest(sid)
        if skipped:
            echo(_("note: 'latest' is scan {scan_id}, the newest that measured domains; newer scan(s) {skipped} "
                   "measured none (give --scan with its number to use one anyway)").format(
                scan_id=sid, skipped=", ".join(f"{s['id']} ({word(s['state'])})" for s in skipped)), err=True)
    return sid


def as_of_day(text: Any) -> Any:
    """The day of an ``--as-of`` option (None when not given): ``error: ...``,
    exit 2, for text that is not a YYYY-MM-DD date, a day before 1900 and a day after today
    (stekker.dates.as_of_out_of_range: the same bounds as an inventory's ``as_of:``)."""
    import datetime as dt

    from stekker.dates import as_of_out_of_range

    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(str(text))
    except ValueError:
        raise fail(_("--as-of {text!r} is not a date (YYYY-MM-DD)").format(text=text)) from None
    why = as_of_out_of_range(day)
    if why:
        raise fail(_("--as-of {why}").format(why=why)) from None
    return day


def csv_separator(value: str, option: str) -> str:
    """The CSV separator of ``--sep`` / ``--csv-sep``: one character (``tab`` or ``\\t`` for a tab) that
    a CSV reader can tell from the data: not a quote, a line break, a letter or a digit (the file
    would not read back), nor another control character."""
    sep = "\t" if value in ("\\t", "tab") else value
    if len(sep) != 1 or sep in ('"', "\r", "\n") or sep.isalnum() or (not sep.isprintable() and sep != "\t"):
        raise fail(_("{option} must be one character such as , or ; or tab (not a letter, digit, quote or line "
                     "break)").format(option=option))
    return sep


def load_kb() -> Any:
    """The shipped knowledge base; a broken one is ``error: knowledge base: ...``, exit 2."""
    from stekker import kb as _kb

    try:
        return _kb.load()
    except Exception as exc:  # noqa: BLE001 - a broken knowledge base is a user-facing error
        raise fail(_("knowledge base: {error}").format(error=exc)) from None


def read_explanations(path: Any) -> list:
    """The explanations file of ``--explanations`` ("pas toe of leg uit"); none without one."""
    from stekker.judge import ExplanationError, load_explanations

    try:
        return load_explanations(str(path) if path else None)
    except ExplanationError as exc:
        raise fail(str(exc)) from None


def in_language(message: Any) -> str:
    """A text a lower layer produced (kept English, as data) in the user's language: the commands'
    one door for it. A :class:`stekker.text.Message` (a warning that reports and pages show too: its
    Dutch is in the report's string table), a :class:`stekker.i18n.Said` or an exception made of one
    (a message of the command line only: its Dutch is in the gettext catalogue); any other text as
    it is."""
    from stekker.i18n import language, shown

    lang = language()
    if lang == "en" or not getattr(message, "key", None):
        return shown(message)
    from stekker.report.render import Strings

    return Strings(lang).message(message)


# the codes that stekker stores and a command shows as words: a scan's state (stekker.store.SCAN_STATES),
# an attribution's status, a data set's update, an input file's CSV dialect
_CODE_WORDS = {
    "created": N_("created"), "running": N_("running"), "interrupted": N_("interrupted"), "aborted": N_("aborted"),
    "finished": N_("finished"),
    "attributed": N_("attributed"), "self": N_("self"), "unknown": N_("unknown"), "absent": N_("absent"),
    "error": N_("error"),
    "downloaded": N_("downloaded"), "not_modified": N_("not modified"),
    "comma": N_("comma"), "semicolon": N_("semicolon"), "tab": N_("tab"),  # an input CSV's separator
}


def word(code: Any) -> str:
    """A stored code (a scan's state, an attribution's status, ...) as a word in the user's language
    (an unknown code as it is)."""
    return translate(_CODE_WORDS[code]) if code in _CODE_WORDS else str(code)


def report_languages(option: Any) -> tuple[str, str]:
    """A report's language (its ``--lang``, else the user's: :func:`stekker.i18n.language`) and its
    data files' (``--lang``, else English: a CSV's, JSON lines' or Parquet file's column names and
    values do not change with the locale of the machine that wrote them); exit 2 for a language
    stekker does not write."""
    from stekker.i18n import LANGS, language

    if option is not None and option not in LANGS:
        raise fail(_("--lang must be one of {langs}").format(langs=", ".join(LANGS)))
    return (option or language()), (option or "en")
