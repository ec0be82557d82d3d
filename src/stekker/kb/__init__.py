"""The knowledge base: providers (fingerprints, ASNs), companies (ownership
over time) and attribution rules, shipped as YAML under ``kb/data/`` and
validated at load.  See ``kb/data/README.md`` for the file formats.

>>> from stekker import kb
>>> k = kb.load()
>>> k.match_name("gemeente-a-nl.mail.protection.outlook.com", on="mx")[0].provider
'microsoft'

Modules: :mod:`~stekker.kb.knowledge` (the query API),
:mod:`~stekker.kb.loading` (YAML, validation, version),
:mod:`~stekker.kb.schema` (the file formats); "as of" dates are read by
:func:`stekker.dates.as_date`, re-exported here.
"""

from __future__ import annotations

from stekker.dates import as_date
from stekker.kb.knowledge import KBError, KnowledgeBase, Match
from stekker.kb.loading import DATA_DIR, DATA_FILES, load

__all__ = [
    "KBError",
    "KnowledgeBase",
    "Match",
    "load",
    "as_date",
    "DATA_DIR",
    "DATA_FILES",
]
