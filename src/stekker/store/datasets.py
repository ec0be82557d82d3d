"""Which reference data sets (public suffix list, IP-to-ASN tables) a
database was used with: name, source, version, fetch time, path."""

from __future__ import annotations

import sqlalchemy as sa

from stekker.store import schema as S


class DatasetsMixin:
    """Rows of the ``datasets`` table."""

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
