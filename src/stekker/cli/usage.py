"""Typer's own words in the user's language: the usage errors it raises (an unknown option, a
missing argument, a value of the wrong kind) and the headings of ``--help``.

Typer (0.29, which carries its own copy of Click) writes these in English, built with f-strings
that gettext cannot reach; this module recognises each message by its English form and says it
again in the user's language, keeping what the user typed. A message it does not recognise is
shown as Typer wrote it. In English nothing changes.
"""

from __future__ import annotations

import re
from typing import Any

from stekker.i18n import N_, _, language, pydantic_text, translate

# An English message of Typer/Click, and the message in stekker's catalogue that says it; the
# named groups are the message's values (options, values, names as the user typed them).
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^No such option: (?P<option>\S+) \(Possible options: (?P<choices>.+)\)$",
     N_("No such option: {option} (Possible options: {choices})")),
    (r"^No such option: (?P<option>\S+)$", N_("No such option: {option}")),
    (r"^No such command (?P<name>'.*')\. Did you mean (?P<choices>.+)\?$",
     N_("No such command {name}. Did you mean {choices}?")),
    (r"^No such command (?P<name>'.*')\.$", N_("No such command {name}.")),
    (r"^Missing command\.$", N_("Missing command.")),
    (r"^Missing argument (?P<param>.+)\.$", N_("Missing argument {param}.")),
    (r"^Missing option (?P<param>.+)\.$", N_("Missing option {param}.")),
    (r"^Missing parameter: (?P<param>.+)$", N_("Missing parameter: {param}")),
    (r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$", N_("Got unexpected extra argument(s) ({args})")),
    (r"^Option (?P<option>'[^']+') requires an argument\.$", N_("Option {option} requires an argument.")),
    (r"^Option (?P<option>'[^']+') requires (?P<n>\d+) arguments\.$",
     N_("Option {option} requires {n} arguments.")),
    (r"^Option (?P<option>'[^']+') does not take a value\.$", N_("Option {option} does not take a value.")),
    (r"^Invalid value for (?P<param>.+?): (?P<reason>.*)$", N_("Invalid value for {param}: {reason}")),
    (r"^Invalid value: (?P<reason>.*)$", N_("Invalid value: {reason}")),
))

# Why a value was refused (the ``reason`` above): Typer's words (pydantic's: stekker.i18n.pydantic_text)
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^Value (?P<value>.+) is not a valid (?P<kind>.+)\.$", N_("{value} is not a valid {kind}.")),
    (r"^(?P<value>.+) is not one of (?P<choices>.+)\.$", N_("{value} is not one of {choices}.")),
    (r"^(?P<label>File|Path|Directory) (?P<value>.+) does not exist\.$", N_("{value} does not exist.")),
))

# the headings and marks of a command's --help (typer.rich_utils reads them when it draws the help)
_HELP_WORDS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}


def _say(message: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, template in table:
        m = pattern.match(message)
        if m is None:
            continue
        values = m.groupdict()
        if "reason" in values:
            values["reason"] = pydantic_text(_say(values["reason"], _REASONS))
        try:
            return translate(template).format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that does not fit: Typer's words
            return message
    return message


def message(text: str) -> str:
    """A usage error's message (``No such option: --fo``) in the user's language."""
    return _say(text, _MESSAGES)


def error_text(exc: Any) -> str:
    """What Typer's ``exc.show()`` prints for a usage error, in the user's language: the usage
    line, where to find help, and the error."""
    import io

    if language() == "en":  # Typer's own words, exactly
        buf = io.StringIO()
        exc.show(file=buf)
        return buf.getvalue()
    lines = []
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        usage = ctx.get_usage()
        if usage.startswith("Usage: "):
            usage = _("Usage: {usage}").format(usage=usage[len("Usage: "):])
        lines.append(usage)
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(_("Try '{command} {option}' for help.").format(
                command=ctx.command_path, option=ctx.help_option_names[0]))
        lines.append("")
    lines.append(_("Error: {message}").format(message=message(exc.format_message())))
    return "\n".join(lines) + "\n"


def _reword(text: str) -> str:
    """The usage line and the help option's help, which Typer writes with no gettext at all."""
    if text.startswith("Usage: "):
        return _("Usage: {usage}").format(usage=text[len("Usage: "):])
    if text == "Show this message and exit.":
        return _("Show this message and exit.")
    return text


_TYPER_WORDS: dict[str, Any] = {}  # Typer's own settings before localise_help() changed them


def localise_help() -> None:
    """The headings of ``--help`` in the user's language (in English Typer's own, also when an
    earlier command in this process was Dutch: an embedding program or a test)."""
    try:
        from rich.text import Text
        from typer import rich_utils
    except ImportError:  # pragma: no cover - Typer without rich: its plain help stays English
        return
    if language() == "en":
        for name, value in _TYPER_WORDS.items():
            setattr(rich_utils, name, value)
        return
    for name in (*_HELP_WORDS, "highlighter"):
        if hasattr(rich_utils, name):
            _TYPER_WORDS.setdefault(name, getattr(rich_utils, name))
    for name, text in _HELP_WORDS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, translate(text))
    base = type(_TYPER_WORDS["highlighter"])

    class _Highlighter(base):  # type: ignore[misc, valid-type]
        """Typer's highlighter of help texts, which first rewords the usage line and the help
        option's own help (the texts pass through it as they are drawn)."""


        def __call__(self, text: Any) -> Any:
            if isinstance(text, str):
                text = _reword(text)
            elif isinstance(text, Text) and _reword(text.plain) != text.plain:
                text = Text(_reword(text.plain), style=text.style)
            return super().__call__(text)

    rich_utils.highlighter = _Highlighter()
