"""The one YAML loader for files a user hands to stekker (audit inventories,
policy files, explanations, ``audit seed --into``).

A user file may come from anywhere, so it is bounded before anything is
built from it:

* aliases (``*name``) are refused: a 299-byte "billion laughs" document
  expands to gigabytes through nested aliases; inventories and policies never
  need them (anchors alone are harmless and allowed);
* duplicate keys in one mapping are refused (YAML would silently keep the
  last one, hiding a typo such as two ``annual_cost:`` lines);
* nesting deeper than :data:`MAX_DEPTH` and files larger than
  :data:`MAX_BYTES` are refused;
* only the safe tags (strings, numbers, booleans, dates, lists, mappings).

Shipped data files (knowledge base, plan, strings) are not user input and
keep their own loaders.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from stekker.i18n import _, os_error

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000


class YAMLInputError(ValueError):
    """A user YAML file that is refused; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        self.message = message
        super().__init__(_("line {line}: {message}").format(line=line, message=message) if line else message)


class UserLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, deep nesting and huge documents while
    composing (before any object is built)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML signature
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise YAMLInputError(_("YAML aliases (*{anchor}) are not accepted in input files; "
                                   "write the value out").format(anchor=ev.anchor), ev.start_mark.line + 1)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YAMLInputError(_("more than {n:,} YAML values; not an input file stekker reads").format(n=MAX_NODES),
                                 self.peek_event().start_mark.line + 1)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLInputError(_("nested deeper than {n} levels").format(n=MAX_DEPTH),
                                     self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Plain scalars read as YAML 1.2's core schema, not YAML 1.1's: in an input file
# `annual_cost: 0x10` is no 16, `12:30` no 750 (base 60), `012` no 10 (octal),
# `country: NO` no false and `users: yes` no true - each stays the text it is,
# and the field that reads it says whether it fits.
_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
UserLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
UserLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
UserLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
UserLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def check_duplicates(node: yaml.Node) -> None:
    """Refuse a mapping with the same key twice (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    key = (k.tag, k.value)
                    if key in seen:
                        raise YAMLInputError(_("duplicate key {key!r} (first on line {line})").format(
                            key=k.value, line=seen[key]), k.start_mark.line + 1)
                    seen[key] = k.start_mark.line + 1
                stack.append(k)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def decode(data: bytes | str, file: str = "<input>") -> str:
    if isinstance(data, str):
        if len(data) > MAX_BYTES:
            raise YAMLInputError(_("{file} is larger than {mib} MiB").format(file=file, mib=MAX_BYTES // (1024 * 1024)))
        return data
    if len(data) > MAX_BYTES:
        raise YAMLInputError(_("{file} is larger than {mib} MiB").format(file=file, mib=MAX_BYTES // (1024 * 1024)))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YAMLInputError(_("{file} is not UTF-8 text (byte {byte})").format(file=file, byte=exc.start)) from None


def _problem(exc: Exception) -> str:
    from stekker.text import visible

    if isinstance(exc, yaml.reader.ReaderError):
        return _("character {character} at position {position} is not allowed in YAML").format(
            character=visible(chr(exc.character)) if isinstance(exc.character, int) else "?", position=exc.position)
    return visible(getattr(exc, "problem", None) or str(exc))


def _line(exc: Exception) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark else None


def compose(text: str, file: str = "<input>") -> tuple[yaml.Node | None, UserLoader]:
    """Text -> the checked node tree and its loader (the caller disposes of it)."""
    if "\x00" in text:
        raise YAMLInputError(_("{file} contains NUL bytes; not a YAML text file").format(file=file),
                             text.count("\n", 0, text.index("\x00")) + 1)
    try:
        loader = UserLoader(text)  # the reader refuses control characters here
    except yaml.YAMLError as exc:
        raise YAMLInputError(_("invalid YAML: {error}").format(error=_problem(exc)), _line(exc)) from None
    try:
        node = loader.get_single_node()
    except YAMLInputError:
        loader.dispose()
        raise
    except yaml.YAMLError as exc:
        loader.dispose()
        raise YAMLInputError(_("invalid YAML: {error}").format(error=_problem(exc)), _line(exc)) from None
    except RecursionError:
        loader.dispose()
        raise YAMLInputError(_("nested too deeply")) from None
    if node is not None:
        check_duplicates(node)
    return node, loader


def plain_value_error(exc: Exception) -> str:
    """A value error in the reader's words, not the interpreter's (Python's message for a very long
    number advises calling sys.set_int_max_str_digits)."""
    msg = str(exc)
    return _("a number with more than 4,300 digits") if "integer string conversion" in msg else msg


def load_user_yaml(data: bytes | str, file: str = "<input>") -> Any:
    """Parse a user's YAML file with the limits above."""
    text = decode(data, file)
    node, loader = compose(text, file)
    try:
        if node is None:
            return None
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            msg = getattr(exc, "problem", None) or str(exc)
            raise YAMLInputError(_("invalid YAML: {error}").format(error=msg), mark.line + 1 if mark else None) from None
        except (RecursionError, ValueError, OverflowError) as exc:
            if isinstance(exc, YAMLInputError):
                raise
            raise YAMLInputError(_("invalid YAML value: {error}").format(error=plain_value_error(exc))) from None
    finally:
        loader.dispose()


class UserFileError(ValueError):
    """A user's input file that is not read: not a regular file, too large, unreadable.
    The message does not name the file (the caller does)."""


def read_user_file(path: Any, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a user's input file, reading at most ``limit`` + 1 bytes whatever the
    file is: a FIFO, a character device (``/dev/zero``) or a socket is refused before it
    is read (its size says nothing, and reading it blocks or never ends), and a regular
    file that turns out larger than ``limit`` is refused (:class:`UserFileError`)."""
    import os
    import stat

    def kind(mode: int) -> str | None:
        if stat.S_ISREG(mode):
            return None
        if stat.S_ISDIR(mode):
            return _("is a directory, not a file")
        if stat.S_ISFIFO(mode):
            return _("is a named pipe (FIFO), not a regular file; give a file")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return _("is a device, not a regular file; give a file")
        if stat.S_ISSOCK(mode):
            return _("is a socket, not a regular file; give a file")
        return _("is not a regular file; give a file")

    mib = limit // (1024 * 1024)
    try:
        why = kind(os.stat(path).st_mode)  # before opening: opening a FIFO or a device can block
        if why:
            raise UserFileError(why)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            why = kind(os.fstat(fd).st_mode)  # the file opened, not one swapped in since the stat
            if why:
                raise UserFileError(why)
            chunks, n = [], 0
            while n <= limit:
                b = os.read(fd, min(1 << 20, limit + 1 - n))
                if not b:
                    break
                chunks.append(b)
                n += len(b)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UserFileError(_("cannot read: {error}").format(error=os_error(exc))) from None
    if n > limit:
        raise UserFileError(_("larger than {mib} MiB; not an input file stekker reads").format(mib=mib))
    return b"".join(chunks)


def read_user_yaml(path: Any) -> Any:
    """Read (:func:`read_user_file`: bounded, regular files only) and parse a user's YAML file."""
    try:
        data = read_user_file(path)
    except UserFileError as exc:
        raise YAMLInputError(f"{path}: {exc}") from None
    return load_user_yaml(data, str(path))
