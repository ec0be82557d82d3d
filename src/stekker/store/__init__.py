"""The evidence store: SQLite (default, ``stekker.db``) or PostgreSQL.

Writer side (the scan engine)::

    store = Store.open("stekker.db")            # or "postgresql://user@host/db"
    scan_id = store.create_scan(tool_version=..., plan_version=1, input_path=...,
                                input_sha256=..., resolvers=["127.0.0.1:53"], options={})
    store.add_targets(scan_id, target_file)     # streams; merges duplicates
    store.add_input_issues(scan_id, target_file.issues)
    store.mark_running(scan_id)                # the run lock (ScanBusy); keep_running() also beats
    for t in store.pending_targets(scan_id):    # not-done targets, input order
        ...
        store.write_domains(scan_id, [(domain, status, [(QueryResult, wire), ...]), ...])
    store.finish_scan(scan_id, "finished", summary)

Every ``write_domain(s)`` call is one transaction: the domain's query rows
(replacing any earlier rows of that domain) and its ``targets.done`` flag
commit together, so after a crash or ``kill -9`` a domain is complete or not
done at all, and a resumed scan re-does exactly the missing domains.

Reader side: :meth:`Store.resolve_scan`, :meth:`Store.scan_info`,
:meth:`Store.list_scans`, :meth:`Store.iter_evidence`, :meth:`Store.evidence`,
:meth:`Store.query_wire`, :meth:`Store.iter_targets`,
:meth:`Store.input_issues`, attributions and datasets.

Modules, one per thing stored: :mod:`~stekker.store.engine` (opening,
schema checks), :mod:`~stekker.store.scans`, :mod:`~stekker.store.targets`
(targets and input issues), :mod:`~stekker.store.evidence` (the query-row
codec), :mod:`~stekker.store.attributions`, :mod:`~stekker.store.datasets`;
:mod:`~stekker.store.schema` holds the tables.  This face only assembles
:class:`Store` from them.
"""

from __future__ import annotations

from stekker.store import schema
from stekker.store.attributions import AttributionsMixin
from stekker.store.datasets import DatasetsMixin
from stekker.store.engine import ScanNotFound, StoreBase, StoreError, display_db
from stekker.store.evidence import EvidenceMixin
from stekker.store.scans import SCAN_STATES, ScanBusy, ScansMixin
from stekker.store.targets import TargetsMixin

__all__ = ["Store", "StoreError", "ScanNotFound", "ScanBusy", "SCAN_STATES", "display_db", "schema"]


class Store(ScansMixin, TargetsMixin, EvidenceMixin, AttributionsMixin, DatasetsMixin, StoreBase):
    """Access to one stekker database.  Use :meth:`Store.open`."""
