"""The evidence store: SQLite (default, ``stekker.db``) or PostgreSQL.

Writer side (the scan engine)::

    store = Store.open("stekker.db")            # or "postgresql://user@host/db"
    scan_id = store.create_scan(tool_version=..., plan_version=1, input_path=...,
                                input_sha256=..., resolvers=["127.0.0.1:53"], options={})
    store.add_targets(scan_id, target_file)     # streams; merges duplicates
    store.add_input_issues(scan_id, target_file.issues)
    store.mark_running(scan_id)
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
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import bindparam, event

from stekker.evidence import RR, AbsentKind, DomainEvidence, ErrorKind, QueryResult, Status
from stekker.store import schema as S
from stekker.targets import Target

__all__ = ["Store", "StoreError", "ScanNotFound", "SCAN_STATES"]

SCAN_STATES = ("created", "running", "interrupted", "aborted", "finished")
_FINAL_STATES = ("finished", "interrupted", "aborted")

_STATUS = {s.value: s for s in Status}
_ERROR_KIND = {k.value: k for k in ErrorKind}
_ABSENT_KIND = {k.value: k for k in AbsentKind}

_JSON_SEP = (",", ":")


class StoreError(Exception):
    """The database cannot be used (unreachable, invalid, wrong schema) or a
    request is invalid (unknown scan, unknown domain)."""


class ScanNotFound(StoreError, LookupError):
    """No scan matches the reference."""


# -- helpers ------------------------------------------------------------------


def _clean(s: str | None) -> str | None:
    """Text safe for every backend: no NUL (PostgreSQL refuses it in text),
    no lone surrogates (not encodable as UTF-8).  Both become visible escapes."""
    if s is None:
        return None
    if s.isascii():
        return s.replace("\x00", "\\x00") if "\x00" in s else s
    s = s.replace("\x00", "\\x00")
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


_ENCODE = json.JSONEncoder(separators=_JSON_SEP).encode
_ESTR = json.encoder.encode_basestring_ascii  # C: a str as a JSON string literal, ASCII only


def _jstrs(xs: list) -> str:
    """JSON of a list of str (same text as json.dumps, compact): the hot path
    of add_targets."""
    if not xs:
        return "[]"
    return "[" + ",".join(map(_ESTR, xs)) + "]"


def _jints(xs: list) -> str:
    if not xs:
        return "[]"
    return "[" + ",".join(map(str, map(int, xs))) + "]"


def _janswers(answers: list) -> str:
    """JSON of an answer section: [[name, rtype, ttl, value], ...]."""
    if not answers:
        return "[]"
    e = _ESTR
    return "[" + ",".join(f"[{e(a.name)},{e(a.rtype)},{int(a.ttl)},{e(a.value)}]" for a in answers) + "]"


def _jdump(v: Any) -> str:
    # ensure_ascii (the default) keeps control bytes and odd code points as
    # \\uXXXX escapes: the stored text is plain ASCII on every backend.
    if not v and isinstance(v, list):
        return "[]"
    return _ENCODE(v)


def _jlist(s: str | None) -> list:
    if not s:
        return []
    return json.loads(s)


def _enum_value(v: Any) -> str | None:
    if v is None:
        return None
    return v.value if hasattr(v, "value") else str(v)


def _merge(into: list, extra: Iterable) -> list:
    for x in extra:
        if x not in into:
            into.append(x)
    return into


def _norm_domain(d: str) -> str:
    return d.strip().lower().rstrip(".")


def _clean_list(xs: Any) -> list:
    if not xs:
        return []
    return [_clean(x) if isinstance(x, str) else x for x in xs if x]


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
        raise StoreError(f"target without a domain: {t!r}")
    lines = get("lines")
    return {
        "domain": _norm_domain(domain),
        "input_name": _clean(get("input_name")),
        "organisations": _clean_list(get("organisations")),
        "sectors": _clean_list(get("sectors")),
        "hosts": _clean_list(get("hosts")),
        "lines": [int(x) for x in lines] if lines else [],
    }


def _display_url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _chunks(seq: Sequence, n: int) -> Iterator[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


# -- the store ------------------------------------------------------------------


class Store:
    """Access to one stekker database.  Use :meth:`Store.open`."""

    def __init__(self, engine: sa.Engine | str | os.PathLike = "stekker.db", display: str | None = None):
        if not isinstance(engine, sa.Engine):  # Store("stekker.db") == Store.open("stekker.db")
            opened = type(self).open(engine)
            self.__dict__.update(opened.__dict__)
            return
        self.engine = engine
        self.url = display or _display_url(engine.url)
        self.dialect = engine.dialect.name

    # -- opening --------------------------------------------------------------
    @classmethod
    def open(cls, db: str | os.PathLike = "stekker.db", create: bool = True) -> "Store":
        """Open (and create if needed) a database.

        ``db`` is a file path (SQLite; ``:memory:`` for a private in-memory
        database) or a ``postgresql://`` / ``postgresql+psycopg://`` URL.
        ``create=False`` (commands that only read) refuses a SQLite file that
        does not exist instead of creating an empty one (a typo in --db).
        Raises :class:`StoreError` with a readable message when the database
        cannot be used."""
        db = os.fspath(db)
        low = db.lower()
        if low.startswith(("postgresql:", "postgresql+psycopg:", "postgres:")):
            engine, display = cls._pg_engine(db)
        elif low.startswith("sqlite:"):
            raise StoreError(f"give a SQLite database as a plain file path, not a URL: {db!r}")
        elif "://" in db:
            scheme = db.split("://", 1)[0]
            raise StoreError(
                f"unsupported database URL scheme {scheme!r}: use a file path (SQLite) "
                "or postgresql://user@host/dbname"
            )
        else:
            if not create and db != ":memory:" and not Path(db).expanduser().exists():
                raise StoreError(f"no database {db} (a typo in --db? `stekker scan` creates one)")
            engine, display = cls._sqlite_engine(db)
        store = cls(engine, display)
        store._init_schema()
        return store

    @staticmethod
    def _sqlite_engine(path: str) -> tuple[sa.Engine, str]:
        if path == ":memory:":
            engine = sa.create_engine(
                "sqlite://",
                connect_args={"check_same_thread": False},
                poolclass=sa.pool.StaticPool,
            )
            display = ":memory:"
        else:
            p = Path(path).expanduser()
            if p.is_dir():
                raise StoreError(f"cannot open database {path}: it is a directory")
            if not p.parent.exists():
                raise StoreError(f"cannot open database {path}: directory {p.parent} does not exist")
            engine = sa.create_engine(
                sa.URL.create("sqlite", database=str(p)),
                connect_args={"check_same_thread": False, "timeout": 60},
            )
            display = str(p)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            if display != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA cache_size=-16384")  # 16 MiB (default 2): larger indexes, bounded RSS
            cur.close()

        return engine, display

    @staticmethod
    def _pg_engine(db: str) -> tuple[sa.Engine, str]:
        try:
            url = sa.make_url(db)
        except Exception as e:  # noqa: BLE001
            raise StoreError(f"invalid PostgreSQL URL {db!r}: {e}") from None
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            url = url.set(drivername="postgresql+psycopg")
        else:
            raise StoreError(f"unsupported PostgreSQL driver {url.drivername!r}: use postgresql://...")
        query = dict(url.query)
        connect_args = {} if "connect_timeout" in query else {"connect_timeout": 10}
        engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        return engine, _display_url(url)

    def _init_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":  # two processes creating the tables at once
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(74657374)"))
                insp = sa.inspect(conn)
                existing = set(insp.get_table_names())
                if existing & {"scans", "queries", "targets"} and "meta" not in existing:
                    raise StoreError(
                        f"{self.url} holds tables of an older stekker without a schema version; "
                        "use a new database (--db)"
                    )
                S.metadata.create_all(conn)
                for table in S.metadata.sorted_tables:  # a damaged or hand-edited database
                    if table.name not in existing:
                        continue
                    have = {c["name"] for c in insp.get_columns(table.name)}
                    missing = [c.name for c in table.columns if c.name not in have]
                    if missing:
                        raise StoreError(
                            f"{self.url}: table {table.name} lacks column(s) {', '.join(missing)}; the database "
                            "was changed outside stekker or is damaged; use a new database (--db)"
                        )
                row = conn.execute(
                    sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")
                ).first()
                if row is None:
                    conn.execute(S.meta.insert().values(key="schema_version", value=str(S.SCHEMA_VERSION)))
                elif row[0] != str(S.SCHEMA_VERSION):
                    raise StoreError(
                        f"{self.url} uses stekker storage schema {row[0]}, this stekker needs "
                        f"{S.SCHEMA_VERSION}; use a new database (--db) or a matching stekker version"
                    )
        except StoreError:
            self.engine.dispose()
            raise
        except sa.exc.DBAPIError as e:
            self.engine.dispose()
            msg = str(getattr(e, "orig", e)).strip().splitlines()
            what = "PostgreSQL" if self.dialect == "postgresql" else "SQLite"
            raise StoreError(f"cannot use {what} database {self.url}: {msg[0] if msg else e}") from None
        except sa.exc.SQLAlchemyError as e:
            self.engine.dispose()
            raise StoreError(f"cannot use database {self.url}: {e}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- writer side ------------------------------------------------------------
    def create_scan(
        self,
        *,
        tool_version: str,
        plan_version: int,
        input_path: str | None,
        input_sha256: str | None,
        resolvers: list[str],
        options: dict,
        label: str | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                S.scans.insert().values(
                    started_at=time.time(),
                    state="created",
                    tool_version=str(tool_version),
                    plan_version=int(plan_version),
                    input_path=_clean(str(input_path)) if input_path is not None else None,
                    input_sha256=input_sha256,
                    resolvers=_jdump(list(resolvers)),
                    options=_jdump(options or {}),
                    label=_clean(label),
                )
            )
            return int(res.inserted_primary_key[0])

    def mark_running(self, scan_id: int) -> None:
        self._set_state(scan_id, state="running", finished_at=None)

    def finish_scan(self, scan_id: int, state: str, summary: dict | None = None) -> None:
        if state not in _FINAL_STATES:
            raise StoreError(f"finish_scan: state must be one of {', '.join(_FINAL_STATES)}, not {state!r}")
        self._set_state(scan_id, state=state, finished_at=time.time(), summary=_jdump(summary or {}))

    def _set_state(self, scan_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(S.scans.update().where(S.scans.c.id == scan_id).values(**values))
            if res.rowcount == 0:
                raise ScanNotFound(f"no scan {scan_id} in {self.url}")

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
                                "b_lines": _jdump(_merge(_jlist(old.lines), f["lines"])),
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
                    for k in ("organisations", "sectors", "hosts", "lines"):
                        _merge(cur[k], f[k])
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

    def write_domain(self, scan_id: int, domain: str, status: str, rows: Sequence[tuple[QueryResult, bytes | None]]) -> None:
        """All query rows of one domain and its done flag, in one transaction.
        Any earlier rows of the domain are replaced."""
        self.write_domains(scan_id, [(domain, status, rows)])

    def write_domains(
        self, scan_id: int, items: Sequence[tuple[str, str, Sequence[tuple[QueryResult, bytes | None]]]]
    ) -> None:
        """Several domains in one transaction (all or nothing for the batch)."""
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
            n = {"present": 0, "absent": 0, "error": 0}
            qrows: list[tuple] = []
            per_domain.append(qrows)
            for i, item in enumerate(rows):
                if isinstance(item, QueryResult):
                    r, wire = item, None
                else:
                    r, wire = item
                answers = r.answers
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
                        _janswers(answers),
                        None if wire is None else bytes(wire),
                    )
                )
            done.append(
                {"b_domain": domain, "b_status": str(_enum_value(status)),
                 "b_present": n["present"], "b_absent": n["absent"], "b_error": n["error"]}
            )
        if len(set(domains)) != len(domains):
            raise StoreError("write_domains: the same domain twice in one batch")
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
                    f"write_domains: not a target of scan {scan_id}: {', '.join(missing[:5])}"
                    + (" ..." if len(missing) > 5 else "")
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

    _QUERY_COLUMNS = (
        "scan_id", "tseq", "seq", "domain", "purpose", "qname", "qtype", "status", "rcode", "error_kind",
        "absent_kind", "wildcard", "resolver", "ts", "detail", "answers", "wire",
    )

    _TARGET_COLUMNS = (
        "scan_id", "domain", "seq", "input_name", "organisations", "sectors", "hosts", "lines", "done",
        "n_present", "n_absent", "n_error",
    )

    def _insert_queries(self, conn: sa.Connection, rows: list[tuple]) -> None:
        self._bulk_insert(conn, "queries", self._QUERY_COLUMNS, rows)

    def _bulk_insert(self, conn: sa.Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """Bulk insert on the transaction's own DBAPI connection: COPY on
        PostgreSQL, executemany on SQLite (several times faster than going
        through SQLAlchemy's parameter processing)."""
        cols = ", ".join(columns)
        raw = conn.connection.dbapi_connection
        if self.dialect == "postgresql":
            with raw.cursor() as cur:
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
        elif self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            cur = raw.cursor()
            try:
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            finally:
                cur.close()
        else:  # pragma: no cover - other backends are refused by open()
            conn.execute(S.metadata.tables[table].insert(), [dict(zip(columns, r)) for r in rows])

    # -- reader side ------------------------------------------------------------
    def resolve_scan(self, ref: str | int | None = None) -> int:
        """``None``/``"latest"`` -> the newest scan; a number -> that scan;
        other text -> the newest scan with that label."""
        s = S.scans
        with self.engine.connect() as conn:
            if ref is None or (isinstance(ref, str) and ref.strip().lower() in ("", "latest", "last")):
                newest = conn.execute(sa.select(sa.func.max(s.c.id))).scalar()
                if newest is None:
                    raise ScanNotFound(f"no scans in {self.url} yet; run `stekker scan FILE` first")
                return int(newest)
            if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit()):
                sid = int(ref)
                if not 0 < sid < 2**63:
                    raise ScanNotFound(f"no scan {sid} in {self.url}{self._known_scans_hint(conn)}")
                if conn.execute(sa.select(s.c.id).where(s.c.id == sid)).first() is None:
                    raise ScanNotFound(f"no scan {sid} in {self.url}{self._known_scans_hint(conn)}")
                return sid
            row = conn.execute(
                sa.select(s.c.id).where(s.c.label == str(ref)).order_by(s.c.id.desc()).limit(1)
            ).first()
            if row is None:
                raise ScanNotFound(
                    f"no scan with id or label {ref!r} in {self.url}{self._known_scans_hint(conn)}"
                )
            return int(row[0])

    def _known_scans_hint(self, conn: sa.Connection) -> str:
        ids = conn.execute(sa.select(S.scans.c.id).order_by(S.scans.c.id)).scalars().all()
        if not ids:
            return " (it holds no scans yet)"
        if len(ids) <= 8:
            return f" (scans: {', '.join(map(str, ids))})"
        return f" (scans: {ids[0]}..{ids[-1]}, {len(ids)} in all)"

    def _require_scan(self, conn: sa.Connection, scan_id: int) -> sa.Row:
        row = conn.execute(sa.select(S.scans).where(S.scans.c.id == scan_id)).first()
        if row is None:
            raise ScanNotFound(f"no scan {scan_id} in {self.url}{self._known_scans_hint(conn)}")
        return row

    @staticmethod
    def _scan_dict(row: sa.Row) -> dict:
        return {
            "id": row.id,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "state": row.state,
            "tool_version": row.tool_version,
            "plan_version": row.plan_version,
            "input_path": row.input_path,
            "input_sha256": row.input_sha256,
            "resolvers": _jlist(row.resolvers),
            "options": json.loads(row.options) if row.options else {},
            "label": row.label,
            "summary": json.loads(row.summary) if row.summary else None,
        }

    def scan_info(self, scan_id: int) -> dict:
        t, ii = S.targets, S.input_issues
        with self.engine.connect() as conn:
            info = self._scan_dict(self._require_scan(conn, scan_id))
            counts = {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0}
            for done, status, n in conn.execute(
                sa.select(t.c.done, t.c.status, sa.func.count())
                .where(t.c.scan_id == scan_id)
                .group_by(t.c.done, t.c.status)
            ):
                counts["targets"] += n
                if done:
                    counts["done"] += n
                    key = status or "unknown"
                    counts[key] = counts.get(key, 0) + n
            counts["pending"] = counts["targets"] - counts["done"]
            qcounts = dict(
                zip(
                    ("present", "absent", "error"),
                    (
                        int(x or 0)
                        for x in conn.execute(
                            sa.select(
                                sa.func.sum(t.c.n_present), sa.func.sum(t.c.n_absent), sa.func.sum(t.c.n_error)
                            ).where(t.c.scan_id == scan_id, t.c.done == True)  # noqa: E712
                        ).one()
                    ),
                )
            )
            counts["queries"] = sum(qcounts.values())
            counts["queries_present"] = qcounts.get("present", 0)
            counts["queries_absent"] = qcounts.get("absent", 0)
            counts["queries_error"] = qcounts.get("error", 0)
            counts["input_issues"] = conn.execute(
                sa.select(sa.func.count()).select_from(ii).where(ii.c.scan_id == scan_id)
            ).scalar()
            info["counts"] = counts
        return info

    def list_scans(self) -> list[dict]:
        """All scans, newest first, with target/done counts."""
        t = S.targets
        with self.engine.connect() as conn:
            per: dict[int, dict] = {}
            for sid, done, status, n in conn.execute(
                sa.select(t.c.scan_id, t.c.done, t.c.status, sa.func.count()).group_by(t.c.scan_id, t.c.done,
                                                                                      t.c.status)
            ):
                c = per.setdefault(sid, {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0})
                c["targets"] += n
                if done:
                    c["done"] += n
                    if status in ("ok", "nxdomain", "error"):
                        c[status] += n
            out = []
            for row in conn.execute(sa.select(S.scans).order_by(S.scans.c.id.desc())):
                d = self._scan_dict(row)
                d["counts"] = per.get(row.id, {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0})
                out.append(d)
            return out

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

    def target(self, scan_id: int, domain: str) -> dict | None:
        """The target row of one domain (done or not), or None."""
        t = S.targets
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t).where(t.c.scan_id == scan_id, t.c.domain == _norm_domain(domain))
            ).first()
        return self._target_dict(row) if row is not None else None

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

    # -- attributions -------------------------------------------------------------
    def save_attributions(self, scan_id: int, kb_version: str, records: Iterable[dict], batch: int = 2000) -> int:
        """Replace the attributions of (scan, kb_version) with ``records``
        (``DomainAttribution.to_dict()`` dicts, each with a ``domain``)."""
        a = S.attributions
        now = time.time()
        n = 0
        with self.engine.begin() as conn:
            self._require_scan(conn, scan_id)
            conn.execute(a.delete().where(a.c.scan_id == scan_id, a.c.kb_version == kb_version))
            rows: list[dict] = []
            seen: set[str] = set()
            for rec in records:
                if hasattr(rec, "to_dict") and not isinstance(rec, dict):
                    rec = rec.to_dict()
                dom = rec.get("domain")
                if not dom:
                    raise StoreError(f"attribution record without a domain: {str(rec)[:200]}")
                dom = _norm_domain(dom)
                if dom in seen:
                    raise StoreError(f"two attribution records for {dom} (scan {scan_id}, kb {kb_version})")
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

    # -- datasets -------------------------------------------------------------------
    def record_dataset(self, name: str, source: str | None, version: str | None, fetched_at: float | None, path: str | None) -> None:
        d = S.datasets
        with self.engine.begin() as conn:
            conn.execute(d.delete().where(d.c.name == name))
            conn.execute(
                d.insert().values(name=name, source=source, version=version, fetched_at=fetched_at,
                                  path=None if path is None else str(path))
            )

    def datasets(self) -> list[dict]:
        d = S.datasets
        with self.engine.connect() as conn:
            return [
                {"name": r.name, "source": r.source, "version": r.version, "fetched_at": r.fetched_at, "path": r.path}
                for r in conn.execute(sa.select(d).order_by(d.c.name))
            ]
