"""Targets (the domains of a scan, in input order, duplicates merged) and
input issues (lines of the input file that were not targets)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import bindparam

from stekker.i18n import _
from stekker.store import schema as S
from stekker.store.codec import _chunks, _clean, _clean_list, _jdump, _jints, _jlist, _jstrs, _merge, _norm_domain
from stekker.store.engine import StoreError
from stekker.targets import Target, merge_lines


def _target_fields(t: Any) -> dict:
    """A Target (stekker.targets), any object with the same attributes, or a dict."""
    if type(t) is Target:
        return {
            "domain": _norm_domain(t.domain),
            "input_name": _clean(t.input_name),
            "organisations": _clean_list(t.organisations),
            "sectors": _clean_list(t.sectors),
            "hosts": _clean_list(t.hosts),
            "lines": list(t.lines),
        }
    if isinstance(t, dict):
        get = t.get
    else:
        def get(k: str, default: Any = None, _t: Any = t) -> Any:
            return getattr(_t, k, default)
    domain = get("domain")
    if not domain:
        raise StoreError(_("target without a domain: {target!r}").format(target=t))
    lines = get("lines")
    return {
        "domain": _norm_domain(domain),
        "input_name": _clean(get("input_name")),
        "organisations": _clean_list(get("organisations")),
        "sectors": _clean_list(get("sectors")),
        "hosts": _clean_list(get("hosts")),
        "lines": [int(x) for x in lines] if lines else [],
    }


class TargetsMixin:
    """Rows of the ``targets`` and ``input_issues`` tables."""

    _TARGET_COLUMNS = (
        "scan_id", "domain", "seq", "input_name", "organisations", "sectors", "hosts", "lines", "done",
        "n_present", "n_absent", "n_error",
    )

    def add_targets(self, scan_id: int, targets: Iterable[Any], batch: int = 5000) -> int:
        """Insert targets in input order (``seq`` continues after any targets
        already in the scan).  A target whose domain is already in the scan
        (a duplicate line) is merged into the existing row: organisations,
        sectors, hosts and line numbers are kept, nothing is dropped.  Streams
        ``targets`` in batches; one transaction for the whole call.  Returns
        the number of new target rows."""
        t = S.targets
        added = 0
        with self.engine.begin() as conn:
            self._require_scan(conn, scan_id)
            seq = conn.execute(sa.select(sa.func.max(t.c.seq)).where(t.c.scan_id == scan_id)).scalar()
            seq = -1 if seq is None else int(seq)
            pending: dict[str, dict] = {}

            def flush() -> None:
                nonlocal seq, added
                if not pending:
                    return
                names = list(pending)
                existing: dict[str, Any] = {}
                for chunk in _chunks(names, 500):
                    for row in conn.execute(
                        sa.select(t.c.domain, t.c.organisations, t.c.sectors, t.c.hosts, t.c.lines).where(
                            t.c.scan_id == scan_id, t.c.domain.in_(chunk)
                        )
                    ):
                        existing[row.domain] = row
                new_rows = []
                updates = []
                for name in names:
                    f = pending[name]
                    old = existing.get(name)
                    if old is None:
                        seq += 1
                        new_rows.append(
                            (
                                scan_id,
                                name,
                                seq,
                                f["input_name"],
                                _jstrs(f["organisations"]),
                                _jstrs(f["sectors"]),
                                _jstrs(f["hosts"]),
                                _jints(f["lines"]),
                                False,
                                0,
                                0,
                                0,
                            )
                        )
                    else:
                        updates.append(
                            {
                                "b_domain": name,
                                "b_orgs": _jdump(_merge(_jlist(old.organisations), f["organisations"])),
                                "b_secs": _jdump(_merge(_jlist(old.sectors), f["sectors"])),
                                "b_hosts": _jdump(_merge(_jlist(old.hosts), f["hosts"])),
                                "b_lines": _jdump(merge_lines(_jlist(old.lines), f["lines"])),
                            }
                        )
                if new_rows:
                    self._bulk_insert(conn, "targets", self._TARGET_COLUMNS, new_rows)
                    added += len(new_rows)
                if updates:
                    conn.execute(
                        t.update()
                        .where(t.c.scan_id == scan_id, t.c.domain == bindparam("b_domain"))
                        .values(
                            organisations=bindparam("b_orgs"),
                            sectors=bindparam("b_secs"),
                            hosts=bindparam("b_hosts"),
                            lines=bindparam("b_lines"),
                        ),
                        updates,
                    )
                pending.clear()

            for target in targets:
                f = _target_fields(target)
                cur = pending.get(f["domain"])
                if cur is None:
                    pending[f["domain"]] = f
                    if len(pending) >= batch:
                        flush()
                else:
                    for k in ("organisations", "sectors", "hosts"):
                        _merge(cur[k], f[k])
                    merge_lines(cur["lines"], f["lines"])
            flush()
        return added

    def add_input_issues(self, scan_id: int, issues: Iterable[Any], batch: int = 5000) -> int:
        """Store input issues (``InputIssue`` objects or dicts with line, raw, kind, reason)."""
        n = 0
        with self.engine.begin() as conn:
            self._require_scan(conn, scan_id)
            rows: list[dict] = []
            for iss in issues:
                d = iss if isinstance(iss, dict) else iss.to_dict() if hasattr(iss, "to_dict") else vars(iss)
                rows.append(
                    {
                        "scan_id": scan_id,
                        "line": d.get("line"),
                        "raw": _clean(d.get("raw")),
                        "kind": _clean(str(d.get("kind") or "invalid"))[:32],
                        "reason": _clean(str(d.get("reason") or "")),
                    }
                )
                if len(rows) >= batch:
                    conn.execute(S.input_issues.insert(), rows)
                    n += len(rows)
                    rows = []
            if rows:
                conn.execute(S.input_issues.insert(), rows)
                n += len(rows)
        return n

    def pending_targets(self, scan_id: int, batch: int = 1000) -> Iterator[dict]:
        """Targets not yet done, in input order, fetched ``batch`` at a time
        (keyset pagination: safe while the caller writes domains)."""
        yield from self._iter_target_rows(scan_id, batch, done=False)

    @staticmethod
    def _target_dict(row: sa.Row) -> dict:
        return {
            "domain": row.domain,
            "seq": row.seq,
            "input_name": row.input_name,
            "organisations": _jlist(row.organisations),
            "sectors": _jlist(row.sectors),
            "hosts": _jlist(row.hosts),
            "lines": _jlist(row.lines),
            "done": bool(row.done),
            "status": row.status,
        }

    def _iter_target_rows(self, scan_id: int, batch: int, done: bool | None) -> Iterator[dict]:
        t = S.targets
        with self.engine.connect() as conn:
            self._require_scan(conn, scan_id)
        last = -1
        while True:
            stmt = sa.select(t).where(t.c.scan_id == scan_id, t.c.seq > last)
            if done is not None:
                stmt = stmt.where(t.c.done == done)
            with self.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(t.c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield self._target_dict(row)
            last = rows[-1].seq

    def iter_targets(self, scan_id: int, batch: int = 1000) -> Iterator[dict]:
        """Every target of the scan (done or not), in input order."""
        yield from self._iter_target_rows(scan_id, batch, done=None)

    def target(self, scan_id: int, domain: str) -> dict | None:
        """The target row of one domain (done or not), or None."""
        t = S.targets
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t).where(t.c.scan_id == scan_id, t.c.domain == _norm_domain(domain))
            ).first()
        return self._target_dict(row) if row is not None else None

    def input_issues(self, scan_id: int) -> list[dict]:
        ii = S.input_issues
        with self.engine.connect() as conn:
            self._require_scan(conn, scan_id)
            return [
                {"line": r.line, "raw": r.raw, "kind": r.kind, "reason": r.reason}
                for r in conn.execute(
                    sa.select(ii).where(ii.c.scan_id == scan_id).order_by(ii.c.line, ii.c.id)
                )
            ]
