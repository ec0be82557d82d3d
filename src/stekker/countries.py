"""Country groups that are facts, not policy (``src/stekker/data/countries.yaml``).

The one home of the EU member states: the audit's jurisdiction groups and the
judge's ``EU`` country set (``group: eu`` in ``judge/data/policies.yaml``)
both read it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def groups() -> dict[str, dict[str, Any]]:
    """Every group: id -> {name, source, date, countries}."""
    text = resources.files("stekker").joinpath("data/countries.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def group(name: str) -> frozenset[str]:
    """The ISO country codes of one group (KeyError for an unknown group)."""
    return frozenset(str(c).upper() for c in groups()[name]["countries"])
