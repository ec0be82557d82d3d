"""Read and validate an inventory (YAML or CSV) with messages that name the
file, the line and the field::

    inventory.yaml:23: items[3] (Boekhouding).annual_cost: Input should be
    greater than or equal to 0 (got -5)
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stekker.audit.catalog import CatalogueError, column_aliases
from stekker.audit.model import Inventory, Item, parse_amount
from stekker.i18n import PYDANTIC_MESSAGES, PYDANTIC_PLURALS, _, ngettext, shown, translate
from stekker.text import shorten

CSV_LIST_FIELDS = ("stops", "depends_on")
CSV_HEADER = (
    "name", "category", "product", "vendor", "annual_cost", "users", "criticality", "stops",
    "data_sensitivity", "contract_end", "notice_days", "export_formats", "export_api", "depends_on",
    "contact", "detected", "evidence", "notes", "product_id",
)
CSV_META = ("organisation", "currency", "it_budget", "employees", "as_of")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InventoryError(ValueError):
    """The inventory does not load or does not validate; ``problems`` lists each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------- YAML
_THOUSANDS_LOOK = re.compile(r"^\d{1,3}(\.\d{3})+$")  # 1.200, 12.500, 1.200.000

def _construct(node: yaml.Node, path: tuple, lines: dict[tuple, int], loader: yaml.SafeLoader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            out[key] = _construct(vnode, path + (key,), lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, path + (i,), lines, loader) for i, v in enumerate(node.value)]
    if node.tag.endswith(":timestamp"):
        return node.value  # pydantic parses (and reports) dates itself, e.g. 2027-13-01
    if node.tag.endswith(":float") and node.style is None and _THOUSANDS_LOOK.match(node.value):
        return node.value  # 1.200 written plainly: twelve hundred or 1.2? kept as text for the amount check
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[tuple, int]]:
    """YAML -> (data, {path tuple: 1-based line}), through the bounded user
    loader (no aliases, no duplicate keys, bounded depth and size)."""
    from stekker.safeyaml import YAMLInputError, compose, plain_value_error

    try:
        node, loader = compose(text, file)
    except YAMLInputError as exc:
        raise InventoryError([Problem(file, exc.line, "", exc.message)]) from None
    try:
        lines: dict[tuple, int] = {}
        data = _construct(node, (), lines, loader) if node is not None else None
    except (ValueError, TypeError, RecursionError) as exc:
        raise InventoryError([Problem(file, None, "", _("invalid YAML value: {error}").format(
            error=plain_value_error(exc)))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(exc, "problem", None) or str(exc)
        raise InventoryError([Problem(file, line, "", _("invalid YAML: {error}").format(error=msg))]) from None
    finally:
        loader.dispose()
    return data, lines


# ---------------------------------------------------------------------- CSV
def _meta_line(line: str) -> str:
    """A line before the header as the user typed it: Excel saves ``# currency: EUR`` typed in
    column A as ``# currency: EUR;;;;;;`` (the row padded to the sheet's width), and quotes the
    cell when the value holds the separator (``"# organisation: De Vries, Jansen";;;``)."""
    s = line.strip()
    if not s.strip(";,\t "):
        return ""  # an empty row of the sheet: only separators
    if s.startswith('"#'):
        s = next(csv.reader([s], delimiter=";" if s.rstrip(";").endswith('"') else ","), [""])[0]
    elif s.startswith("#"):
        s = s.rstrip(";,\t ")
    return s.strip()


def _column_key(text: str) -> str:
    """A column name (or ``# key``) as a spreadsheet may write it - ``Name``, ``Annual cost``,
    ``export-api`` - as the key it is matched by: ``name``, ``annual_cost``, ``export_api``."""
    return " ".join(text.split()).lower().replace(" ", "_").replace("-", "_")


@lru_cache(maxsize=1)
def _aliases() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The other (Dutch) names of the CSV columns and ``# key:`` lines, from data/columns.yaml:
    ({column key: field}, {meta key: field}, {field: the other name an unknown column's message
    shows}). A name that is no field's, or that two fields claim, is an error of the data file."""
    raw = column_aliases()
    maps: list[dict[str, str]] = []
    shown_as: dict[str, str] = {}
    for part, fields in (("columns", CSV_HEADER), ("meta", CSV_META)):
        names: dict[str, str] = {}
        for field, others in raw[part].items():
            for other in others:
                key = _column_key(other)
                if field not in fields or key in fields or names.get(key, field) != field:
                    raise CatalogueError(_("audit/data/columns.yaml: {name!r} cannot be another name of {field!r} "
                                           "(not a field of the inventory, or a name another field has)").format(
                                               name=other, field=field))
                names[key] = field
                shown_as.setdefault(field, other)
        maps.append(names)
    return maps[0], maps[1], shown_as


def parse_csv(text: str, file: str) -> tuple[dict, dict[tuple, int]]:
    """CSV -> (inventory dict, {path: line}).  ``# key: value`` lines before the
    header set organisation/currency/it_budget/employees/as_of."""
    from stekker.targets import csv_records

    meta: dict[str, Any] = {}
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    raw_lines = io.StringIO(text, newline="").readlines()  # with their line ends, as the scan reads a file
    start = 0
    for i, ln in enumerate(raw_lines):
        s = _meta_line(ln)
        if not s:
            continue
        if s.startswith("#"):
            body = s.lstrip("#").strip()
            if ":" in body:
                k, v = body.split(":", 1)
                k = _column_key(k)
                k = _aliases()[1].get(k, k)  # "# organisatie: ..." as "# organisation: ..."
                if k in CSV_META and (k,) in lines:  # which one is meant? the last one silently won
                    problems.append(Problem(file, i + 1, "", _(
                        "'# {key}:' is given twice (also on line {line}); keep one").format(key=k, line=lines[(k,)])))
                elif k in CSV_META:
                    meta[k] = v.strip() or None
                    lines[(k,)] = i + 1
            continue
        start = i
        break
    else:
        start = len(raw_lines)
    first = raw_lines[start] if start < len(raw_lines) else ""
    # Dutch Excel writes ';'-separated CSV (and 1.200,50 amounts); scan accepts it too
    sep = ";" if first.count(";") > first.count(",") else ("\t" if first.count("\t") > first.count(",") else ",")
    dutch = sep == ";"
    # the scan's reader: an unclosed quote or an overlong cell is its record's problem, with its line
    records = csv_records(raw_lines[start:], sep)
    _n, cells, _raw, problem = next(records, (1, [], "", None))
    if problem is not None:
        raise InventoryError([Problem(file, start + 1, _("header"), shown(problem))])
    # column names as a spreadsheet may write them: "Name", "Annual cost", "export-api", "Jaarlijkse kosten"
    header = [_aliases()[0].get(_column_key(h), _column_key(h)) for h in cells or []]
    while header and not header[-1]:  # Excel pads the header row to the sheet's widest row
        header.pop()
    unknown = [h for h in header if h and h not in CSV_HEADER]
    if unknown:
        problems.append(Problem(file, start + 1, _("header"), _("unknown column(s) {columns}; known: {known}").format(
            columns=", ".join(shorten(u) for u in unknown), known=", ".join(
                f"{f} ({_aliases()[2][f]})" if f in _aliases()[2] else f for f in CSV_HEADER))))
    columns: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        if h in CSV_HEADER:
            columns.setdefault(h, []).append(i)
    for field, at in columns.items():
        if len(at) > 1:  # which one is meant? the last one's values silently won
            problems.append(Problem(file, start + 1, _("header"), _(
                "more than one column is the field {field!r} ({columns}); keep one").format(
                    field=field, columns=", ".join(_("{name!r} (column {n})").format(name=shorten(cells[i].strip()), n=i + 1)
                                                   for i in at))))
    if "name" not in header or "category" not in header:
        problems.append(Problem(file, start + 1, _("header"), _("the columns 'name' and 'category' are required")))
    if problems:
        raise InventoryError(problems)
    items = []
    for n, cells, _raw, problem in records:
        line = start + n  # the record's first line
        if problem is not None:
            problems.append(Problem(file, line, "", shown(problem)))
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue  # an empty line, or one of only separators (;;;;)
        while len(cells) > len(header) and not cells[-1]:
            cells.pop()  # empty cells past the last column: Excel's padding, no value lost
        if len(cells) != len(header):
            # a value in the wrong column is a wrong figure (99,95 unquoted in a ','-file is 99 and 95)
            if len(cells) < len(header):
                hint = _("a cell is missing; leave an unknown value empty")
            elif sep == ",":
                hint = _('an amount with a comma must be quoted, e.g. "99,95"')
            elif sep == "\t":
                hint = _("a value containing a tab must be quoted")
            else:
                hint = _("a value containing {sep!r} must be quoted").format(sep=sep)
            problems.append(Problem(file, line, "", _("row has {cells} cells, the header has {columns} ({hint})").format(
                cells=len(cells), columns=len(header), hint=hint)))
            continue
        lost = next((i for i, (k, v) in enumerate(zip(header, cells)) if v and not k), None)
        if lost is not None:  # a value under a column without a name would be dropped unread
            problems.append(Problem(file, line, "", _(
                "a value in column {n} ({value!r}), which has no name in the header; name the column or leave it "
                "empty").format(n=lost + 1, value=shorten(cells[lost]))))
            continue
        row = {k: v for k, v in zip(header, cells) if k}
        if dutch:  # lists within a ';'-separated file are written with ','
            for k in CSV_LIST_FIELDS + ("export_formats",):
                if isinstance(row.get(k), str) and ";" not in row[k]:
                    row[k] = row[k].replace(",", ";")
        for k in ("annual_cost",):
            if isinstance(row.get(k), str):
                row[k] = parse_amount(row[k], dutch=dutch)
        if not any(row.values()):
            continue
        idx = len(items)
        item: dict[str, Any] = {}
        export: dict[str, Any] = {}
        for k, v in row.items():
            if v in ("", None):
                continue
            if k == "export_formats":
                export["formats"] = v
            elif k == "export_api":
                export["api"] = v
            else:
                item[k] = v
        if export:
            item["export"] = export
        items.append(item)
        lines[("items", idx)] = line
        for k in item:
            lines[("items", idx, k)] = line
        if export:
            for k in export:
                lines[("items", idx, "export", k)] = line
    if problems:
        raise InventoryError(problems)
    if isinstance(meta.get("it_budget"), str):
        meta["it_budget"] = parse_amount(meta["it_budget"], dutch=dutch)
    data = dict(meta)
    data["items"] = items
    lines[("items",)] = start + 1
    return data, lines


# ----------------------------------------------------------------- validate
def _pydantic_message(err: dict) -> str:
    """The message of one pydantic error in the user's language (``err``: an item of
    ``ValidationError.errors()``); a ``ValueError`` of the model's own validators is its text."""
    msg, kind, ctx = err["msg"], err["type"], dict(err.get("ctx") or {})
    if kind == "value_error":
        return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    try:
        if kind in PYDANTIC_PLURALS:  # a count in the message: its form for the count
            count, singular, plural = PYDANTIC_PLURALS[kind]
            n = ctx[count]
            english = singular if n == 1 else plural
            local = ngettext(singular, plural, n)
        elif kind in PYDANTIC_MESSAGES:  # (word for word as pydantic writes them: stekker.i18n)
            english = PYDANTIC_MESSAGES[kind]
            local = translate(english)
        else:
            return msg
        if english.format(**ctx) != msg:
            return msg
        if kind == "literal_error":  # 'high', 'medium' or 'low': the last "or" in the user's language
            head, sep, last = str(ctx["expected"]).rpartition(" or ")
            if sep:
                ctx["expected"] = _("{items} or {last}").format(items=head, last=last)
        return local.format(**ctx)
    except (KeyError, IndexError, ValueError, TypeError):
        return msg


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = tuple(loc)
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]


def _field_name(loc: tuple, data: Any) -> str:
    parts = []
    for i, p in enumerate(loc):
        if isinstance(p, int):
            label = f"[{p}]"
            if i >= 1 and loc[i - 1] == "items" and isinstance(data, dict):
                try:
                    nm = data["items"][p].get("name")
                except (KeyError, IndexError, TypeError, AttributeError):
                    nm = None
                if nm:
                    label += f" ({shorten(nm)})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or _("inventory")


def validate(data: Any, lines: dict[tuple, int], file: str) -> Inventory:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InventoryError([Problem(file, 1, "", _("expected a mapping with 'items:' at the top level"))])
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith(("literal[", "function-"))))
            # strip pydantic's union/tag segments
            line = _line_for(loc, lines)
            msg = _pydantic_message(err)
            inp = err.get("input")
            if err["type"] not in ("missing",) and not isinstance(inp, (dict, list)) and inp is not None:
                msg = _("{message} (got {value})").format(message=msg, value=shorten(repr(inp)))
            problems.append(Problem(file, line, _field_name(loc, data), msg))
        # the problems between items too, in the same round (the items that are valid on their own,
        # the names of the others): a user fixes the file once, not twice
        raw = data.get("items")
        if isinstance(raw, list):
            problems += _between_items([_item_or_name(x) for x in raw], lines, file)
            problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise InventoryError(problems) from None
    if not inv.items:
        raise InventoryError([Problem(file, _line_for(("items",), lines) or 1, "items",
                                      _("the inventory has no items; add at least one (see `stekker audit init`)"))])
    problems = _between_items(inv.items, lines, file)
    if problems:
        raise InventoryError(problems)
    return inv


@dataclass
class _Named:
    """What the checks between items read of an item that has problems of its own."""
    name: str | None
    depends_on: list[str]


def _item_or_name(raw: Any) -> Any:
    """An item of the file as the model reads it; when the item itself has
    problems, its name and depends_on as far as they are text (the model's own
    split rule), so the problems between items are found in the same round."""
    try:
        return Item.model_validate(raw)
    except ValidationError:
        if not isinstance(raw, dict):
            return _Named(None, [])
        name = raw.get("name")
        try:
            deps = Item._split(raw.get("depends_on"))
        except Exception:  # noqa: BLE001 - a value the model refuses: reported by the model
            deps = []
        deps = [d.strip() for d in deps if isinstance(d, str) and d.strip()] if isinstance(deps, list) else []
        return _Named(name.strip() if isinstance(name, str) and name.strip() else None, deps)


def _between_items(items: list, lines: dict[tuple, int], file: str) -> list[Problem]:
    """Unique names and ``depends_on`` naming an item of the file (``items``:
    :class:`Item` objects, or :class:`_Named` for an item that did not validate)."""
    problems = []
    seen: dict[str, int] = {}
    for i, it in enumerate(items):
        name = it.name
        if name is None:
            continue
        k = name.casefold()
        if k in seen:
            problems.append(Problem(file, _line_for(("items", i, "name"), lines), f"items[{i}].name",
                                    _("{name!r} is also the name of items[{index}]; names must be unique").format(
                                        name=shorten(name), index=seen[k])))
        seen.setdefault(k, i)
    for i, it in enumerate(items):
        for d in it.depends_on:
            if d.casefold() not in seen:
                problems.append(Problem(file, _line_for(("items", i, "depends_on"), lines),
                                        f"items[{i}] ({shorten(it.name)}).depends_on" if it.name else f"items[{i}].depends_on",
                                        _("{name!r} is not the name of an item in this inventory").format(name=shorten(d))))
    return problems


def load_text(text: str, file: str = "<inventory>", fmt: str | None = None) -> Inventory:
    fmt = fmt or ("csv" if file.lower().endswith(".csv") else "yaml")
    if fmt == "csv":
        data, lines = parse_csv(text, file)
    else:
        data, lines = parse_yaml(text, file)
    return validate(data, lines, file)


def load(path: str | Path) -> Inventory:
    """Load and validate an inventory file (``.yaml``/``.yml`` or ``.csv``)."""
    from stekker.safeyaml import UserFileError, read_user_file

    p = Path(path)
    try:
        data = read_user_file(p)  # at most the limit + 1 bytes; a pipe or device is refused unread
    except UserFileError as exc:
        raise InventoryError([Problem(str(p), None, "", str(exc))]) from None
    from stekker.targets import SPREADSHEET_MAGIC

    if data.startswith(SPREADSHEET_MAGIC):
        # a spreadsheet file itself (.xlsx / .ods are zip files, .xls an OLE file), not text
        raise InventoryError([Problem(str(p), None, "", _("a spreadsheet file (Excel/LibreOffice) is not read; save it "
                                                          "as CSV (in Excel: 'CSV (puntkomma-gescheiden)') and give that "
                                                          "file, or write YAML (stekker audit init)"))])
    text, _enc = decode_text(data, str(p))
    return load_text(text, str(p))


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """An inventory file's bytes as text, with the encoding read: UTF-16 (by its
    BOM or its NUL bytes: Excel's "Unicode text"), UTF-8 (a BOM allowed), else
    Windows-1252 (Excel's "CSV" and Notepad on Windows) - the scan input's rule
    (:func:`stekker.targets.text_encoding`). The one rule for every reader of an
    inventory (``audit check``, ``seed --into``); :class:`InventoryError` for
    what is not text."""
    from stekker.targets import text_encoding

    codec = text_encoding(data[:1 << 20])
    if codec is None:
        raise InventoryError([Problem(file, None, "", _("contains NUL bytes; not a text file"))])
    if codec.startswith("utf-16"):  # "utf-16" reads the BOM; seed --into writes the file back with one
        try:
            text, enc = data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise InventoryError([Problem(file, None, "", _("not valid UTF-16 text ({reason} near byte {byte})").format(
                reason=exc.reason, byte=exc.start))]) from None
    else:
        try:
            text, enc = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            try:
                text, enc = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                raise InventoryError([Problem(file, None, "", _("not UTF-8 text (byte {byte})").format(
                    byte=exc.start))]) from None
    if "\x00" in text:
        raise InventoryError([Problem(file, None, "", _("contains NUL bytes; not a text file"))])
    return text, enc
