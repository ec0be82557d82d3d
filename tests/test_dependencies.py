"""Every third-party module imported under src/ is a declared dependency in
pyproject.toml (a clean `pip install .` must not depend on what the system
Python happens to have, as `idna` once did)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def _declared() -> set[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for req in cfg["project"]["dependencies"]:
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        names.add(_norm(m.group(1)))
    return names


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_declared():
    own = {p.name for p in SRC.iterdir() if p.is_dir() or p.suffix == ".py"}
    stdlib = set(sys.stdlib_module_names)
    dist_of = md.packages_distributions()
    declared = _declared()
    missing = {}
    seen = set()
    for f in sorted(SRC.rglob("*.py")):
        for mod in _imports(f):
            if mod in stdlib or mod in own or mod == "__future__":
                continue
            seen.add(mod)
            dists = {_norm(d) for d in dist_of.get(mod, [])}
            if not dists:
                missing.setdefault(f"{mod} (no installed distribution provides it)", []).append(str(f.relative_to(ROOT)))
            elif not dists & declared:
                missing.setdefault(f"{mod} (from {', '.join(sorted(dists))})", []).append(str(f.relative_to(ROOT)))
    assert not missing, "undeclared third-party imports: " + "; ".join(f"{k}: {v[:3]}" for k, v in missing.items())
    # the scan sees the imports it must see (a scan that finds nothing cannot fail)
    assert {"yaml", "typer", "idna", "dns", "sqlalchemy"} <= seen


def test_the_scan_catches_an_undeclared_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import hypothesis\nfrom os import path\nfrom . import x\n", encoding="utf-8")
    mods = _imports(f)
    assert mods == {"hypothesis", "os"}
    dists = {_norm(d) for d in md.packages_distributions().get("hypothesis", [])}
    assert dists and not dists & _declared()  # a test-only package is not a runtime dependency
