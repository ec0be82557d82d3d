"""The ``stekker`` command.  Each stage registers its own commands from its
own module, so the CLI mirrors the data path:
``scan`` (collect) -> ``attribute`` -> ``report`` (judge + report), plus
``audit`` for an organisation's own inventory, ``data`` for reference data,
``validate`` for the check against peer classifiers, and ``lab`` for the
loopback DNS lab used by tests and benchmarks.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Optional, Sequence

import typer

from stekker.i18n import _, os_error

# Exit codes, the same for every command (docs/CLI.md, `stekker --help`).
EXIT_OK = 0
EXIT_FINDINGS = 1      # findings or a partial result (e.g. some outputs not written)
EXIT_USAGE = 2         # usage or input error: bad option, unreadable/invalid file, unknown scan
EXIT_NETWORK = 3       # resolver or network unavailable
EXIT_INTERNAL = 4      # a bug in stekker: the full trace is written to a file
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; finished work is kept
EXIT_CODES = (EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_NETWORK, EXIT_INTERNAL, EXIT_INTERRUPTED)

EPILOG = _(
    "Exit codes: 0 ok; 1 findings or partial result; 2 usage or input error; "
    "3 resolver or network unavailable; 4 internal error (trace written to a file, please report); "
    "130 interrupted (Ctrl-C, SIGTERM). Details: docs/CLI.md"
)

app = typer.Typer(
    name="stekker",
    help=_(
        "Who can pull the plug on this organisation? Measure dependence on "
        "non-European cloud and software providers from public DNS.\n\n"
        "Example: stekker scan domains.csv && stekker report --scan 1"
    ),
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from stekker.cli import attribute as _attribute  # noqa: F401
    from stekker.cli import audit as _audit  # noqa: F401
    from stekker.cli import data as _data  # noqa: F401
    from stekker.cli import lab as _lab  # noqa: F401
    from stekker.cli import report as _report  # noqa: F401
    from stekker.cli import scan as _scan  # noqa: F401
    from stekker.cli import show as _show  # noqa: F401
    from stekker.cli import site as _site  # noqa: F401
    from stekker.cli import validate as _validate  # noqa: F401

    _one_line_short_help(app)
    from stekker.cli.usage import localise_help

    localise_help()


_FROM_DOCSTRING: set[int] = set()  # the commands whose help this module writes from their docstring


def _one_line_short_help(t: typer.Typer) -> None:
    """Each command's help in the user's language (its docstring is the message: scripts/i18n.py
    extracts it; written again on every run, so that a process that runs commands in both languages
    gets each in its own), and in a list of commands its first paragraph as one line (Typer keeps
    the docstring's line breaks there, which leaves ragged half-empty lines); the command's own
    --help keeps its paragraphs."""
    import inspect

    from stekker.i18n import translate

    for info in t.registered_commands:
        if info.callback is not None and info.callback.__doc__:
            if info.help is None or id(info) in _FROM_DOCSTRING:
                _FROM_DOCSTRING.add(id(info))
                info.help = translate(inspect.cleandoc(info.callback.__doc__))
                info.short_help = " ".join(info.help.split("\n\n", 1)[0].split())
    for group in t.registered_groups:
        if group.typer_instance is not None:
            cb = group.typer_instance.registered_callback
            if cb is not None and cb.callback is not None and cb.callback.__doc__ and (
                    cb.help is None or id(cb) in _FROM_DOCSTRING):
                _FROM_DOCSTRING.add(id(cb))
                cb.help = translate(inspect.cleandoc(cb.callback.__doc__))
            _one_line_short_help(group.typer_instance)


@app.command()
def version() -> None:
    """Print the stekker version."""
    from stekker import __version__

    typer.echo(__version__)


def _version_flag(value: bool) -> None:
    if value:
        version()
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version_flag, is_eager=True,
        help=_("Print the stekker version and exit (the same as `stekker version`)."),
    ),
) -> None:
    # no docstring: the command's help is the Typer's help= above, in the user's language
    pass


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """``typer.echo`` for every message of the commands: text that may come
    from input files, arguments or DNS (file names, item names, error
    details) has its control and bidi characters made visible; newlines and
    tabs stay."""
    from stekker.text import visible

    text = "\t".join(visible(part, keep_newlines=True) for part in str(message).split("\t"))
    if not err:
        typer.echo(text, err=err, nl=nl)
        return
    try:
        typer.echo(text, err=True, nl=nl)
    except OSError:  # a full or broken stderr (`2>/dev/full`): the message cannot be shown; the work goes on
        pass


def _one_line(exc: BaseException) -> str:
    from stekker.text import visible

    lines = str(exc).strip().splitlines()  # the first line (a server's message has a hint on the next)
    return visible(lines[0] if lines else type(exc).__name__)[:500]


def _write_trace() -> Optional[str]:
    """The current exception's full trace in a file of its own; its path."""
    import datetime as dt
    import tempfile
    import traceback

    base = os.environ.get("STEKKER_CRASH_DIR") or tempfile.gettempdir()
    try:
        fd, path = tempfile.mkstemp(prefix=dt.datetime.now().strftime("stekker-crash-%Y%m%d-%H%M%S-"),
                                    suffix=".txt", dir=base)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            from stekker import __version__

            fh.write(f"stekker {__version__}, python {sys.version.split()[0]}\n")
            fh.write(f"argv: {_shareable_argv(sys.argv)!r}\n\n")
            traceback.print_exc(file=fh)
        return path
    except OSError:
        return None


def _shareable_argv(argv: Sequence[str]) -> list[str]:
    """The command line for a crash file the user is asked to attach to a
    public report: a database URL without its password."""
    from stekker.store import display_db

    return [display_db(a, quote=False) if "://" in a else a for a in argv]


def _sigterm(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt


def run(argv: Optional[Sequence[str]] = None, prog_name: str = "stekker") -> int:
    """Run one command and return its exit code; the one place where failures
    become a one-line message and a code from :data:`EXIT_CODES`."""
    from typer import _click as click  # typer 0.29 vendors click (pinned in pyproject.toml)
    from typer.exceptions import Abort as TyperAbort
    from typer.exceptions import Exit as TyperExit

    _register()
    from stekker.i18n import unknown_setting

    if unknown_setting() is not None:  # (said in English: the language asked for is not one stekker writes)
        echo(_("warning: STEKKER_LANG={value!r} is not a language stekker writes (nl, en); it writes "
               "English").format(value=unknown_setting()), err=True)
    # a standard stream closed by the caller (`stekker export >&-`, `scan 2>&-`) was None and crashed the
    # first write (exit 4; a scan stayed "created"): stderr's messages go nowhere, output to a closed
    # stdout is output cut short, as a closed pipe is (explore-f L9)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the process's life
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    for stream in (sys.stdout, sys.stderr):
        # a terminal or pipe that takes ASCII only (PYTHONIOENCODING=ascii): a character it cannot show
        # ("·", "ü") is written escaped, never an internal error (explore-f L8: exit 4)
        try:
            if stream is not None and hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a closed or detached stream
            pass
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _sigterm)  # SIGTERM stops like Ctrl-C: finished work is kept
    except ValueError:  # not the main thread (e.g. an embedding application)
        pass
    try:
        rv = typer.main.get_command(app).main(args=list(argv) if argv is not None else None,
                                               prog_name=prog_name, standalone_mode=False)
        return rv if isinstance(rv, int) else EXIT_OK
    except TyperExit as exc:
        return exc.exit_code
    except click.exceptions.ClickException as exc:  # usage errors: bad option, missing argument, bad value
        from stekker.cli.usage import error_text

        echo(error_text(exc), err=True, nl=False)  # the message quotes the arguments as typed
        return EXIT_USAGE
    except (TyperAbort, KeyboardInterrupt):
        typer.echo(_("interrupted"), err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `stekker export | head`: the reader has stopped
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_FINDINGS  # the output was cut short: a partial result (docs/CLI.md)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        return _unexpected(exc)


class _ClosedOutput:
    """Standard output that the caller closed: a write is a broken pipe (output cut short, exit 1)."""

    encoding = "utf-8"

    def write(self, _text: str) -> int:
        raise BrokenPipeError(_("standard output is closed"))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(_("standard output is closed"))


def _is_locked(exc: BaseException) -> bool:
    """A SQLite "database is locked" / "database table is locked" error, raw
    (sqlite3) or wrapped by SQLAlchemy."""
    import sqlite3

    inner = getattr(exc, "orig", None)
    for e in (exc, inner):
        if isinstance(e, sqlite3.OperationalError) and "locked" in str(e).lower():
            return True
    return False


def _unexpected(exc: BaseException) -> int:
    from stekker.outputs import OutputError
    from stekker.safeyaml import YAMLInputError
    from stekker.store import StoreError

    if isinstance(exc, (StoreError, OutputError, YAMLInputError)):
        typer.echo(_("error: {message}").format(message=_one_line(exc)), err=True)
        return EXIT_USAGE
    if _is_locked(exc):
        typer.echo(_("error: the database is locked by another stekker process (or another program); "
                     "wait until it has finished and try again"), err=True)
        return EXIT_USAGE
    try:
        import sqlalchemy.exc as sa_exc

        if isinstance(exc, sa_exc.OperationalError) and "locked" not in str(exc):
            typer.echo(_("error: database error: {message}").format(message=_one_line(exc.orig or exc)), err=True)
            return EXIT_USAGE
        if isinstance(exc, sa_exc.DatabaseError):
            typer.echo(_("error: the database cannot be read ({message}); is it a stekker database?").format(
                message=_one_line(exc.orig or exc)), err=True)
            return EXIT_USAGE
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, MemoryError):
        typer.echo(_("error: out of memory (is the input far larger than expected?)"), err=True)
        return EXIT_USAGE
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" ({_one_line(exc.filename)})" if exc.filename else ""
        said = os_error(exc) if exc.strerror else _one_line(exc)
        typer.echo(_("error: {message}").format(message=f"{said}{where}"), err=True)
        return EXIT_USAGE
    path = _write_trace()
    typer.echo(_("internal error: {kind}: {message}").format(kind=type(exc).__name__, message=_one_line(exc)),
               err=True)
    typer.echo(_("this is a bug in stekker; the full trace is in {path} -- please attach it to a report").format(
        path=path or _("(could not be written)")), err=True)
    return EXIT_INTERNAL


def main() -> None:
    sys.exit(run())
