"""The evidence codec: a domain's DNS query results (``QueryResult`` with
their wire responses) into ``queries`` rows and back into ``DomainEvidence``."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import bindparam

from stekker.evidence import RR, AbsentKind, DomainEvidence, ErrorKind, QueryResult, Status
from stekker.i18n import _
from stekker.store import schema as S
from stekker.store.codec import _ESTR, _chunks, _clean, _jlist, _norm_domain
from stekker.store.engine import StoreError

_STATUS = {s.value: s for s in Status}
_ERROR_KIND = {k.value: k for k in ErrorKind}
_ABSENT_KIND = {k.value: k for k in AbsentKind}


def _janswers(answers: list) -> str:
    """JSON of an answer section: [[name, rtype, ttl, value], ...]."""
    if not answers:
        return "[]"
    e = _ESTR
    return "[" + ",".join(f"[{e(a.name)},{e(a.rtype)},{int(a.ttl)},{e(a.value)}]" for a in answers) + "]"


def _enum_value(v: Any) -> str | None:
    if v is None:
        return None
    return v.value if hasattr(v, "value") else str(v)


def _query_rows(domain: str, rows: Sequence, start: int = 0) -> tuple[list[tuple], dict[str, int]]:
    """One domain's results as ``queries`` rows without (scan_id, tseq),
    numbered from ``start``, and its counts by status (once per domain: the
    per-row work stays inline)."""
    n = {"present": 0, "absent": 0, "error": 0}
    qrows: list[tuple] = []
    for i, item in enumerate(rows, start):
        if isinstance(item, QueryResult):
            r, wire = item, None
        else:
            r, wire = item
        st = r.status
        st = st.value if isinstance(st, Status) else str(st)
        n[st] = n.get(st, 0) + 1
        ek = r.error_kind
        ak = r.absent_kind
        qrows.append(
            (
                i,
                domain,
                r.purpose,
                _clean(r.qname),
                r.qtype,
                st,
                r.rcode,
                None if ek is None else _enum_value(ek),
                None if ak is None else _enum_value(ak),
                bool(r.wildcard),
                r.resolver,
                r.ts,
                _clean(r.detail),
                _janswers(r.answers),
                None if wire is None else bytes(wire),
            )
        )
    return qrows, n


class EvidenceMixin:
    """Rows of the ``queries`` table."""

    def write_domain(self, scan_id: int, domain: str, status: str, rows: Sequence[tuple[QueryResult, bytes | None]]) -> None:
        """All query rows of one domain and its done flag, in one transaction.
        Any earlier rows of the domain are replaced."""
        self.write_domains(scan_id, [(domain, status, rows)])

    def write_domains(
        self, scan_id: int, items: Sequence[tuple[str, str, Sequence[tuple[QueryResult, bytes | None]]]]
    ) -> None:
        """Several domains in one transaction (all or nothing for the batch).
        (Stored attributions are not touched: a scan that is not finished is
        attributed in memory only, :func:`stekker.attribute.load_attributions`.)"""
        if not items:
            return
        q = S.queries
        t = S.targets
        per_domain: list[list[tuple]] = []
        done: list[dict] = []
        domains: list[str] = []
        for domain, status, rows in items:
            domain = _norm_domain(domain)
            domains.append(domain)
            qrows, n = _query_rows(domain, rows)
            per_domain.append(qrows)
            done.append(
                {"b_domain": domain, "b_status": str(_enum_value(status)),
                 "b_present": n["present"], "b_absent": n["absent"], "b_error": n["error"]}
            )
        if len(set(domains)) != len(domains):
            raise StoreError(_("write_domains: the same domain twice in one batch"))
        with self.engine.begin() as conn:
            tseq: dict[str, int] = {}
            rewrite: list[int] = []
            for chunk in _chunks(domains, 500):
                for dom, seq, was_done in conn.execute(
                    sa.select(t.c.domain, t.c.seq, t.c.done).where(t.c.scan_id == scan_id, t.c.domain.in_(chunk))
                ):
                    tseq[dom] = seq
                    if was_done:
                        rewrite.append(seq)
            if len(tseq) != len(domains):
                missing = [d for d in domains if d not in tseq]
                raise StoreError(
                    _("write_domains: not a target of scan {scan_id}: {domains}").format(
                        scan_id=scan_id, domains=", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
                )
            # A domain that is not done has no query rows (its rows and its done
            # flag commit together), so only done domains need their rows removed.
            for chunk in _chunks(rewrite, 500):
                conn.execute(q.delete().where(q.c.scan_id == scan_id, q.c.tseq.in_(chunk)))
            allrows = []
            for domain, qrows in zip(domains, per_domain):
                head = (scan_id, tseq[domain])
                allrows.extend(head + row for row in qrows)
            if allrows:
                self._insert_queries(conn, allrows)
            conn.execute(
                t.update()
                .where(t.c.scan_id == scan_id, t.c.domain == bindparam("b_domain"))
                .values(
                    done=True,
                    status=bindparam("b_status"),
                    n_present=bindparam("b_present"),
                    n_absent=bindparam("b_absent"),
                    n_error=bindparam("b_error"),
                ),
                done,
            )

    def domains_lacking(self, scan_id: int, purpose: str, redo_errors: bool = False) -> list[str]:
        """Done domains of the scan that exist (status not ``nxdomain``) and
        have no row of ``purpose`` yet (``redo_errors``: or only an error
        row), in input order: what an opt-in look-up such as the realm check
        still has to ask."""
        q, t = S.queries, S.targets
        has = sa.select(q.c.tseq).where(q.c.scan_id == scan_id, q.c.purpose == purpose)
        if redo_errors:
            has = has.where(q.c.status != "error")
        with self.engine.connect() as conn:
            self._require_scan(conn, scan_id)
            return [d for (d,) in conn.execute(
                sa.select(t.c.domain)
                .where(t.c.scan_id == scan_id, t.c.done == True, t.c.status != "nxdomain",  # noqa: E712
                       t.c.seq.not_in(has))
                .order_by(t.c.seq))]

    def named_hosts_lacking(self, scan_id: int, source: str, rtype: str, purpose: str,
                            redo_errors: bool = False) -> list[tuple[str, list[str]]]:
        """Domains whose ``source`` rows (a look-up beyond DNS, e.g. the
        realm answer) name hosts as ``rtype`` records (``IDP``) whose rows of
        ``purpose`` (their DNS questions) do not match them yet: none asked,
        other hosts asked (the answer changed), or (``redo_errors``) one
        failed. Each with the hosts named now, in input order; a domain
        whose answer names no host any more comes with ``[]`` (its old rows
        are to be dropped)."""
        q, t = S.queries, S.targets
        named: dict[int, list[str]] = {}
        asked: dict[int, set[str]] = {}
        failed: set[int] = set()
        with self.engine.connect() as conn:
            self._require_scan(conn, scan_id)
            for tseq, answers in conn.execute(sa.select(q.c.tseq, q.c.answers).where(
                    q.c.scan_id == scan_id, q.c.purpose == source, q.c.status == "present")):
                hosts = [str(a[3]).rstrip(".").lower() for a in json.loads(answers or "[]")
                         if len(a) >= 4 and str(a[1]).upper() == rtype.upper() and a[3]]
                if hosts:
                    named.setdefault(tseq, []).extend(h for h in hosts if h not in named.get(tseq, ()))
            for tseq, qname, status in conn.execute(sa.select(q.c.tseq, q.c.qname, q.c.status).where(
                    q.c.scan_id == scan_id, q.c.purpose == purpose)):
                asked.setdefault(tseq, set()).add(qname)
                if status == "error":
                    failed.add(tseq)
            todo = [s for s in sorted(set(named) | set(asked))
                    if set(named.get(s, ())) != asked.get(s, set()) or (redo_errors and s in failed)]
            if not todo:
                return []
            domains = {}
            for chunk in _chunks(todo, 500):
                domains.update(conn.execute(sa.select(t.c.seq, t.c.domain).where(
                    t.c.scan_id == scan_id, t.c.seq.in_(chunk))).all())
        return [(domains[s], named.get(s, [])) for s in todo if s in domains]

    def purpose_counts(self, scan_id: int, purpose: str) -> dict[str, Any]:
        """Rows of one purpose by status, and the errors by kind."""
        q = S.queries
        out: dict[str, Any] = {"present": 0, "absent": 0, "error": 0, "error_kinds": {}}
        with self.engine.connect() as conn:
            for st, ek, n in conn.execute(sa.select(q.c.status, q.c.error_kind, sa.func.count())
                                          .where(q.c.scan_id == scan_id, q.c.purpose == purpose)
                                          .group_by(q.c.status, q.c.error_kind)):
                out[st] = out.get(st, 0) + n
                if st == "error":
                    out["error_kinds"][ek or "other"] = out["error_kinds"].get(ek or "other", 0) + n
        out["error_kinds"] = dict(sorted(out["error_kinds"].items()))
        return out

    def add_results(self, scan_id: int, purpose: str,
                    items: Sequence[tuple[str, Sequence[tuple[QueryResult, bytes | None]]]]) -> None:
        """Rows of one look-up (``purpose``) for done domains, after their
        DNS rows, in one transaction; a domain's earlier rows of that purpose
        are replaced, its per-domain counts recomputed, and the scan's stored
        attributions dropped (they rest on the old evidence; the next report
        attributes the scan again).  The domain's status (from its SOA and NS
        answers) does not change."""
        if not items:
            return
        q, t, at = S.queries, S.targets, S.attributions
        with self.engine.begin() as conn:
            self._lock_scan(conn, scan_id, share=False)  # after a save of attributions under way
            # the scan's evidence changes: attributions stored from the old evidence are stale. All of the
            # scan's go (a stored version is read as complete, so dropping only these domains would lose them)
            conn.execute(at.delete().where(at.c.scan_id == scan_id))
            for domain, rows in items:
                domain = _norm_domain(domain)
                tr = conn.execute(sa.select(t.c.seq, t.c.done).where(t.c.scan_id == scan_id, t.c.domain == domain)).first()
                if tr is None or not tr.done:
                    raise StoreError(_("add_results: {domain} is not a done target of scan {scan_id}").format(domain=domain,
                                                                                                   scan_id=scan_id))
                conn.execute(q.delete().where(q.c.scan_id == scan_id, q.c.tseq == tr.seq, q.c.purpose == purpose))
                top = conn.execute(sa.select(sa.func.max(q.c.seq)).where(q.c.scan_id == scan_id, q.c.tseq == tr.seq)).scalar()
                if any((r if isinstance(r, QueryResult) else r[0]).purpose != purpose for r in rows):
                    raise StoreError(_("add_results: a row of another purpose among {purpose!r}").format(purpose=purpose))
                qrows, _counts = _query_rows(domain, rows, start=0 if top is None else int(top) + 1)
                if qrows:
                    self._insert_queries(conn, [(scan_id, tr.seq, *row) for row in qrows])
                n = dict(conn.execute(sa.select(q.c.status, sa.func.count()).where(
                    q.c.scan_id == scan_id, q.c.tseq == tr.seq).group_by(q.c.status)).all())
                conn.execute(t.update().where(t.c.scan_id == scan_id, t.c.seq == tr.seq).values(
                    n_present=n.get("present", 0), n_absent=n.get("absent", 0), n_error=n.get("error", 0)))

    _QUERY_COLUMNS = (
        "scan_id", "tseq", "seq", "domain", "purpose", "qname", "qtype", "status", "rcode", "error_kind",
        "absent_kind", "wildcard", "resolver", "ts", "detail", "answers", "wire",
    )

    def _insert_queries(self, conn: sa.Connection, rows: list[tuple]) -> None:
        self._bulk_insert(conn, "queries", self._QUERY_COLUMNS, rows)

    _READ_COLUMNS = (
        "domain", "purpose", "qname", "qtype", "status", "rcode", "error_kind", "absent_kind",
        "wildcard", "resolver", "ts", "detail", "answers",
    )

    @staticmethod
    def _result(row: Sequence) -> QueryResult:
        (domain, purpose, qname, qtype, status, rcode, ek, ak, wildcard, resolver, ts, detail, answers) = row
        error_kind = None
        if ek is not None:
            error_kind = _ERROR_KIND.get(ek)
            if error_kind is None:  # a kind this version does not know: keep it visible
                error_kind = ErrorKind.OTHER
                detail = f"[{ek}] {detail}" if detail else f"[{ek}]"
        return QueryResult(
            domain=domain,
            purpose=purpose,
            qname=qname,
            qtype=qtype,
            status=_STATUS.get(status, Status.ERROR),
            error_kind=error_kind,
            absent_kind=None if ak is None else _ABSENT_KIND.get(ak),
            rcode=rcode,
            answers=[RR(a, b, c, d) for a, b, c, d in json.loads(answers)] if answers and answers != "[]" else [],
            wildcard=bool(wildcard),
            resolver=resolver,
            ts=ts,
            detail=detail,
        )

    @classmethod
    def _query_cols(cls) -> list:
        return [S.queries.c[name] for name in cls._READ_COLUMNS]

    def iter_evidence(self, scan_id: int, domains: Iterable[str] | None = None, batch: int = 500) -> Iterator[DomainEvidence]:
        """Evidence of done domains in input order (or of the given ``domains``
        that are done, in input order), streamed ``batch`` domains at a time."""
        t = S.targets
        with self.engine.connect() as conn:
            self._require_scan(conn, scan_id)
        if domains is not None:
            wanted = list(dict.fromkeys(_norm_domain(d) for d in domains))
            for chunk in _chunks(wanted, batch):
                with self.engine.connect() as conn:
                    trows = conn.execute(
                        sa.select(t)
                        .where(t.c.scan_id == scan_id, t.c.done == True, t.c.domain.in_(chunk))  # noqa: E712
                        .order_by(t.c.seq)
                    ).all()
                    yield from self._evidence_for(conn, scan_id, trows)
            return
        last = -1
        while True:
            with self.engine.connect() as conn:
                trows = conn.execute(
                    sa.select(t)
                    .where(t.c.scan_id == scan_id, t.c.done == True, t.c.seq > last)  # noqa: E712
                    .order_by(t.c.seq)
                    .limit(batch)
                ).all()
                if not trows:
                    return
                evs = list(self._evidence_for(conn, scan_id, trows))
            yield from evs
            last = trows[-1].seq

    def _evidence_for(self, conn: sa.Connection, scan_id: int, trows: Sequence[sa.Row]) -> Iterator[DomainEvidence]:
        if not trows:
            return
        q = S.queries
        by_seq: dict[int, list[QueryResult]] = {r.seq: [] for r in trows}
        seqs = list(by_seq)
        stmt = sa.select(q.c.tseq, *self._query_cols()).where(q.c.scan_id == scan_id)
        if seqs[-1] - seqs[0] < 2 * len(seqs):  # input order: one range scan
            stmt = stmt.where(q.c.tseq >= seqs[0], q.c.tseq <= seqs[-1])
        else:
            stmt = stmt.where(q.c.tseq.in_(seqs))
        rows = conn.execute(stmt.order_by(q.c.tseq, q.c.seq)).all()
        make = self._result
        for row in rows:
            bucket = by_seq.get(row[0])
            if bucket is not None:
                bucket.append(make(row[1:]))
        for tr in trows:
            yield DomainEvidence(
                domain=tr.domain,
                organisations=_jlist(tr.organisations),
                sectors=_jlist(tr.sectors),
                hosts=_jlist(tr.hosts),
                results=by_seq[tr.seq],
            )

    load_evidence = iter_evidence  # the name docs/ARCHITECTURE.md uses

    def evidence(self, scan_id: int, domain: str) -> DomainEvidence | None:
        """Evidence of one domain, or None when it is not a (done) target."""
        for ev in self.iter_evidence(scan_id, [domain]):
            return ev
        return None

    def query_wire(self, scan_id: int, domain: str, qname: str, qtype: str) -> bytes | None:
        q, t = S.queries, S.targets
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(q.c.wire)
                .select_from(q.join(t, sa.and_(t.c.scan_id == q.c.scan_id, t.c.seq == q.c.tseq)))
                .where(
                    t.c.scan_id == scan_id,
                    t.c.domain == _norm_domain(domain),
                    q.c.qname == _norm_domain(qname),
                    q.c.qtype == qtype.upper(),
                )
                .order_by(q.c.seq)
                .limit(1)
            ).first()
        return bytes(row[0]) if row is not None and row[0] is not None else None
