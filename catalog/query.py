"""SQL over one snapshot of the catalog, with DuckDB.

A ``Snapshot`` loads the tables once into an in-process DuckDB database, so repeated
queries are answered from memory in milliseconds; ``refresh()`` moves it to the latest
commit, reloading only the tables that changed. Each table ``T`` holds its current rows,
``T_history`` every row ever committed, and ``files`` the datasets present in the site
with where their bytes are (datasets joined to present locations, in exposure order, so
the commonest question, "the files of this exposure", reads no join). ``all_files`` is
the same for every catalogued dataset, with its location's ``state``: a dataset whose
bytes expired, went missing or are at another site stays known there, never in ``files``.

A snapshot is in memory (every row loaded once: fastest for a small site) or lazy (only
the Delta logs read at open; each query scans the files its predicates select), see
``catalog.lazy_tables``; without a ``mode`` the catalog's size chooses.

A snapshot is read-only: ``sql()`` runs queries only (anything that would change the
loaded tables, even a data-modifying CTE, is refused, so a tampered row cannot mislead a
later lookup), and DuckDB's access to local files is switched off and locked (no
``read_csv('/etc/passwd')``, ``COPY … TO``, ``ATTACH``) unless ``allow_local_files``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pa_fs
from deltalake import DeltaTable

from .current_files import SOURCES as STATE_SOURCES
from .current_files import CurrentFiles, open_current_files
from .dataset_index import DatasetIndex
from .errors import ReadOnlyQueryError
from .lazy_tables import (
    MODES,
    SnapshotMode,
    choose_mode,
    install,
    install_file_views,
    s3_filesystem,
)
from .obscore import obscore_view_sql
from .tables import TABLES, CatalogStore

#: The table whose versions number the catalog's versions: every ingest commits it last,
#: and every records update commits it (empty) last.
VERSION_TABLE = "locations"

#: Lookups of more ids than this scan instead of naming each one's exposure (a query
#: with thousands of exposures in OR would cost more to plan than the scan).
INDEXED_IDS = 64

#: Query nodes a read may contain; anything else (DELETE_QUERY_NODE in a CTE …) is refused.
_WITH = re.compile(r"\bwith\b", re.IGNORECASE)
_READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
#: Query texts already judged reads: a repeated query (a loop over exposures with
#: parameters) is not parsed again, so the check costs nothing on the warm path.
_KNOWN_READS: set[str] = set()


class Snapshot:
    """The catalog's tables as of one moment, queryable with SQL.

    Args:
        store: where the tables live.
        as_of: a commit time (datetime); or a catalog version (int), which is a version
            of the ``locations`` table, the table every ingest commits last; or None for
            the latest commit.
        allow_local_files: let queries read local files (``read_csv``, ``read_parquet``),
            e.g. to join a list of ids kept on disk. Off by default. Writing stays refused.
        mode: ``"memory"`` (load every row), ``"lazy"`` (read only the logs; queries scan
            the files they need), or None: lazy from ``catalog.lazy_tables.LAZY_ROWS``
            rows, counted in the logs at open. Kept by ``refresh()``.
        current_files: a lazy snapshot of the latest version reads ``files`` and
            ``all_files`` from the current-files state where it is up to date
            (``catalog.current_files``); False always joins the history (what the
            state's own refresh reads).

    Raises:
        LookupError: ``as_of`` names a catalog version that does not exist.
        ValueError: ``mode`` is not one of those.

    Example:
        >>> snap = Snapshot(store)
        >>> snap.sql("SELECT count(*) FROM datasets WHERE day_obs = 20250415").fetchall()
    """

    def __init__(
        self,
        store: CatalogStore,
        as_of: dt.datetime | int | None = None,
        allow_local_files: bool = False,
        mode: SnapshotMode | None = None,
        current_files: bool = True,
    ) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"snapshot mode {mode!r}: use one of {', '.join(MODES)}")
        self.store = store
        self.as_of = as_of
        self.mode: SnapshotMode | None = mode  # decided by the first refresh if None
        self.connection: duckdb.DuckDBPyConnection  # made by the first refresh
        self._versions: dict[str, int | None] = {}
        self._filesystem: pa_fs.FileSystem | None = None  # lazy: the files' S3 client
        self._datasets: DeltaTable | None = None  # lazy: the version the id index serves
        self._id_index: DatasetIndex | None = None  # opened by the first lookup by id
        self._id_index_opened = False
        self._use_current_files = current_files
        self._sources: dict[str, DeltaTable | None] = {}  # lazy: the state's tables
        #: The current-files state this snapshot reads (None: the history join only).
        self.current_files: CurrentFiles | None = None
        self.refresh()
        if not allow_local_files:
            # Refreshing registers Python Arrow objects only (tables, or datasets read
            # by pyarrow, not by DuckDB), so refresh() and lazy scans still work.
            self.connection.execute("SET enable_external_access = false")
            self.connection.execute("SET lock_configuration = true")

    def refresh(self) -> None:
        """Load the snapshot named by ``as_of`` (the latest commit when it is None)."""
        if isinstance(self.as_of, int):
            try:
                when = self.store.version_time(VERSION_TABLE, self.as_of)
            except LookupError:
                newest = self.store.latest_version(VERSION_TABLE)
                raise LookupError(
                    f"catalog version {self.as_of} does not exist: "
                    + ("the catalog has none yet" if newest is None else f"the newest is {newest}")
                    + " (`oods catalog versions` lists them)"
                ) from None
        else:
            when = self.as_of
        changed: dict[str, DeltaTable | None] = {}
        # Each table's log is read in a thread of its own: most of the time of opening
        # a snapshot is waiting on storage and parsing in deltalake, outside the GIL.
        with ThreadPoolExecutor(len(TABLES)) as pool:
            opening = [pool.submit(self._open_as_of, name, when) for name in TABLES]
            if not hasattr(self, "connection"):  # meanwhile: 15 ms of a 120 ms open
                self.connection = duckdb.connect()
            opened = [future.result() for future in opening]
        for spec, delta in zip(TABLES.values(), opened, strict=True):
            version = None if delta is None else delta.version()
            if spec.name in self._versions and self._versions[spec.name] == version:
                continue
            changed[spec.name] = delta
            self._versions[spec.name] = version
        if not changed:
            return
        if self.mode is None:
            self.mode = choose_mode(changed)
        if self.mode == "lazy" and self._filesystem is None:
            self._filesystem = s3_filesystem(self.store.root, self.store.storage_options)
        for name, delta in changed.items():
            install(self.connection, TABLES[name], delta, self.mode, self._filesystem)
        if "datasets" in changed:
            self._datasets, self._id_index_opened = changed["datasets"], False
        self._sources.update({n: d for n, d in changed.items() if n in STATE_SOURCES})
        self._install_files()

    @property
    def versions(self) -> dict[str, int | None]:
        """Each table's Delta version in this snapshot (None: no such table then)."""
        return dict(self._versions)

    @property
    def state_sources(self) -> dict[str, DeltaTable | None]:
        """The ``datasets`` and ``locations`` tables as this snapshot opened them (what
        the current files are built from: ``catalog.current_files``)."""
        return dict(self._sources)

    def sql(self, query: str, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run ``query`` against this snapshot; DuckDB parameters go in ``params``.

        Raises:
            ReadOnlyQueryError: the SQL would change the snapshot (DELETE, DROP, SET …).
        """
        check_read_only(self.connection, query)
        return self.connection.sql(query, params=params)

    def dataset_id_condition(
        self, dataset_id: str, alias: str = ""
    ) -> tuple[str, dict[str, object]]:
        """A WHERE condition (and its parameters) for one dataset id in ``datasets``,
        ``files`` or ``all_files``, columns prefixed by ``alias`` (``"d."``).

        Lazy, with a dataset index (``catalog.dataset_index``), it also names the
        dataset's instrument, night and exposure, so the scans read that exposure's files
        instead of every file's ids; an id in no file of this snapshot gives ``FALSE``.
        The rows selected are the same either way.
        """
        return self.dataset_ids_condition([dataset_id], alias)

    def dataset_ids_condition(
        self, dataset_ids: Sequence[str], alias: str = ""
    ) -> tuple[str, dict[str, object]]:
        """``dataset_id_condition`` for several ids (up to ``INDEXED_IDS`` through the index)."""
        ids = list(dict.fromkeys(dataset_ids))
        if not ids:
            return "FALSE", {}
        column = f"{alias}dataset_id"
        params: dict[str, object]
        if len(ids) == 1:
            test, params = f"{column} = $id_dataset", {"id_dataset": ids[0]}
        else:
            test, params = f"list_contains($id_datasets, {column})", {"id_datasets": ids}
        places = self._index_places(ids) if len(ids) <= INDEXED_IDS else None
        if places is None:
            return test, params
        clauses = []
        for n, place in enumerate(places):
            parts = []
            for name, value in zip(("instrument", "day_obs", "exposure"), place, strict=True):
                if value is None:
                    parts.append(f"{alias}{name} IS NULL")
                else:
                    parts.append(f"{alias}{name} = $id_{name}{n}")
                    params[f"id_{name}{n}"] = value
            clauses.append("(" + " AND ".join(parts) + ")")
        return f"{test} AND ({' OR '.join(clauses) or 'FALSE'})", params

    def _index_places(
        self, dataset_ids: Sequence[str]
    ) -> list[tuple[str | None, int | None, int | None]] | None:
        """Where the index puts ``dataset_ids``; None without an index (or if unreadable)."""
        if self.mode != "lazy" or self._datasets is None:
            return None
        try:
            if not self._id_index_opened:
                self._id_index = DatasetIndex.open(self.store, self._datasets, self._filesystem)
                self._id_index_opened = True
            if self._id_index is None:
                return None
            return self._id_index.places(dataset_ids)
        except (OSError, pa.ArrowException):
            self._id_index = None  # replaced by maintenance meanwhile: scan this time
            return None

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_as_of(self, table: str, when: dt.datetime | None) -> DeltaTable | None:
        """The table as of ``when`` (latest if None); None if it did not exist then."""
        if when is None:
            return self.store.open(table)
        version = self.store.version_at(table, when)
        return None if version is None else self.store.open(table, version=version)

    def _install_files(self) -> None:
        if self.mode == "lazy":
            install_file_views(self.connection)  # the same rows, found from the datasets
            self._install_current_files()
        else:
            self._install_memory_files()
        # The present raws and calibrations as IVOA ObsCore rows (see catalog.obscore).
        self.connection.execute(obscore_view_sql(self.store.root))

    def _install_current_files(self) -> None:
        """Read ``files`` from the current-files state, if this snapshot may (see
        ``catalog.current_files``); otherwise the history join stays."""
        self.current_files = None
        if self.as_of is not None or not self._use_current_files:
            return
        columns = self.connection.sql("SELECT * FROM all_files").columns  # bound, not run
        state = open_current_files(self.store, self._sources, columns, self._filesystem)
        if state is None:
            return
        tail = None if state.tail.empty else state.tail.condition()
        install_file_views(self.connection, state.dataset, tail, state.in_order)
        self.current_files = state

    def _install_memory_files(self) -> None:
        self.connection.execute(
            "CREATE OR REPLACE TABLE files AS "
            "SELECT d.*, l.key, l.size, l.checksum, l.file_name, l.recorded_at AS stored_at "
            "FROM datasets d JOIN locations l USING (dataset_id) WHERE l.state = 'present' "
            "ORDER BY d.instrument, d.day_obs, d.exposure, d.detector, d.dataset_type, d.dataset_id"
        )
        # Every catalogued dataset with its latest location, whatever its state
        # (present, expired, missing, remote …): what `oods ls --all` lists. A view:
        # rarely asked, so a refresh does not pay for it.
        self.connection.execute(
            "CREATE OR REPLACE VIEW all_files AS "
            "SELECT d.*, l.key, l.size, l.checksum, l.file_name, l.state, "
            "l.recorded_at AS stored_at "
            "FROM datasets d JOIN locations l USING (dataset_id) "
            "ORDER BY d.instrument, d.day_obs, d.exposure, d.detector, d.dataset_type, d.dataset_id"
        )


def check_read_only(connection: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse SQL that is not a pure read, judged by DuckDB's own parser.

    Statement types alone are not enough: ``WITH t AS (DELETE … RETURNING *) SELECT …``
    is a SELECT statement, so the parsed tree is checked for any non-query node too.

    Raises:
        ReadOnlyQueryError: naming the first statement or node that is not a read.
        duckdb.ParserException: the SQL does not parse.
    """
    if query in _KNOWN_READS:
        return
    _judge(connection, query)
    if len(_KNOWN_READS) >= 4096:
        _KNOWN_READS.clear()
    _KNOWN_READS.add(query)


def _judge(connection: duckdb.DuckDBPyConnection, query: str) -> None:
    for statement in connection.extract_statements(query):
        if statement.type != duckdb.StatementType.SELECT:
            raise ReadOnlyQueryError(statement.type.name)
    if not _WITH.search(query):
        return  # a data-modifying statement inside a SELECT needs a top-level WITH
    ((text,),) = connection.execute("SELECT json_serialize_sql($q)", {"q": query}).fetchall()
    tree = json.loads(text)
    if tree.get("error"):
        raise ReadOnlyQueryError(str(tree.get("error_message", "this statement")))
    for node in _node_types(tree):
        if node not in _READ_NODES:
            raise ReadOnlyQueryError(node.removesuffix("_NODE").replace("_QUERY", ""))


def _node_types(tree: Any) -> list[str]:
    """Every ``…_NODE`` type in a serialised statement tree."""
    found: list[str] = []
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            if isinstance(kind, str) and kind.endswith("_NODE"):
                found.append(kind)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
