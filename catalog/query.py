"""SQL over one snapshot of the catalog, with DuckDB.

A ``Snapshot`` loads the tables once into an in-process DuckDB database, so repeated
queries are answered from memory in milliseconds; ``refresh()`` moves it to the latest
commit. Each table ``T`` is a view of its current rows, ``T_history`` of every row.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from .tables import TABLES, CatalogStore, TableSpec

#: The table whose versions number the catalog's versions: every ingest commits it last.
VERSION_TABLE = "locations"


class Snapshot:
    """The catalog's tables as of one moment, queryable with SQL.

    Args:
        store: where the tables live.
        as_of: a commit time (datetime); or a catalog version (int), which is a version
            of the ``locations`` table, the table every ingest commits last; or None for
            the latest commit.

    Example:
        >>> snap = Snapshot(store)
        >>> snap.sql("SELECT count(*) FROM datasets WHERE day_obs = 20250415").fetchall()
    """

    def __init__(self, store: CatalogStore, as_of: dt.datetime | int | None = None) -> None:
        self.store = store
        self.as_of = as_of
        self.connection = duckdb.connect()
        self.refresh()

    def refresh(self) -> None:
        """Load the snapshot named by ``as_of`` (the latest commit when it is None)."""
        when: dt.datetime | None
        if isinstance(self.as_of, int):
            when = self.store.version_time(VERSION_TABLE, self.as_of)
        else:
            when = self.as_of
        for spec in TABLES.values():
            self._install(spec, self.store.load(spec.name, when))

    def sql(self, query: str, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run ``query`` against this snapshot; DuckDB parameters go in ``params``."""
        return self.connection.sql(query, params=params)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _install(self, spec: TableSpec, rows: object) -> None:
        history = f"{spec.name}_history"
        con = self.connection
        con.register("_incoming", rows)
        con.execute(f"CREATE OR REPLACE TABLE {history} AS SELECT * FROM _incoming")
        con.unregister("_incoming")
        direction = "DESC" if spec.keep == "last" else "ASC"
        keys = ", ".join(spec.key)
        con.execute(
            f"CREATE OR REPLACE TABLE {spec.name} AS SELECT * FROM {history} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {spec.order} {direction}) = 1 ORDER BY {keys}"
        )
