"""Country groups that are facts, not policy (``src/stekker/data/countries.yaml``).

The one home of the EU member states: the audit's jurisdiction groups and the
judge's ``EU`` country set (``group: eu`` in ``judge/data/policies.yaml``)
both read it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import yaml


@lru_cache(maxsize=1)
def groups() -> dict[str, dict[str, Any]]:
    """Every group: id -> {name, source, date, countries}."""
    text = resources.files("stekker").joinpath("data/countries.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def group(name: str) -> frozenset[str]:
    """The ISO country codes of one group (KeyError for an unknown group)."""
    return frozenset(str(c).upper() for c in groups()[name]["countries"])


def registration_country(code: object) -> str | None:
    """A registry's country code as a country, or None when it names none.

    The RIRs' pseudo-codes without a country (``ZZ``, ``--``, APNIC's ``AP``,
    ``None``/``Unknown`` in some tables; ``pseudo_codes.no_country`` in
    countries.yaml) give None; RIPE's ``EU`` is kept: a place in the EU,
    though no headquarters country.
    """
    if code is None:
        return None
    c = str(code).strip().upper()
    if not c or c in _no_country():
        return None
    return c


def common_country(countries: Iterable[str | None]) -> str | None:
    """The one country of several companies that control something together
    (joint control), or None when their homes differ or one is unknown."""
    homes = set(countries)
    return homes.pop() if len(homes) == 1 else None


@lru_cache(maxsize=1)
def _no_country() -> frozenset[str]:
    return frozenset(str(c).upper() for c in groups()["pseudo_codes"]["no_country"])
