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
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from .append_log import ObjectStore, TableLog
from .compaction import compact_small_files, compact_until_done
from .errors import CatalogCommitError, CatalogReadError
from .migrations import upgrade_rows
from .records import (
    ArrivalRecord,
    CertificationRecord,
    DatasetRecord,
    ExposureRecord,
    LocationRecord,
    ProvenanceRecord,
    arrow_schema,
)
from .row_groups import writer_properties
from .schema_versions import check_writable, current_version, mark_current, stored_version
from .table_creation import create_marked_table

COMMIT_ATTEMPTS = 8
#: A writer compacts a table once it holds this many data files (see ``append``).
AUTO_COMPACT_FILES = 64
#: Files at least this big are left alone by automatic compaction, so that each
#: compaction rewrites only recent small files, not the whole history.
AUTO_COMPACT_TARGET = 8 * 2**20
#: What ``oods catalog compact`` merges up to: ``deltalake``'s own default target.
COMPACT_TARGET = 100 * 2**20

#: Reads again of a log entry that was listed but not found (see ``CatalogStore.open``).
OPEN_RETRIES = 2
OPEN_RETRY_PAUSE = 0.5


def _log_entry_missing(exc: Exception) -> bool:
    """The open failed on a log file the listing had just named."""
    text = str(exc)
    return "File not found" in text and "_delta_log/" in text


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


def _as_stored(table: str, rows: pa.Table) -> pa.Table:
    """``rows`` with the table's schema (no cast when they have it: most commits)."""
    schema = TABLES[table].schema
    return rows if rows.schema.equals(schema, check_metadata=True) else rows.cast(schema)


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
        #: Each table's log, for blind appends and following (None: not writable so).
        self.logs: dict[str, TableLog | None] = {}
        #: The version each table had when this writer last compacted and checkpointed.
        self.maintained: dict[str, int] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.due: set[str] = set()  # tables to compact, by ``worker``
        self.writable: set[str] = set()  # tables checked to be at this code's version
        self.worker: threading.Thread | None = None

    def executor(self) -> ThreadPoolExecutor:
        """Threads for a writer's parallel requests, kept (not made per commit)."""
        with self.guard:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(8, thread_name_prefix="oods-catalog")
            return self.pool

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
    #: The bucket itself, for appends at a flat cost (see ``catalog.append_log``);
    #: without it every append goes through ``deltalake``'s own commit.
    objects: ObjectStore | None = dataclasses.field(default=None, repr=False, compare=False)
    _open: _OpenTables = dataclasses.field(
        default_factory=_OpenTables, init=False, repr=False, compare=False
    )

    def uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def open(self, table: str, version: int | None = None) -> DeltaTable | None:
        """The table at ``version`` (latest by default), or None if it was never created.

        A log entry that was listed but then not found is read again, after a pause: a
        distributed MinIO that has just lost a node can miss one read.
        """
        attempt = 0
        while True:
            try:
                return DeltaTable(
                    self.uri(table), version=version, storage_options=dict(self.storage_options)
                )
            except TableNotFoundError:
                return None
            except (DeltaError, OSError) as exc:
                if attempt == OPEN_RETRIES or not _log_entry_missing(exc):
                    raise CatalogReadError(table, exc) from exc
                attempt += 1
                time.sleep(OPEN_RETRY_PAUSE * attempt)

    def create(self) -> None:
        """Create every table that does not exist yet (safe to call concurrently).

        This is also the migration for a new table: a catalog made before it existed
        (e.g. one without ``arrivals``) gets it on the next writer's open.
        """
        for spec in TABLES.values():
            if self.open(spec.name) is not None:
                continue
            version = current_version(spec.name)
            if self.objects is None or version == 1:
                self.append(spec.name, spec.schema.empty_table())
                continue
            try:  # one commit, its version recorded (see catalog.table_creation)
                create_marked_table(self.objects, self._key(spec.name), spec.schema, version)
            except OSError as exc:
                raise CatalogCommitError(spec.name, 1, exc) from exc
            self._open.writable.add(spec.name)  # made at this code's version just now

    def close(self) -> None:
        """Drop the kept tables (reopened on next use). Call before the process ends:
        native scan threads left to the interpreter's last teardown can abort it."""
        self.wait_for_maintenance()
        with self._open.guard:
            self._open.tables.clear()
            self._open.logs.clear()
            self._open.writable.clear()
            if self._open.pool is not None:
                self._open.pool.shutdown()
                self._open.pool = None

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

    def executor(self) -> ThreadPoolExecutor:
        """This store's kept threads, for a writer's parallel requests."""
        return self._open.executor()

    def log(self, table: str) -> TableLog | None:
        """The table's log for blind appends, started from the kept table (None if the
        store has no ``objects``, the table does not exist yet, or its protocol is newer
        than ``catalog.append_log`` writes)."""
        if self.objects is None:
            return None
        if table in self._open.logs:
            return self._open.logs[table]
        with self.kept(table) as delta:
            if delta is None:
                return None
            log = TableLog.start(self.objects, self._key(table), delta)
        with self._open.guard:
            log = self._open.logs.setdefault(table, log)
            self._open.maintained.setdefault(table, log.version if log else 0)
        return log

    def _key(self, table: str) -> str:
        """The table's folder as an object key, relative to the bucket."""
        return urllib.parse.urlsplit(self.uri(table)).path.strip("/")

    def append(self, table: str, rows: pa.Table) -> None:
        """Append ``rows`` as one commit, retrying failures a bounded number of times.

        With ``objects``, a blind append at a flat cost (``catalog.append_log``); every
        ``auto_compact_files`` versions the writer then compacts the small files and
        writes a checkpoint, so that readers open the table quickly (history kept; a
        failed compaction is left to the next one). Without, through ``deltalake``.
        """
        rows = _as_stored(table, rows)
        last: BaseException | None = None
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                self.check_writable(table)  # SchemaVersionError is not retried
                log = self.log(table) if rows.num_rows else None
                if log is not None:
                    log.append(rows)
                    self._maintain_if_due(table, log)
                    return
                with self.kept(table) as delta:
                    if delta is None:  # the first commit creates the table
                        write_deltalake(
                            self.uri(table),
                            rows,
                            mode="append",
                            storage_options=dict(self.storage_options),
                            writer_properties=writer_properties(),
                        )
                        self._mark_created(table)
                    else:
                        write_deltalake(
                            delta, rows, mode="append", writer_properties=writer_properties()
                        )
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

    def check_writable(self, table: str) -> None:
        """Refuse to write a table at another schema version than this code's (checked
        once per table by a kept store; a table not made yet is made at this version).

        Raises:
            SchemaVersionError: one line naming the table, its version and what to do.
        """
        if table in self._open.writable:
            return
        with self.kept(table) as delta:
            if delta is not None:
                check_writable(table, delta)
        self._open.writable.add(table)

    def check_writable_tables(self) -> None:
        """``check_writable`` for every table: a writer's first step, so that a catalog
        at another schema version is refused in one line before any work is done."""
        for table in TABLES:
            self.check_writable(table)

    def _mark_created(self, table: str) -> None:
        """Record the schema version of a table this writer just created."""
        try:
            delta = self.open(table)
            if delta is not None:
                mark_current(delta, table)
        except (DeltaError, OSError, CatalogReadError):
            # Never raise: the rows are committed (the caller would commit them again).
            # Another creator marked it first, or the table stays unmarked (version 1)
            # and `oods catalog migrate` marks it.
            pass
        self._open.tables.pop(table, None)  # reopened at the marked version

    def _maintain_if_due(self, table: str, log: TableLog) -> None:
        """Compact and checkpoint, in a thread of its own, once ``auto_compact_files``
        versions were added since the last time (this writer's commits or others').

        Off the caller's path: it takes a second or so (the kept table replays the new
        log entries, reads the small files, writes one), which a stream of commits
        should not wait for. The thread is not a daemon: the interpreter waits for it
        at exit rather than tearing down deltalake's threads under it.
        """
        limit = self.auto_compact_files
        if limit is None or log.version - self._open.maintained.get(table, 0) < limit:
            return
        with self._open.guard:
            self._open.maintained[table] = log.version
            self._open.due.add(table)
            if self._open.worker is None or not self._open.worker.is_alive():
                self._open.worker = threading.Thread(
                    target=self._maintain_due, name="oods-catalog-maintenance"
                )
                self._open.worker.start()

    def _maintain_due(self) -> None:
        while True:
            with self._open.guard:
                if not self._open.due:
                    return
                table = self._open.due.pop()
            self.maintain(table)

    def maintain(self, table: str) -> None:
        """Compact the table's small files and write a checkpoint, so that readers
        open it quickly (history kept). A failure is left to the next time.

        A table this store writes by blind appends is compacted through its own log
        (``catalog.compaction``: it commits however many versions a stream adds
        meanwhile); others through ``deltalake``.
        """
        try:
            log = self.log(table) if table in self._open.writable else None
            if log is not None:
                compact_small_files(log, TABLES[table].schema, AUTO_COMPACT_TARGET)
            with self.kept(table) as delta:
                if delta is None:
                    return
                delta.update_incremental()
                if log is None:
                    delta.optimize.compact(
                        target_size=AUTO_COMPACT_TARGET, writer_properties=writer_properties()
                    )
                delta.create_checkpoint()
        except (DeltaError, OSError, CatalogReadError, pa.ArrowException):
            pass  # lost a race with another compaction, or a hiccup: done next time

    def wait_for_maintenance(self, timeout: float = 60.0) -> bool:
        """Wait for this store's background compaction; False if still running."""
        worker = self._open.worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def _compact_if_many_files(self, table: str, delta: DeltaTable) -> None:
        """Compact small files and checkpoint once there are many (caller holds the lock)."""
        limit = self.auto_compact_files
        if limit is None:
            return
        try:
            if len(delta.file_uris()) < limit:
                return
            delta.optimize.compact(
                target_size=AUTO_COMPACT_TARGET, writer_properties=writer_properties()
            )
            delta.create_checkpoint()
        except (DeltaError, OSError):
            # Lost a race with another writer's compaction, or a storage hiccup. The rows
            # are committed either way (never raise: the caller would commit them again);
            # the table is reopened from the log next time, and compacted then.
            self._open.tables.pop(table, None)

    def append_in_order(self, stages: Sequence[Mapping[str, pa.Table]]) -> None:
        """Append to several tables, one commit each, stage after stage: every commit
        of a stage is made before any of the next (readers may rely on that order).

        The data files of all stages are written first, in parallel; then each stage's
        log entries, in parallel within a stage. A table that cannot be written so
        (or any failure there) goes through ``append``, with its retries, in order.

        Raises:
            CatalogCommitError: the first commit that failed.
        """
        stages = [{t: _as_stored(t, r) for t, r in s.items() if r.num_rows} for s in stages]
        for table in {t for stage in stages for t in stage}:
            self.check_writable(table)
        logs = {t: self.log(t) for stage in stages for t in stage}
        if any(log is None for log in logs.values()):
            for stage in stages:
                self.append_together(stage)
            return
        flat = [(t, r) for stage in stages for t, r in stage.items()]
        pool = self.executor()
        try:
            staged = dict(
                zip(
                    [t for t, _ in flat],
                    pool.map(lambda item: logs[item[0]].stage(item[1]), flat),  # type: ignore[union-attr]
                    strict=True,
                )
            )
        except OSError:
            for stage in stages:
                self.append_together(stage)  # retried one by one, data files written again
            return
        for stage in stages:
            futures = {t: pool.submit(staged[t].log.commit, staged[t]) for t in stage}
            for table, future in futures.items():
                if future.exception() is not None:
                    self.append(table, stage[table])  # retried, data file written again
                else:
                    self._maintain_if_due(table, staged[table].log)

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

        History stays readable: nothing is vacuumed, so time travel keeps working. A
        table at this code's schema version is merged tier by tier through its own log
        (``catalog.compaction``), so that appends going on meanwhile, however many,
        cannot make the merge fail; others (and a store without ``objects``) through
        ``deltalake``, which gives up after 15 versions taken by others.
        """
        delta = self.open(table)
        if delta is None:
            return {}
        try:
            metrics = self._compact_through_log(table, delta)
            if metrics is None:
                metrics = dict(delta.optimize.compact(writer_properties=writer_properties()))
            with self.kept(table) as kept:
                assert kept is not None  # opened above
                kept.update_incremental()
                kept.create_checkpoint()
        except (DeltaError, OSError, pa.ArrowException) as exc:
            raise CatalogCommitError(table, 1, exc) from exc
        return metrics

    def _compact_through_log(self, table: str, delta: DeltaTable) -> dict[str, object] | None:
        """``compact`` through the table's own log; None where ``deltalake`` must do it."""
        if self.objects is None or stored_version(delta) != current_version(table):
            return None
        log = self.log(table)
        if log is None:
            return None
        try:
            removed, added = compact_until_done(log, TABLES[table].schema, COMPACT_TARGET)
        except pa.ArrowInvalid:  # files from before a migration: deltalake merges them
            return None
        return {"numFilesRemoved": removed, "numFilesAdded": added}

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
            return upgrade_rows(table, stored_version(delta), delta.to_pyarrow_table())
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

    def versions(self, table: str, limit: int | None = None) -> list[tuple[int, dt.datetime, str]]:
        """The newest ``limit`` versions of ``table`` (all by default), newest first:
        (version, commit time, operation). A limit reads only that many log entries."""
        return [
            (
                int(entry["version"]),
                dt.datetime.fromtimestamp(int(entry["timestamp"]) / 1000, tz=dt.UTC),
                str(entry.get("operation", "")),
            )
            for entry in self._history(table, limit)
        ]

    def _history(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        delta = self.open(table)
        if delta is None:
            return []
        try:
            return list(delta.history(limit))
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(table, exc) from exc
