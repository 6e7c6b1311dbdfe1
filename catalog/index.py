"""What a writer must know before it commits, kept in memory and followed incrementally.

Before each batch an ingest asks: which of these dataset ids are already stored, and
with which checksum? Does another run hold this raw's data id? Which exposures have a
record already, and which raws carry their own correction? Scanning the tables for
that reads every small Parquet file a stream of commits leaves behind, so its cost
grows with history. A ``CatalogIndex`` answers from memory instead: before every
answer it brings the table up to date from the Delta log and reads only the data files
added since it last looked (its own commits and every other writer's), so an answer
always reflects the latest committed version and costs O(new), not O(history).

Compaction replaces files by new ones holding the same rows: those are read once more
and merge without effect (the latest ``recorded_at`` wins, as in a scan).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake.exceptions import DeltaError
from deltalake.fs import DeltaStorageHandler

from .append_log import LogReader, TableLog
from .errors import CatalogReadError
from .record_corrections import RAW_COLUMNS
from .tables import TABLES, CatalogStore

#: A raw's identity in the "one raw, one dataset" check.
DataIdKey = tuple[str, str, int, int]  # (dataset type, instrument, exposure, detector)


class TableTail:
    """The rows a table gained since the last call, read from its new data files only."""

    def __init__(self, store: CatalogStore, table: str, columns: Sequence[str]) -> None:
        self.store = store
        self.table = table
        self.columns = list(columns)
        self._seen: set[str] = set()
        self._reader: LogReader | None = None
        self._reader_of: TableLog | None = None

    def new_rows(self) -> pa.Table:
        """Rows in files added to the table since the last call (all rows, the first time).

        Raises:
            CatalogReadError: the log or a file could not be read; nothing is marked seen.
        """
        log = self.store.log(self.table)
        if log is None:
            return self._new_rows_from_delta()
        if self._reader is None or self._reader_of is not log:
            self._reader, self._reader_of = log.reader(), log
        reader = self._reader
        try:
            log.follow()
        except OSError as exc:
            raise CatalogReadError(self.table, exc) from exc
        drained = log.drain(reader)
        if drained.restart:
            known: list[pa.Table] = []
            wanted = list(drained.files)
        else:
            known = [a.rows.select(self.columns) for a in drained.added if a.rows is not None]
            wanted = [a.path for a in drained.added if a.rows is None]
        try:
            parts = known + self._fetch(log, wanted)
        except (OSError, pa.ArrowException) as exc:
            log.restart(reader)  # what was drained is lost: read everything next time
            raise CatalogReadError(self.table, exc) from exc
        if not parts:
            return TABLES[self.table].schema.empty_table().select(self.columns)
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def _fetch(self, log: TableLog, paths: Sequence[str]) -> list[pa.Table]:
        """Data files read whole, one GET each (in parallel when there are many: the
        first read of a table, or after another writer's burst)."""

        def read(path: str) -> pa.Table:
            data = log.objects.get(f"{log.prefix}/{path}")
            if data is None:
                raise OSError(f"{log.prefix}/{path}: data file missing")
            return pq.read_table(pa.BufferReader(data), columns=self.columns)

        if len(paths) <= 2:
            return [read(path) for path in paths]
        with ThreadPoolExecutor(min(8, len(paths))) as pool:
            return list(pool.map(read, paths))

    def _new_rows_from_delta(self) -> pa.Table:
        """``new_rows`` for a store without ``objects``: through ``deltalake``."""
        with self.store.kept(self.table) as delta:
            if delta is None:
                return TABLES[self.table].schema.empty_table().select(self.columns)
            try:
                delta.update_incremental()
                actions = pa.table(delta.get_add_actions(flatten=True))
            except (DeltaError, OSError) as exc:
                raise CatalogReadError(self.table, exc) from exc
            paths = actions.column("path").to_pylist()
            sizes = dict(zip(paths, actions.column("size_bytes").to_pylist(), strict=True))
            new = {p: sizes[p] for p in paths if p not in self._seen}
            if not new:
                return TABLES[self.table].schema.empty_table().select(self.columns)
            try:
                handler = DeltaStorageHandler.from_table(
                    delta._table,  # the only way to reuse its object store and credentials
                    dict(self.store.storage_options),
                    new,  # known sizes: no HEAD request per file
                )
            except (DeltaError, OSError) as exc:
                raise CatalogReadError(self.table, exc) from exc
        try:
            parts = [self._read(handler, path) for path in new]
        except (OSError, pa.ArrowException) as exc:
            raise CatalogReadError(self.table, exc) from exc
        self._seen = set(paths)  # files compacted away are forgotten: never read again
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def _read(self, handler: DeltaStorageHandler, path: str) -> pa.Table:
        """One data file, fetched whole in one request (commit files are small; a
        compacted one is read once) rather than footer first, then columns."""
        with handler.open_input_file(path) as file:
            data = file.read()
        return pq.read_table(pa.BufferReader(data), columns=self.columns)


class CatalogIndex:
    """Ids, checksums and exposure records a writer needs, as of the latest commit.

    Thread-safe: one lock per followed table. Memory grows with the catalog (a few
    hundred bytes per dataset), which a long-lived writer of one site can afford.

    Example:
        >>> index = CatalogIndex(store)
        >>> index.present_checksums(["9f0c..."])   # {} if not stored
    """

    def __init__(self, store: CatalogStore) -> None:
        self._locations = TableTail(
            store, "locations", ["dataset_id", "checksum", "state", "recorded_at"]
        )
        self._datasets = TableTail(
            store,
            "datasets",
            [
                "dataset_id",
                "dataset_type",
                "run",
                "instrument",
                "exposure",
                "detector",
                "recorded_at",
                "corrected_fields",
                "correction",
                *RAW_COLUMNS.values(),
            ],
        )
        self._exposures = TableTail(store, "exposures", TABLES["exposures"].schema.names)
        self._locks = {name: threading.Lock() for name in ("locations", "datasets", "exposures")}
        self._location: dict[str, dict[str, Any]] = {}  # id: latest row
        self._holders: dict[DataIdKey, dict[str, str]] = {}  # data id: {dataset id: run}
        self._corrected: dict[str, dict[str, Any]] = {}  # id: latest corrected row
        self._exposure: dict[tuple[str, int], dict[str, Any]] = {}  # latest row
        self._store = store
        self._scopes = 0  # ``batch`` blocks open: lookups answer from memory
        self._scope_lock = threading.Lock()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Bring every followed table up to date at once (in parallel), then answer
        the lookups inside the block from memory, without asking the log again.

        One ingest batch asks several questions of each table; one look at the log per
        table is enough for all of them (the key lock settles any later race).
        """
        futures = [
            self._store.executor().submit(follow)
            for follow in (self._follow_locations, self._follow_datasets, self._follow_exposures)
        ]
        for future in futures:
            future.result()
        with self._scope_lock:
            self._scopes += 1
        try:
            yield
        finally:
            with self._scope_lock:
                self._scopes -= 1

    def present_checksums(self, ids: Iterable[str], follow: bool | None = None) -> dict[str, str]:
        """Checksums of the datasets among ``ids`` whose bytes the site holds now.

        ``follow``: read new commits first (default: unless inside ``batch``).
        """
        if self._should_follow(follow):
            self._follow_locations()
        with self._locks["locations"]:
            found = {}
            for dataset in ids:
                row = self._location.get(dataset)
                if row is not None and row["state"] == "present":
                    found[dataset] = row["checksum"]
            return found

    def holders(self, keys: Iterable[DataIdKey]) -> dict[DataIdKey, dict[str, str]]:
        """``{data id: {dataset id: run}}`` of the datasets catalogued for these data ids."""
        if self._should_follow(None):
            self._follow_datasets()
        with self._locks["datasets"]:
            return {key: dict(self._holders[key]) for key in keys if key in self._holders}

    def corrected(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The latest corrected row of each dataset among ``ids`` that has one."""
        if self._should_follow(None):
            self._follow_datasets()
        with self._locks["datasets"]:
            return {i: dict(self._corrected[i]) for i in ids if i in self._corrected}

    def exposures(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The latest stored row of each (instrument, exposure) among ``keys`` that has one."""
        if self._should_follow(None):
            self._follow_exposures()
        with self._locks["exposures"]:
            return {k: dict(self._exposure[k]) for k in keys if k in self._exposure}

    def _should_follow(self, follow: bool | None) -> bool:
        return follow if follow is not None else not self._scopes

    def _follow_locations(self) -> None:
        with self._locks["locations"]:
            for row in _rows(self._locations.new_rows()):
                _keep_latest(self._location, row["dataset_id"], row)

    def _follow_exposures(self) -> None:
        with self._locks["exposures"]:
            for row in _rows(self._exposures.new_rows()):
                _keep_latest(self._exposure, (row["instrument"], row["exposure"]), row)

    def _follow_datasets(self) -> None:
        with self._locks["datasets"]:
            for row in _rows(self._datasets.new_rows()):
                if row["exposure"] is not None and row["detector"] is not None:
                    key = (
                        row["dataset_type"],
                        row["instrument"],
                        row["exposure"],
                        row["detector"],
                    )
                    self._holders.setdefault(key, {})[row["dataset_id"]] = row["run"]
                if row["corrected_fields"] is not None:
                    _keep_latest(self._corrected, row["dataset_id"], row)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist() if table.num_rows else []


def _keep_latest(into: dict[Any, dict[str, Any]], key: Any, row: dict[str, Any]) -> None:
    """Keep ``row`` unless a row recorded later is already kept (a scan's "latest wins")."""
    kept = into.get(key)
    if kept is None or row["recorded_at"] >= kept["recorded_at"]:
        into[key] = row
