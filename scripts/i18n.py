#!/usr/bin/env python3
"""Keep the Dutch catalogue of the command line's messages in step with the source.

    python scripts/i18n.py update    # extract the messages, merge them into the .po (new ones
                                     # untranslated, gone ones dropped), compile the .mo
    python scripts/i18n.py compile   # only compile the .po into the .mo
    python scripts/i18n.py missing   # list the messages without a Dutch translation
    python scripts/i18n.py apply FILE.json  # set translations: {"English": "Nederlands", ...}
    python scripts/i18n.py update OTHER.po ...   # also take the translations of other catalogues
                                                 # for messages this one lacks (parallel work)

The messages are the ``_()``, ``N_()``, ``N_plural()`` and ``ngettext()`` literals of ``src/stekker`` and the
docstrings of the commands (their ``--help``: see :func:`command_docstrings`). Needs Babel (a test
dependency); the installed package needs only the compiled ``stekker.mo``.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "stekker"
PO = SRC / "locale" / "nl" / "LC_MESSAGES" / "stekker.po"
MO = PO.with_suffix(".mo")
FIXED_DATE = __import__("datetime").datetime(2026, 12, 6, tzinfo=__import__("datetime").timezone.utc)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "N_plural": (1, 2)}


def command_docstrings() -> list[tuple[str, int, str]]:
    """The docstrings of the functions registered as commands (``@app.command()``,
    ``@audit_app.command("check")``, a group's ``@x.callback()``): ``(file, line, text)`` with the
    text as Click shows it (``inspect.cleandoc``)."""
    found = []
    for path in sorted((SRC / "cli").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            is_command = any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "callback")
                for d in node.decorator_list)
            doc = ast.get_docstring(node, clean=False)
            if is_command and doc:
                found.append((str(path.relative_to(ROOT)), node.lineno, inspect.cleandoc(doc)))
    return found


def extract():
    """The catalogue template: every marked message of the source, with where it is."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    cat = Catalog(project="stekker", domain="stekker", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(SRC), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",)):
        cat.add(message, locations=[(f"src/stekker/{filename}", lineno)], auto_comments=comments, context=context)
    for filename, lineno, text in command_docstrings():
        cat.add(text, locations=[(filename, lineno)], auto_comments=["the command's --help"])
    return cat


def read_po():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        return read_po(fh, locale="nl", domain="stekker")


def write_po(cat) -> None:
    from babel.messages.pofile import write_po

    buf = io.BytesIO()
    write_po(buf, cat, width=100, omit_header=False, sort_output=False, ignore_obsolete=True,
             include_previous=False, include_lineno=False)
    PO.parent.mkdir(parents=True, exist_ok=True)
    tmp = PO.with_suffix(".po.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(PO)


def compile_mo() -> None:
    from babel.messages.mofile import write_mo

    cat = read_po()
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    tmp = MO.with_suffix(".mo.tmp")  # replaced in one step: a compile cut short leaves the old catalogue
    tmp.write_bytes(buf.getvalue())
    tmp.replace(MO)


def update(sources: list[str] = ()) -> None:
    from babel.messages.catalog import Catalog

    template = extract()
    if PO.exists():
        cat = read_po()
    else:
        cat = Catalog(locale="nl", project="stekker", domain="stekker", charset="utf-8")
    # a header that does not change with every update (the file's history shows what changed)
    for c in (cat, template):
        c.creation_date = c.revision_date = FIXED_DATE
    cat.update(template, no_fuzzy_matching=True)
    for source in sources:  # translations made elsewhere (another branch's .po) fill the gaps
        from babel.messages.pofile import read_po as _read

        with open(source, "rb") as fh:
            other = _read(fh, locale="nl", domain="stekker")
        for m in cat:
            if m.id and not _translated(m):
                o = other.get(m.id)
                if o is not None and _translated(o):
                    m.string = o.string
    cat.fuzzy = False
    cat.version = "0"
    cat.copyright_holder = "the stekker authors"
    cat.msgid_bugs_address = ""
    cat.last_translator = "the stekker authors"
    cat.language_team = "Dutch <nl>"
    cat.header_comment = ("# Dutch translations of stekker's command-line messages (scripts/i18n.py).\n"
                          "# This file is distributed under the same licence as stekker (EUPL-1.2).")
    cat.obsolete.clear()
    write_po(cat)
    compile_mo()


def _translated(m) -> bool:
    if m.fuzzy or not m.string:
        return False
    return bool(m.string) if isinstance(m.string, str) else all(m.string)


def missing() -> list[str]:
    cat = read_po()
    return [m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id and not _translated(m)]


def apply(path: str) -> int:
    """Set translations from a JSON file ``{"English message": "Nederlandse tekst", ...}`` (a plural
    message by its singular: ``["enkelvoud", "meervoud"]``); the messages it names that the source
    does not have are listed and left out."""
    import json

    wanted = json.loads(Path(path).read_text("utf-8"))
    cat = read_po()
    unknown = []
    for msgid, text in wanted.items():
        m = cat.get(msgid)
        if m is None:
            m = next((x for x in cat if not isinstance(x.id, str) and x.id[0] == msgid), None)
        if m is None:
            unknown.append(msgid)
            continue
        m.string = tuple(text) if isinstance(text, list) else text
        m.flags.discard("fuzzy")
    write_po(cat)
    compile_mo()
    for msgid in unknown:
        print(f"not in the catalogue (run update first?): {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "update"
    if cmd == "update":
        update(argv[2:])
    elif cmd == "apply" and len(argv) == 3:
        return apply(argv[2])
    elif cmd == "compile":
        compile_mo()
    elif cmd == "missing":
        gaps = missing()
        for m in gaps:
            print(m.replace("\n", "\\n"))
        print(f"{len(gaps)} messages without a Dutch translation", file=sys.stderr)
        return 1 if gaps else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
