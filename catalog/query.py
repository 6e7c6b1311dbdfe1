"""SQL over one snapshot of the catalog, with DuckDB.

A ``Snapshot`` loads the tables once into an in-process DuckDB database, so repeated
queries are answered from memory in milliseconds; ``refresh()`` moves it to the latest
commit, reloading only the tables that changed. Each table ``T`` holds its current rows,
``T_history`` every row ever committed, and ``files`` the datasets present in the site
with where their bytes are (datasets joined to present locations, in exposure order, so
the commonest question, "the files of this exposure", reads no join).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from .tables import TABLES, CatalogStore, TableSpec

#: The table whose versions number the catalog's versions: every ingest commits it last,
#: and every records update commits it (empty) last.
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
        self._versions: dict[str, int | None] = {}
        self.refresh()

    def refresh(self) -> None:
        """Load the snapshot named by ``as_of`` (the latest commit when it is None)."""
        if isinstance(self.as_of, int):
            when = self.store.version_time(VERSION_TABLE, self.as_of)
        else:
            when = self.as_of
        changed = False
        for spec in TABLES.values():
            if when is None:
                version = self.store.latest_version(spec.name)
            else:
                version = self.store.version_at(spec.name, when)
            if spec.name in self._versions and self._versions[spec.name] == version:
                continue
            if version is None:  # no such table then (or yet)
                rows = spec.schema.empty_table()
            else:
                rows = self.store.load(spec.name, version=version)
            self._install(spec, rows)
            self._versions[spec.name] = version
            changed = True
        if changed:
            self._install_files()

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
            f"ORDER BY {spec.order} {direction}) = 1"
        )

    def _install_files(self) -> None:
        self.connection.execute(
            "CREATE OR REPLACE TABLE files AS "
            "SELECT d.*, l.key, l.size, l.checksum, l.file_name, l.recorded_at AS stored_at "
            "FROM datasets d JOIN locations l USING (dataset_id) WHERE l.state = 'present' "
            "ORDER BY d.instrument, d.day_obs, d.exposure, d.detector, d.dataset_type"
        )
