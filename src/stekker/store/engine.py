"""Opening a stekker database (SQLite or PostgreSQL), checking its schema,
and the few primitives every part of the store uses (bulk insert, "this
scan must exist").  :class:`StoreBase` is the body the per-concern mixins
(scans, targets, evidence, attributions, datasets) are added to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self, Sequence

import sqlalchemy as sa
from sqlalchemy import event

from stekker.i18n import _
from stekker.store import schema as S


class StoreError(Exception):
    """The database cannot be used (unreachable, invalid, wrong schema) or a
    request is invalid (unknown scan, unknown domain); the message is shown to
    the user, in the user's language (it is never stored)."""


class ScanNotFound(StoreError, LookupError):
    """No scan matches the reference."""


def _display_url(url: sa.URL) -> str:
    """A store's URL as messages show it: :func:`display_db`'s rule (no password)."""
    return display_db(url.render_as_string(hide_password=False), quote=False)


SQLITE_BUSY_MS = 60_000  # how long a SQLite statement waits for a lock another process holds


def display_db(db: str | os.PathLike, quote: bool = True) -> str:
    """A ``--db`` value as stekker prints it (titles, "resume with: ..."
    hints, crash files): a URL without its password (``postgresql://u@host/db``:
    pasted back, the password comes from PGPASSWORD or ~/.pgpass), in the
    user part and in a ``password=`` parameter alike; quoted for a shell when
    it needs it (``quote=False``: as it is)."""
    import re
    import shlex

    text = os.fspath(db)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        head, sep, query = rest.partition("?")
        if "@" in head:  # user[:password]@host...: the password may itself hold '@' or ':'
            userinfo, host = head.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            head = f"{user}@{host}" if user else host
        if sep:
            query = "&".join(p for p in query.split("&") if not re.match(r"(?i)\s*password\s*=", p))
        text = f"{scheme}://{head}" + (f"?{query}" if sep and query else "")
    return shlex.quote(text) if quote else text


class StoreBase:
    """Connection and schema of one stekker database."""

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
    def open(cls, db: str | os.PathLike = "stekker.db", create: bool = True) -> Self:
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
            raise StoreError(_("give a SQLite database as a plain file path, not a URL: {db!r}").format(db=db))
        elif "://" in db:
            scheme = db.split("://", 1)[0]
            raise StoreError(
                _("unsupported database URL scheme {scheme!r}: use a file path (SQLite) "
                  "or postgresql://user@host/dbname").format(scheme=scheme)
            )
        else:
            if not create and db != ":memory:" and not Path(db).expanduser().exists():
                raise StoreError(_("no database {db} (a typo in --db? `stekker scan` creates one)").format(db=db))
            readonly = False
            if db != ":memory:":
                p = Path(db).expanduser()
                _refuse_foreign_sqlite(p, db)
                # a command that only reads, on a file it may not write (an archived or shared copy):
                # opened read-only, the schema checked, nothing created
                readonly = (not create and p.is_file()
                            and not (os.access(p, os.W_OK) and os.access(p.parent, os.W_OK)))
            engine, display = cls._sqlite_engine(db, readonly=readonly)
            store = cls(engine, display)
            store.readonly = readonly
            store._init_schema()
            return store
        store = cls(engine, display)
        store._init_schema(create=create)
        return store

    readonly = False  # opened read-only (a file this process may not write)

    @staticmethod
    def _sqlite_engine(path: str, readonly: bool = False) -> tuple[sa.Engine, str]:
        if readonly:
            import sqlite3

            p = Path(path).expanduser().resolve()
            wal = p.with_name(p.name + "-wal")
            # no locks or -shm file, nothing written; but a -wal file with changes not yet in the
            # database must be read, which needs SQLite's shared memory beside it
            uri = f"{p.as_uri()}?mode=ro" + ("" if wal.is_file() and wal.stat().st_size else "&immutable=1")
            engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True,
                                                                                 check_same_thread=False))
            return engine, str(p)
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
                raise StoreError(_("cannot open database {path}: it is a directory").format(path=path))
            if not p.parent.exists():
                raise StoreError(_("cannot open database {path}: directory {parent} does not exist").format(path=path,
                                                                                                 parent=p.parent))
            engine = sa.create_engine(
                sa.URL.create("sqlite", database=str(p)),
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
            )
            display = str(p)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            if display != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_MS)}")
            cur.execute("PRAGMA cache_size=-16384")  # 16 MiB (default 2): larger indexes, bounded RSS
            cur.close()

        return engine, display

    @staticmethod
    def _pg_engine(db: str) -> tuple[sa.Engine, str]:
        try:
            url = sa.make_url(db)
            url.port  # noqa: B018 - a port that is not a number fails here, not at connect time
        except Exception:  # noqa: BLE001
            raise StoreError(_("invalid PostgreSQL URL {url!r}: write postgresql://user@host:port/dbname "
                               "(the password in PGPASSWORD or ~/.pgpass)").format(url=display_db(db, quote=False))) from None
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            url = url.set(drivername="postgresql+psycopg")
        else:
            raise StoreError(_("unsupported PostgreSQL driver {driver!r}: use postgresql://...").format(driver=url.drivername))
        query = dict(url.query)
        connect_args = {} if "connect_timeout" in query else {"connect_timeout": 10}
        engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        return engine, _display_url(url)

    def _init_schema(self, create: bool = True) -> None:
        for attempt in range(3):
            try:
                return self._init_schema_once(create)
            except _RaceLost:  # another process created the tables between our look and our CREATE
                continue
        self._init_schema_once(create, last=True)

    def _init_schema_once(self, create: bool = True, last: bool = False) -> None:
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":  # two processes creating the tables at once
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(74657374)"))
                elif not self.readonly:
                    # SQLite: the look and the CREATEs in one locked step. pysqlite emits no BEGIN before
                    # DDL, so each CREATE committed alone and a process that looked meanwhile collided
                    # (4 processes opening a new file: 6 of 20 runs failed after the retries)
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                insp = sa.inspect(conn)
                existing = set(insp.get_table_names())
                if self.dialect == "postgresql" and _is_foreign(existing):
                    # another application's database (a typo in --db): stekker's tables are not added
                    # to it, as for a SQLite file (_refuse_foreign_sqlite)
                    raise StoreError(_foreign_message(self.url, existing))
                if not create and self.dialect == "postgresql" and "meta" not in existing:
                    # a command that only reads creates nothing in a database that holds no stekker data
                    raise StoreError(_("{db} holds no stekker database (a typo in --db? `stekker scan` "
                                       "creates one)").format(db=self.url))
                if self.readonly:
                    row = conn.execute(sa.text("SELECT value FROM meta WHERE key = 'schema_version'")).first() \
                        if "meta" in existing else None
                    if row is None or row[0] != str(S.SCHEMA_VERSION):
                        raise StoreError(_("{db} (read-only) is not a stekker database of storage schema "
                                           "{version}; it cannot be upgraded without write access").format(
                            db=self.url, version=S.SCHEMA_VERSION))
                    return
                if existing & {"scans", "queries", "targets"} and "meta" not in existing:
                    raise StoreError(
                        _("{db} holds tables of an older stekker without a schema version; "
                          "use a new database (--db)").format(db=self.url)
                    )
                S.metadata.create_all(conn)
                for table in S.metadata.sorted_tables:  # a damaged or hand-edited database
                    if table.name not in existing:
                        continue
                    have = {c["name"] for c in insp.get_columns(table.name)}
                    missing = [c.name for c in table.columns if c.name not in have]
                    if missing:
                        raise StoreError(
                            _("{db}: table {table} lacks column(s) {columns}; the database "
                              "was changed outside stekker or is damaged; use a new database (--db)").format(
                                db=self.url, table=table.name, columns=", ".join(missing))
                        )
                row = conn.execute(
                    sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")
                ).first()
                if row is None:
                    conn.execute(S.meta.insert().values(key="schema_version", value=str(S.SCHEMA_VERSION)))
                elif row[0] != str(S.SCHEMA_VERSION):
                    raise StoreError(
                        _("{db} uses stekker storage schema {have}, this stekker needs "
                          "{need}; use a new database (--db) or a matching stekker version").format(
                            db=self.url, have=row[0], need=S.SCHEMA_VERSION)
                    )
        except StoreError:
            self.engine.dispose()
            raise
        except sa.exc.DBAPIError as e:
            text = str(getattr(e, "orig", e))
            if not last and self.dialect == "sqlite" and ("already exists" in text
                                                          or "UNIQUE constraint failed: meta.key" in text):
                # two stekker processes opening a new SQLite file at once (PostgreSQL takes an advisory lock)
                raise _RaceLost from None
            self.engine.dispose()
            msg = str(getattr(e, "orig", e)).strip().splitlines()
            what = "PostgreSQL" if self.dialect == "postgresql" else "SQLite"
            why = msg[0] if msg else str(e)
            if self.dialect == "sqlite" and "locked" in why:
                # another process holds the database past the busy timeout: say what to do (docs/CLI.md)
                raise StoreError(_("cannot use SQLite database {db}: another process holds it locked (waited {s} s); "
                                   "wait until it has finished and try again").format(
                    db=self.url, s=round(SQLITE_BUSY_MS / 1000))) from None
            if self.dialect == "sqlite" and self.url != ":memory:" and ("unable to open" in why or "readonly" in why):
                import os

                p = Path(self.url)
                if not os.access(p.parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
                    # explore-f L16: "unable to open database file" on a read-only mount said nothing of why
                    why += _(" - the file or its folder {folder} cannot be written (read-only); stekker writes "
                             "beside a database (its -wal file): copy it to a folder you may write").format(
                        folder=p.parent)
            raise StoreError(_("cannot use {what} database {db}: {why}").format(what=what, db=self.url,
                                                                                why=why)) from None
        except sa.exc.SQLAlchemyError as e:
            self.engine.dispose()
            raise StoreError(_("cannot use database {db}: {error}").format(db=self.url, error=e)) from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

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

    def _known_scans_hint(self, conn: sa.Connection) -> str:
        ids = conn.execute(sa.select(S.scans.c.id).order_by(S.scans.c.id)).scalars().all()
        if not ids:
            return _(" (it holds no scans yet)")
        if len(ids) <= 8:
            return _(" (scans: {ids})").format(ids=", ".join(map(str, ids)))
        return _(" (scans: {first}..{last}, {n} in all)").format(first=ids[0], last=ids[-1], n=len(ids))

    def _require_scan(self, conn: sa.Connection, scan_id: int) -> sa.Row:
        row = conn.execute(sa.select(S.scans).where(S.scans.c.id == scan_id)).first()
        if row is None:
            raise ScanNotFound(_("no scan {scan_id} in {db}{hint}").format(scan_id=scan_id, db=self.url,
                                                                             hint=self._known_scans_hint(conn)))
        return row


    def _lock_scan(self, conn: sa.Connection, scan_id: int, share: bool) -> None:
        """Lock the scan's row until the transaction ends (PostgreSQL; SQLite
        has one writer anyway): ``share`` for a save of attributions (FOR KEY
        SHARE: saves and updates of the scan's state go on), else for a change
        of its evidence (FOR UPDATE: waits for the saves under way)."""
        stmt = sa.select(S.scans.c.id).where(S.scans.c.id == scan_id)
        conn.execute(stmt.with_for_update(read=True, key_share=True) if share else stmt.with_for_update())


class _RaceLost(Exception):
    """Creating the schema lost a race with another process: look again."""


_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3")


_SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file


def _refuse_foreign_sqlite(p: Path, shown: str) -> None:
    """Refuse an existing SQLite file that holds tables but not stekker's, before anything is
    written to it: opening it would add stekker's tables and switch it to WAL mode - a change to
    another program's database (a typo in --db). Read through a read-only connection."""
    import sqlite3

    try:
        if not p.is_file():
            return
        if p.stat().st_size == 0:
            if p.suffix.lower() not in _DB_SUFFIXES:
                # an empty file of the user's (notes.txt, a spreadsheet not yet saved) given as --db by
                # mistake: not turned into a database (explore-f L12); `touch stekker.db` still is one
                raise StoreError(_("{db} is an empty file, not a database; give a new name ending in .db "
                                   "(stekker creates it) or remove the file first").format(db=shown))
            return
        with p.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError:
        return
    if head != _SQLITE_HEADER:
        # a file of the user's that is not a database: SQLite takes a file shorter than its header
        # for an empty database and writes over it - `scans --db one.txt` turned a 1-byte note into
        # a 64 KB database (field trial F8); refused before anything is opened
        raise StoreError(_("cannot use SQLite database {db}: the file is not a database (it does not begin "
                           "as one); a typo in --db? Give a new name ending in .db (stekker creates it)").format(
            db=shown))
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro&immutable=1", uri=True)  # no -wal/-shm made
    except sqlite3.Error:
        return  # cannot be read at all: the normal open reports why
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return  # not a SQLite database: the normal open reports it
    finally:
        conn.close()
    tables = {t for t in tables if not t.startswith("sqlite_")}
    if _is_foreign(tables):
        raise StoreError(_foreign_message(shown, tables))


def _is_foreign(tables: set[str]) -> bool:
    """Tables of another program: some, but not stekker's (``meta`` and
    ``scans``; tables of an older stekker without a schema version get their
    own message in _init_schema).  One rule for SQLite and PostgreSQL."""
    return bool(tables) and not {"meta", "scans"} <= tables and not tables & {"scans", "queries", "targets"}


def _foreign_message(shown: str, tables: set[str]) -> str:
    """The refusal of another program's database (SQLite file or PostgreSQL database)."""
    shown_tables = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return _("{db} is a database of another program (tables: {tables}); stekker does "
             "not write into it: give a new or a stekker database (--db)").format(db=shown, tables=shown_tables)
