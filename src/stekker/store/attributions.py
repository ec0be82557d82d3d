"""Attributions: the attribute stage's per-domain records, kept per
(scan, knowledge-base version)."""

from __future__ import annotations

import json
import time
from typing import Iterable, Iterator

import sqlalchemy as sa

from stekker.i18n import _
from stekker.store import schema as S
from stekker.store.codec import _jdump, _norm_domain
from stekker.store.engine import StoreError


class AttributionsMixin:
    """Rows of the ``attributions`` table."""

    def save_attributions(self, scan_id: int, kb_version: str, records: Iterable[dict], batch: int = 2000) -> int:
        """Replace the attributions of (scan, kb_version) with ``records``
        (``DomainAttribution.to_dict()`` dicts, each with a ``domain``)."""
        a = S.attributions
        now = time.time()
        n = 0
        with self.engine.begin() as conn:
            self._require_scan(conn, scan_id)
            # a look-up that changes the scan's evidence meanwhile (add_results) waits for this save
            # and then drops what it stored; without the lock, PostgreSQL (READ COMMITTED) let it
            # commit first and kept records of the old evidence (SQLite: the DELETE's write lock)
            self._lock_scan(conn, scan_id, share=True)
            conn.execute(a.delete().where(a.c.scan_id == scan_id, a.c.kb_version == kb_version))
            rows: list[dict] = []
            seen: set[str] = set()
            for rec in records:
                if hasattr(rec, "to_dict") and not isinstance(rec, dict):
                    rec = rec.to_dict()
                dom = rec.get("domain")
                if not dom:
                    raise StoreError(_("attribution record without a domain: {record}").format(record=str(rec)[:200]))
                dom = _norm_domain(dom)
                if dom in seen:
                    raise StoreError(_("two attribution records for {domain} (scan {scan_id}, kb {kb_version})").format(
                        domain=dom, scan_id=scan_id, kb_version=kb_version))
                seen.add(dom)
                rows.append(
                    {"scan_id": scan_id, "kb_version": kb_version, "domain": dom, "computed_at": now,
                     "data": _jdump(rec)}
                )
                if len(rows) >= batch:
                    conn.execute(a.insert(), rows)
                    n += len(rows)
                    rows = []
            if rows:
                conn.execute(a.insert(), rows)
                n += len(rows)
        return n

    def iter_attributions(self, scan_id: int, kb_version: str, batch: int = 2000) -> Iterator[dict]:
        """Attribution records of (scan, kb_version) in input order."""
        a, t = S.attributions, S.targets
        j = a.outerjoin(t, sa.and_(t.c.scan_id == a.c.scan_id, t.c.domain == a.c.domain))
        seq = sa.func.coalesce(t.c.seq, -1)
        last: tuple[int, str] = (-2, "")
        while True:
            stmt = (
                sa.select(seq.label("s"), a.c.domain, a.c.data)
                .select_from(j)
                .where(
                    a.c.scan_id == scan_id,
                    a.c.kb_version == kb_version,
                    sa.or_(seq > last[0], sa.and_(seq == last[0], a.c.domain > last[1])),
                )
                .order_by(seq, a.c.domain)
                .limit(batch)
            )
            with self.engine.connect() as conn:
                rows = conn.execute(stmt).all()
            if not rows:
                return
            for r in rows:
                yield json.loads(r.data)
            last = (rows[-1].s, rows[-1].domain)

    def scan_finished(self, scan_id: int) -> bool:
        """Whether the scan is finished: its evidence no longer changes by the
        DNS pass (a later look-up drops the stored attributions itself)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(S.scans.c.state).where(S.scans.c.id == scan_id)).scalar() == "finished"

    def attributions_current(self, scan_id: int, kb_version: str) -> bool:
        """Whether attributions of (scan, kb_version) are stored and cover the
        scan as it is now: the scan is finished and there is at least one per
        measured domain.  A scan that is not finished is attributed in memory
        only (its evidence is still being written); attributions stored of it
        earlier (`stekker attribute` while it ran, an older stekker) cover a
        part of it and are never reused as the whole; a later look-up
        (add_results) drops them."""
        if not self.scan_finished(scan_id):
            return False
        a, t = S.attributions, S.targets
        with self.engine.connect() as conn:
            n = conn.execute(
                sa.select(sa.func.count()).select_from(a)
                .where(a.c.scan_id == scan_id, a.c.kb_version == kb_version)
            ).scalar() or 0
            if not n:
                return False
            done = conn.execute(
                sa.select(sa.func.count()).select_from(t)
                .where(t.c.scan_id == scan_id, t.c.done == True)  # noqa: E712
            ).scalar() or 0
        return n >= done

    def attribution_versions(self, scan_id: int) -> list[str]:
        a = S.attributions
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(a.c.kb_version, sa.func.max(a.c.computed_at).label("at"))
                .where(a.c.scan_id == scan_id)
                .group_by(a.c.kb_version)
                .order_by(sa.text("at"))
            ).all()
        return [r.kb_version for r in rows]
