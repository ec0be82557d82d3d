"""The language of what stekker says: one rule for which language a user gets, and the
translation of the command line's messages.

Reports, pages and audit reports are written in both languages from their own string tables
(``--lang``); this module holds the rule for the default (:func:`language`) and the command
line's own messages (errors, warnings, progress, ``--help``), which are written in English in
the source and translated with :mod:`gettext` from ``locale/nl/LC_MESSAGES/stekker.po``
(compiled to ``stekker.mo``; ``python scripts/i18n.py`` updates both).

The language: ``STEKKER_LANG`` (``nl`` or ``en``) when set, else the first of the usual locale
variables that is set (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, as gettext reads
them): Dutch for ``nl``/``nl_NL.UTF-8``/``nl_BE``, English for everything else. On Windows,
without those variables, the system locale.

Mark a message with ``_("...")`` (a literal, with ``{name}`` placeholders filled by
``.format`` after translation) and a count-dependent one with ``ngettext``; mark a text that
is translated later (a table of messages) with ``N_``. Text that is stored or written to data
files (scan records, CSV/JSON fields) is never translated: a text that is data and a message at
once is a :class:`Said` (English as data, said in the user's language by :func:`shown`; the
commands show it through ``stekker.cli.common.in_language``, which also says a
``stekker.text.Message``: a warning that reports and pages show in their own ``--lang`` from the
report's string table). A ``Said`` that was stored is English text only: :func:`said_again` reads it
back into its template and says it in the user's language (``stekker show --issues``).
"""

from __future__ import annotations

import gettext as _gettext
import numbers
import os
import re
import string
import sys
from importlib import resources
from typing import Optional

LANGS = ("nl", "en")  # the languages stekker writes, in the order they are offered
DEFAULT_LANG = "en"
DOMAIN = "stekker"

_LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def _lang_of(value: str) -> str:
    """``nl`` for a Dutch locale name (``nl``, ``nl_NL.UTF-8``, ``nl_BE``, ``Dutch_Netherlands``),
    else English (``en_GB``, ``C``, ``POSIX``, a language stekker does not speak)."""
    return "nl" if value.strip().lower().startswith(("nl", "dutch", "nederlands")) else DEFAULT_LANG


def unknown_setting() -> Optional[str]:
    """``STEKKER_LANG`` when it is set to a language stekker does not write (``fr``, ``dutsch``, a
    typo): it then writes English, and a command says so once."""
    forced = os.environ.get("STEKKER_LANG", "").strip()
    if not forced or forced.lower().startswith(("nl", "dutch", "nederlands", "en", "english")):
        return None
    return forced


def language() -> str:
    """The user's language (``nl`` or ``en``): see the module's description."""
    forced = os.environ.get("STEKKER_LANG", "").strip()
    if forced:
        return _lang_of(forced)
    for var in _LOCALE_VARS:
        value = os.environ.get(var, "")
        if value:
            # LANGUAGE is a list ("nl:en"): its first entry; C/POSIX mean "no language chosen"
            return _lang_of(value.split(":")[0])
    if sys.platform == "win32":  # pragma: no cover - Windows has no locale variables
        import locale

        return _lang_of(locale.getlocale()[0] or "")
    return DEFAULT_LANG


def _load(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    try:
        ref = resources.files("stekker").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.mo")
        with ref.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    except Exception:  # noqa: BLE001 - a catalogue missing or damaged (struct.error, ...): English, not a crash
        return _gettext.NullTranslations()


_current: Optional[tuple[str, _gettext.NullTranslations]] = None


def translations() -> _gettext.NullTranslations:
    """The translations of the user's language (loaded once; :func:`reset` after changing the
    environment)."""
    global _current
    if _current is None:
        lang = language()
        _current = (lang, _load(lang))
    return _current[1]


def reset() -> None:
    """Forget the loaded language (tests that change ``STEKKER_LANG`` in-process)."""
    global _current
    _current = None


_DUTCH_MARKS = str.maketrans({",": ".", ".": ","})


def dutch_marks(text: str) -> str:
    """A number written the English way in Dutch marks: ``1,234.5`` -> ``1.234,5`` (the command line's
    messages and the reports' figures: stekker.render.fmt)."""
    return text.translate(_DUTCH_MARKS)


class _DutchFormatter(string.Formatter):
    """``str.format`` that writes numbers the Dutch way: 13.058 and 0,9 (a thousands separator asked
    for with ``,`` becomes a point, a decimal point a comma); text values are left as they are."""

    def format_field(self, value: object, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if isinstance(value, numbers.Number) and not isinstance(value, bool) and (
                not isinstance(value, numbers.Integral) or "," in format_spec):
            text = dutch_marks(text)
        return text


_DUTCH = _DutchFormatter()


class _DutchText(str):
    """A Dutch message: its ``.format()`` writes the numbers the Dutch way (:class:`_DutchFormatter`)."""

    def format(self, /, *args: object, **kwargs: object) -> str:  # type: ignore[override]
        return _DUTCH.vformat(self, args, kwargs)


def _in_language(text: str) -> str:
    return _DutchText(text) if _current is not None and _current[0] == "nl" else text


def _(message: str) -> str:
    """``message`` in the user's language (its ``.format()`` writes numbers as that language does)."""
    return _in_language(translations().gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count ``n`` in the user's language."""
    return _in_language(translations().ngettext(singular, plural, n))


def num(value: float, spec: str = ",") -> str:
    """A number as the user's language writes it (``num(13058)``: 13,058 or 13.058)."""
    translations()
    return _in_language("{value:" + spec + "}").format(value=value)


def translate(text: str) -> str:
    """``text`` in the user's language, for a text that extraction reads elsewhere than from a
    ``_()`` literal (a command's docstring, scripts/i18n.py) or that was marked with ``N_``."""
    return _in_language(translations().gettext(text))


class Said(str):
    """Text that is data and a message at once: its ``str`` is the English (what a scan stores, a
    data file holds, a test compares), and :func:`shown` says it in the user's language. Made of a
    template marked with ``N_`` and its values (a value may itself be a ``Said``, or a tuple of
    items said one by one and joined with "; ")::

        reason = Said(N_("label {label!r} starts or ends with a hyphen"), label=label)
        store(reason)          # English
        echo(shown(reason))    # the user's language
    """

    template: str
    fields: dict

    def __new__(cls, template: str, **fields: object) -> "Said":
        english = {k: _joined(v, str) for k, v in fields.items()}
        obj = super().__new__(cls, template.format(**english) if fields else template)
        obj.template = template
        obj.fields = fields
        return obj

    def __reduce__(self):  # pickled across processes (a scan's workers) with its template
        return (_said, (self.template, self.fields))


def _said(template: str, fields: dict) -> Said:
    return Said(template, **fields)


def _joined(value: object, say) -> object:
    """A field's value as the text says it: a tuple is a list of items (each said), joined with "; "."""
    if isinstance(value, tuple):
        return "; ".join(say(v) for v in value)
    return value


def shown(text: object) -> str:
    """``text`` in the user's language: a :class:`Said` (or an exception made of one) translated
    with its values, anything else as it is."""
    if not isinstance(text, Said) and isinstance(text, BaseException) and text.args and isinstance(text.args[0], Said):
        text = text.args[0]
    if not isinstance(text, Said):
        return str(text)
    values = {k: _joined(v, shown) if isinstance(v, tuple) else shown(v) if isinstance(v, (Said, BaseException)) else v
              for k, v in text.fields.items()}
    try:
        return translate(text.template).format(**values) if values else translate(text.template)
    except (KeyError, IndexError, ValueError):  # a translation that does not fit its values: the English
        return str(text)


_FORMATTER = string.Formatter()
_READERS: dict[tuple, tuple["re.Pattern[str]", dict[str, str]]] = {}
# a stored text longer than this is shown as stored: its values are a user's input or a library's
# words (a hostile input line of 90 KB), and reading it back would cost more than it is worth
SAID_AGAIN_MAX = 2_000


def _reader(template: str, numbers: frozenset[str]) -> tuple["re.Pattern[str]", dict[str, str]]:
    """A pattern that reads a text ``template`` made back into its values (each a named group), and
    the format spec of each field (``{limit:,}``: ``,``).  A number (a field with a format spec or
    named in ``numbers``) is read as digits only, so that a template that begins with one cannot
    take any text (and backtrack over it)."""
    key = (template, numbers)
    if key not in _READERS:
        parts, specs = [], {}
        for literal, name, spec, _conversion in _FORMATTER.parse(template):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if name in specs:
                parts.append(f"(?P={name})")
            else:
                specs[name] = spec or ""
                value = r"\d[\d,.]*" if spec or name in numbers else ".*?"
                parts.append(f"(?P<{name}>{value})")
        _READERS[key] = (re.compile("".join(parts), re.DOTALL), specs)
    return _READERS[key]


def said_again(text: object, templates: "tuple[str, ...] | list[str]", *, nested: tuple[str, ...] = (),
               numbers: tuple[str, ...] = ()) -> str:
    """A text stored in English that one of ``templates`` (messages marked with ``N_``, each with
    literal words) made: in the user's language; a value in a field named in ``nested`` (a reason
    inside a reason) said again in turn, the other values as they were written (a name, a library's
    message), numbers (``numbers``, or a field with a format spec) the user's way. Any other text -
    an older stekker's words, a library's message, a text over ``SAID_AGAIN_MAX`` characters,
    English for an English reader - as it is. What a :class:`Said` was before it was stored (its
    template and values are gone; its English is read back)."""
    text = str(text)
    translations()
    if _current is None or _current[0] == "en" or not text or len(text) > SAID_AGAIN_MAX:
        return text
    nums = frozenset(numbers)
    for template in templates:
        pattern, specs = _reader(template, nums)
        m = pattern.fullmatch(text)
        if m is None:
            continue
        translated = translate(template)
        values = {}
        for name, value in m.groupdict().items():
            if name in nested and value:
                value = said_again(value, templates, nested=nested, numbers=numbers)
            elif (specs.get(name) or name in nums) and re.fullmatch(r"[\d,.]+", value):
                value = dutch_marks(value)  # a number the English way: 1,000,000
            values[name] = value
        try:
            out = []
            for literal, name, _spec, _conversion in _FORMATTER.parse(translated):
                out.append(literal)
                if name is not None:
                    out.append(values[name])  # as it was written (a spec or !r was applied then)
            return "".join(out)
        except (KeyError, ValueError):  # a translation that does not fit its values: the English
            return text
    return text


def N_(message: str) -> str:
    """Marks ``message`` for translation without translating it now (translated where it is
    shown, with ``_(text)``)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a count for translation without translating it now (shown with
    ``ngettext(singular, plural, n)``)."""
    return singular, plural


# what the operating system says, in the user's language (Python gives its C library's English)
_OS_ERRORS = {
    "ENOENT": N_("No such file or directory"), "EACCES": N_("Permission denied"),
    "EPERM": N_("Operation not permitted"), "EISDIR": N_("Is a directory"), "ENOTDIR": N_("Not a directory"),
    "ENOSPC": N_("No space left on device"), "EROFS": N_("Read-only file system"), "EEXIST": N_("File exists"),
    "ENAMETOOLONG": N_("File name too long"), "ELOOP": N_("Too many levels of symbolic links"),
    "EBUSY": N_("Device or resource busy"), "EXDEV": N_("Invalid cross-device link"),
    "EADDRINUSE": N_("Address already in use"), "EADDRNOTAVAIL": N_("Cannot assign requested address"),
    "ECONNREFUSED": N_("Connection refused"), "EDQUOT": N_("Disk quota exceeded"), "EIO": N_("Input/output error"),
}


def os_error(exc: BaseException) -> str:
    """What an operating-system error says (``No such file or directory``), in the user's language;
    any other error as its text."""
    import errno
    import socket
    import ssl

    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code) if isinstance(code, int) else None
    # only the system's own words for its own error: an SSL or name-lookup error carries a number of
    # another library (ssl error 1 is no EPERM), an error with its own text keeps it (review i18n-2 1.2)
    if (name in _OS_ERRORS and isinstance(exc, OSError) and exc.strerror == os.strerror(code)
            and not isinstance(exc, (ssl.SSLError, socket.herror, socket.gaierror))):
        return translate(_OS_ERRORS[name])
    return getattr(exc, "strerror", None) or str(exc)


# pydantic's messages word for word (its error type -> its English; the placeholders are the error's
# ``ctx``), so that a Dutch user reads an inventory's problems and a refused option value in Dutch;
# a message that reads otherwise (another pydantic version, another error) stays as pydantic wrote it
PYDANTIC_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_parsing_size": N_("Unable to parse input string as an integer, exceeded maximum size"),
    "decimal_type": N_("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "finite_number": N_("Input should be a finite number"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "literal_error": N_("Input should be {expected}"),
    "date_type": N_("Input should be a valid date"),
    "date_from_datetime_inexact": N_("Datetimes provided to dates should have zero time - e.g. be exact dates"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
}


# pydantic's messages with a count (its error type -> the ``ctx`` value counted, singular, plural)
PYDANTIC_PLURALS = {
    "string_too_short": ("min_length", *N_plural("String should have at least {min_length} character",
                                                 "String should have at least {min_length} characters")),
    "too_long": ("max_length", *N_plural("List should have at most {max_length} item after validation, not "
                                         "{actual_length}",
                                         "List should have at most {max_length} items after validation, not "
                                         "{actual_length}")),
}


def _pattern(template: str) -> "re.Pattern[str]":
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("^" + "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)) + "$")


def pydantic_text(message: str) -> str:
    """One of pydantic's messages (recognised by its English, :data:`PYDANTIC_MESSAGES`) in the user's
    language; any other message as it is."""
    for kind, english in PYDANTIC_MESSAGES.items():
        if kind == "literal_error" and not message.startswith("Input should be '"):
            continue  # ("Input should be {expected}" would read every other "Input should be ...")
        m = _pattern(english).match(message)
        if m is not None:
            try:
                return translate(english).format(**m.groupdict())
            except (KeyError, IndexError, ValueError):
                return message
    return message
