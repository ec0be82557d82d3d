"""Stage rules, checked on the source: which part of stekker may import which
(docs/ARCHITECTURE.md, "Import rules").  Every ``import`` / ``from ... import``
under src/stekker counts, also the lazy ones inside functions.

* Layers follow the data's path; a part imports only its own layer or lower
  ones: a back-edge (store -> attribute, judge -> report, anything -> cli)
  fails.
* Product parts never import the tools beside them, ``stekker.lab`` and
  ``stekker.validate``; only the CLI modules of those commands (cli/lab.py,
  cli/validate.py) do.
* attribute does not import collect (it reads stored evidence), report does
  not import collect; the shared leaves (evidence, spf, text, ...) import no
  stage.
* A new top-level module or package must be given a layer here first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "stekker"

# part -> layer; a part may import parts of its own layer or lower.
LAYERS: dict[str, int] = {
    # shared leaves: no stage knowledge
    "__init__": 0, "__main__": 6, "evidence": 0, "dates": 0, "countries": 0, "spf": 0, "text": 0, "safeyaml": 0, "outputs": 0, "workers": 0,
    "i18n": 0,  # the language rule and the command line's translations
    # reference data and inputs
    "datadir": 1, "datasets": 1, "ipasn": 1, "targets": 1, "kb": 1,
    # the rendering toolkit (Jinja + CSP, NL/EN formatting, Chromium) for report, audit, web
    "render": 1,
    "store": 2,
    "collect": 3, "attribute": 3,
    "judge": 4,
    "report": 5, "audit": 5, "publish": 5,
    "cli": 6,
    # tools beside the product (may import product parts; never imported by them)
    "lab": 7, "validate": 7,
}
TOOLS = {"lab", "validate"}
# the CLI modules that run the tools' commands
TOOL_DOORS = {"cli/lab.py", "cli/validate.py"}
# same-layer or downward edges that are still not allowed
FORBIDDEN: set[tuple[str, str]] = {("attribute", "collect"), ("collect", "attribute"), ("report", "collect"),
                                   # the IP-to-ASN table is below the data-set manager (no cycle)
                                   ("ipasn", "datasets")}


def _part(rel: Path) -> str:
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports_of(path: Path, rel: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every stekker import in one file;
    ``from stekker import kb`` gives ``stekker.kb``, relative imports are
    resolved against the file's package."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    pkg = ["stekker", *rel.parent.parts]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "stekker":  # from stekker import kb, __version__
                out += [(node.lineno, f"stekker.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return [(ln, m) for ln, m in out if m == "stekker" or m.startswith("stekker.")]


def violations(root: Path = SRC) -> list[str]:
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        src = _part(rel)
        if src not in LAYERS:
            bad.append(f"{rel}: part {src!r} has no layer in tests/test_import_rules.py (give it one)")
            continue
        for line, mod in imports_of(path, rel):
            parts = mod.split(".")
            if len(parts) < 2:
                continue
            dst = parts[1]
            if dst == src or dst == "__version__":
                continue
            if dst not in LAYERS:
                if (root / dst).is_dir() or (root / f"{dst}.py").is_file():
                    bad.append(f"{rel}:{line}: imports {mod}, whose part {dst!r} has no layer")
                continue
            where = f"{rel}:{line}: {src} imports {mod}"
            if dst in TOOLS and src not in TOOLS and rel.as_posix() not in TOOL_DOORS:
                bad.append(f"{where} (product code never imports the tool {dst!r})")
            elif (src, dst) in FORBIDDEN:
                bad.append(f"{where} (forbidden edge {src} -> {dst})")
            elif dst not in TOOLS and LAYERS[dst] > LAYERS[src]:
                bad.append(f"{where} (back-edge: layer {LAYERS[src]} imports layer {LAYERS[dst]})")
    return bad


def test_src_follows_the_import_rules():
    assert violations() == []


def test_every_part_has_a_layer():
    parts = {_part(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
    assert parts <= set(LAYERS), sorted(parts - set(LAYERS))
    assert {"targets", "collect", "store", "attribute", "judge", "report", "lab", "validate"} <= parts


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "stekker"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, "utf-8")
    for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()
    return root


@pytest.mark.parametrize("name,text,expect", [
    ("attribute/engine.py", "from stekker.collect.spf import parse_spf\n", "forbidden edge attribute -> collect"),
    ("report/render.py", "def f():\n    from stekker.collect import engine\n", "forbidden edge report -> collect"),
    ("targets.py", "import stekker.lab.build\n", "never imports the tool 'lab'"),
    ("judge/x.py", "from stekker import validate\n", "never imports the tool 'validate'"),
    ("cli/show.py", "from stekker.lab.build import registrable\n", "never imports the tool 'lab'"),
    ("store/x.py", "from stekker.attribute import engine\n", "back-edge"),
    ("judge/x.py", "from stekker.report import build\n", "back-edge"),
    ("kb/x.py", "from ..store import Store\n", "back-edge"),
    ("evidence.py", "from stekker.collect import wire\n", "back-edge"),
    ("ipasn.py", "def f():\n    from stekker.datasets import default_data_dir\n", "forbidden edge ipasn -> datasets"),
    ("newstage/x.py", "x = 1\n", "has no layer"),
])
def test_detects_a_synthetic_violation(tmp_path, name, text, expect):
    root = _tree(tmp_path, {name: text})
    found = violations(root)
    assert found and all(expect in f for f in found), found


@pytest.mark.parametrize("name,text", [
    ("cli/lab.py", "from stekker.lab import core\n"),
    ("cli/validate.py", "from stekker.validate import check\n"),
    ("validate/check.py", "from stekker.lab.build import registrable\nfrom stekker.collect import engine\n"),
    ("report/x.py", "from stekker.judge import judge\nfrom ..attribute import model\nfrom . import render\n"),
    ("attribute/engine.py", "from stekker.spf import parse_spf\nfrom stekker import kb, __version__\n"),
])
def test_allowed_edges_pass(tmp_path, name, text):
    assert violations(_tree(tmp_path, {name: text})) == []
