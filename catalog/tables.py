"""The catalog's Delta Lake tables: where they live, how rows are appended, compaction.

Every table is append-only: a row is never changed, a newer row for the same key
supersedes it. That keeps history for time travel and avoids commit conflicts (an
append never conflicts with an append), so concurrent writers only need a bounded retry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from .errors import CatalogCommitError, CatalogReadError
from .records import (
    ArrivalRecord,
    CertificationRecord,
    DatasetRecord,
    ExposureRecord,
    LocationRecord,
    ProvenanceRecord,
    arrow_schema,
)

COMMIT_ATTEMPTS = 8
#: A writer compacts a table once it holds this many data files (see ``append``).
AUTO_COMPACT_FILES = 64
#: Files at least this big are left alone by automatic compaction, so that each
#: compaction rewrites only recent small files, not the whole history.
AUTO_COMPACT_TARGET = 8 * 2**20


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """A catalog table: its rows' schema and which rows are current.

    The current row for each ``key`` is the one with the greatest ``order`` value
    (or the least, with ``keep="first"``).
    """

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    order: str
    keep: str = "last"


def _with_recorded_at(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False))


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("datasets", arrow_schema(DatasetRecord), ("dataset_id",), "recorded_at"),
        TableSpec(
            "exposures",
            _with_recorded_at(arrow_schema(ExposureRecord)),
            ("instrument", "exposure"),
            "recorded_at",
        ),
        TableSpec("locations", arrow_schema(LocationRecord), ("dataset_id",), "recorded_at"),
        TableSpec(
            "calibrations", arrow_schema(CertificationRecord), ("validity_id",), "recorded_at"
        ),
        TableSpec(
            "provenance",
            arrow_schema(ProvenanceRecord),
            ("output_id", "input_id", "role"),
            "recorded_at",
            "first",
        ),
        TableSpec("arrivals", arrow_schema(ArrivalRecord), ("seq",), "recorded_at"),
    )
}


class _OpenTables:
    """Tables kept open by a long-lived writer, one lock each.

    Opening a table replays its log from the last checkpoint (up to 100 commits, and
    more objects as it grows); a kept table is brought up to date incrementally, so a
    writer's per-commit cost does not grow with history. A pickled store (sent to
    another process) starts with none: a ``DeltaTable`` is not shared across processes.
    """

    def __init__(self) -> None:
        self.tables: dict[str, DeltaTable] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()

    def lock(self, table: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(table, threading.Lock())

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (_OpenTables, ())


@dataclasses.dataclass(frozen=True)
class CatalogStore:
    """Where a catalog's tables live: a root URI plus deltalake ``storage_options``.

    Example:
        >>> store = CatalogStore("s3://summit/_catalog", {"AWS_ENDPOINT_URL": "..."})
    """

    root: str
    #: Holds the secret key: never in ``repr`` (notebooks and logs print stores).
    storage_options: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    #: Compact a table after an append once it has this many data files (None: never).
    auto_compact_files: int | None = AUTO_COMPACT_FILES
    _open: _OpenTables = dataclasses.field(
        default_factory=_OpenTables, init=False, repr=False, compare=False
    )

    def uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def open(self, table: str, version: int | None = None) -> DeltaTable | None:
        """The table at ``version`` (latest by default), or None if it was never created."""
        try:
            return DeltaTable(
                self.uri(table), version=version, storage_options=dict(self.storage_options)
            )
        except TableNotFoundError:
            return None
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(table, exc) from exc

    def create(self) -> None:
        """Create every table that does not exist yet (safe to call concurrently).

        This is also the migration for a new table: a catalog made before it existed
        (e.g. one without ``arrivals``) gets it on the next writer's open.
        """
        for spec in TABLES.values():
            if self.open(spec.name) is None:
                self.append(spec.name, spec.schema.empty_table())

    def close(self) -> None:
        """Drop the kept tables (reopened on next use). Call before the process ends:
        native scan threads left to the interpreter's last teardown can abort it."""
        with self._open.guard:
            self._open.tables.clear()

    @contextmanager
    def kept(self, table: str) -> Iterator[DeltaTable | None]:
        """This store's kept ``DeltaTable`` for ``table``, locked for the caller, as of
        its last update (None if the table was never created).

        Callers bring it up to date (``update_incremental``) when they need to; appends
        through this store do not need to (a stale append is rebased by deltalake).
        """
        with self._open.lock(table):
            delta = self._open.tables.get(table)
            if delta is None:
                delta = self.open(table)
                if delta is not None:
                    self._open.tables[table] = delta
            try:
                yield delta
            except (DeltaError, OSError):
                self._open.tables.pop(table, None)  # reopened next time, from the log
                raise

    def append(self, table: str, rows: pa.Table) -> None:
        """Append ``rows`` as one commit, retrying conflicts a bounded number of times.

        Writes through the kept table (no log replay per commit). Every commit adds a
        small file, and a commit's cost grows with the table's file count, so once the
        table holds ``auto_compact_files`` files the writer compacts the small ones and
        writes a checkpoint (history kept; a failed compaction is left to the next one).
        """
        rows = rows.cast(TABLES[table].schema)
        last: BaseException | None = None
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                with self.kept(table) as delta:
                    if delta is None:  # the first commit creates the table
                        write_deltalake(
                            self.uri(table),
                            rows,
                            mode="append",
                            storage_options=dict(self.storage_options),
                        )
                    else:
                        write_deltalake(delta, rows, mode="append")
                        self._compact_if_many_files(table, delta)
                return
            except (CommitFailedError, DeltaError, OSError) as exc:
                # DeltaError covers losing the race to create version 0.
                last = exc
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
            except CatalogReadError as exc:
                last = exc.__cause__ or exc
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        assert last is not None
        raise CatalogCommitError(table, COMMIT_ATTEMPTS, last)

    def _compact_if_many_files(self, table: str, delta: DeltaTable) -> None:
        """Compact small files and checkpoint once there are many (caller holds the lock)."""
        limit = self.auto_compact_files
        if limit is None:
            return
        try:
            if len(delta.file_uris()) < limit:
                return
            delta.optimize.compact(target_size=AUTO_COMPACT_TARGET)
            delta.create_checkpoint()
        except (DeltaError, OSError):
            # Lost a race with another writer's compaction, or a storage hiccup. The rows
            # are committed either way (never raise: the caller would commit them again);
            # the table is reopened from the log next time, and compacted then.
            self._open.tables.pop(table, None)

    def append_together(self, rows: Mapping[str, pa.Table]) -> None:
        """Append to several tables at once, one commit each, in parallel threads.

        For commits that need no order among themselves; each is retried as ``append``.

        Raises:
            CatalogCommitError: the first commit that failed (the others still ran).
        """
        pending = {name: table for name, table in rows.items() if table.num_rows}
        if len(pending) <= 1:
            for name, table in pending.items():
                self.append(name, table)
            return
        with ThreadPoolExecutor(len(pending)) as pool:
            futures = [pool.submit(self.append, name, table) for name, table in pending.items()]
        for future in futures:
            future.result()

    def scan(
        self, table: str, filter: ds.Expression | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        """Rows of the latest snapshot matching ``filter`` (pushed down to Parquet)."""
        delta = self.open(table)
        if delta is None:
            return TABLES[table].schema.empty_table()
        try:
            return delta.to_pyarrow_dataset().to_table(filter=filter, columns=columns)
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(table, exc) from exc

    def compact(self, table: str) -> dict[str, object]:
        """Merge small files into larger ones and write a checkpoint.

        History stays readable: nothing is vacuumed, so time travel keeps working.
        """
        delta = self.open(table)
        if delta is None:
            return {}
        try:
            metrics = delta.optimize.compact()
            delta.create_checkpoint()
        except (DeltaError, OSError) as exc:
            raise CatalogCommitError(table, 1, exc) from exc
        return dict(metrics)

    def latest_version(self, table: str) -> int | None:
        """The table's current version, or None if it was never created."""
        delta = self.open(table)
        return None if delta is None else delta.version()

    def load(
        self, table: str, as_of: dt.datetime | None = None, version: int | None = None
    ) -> pa.Table:
        """Every row of a table's snapshot, history included: the latest, as of a time,
        or at a version."""
        if as_of is not None:
            version = self.version_at(table, as_of)
            if version is None:
                return TABLES[table].schema.empty_table()  # nothing committed yet then
        delta = self.open(table, version=version)
        if delta is None:
            return TABLES[table].schema.empty_table()
        try:
            return delta.to_pyarrow_table()
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(table, exc) from exc

    def version_at(self, table: str, when: dt.datetime) -> int | None:
        """The last version of ``table`` committed at or before ``when``, if any.

        Uses the commit timestamps the writers recorded (deltalake's own time travel
        uses object modification times, which lag them by milliseconds).
        """
        limit = when.timestamp() * 1000
        versions = [
            entry["version"] for entry in self._history(table) if entry.get("timestamp", 0) <= limit
        ]
        return max(versions, default=None)

    def version_time(self, table: str, version: int) -> dt.datetime:
        """When ``version`` of ``table`` was committed."""
        history = self._history(table)
        for entry in history:
            if entry.get("version") == version:
                return dt.datetime.fromtimestamp(entry["timestamp"] / 1000, tz=dt.UTC)
        newest = max((int(entry["version"]) for entry in history), default=None)
        shown = "it has none yet" if newest is None else f"the newest is {newest}"
        raise LookupError(f"table {table!r} has no version {version}: {shown}")

    def versions(self, table: str) -> list[tuple[int, dt.datetime, str]]:
        """Every version of ``table``, newest first: (version, commit time, operation)."""
        return [
            (
                int(entry["version"]),
                dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, tz=dt.UTC),
                str(entry.get("operation", "")),
            )
            for entry in self._history(table)
        ]

    def _history(self, table: str) -> list[dict[str, Any]]:
        delta = self.open(table)
        if delta is None:
            return []
        try:
            return list(delta.history())
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(table, exc) from exc
