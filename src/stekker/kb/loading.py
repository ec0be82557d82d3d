"""Loading the knowledge base: the shipped YAML under ``kb/data/`` (or a
given directory / files), validated against :mod:`stekker.kb.schema` and
cross-checked, with a content-derived version string."""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml
from pydantic import ValidationError

from stekker.i18n import _
from stekker.kb.knowledge import KBError, KnowledgeBase
from stekker.kb.schema import CompaniesFile, ProvidersFile, RulesFile
from stekker.safeyaml import MAX_NODES

DATA_DIR = Path(__file__).parent / "data"
DATA_FILES = ("providers.yaml", "companies.yaml", "rules.yaml")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans, so
    keys and values like ``on``, ``no``, ``yes``, ``off`` stay strings."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _ch in "tTfF":
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_ch]
    )


def _read_yaml(path: Path) -> dict:
    # a --kb directory is the user's: read like every user file (bounded, a regular file, UTF-8), so a
    # FIFO does not hang and a file that is not text is a message, not a crash (explore-f M12)
    from stekker.safeyaml import UserFileError, YAMLInputError, decode, read_user_file

    try:
        text = decode(read_user_file(path), str(path))
    except UserFileError as exc:
        raise KBError(f"{path}: {exc}") from None
    except YAMLInputError as exc:
        raise KBError(str(exc)) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as exc:
        raise KBError(_("{file}: invalid YAML: {error}").format(file=path, error=exc)) from exc
    except RecursionError:
        raise KBError(_("{file}: invalid YAML: nested too deeply").format(file=path)) from None
    if not isinstance(data, dict):
        raise KBError(_("{file}: expected a mapping at the top level").format(file=path))
    if _expanded_size(data) > MAX_NODES:
        # the knowledge base shares rule lists through YAML aliases (providers.yaml: 151), so they are
        # read; but a --kb file whose aliases expand to billions of values ("billion laughs", 300 bytes)
        # would hang the validation: counted with its aliases expanded, stopping at the bound
        raise KBError(_("{file}: more than {n:,} YAML values once its aliases are expanded; not a knowledge-base "
                        "file stekker reads").format(file=path, n=MAX_NODES))
    return data


def _expanded_size(data: object) -> int:
    """How many values ``data`` holds with every shared (aliased) part counted each time it is used;
    at most ``MAX_NODES + 1`` (it stops there, so a document of billions stops in a moment)."""
    n, stack = 0, [data]
    while stack and n <= MAX_NODES:
        x = stack.pop()
        n += 1
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return n


def _fmt_validation(path: Path, exc: ValidationError, data: dict, key: str) -> str:
    lines = [_("{file}: {n} validation error(s)").format(file=path, n=exc.error_count())]
    items = data.get(key) or []
    for err in exc.errors()[:20]:
        loc = list(err["loc"])
        where = ".".join(str(x) for x in loc)
        if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int) and loc[1] < len(items):
            ent = items[loc[1]]
            if isinstance(ent, dict) and "id" in ent:
                where = f"{key}[id={ent['id']}]." + ".".join(str(x) for x in loc[2:])
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


# The code that turns evidence and the knowledge base into attributions.
# Stored attributions are kept under the version below, so it covers that code
# and the release too: after an upgrade or a fix of any of it a stored scan is
# attributed again instead of showing what the old code concluded.
_PKG = Path(__file__).resolve().parents[1]
_READERS = tuple(sorted((_PKG / "attribute").glob("*.py"))) + tuple(
    _PKG / name for name in ("kb/knowledge.py", "kb/schema.py", "kb/loading.py", "spf.py", "evidence.py",
                             "countries.py", "datasets.py"))


def _version(paths: Iterable[Path], dates: Iterable[_dt.date | None]) -> str:
    from stekker import __version__

    h = hashlib.sha256()
    h.update(f"stekker {__version__}\0".encode())
    for p in [*paths, *_READERS]:
        if p in _READERS and not p.is_file():
            continue  # a bytecode-only install: the release number still counts
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    ds = [d for d in dates if d is not None]
    day = max(ds).isoformat() if ds else "0000-00-00"
    return f"{day}-{h.hexdigest()[:8]}"


def load(
    path: str | Path | None = None,
    *,
    companies: str | Path | None = None,
    providers: str | Path | None = None,
    rules: str | Path | None = None,
    validate: bool = True,
) -> KnowledgeBase:
    """Load and validate the knowledge base.

    ``path``: a directory holding providers.yaml/companies.yaml/rules.yaml
    (default: the shipped ``kb/data``). ``companies``/``providers``/``rules``
    override single files (e.g. a test fixture for companies). Missing
    rules.yaml falls back to the shipped one. Raises :class:`KBError` with a
    message naming the file, entry and field on any problem."""
    if path is None and companies is None and providers is None and rules is None:
        return _load_default()
    return _load(path, companies, providers, rules, validate)


@lru_cache(maxsize=1)
def _load_default() -> KnowledgeBase:
    return _load(None, None, None, None, True)


def _load(path, companies, providers, rules, validate) -> KnowledgeBase:
    base = Path(path) if path is not None else DATA_DIR
    if not base.is_dir():
        raise KBError(_("knowledge-base directory not found: {dir}").format(dir=base))
    pp = Path(providers) if providers else base / "providers.yaml"
    cp = Path(companies) if companies else base / "companies.yaml"
    rp = Path(rules) if rules else base / "rules.yaml"
    if not rp.exists():
        rp = DATA_DIR / "rules.yaml"
    for p in (pp, cp, rp):
        if not p.exists():
            raise KBError(_("knowledge-base file not found: {file}").format(file=p))
    pdata, cdata, rdata = _read_yaml(pp), _read_yaml(cp), _read_yaml(rp)
    # top-level keys starting with "_" hold YAML anchors only (shared source URLs)
    pdata = {k: v for k, v in pdata.items() if not str(k).startswith("_")}
    cdata = {k: v for k, v in cdata.items() if not str(k).startswith("_")}
    try:
        pf = ProvidersFile.model_validate(pdata)
    except ValidationError as exc:
        raise KBError(_fmt_validation(pp, exc, pdata, "providers")) from exc
    try:
        cf = CompaniesFile.model_validate(cdata)
    except ValidationError as exc:
        raise KBError(_fmt_validation(cp, exc, cdata, "companies")) from exc
    # further files of the same layout next to them (providers-<part>.yaml,
    # companies-<part>.yaml), read in name order, when the file is not overridden
    extra_p = sorted(base.glob("providers-*.yaml")) if not providers else []
    extra_c = sorted(base.glob("companies-*.yaml")) if not companies else []
    def _more(path, model, what: str, main, field: str):
        xd = {k: v for k, v in _read_yaml(path).items() if not str(k).startswith("_")}
        try:
            xf = model.model_validate(xd)
        except ValidationError as exc:
            raise KBError(_fmt_validation(path, exc, xd, what)) from exc
        return model(version=main.version, updated=max(filter(None, (main.updated, xf.updated)), default=None),
                     **{field: [*getattr(main, field), *getattr(xf, field)]})

    for xp in extra_p:
        pf = _more(xp, ProvidersFile, "providers", pf, "providers")
    for xc in extra_c:
        cf = _more(xc, CompaniesFile, "companies", cf, "companies")
    try:
        rf = RulesFile.model_validate(rdata)
    except ValidationError as exc:
        raise KBError(_fmt_validation(rp, exc, rdata, "categories")) from exc
    version = _version([pp, cp, rp, *extra_p, *extra_c], [pf.updated, cf.updated, rf.updated])
    kb = KnowledgeBase(pf, cf, rf, version, {"providers": pp, "companies": cp, "rules": rp,
                                             **{f"providers:{x.name}": x for x in extra_p},
                                             **{f"companies:{x.name}": x for x in extra_c}})
    if validate:
        errs = kb.validate()
        if errs:
            raise KBError(_("knowledge base does not validate:\n  {errors}\n(files: {providers}, {companies})").format(
                errors="\n  ".join(errs), providers=pp, companies=cp))
    return kb
