"""Blind appends to a Delta table's log at a flat cost, and following that log by GETs.

``deltalake``'s own commit rebuilds its snapshot of the table after every write, so
its cost grows with the table's files and with the commits since the last checkpoint
(measured here: 18 ms for a one-row append to a fresh table, 70 ms after 300). A
stream of small commits needs the cost of the 10,000th to be that of the 10th.

An append that reads nothing (a *blind append*: the catalog's tables are append-only)
needs no snapshot: write the Parquet file, then create the log entry
``_delta_log/<version + 1>.json`` with a create-only PUT. The store settles races: if
another writer took that version first, its entries are read and the next version is
tried; appends never conflict with appends, nor with compaction. So a commit costs two
PUTs whatever the history, and a writer that knows version ``v`` is up to date after
one GET of ``v + 1`` that finds nothing.

This is the Delta protocol's own append (reader 1, writer 2; the tables ``deltalake``
creates). A table that needs more (writer features, a newer protocol) is not written
here: ``TableLog.start`` returns None and the caller keeps to ``deltalake``.
Compaction commits here too (``replace``, see ``catalog.compaction``): ``deltalake``'s
gives up after 15 versions taken during its rewrite, which a stream outruns. Checkpoints
stay ``deltalake``'s (see ``CatalogStore``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from .row_groups import ROW_GROUP_ROWS

#: The newest protocol this module writes: that of the tables deltalake creates.
READER_VERSION = 1
WRITER_VERSION = 2
#: Log actions kept for the reader of new rows (``drain``) before it must start over.
MAX_UNDRAINED = 100_000
#: Rows of the files this process committed, kept for compaction (which then reads
#: none of them back), oldest dropped first beyond this many bytes.
KEPT_ROWS_BYTES = 16 * 2**20


class ObjectStore(Protocol):
    """The bucket holding the tables, keys relative to it. Failures raise OSError."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is no such key."""
        ...

    def put(self, key: str, data: bytes) -> None: ...

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key``; False (nothing written) if it exists already."""
        ...


@dataclasses.dataclass(frozen=True)
class Added:
    """A data file added to the table, in log order; ``rows`` when this process wrote
    it (no need to read it back)."""

    path: str
    size: int
    rows: pa.Table | None = None


@dataclasses.dataclass
class Drained:
    """What a reader must read: every live file (``restart``), or the files added since
    its last drain, with the paths removed since (compacted away)."""

    restart: bool
    files: dict[str, int]  # live files when restarting
    added: list[Added]
    removed: set[str]


class LogReader:
    """One follower of a table's rows (``catalog.index.TableTail``): what it has not
    read yet. Files that only rewrite rows already read (compaction) are left out,
    unless they hold rows of files removed before this reader read them."""

    def __init__(self) -> None:
        self.restart = True  # has read nothing yet
        self.added: list[Added] = []
        self.removed: set[str] = set()

    def _take(self, added: list[Added], compacted: list[Added], removed: list[str]) -> None:
        if self.restart:  # it will read the live files: nothing to track
            return
        self.added.extend(added)
        gone = set(removed)
        if gone:
            # Unread files whose rows this process holds need no file; the others'
            # rows live on only in this commit's new files (read whole, then).
            if any(a.path in gone and a.rows is None for a in self.added):
                self.added = [a for a in self.added if a.path not in gone]
                self.added.extend(compacted)
            self.removed |= gone
        if len(self.added) + len(self.removed) > MAX_UNDRAINED:
            self.restart = True  # nobody drains: read the live files next time
            self.added, self.removed = [], set()


class TableLog:
    """One table's log as this process knows it: version and live files.

    Thread-safe. ``append`` writes a blind append; ``follow`` reads other writers'
    commits; each ``reader()`` is handed what it has not read (``drain``).
    """

    def __init__(
        self, objects: ObjectStore, prefix: str, version: int, files: dict[str, int]
    ) -> None:
        self.objects = objects
        self.prefix = prefix.strip("/")
        self.version = version
        self.files = dict(files)
        self._lock = threading.Lock()
        self._readers: weakref.WeakSet[LogReader] = weakref.WeakSet()
        self._kept: OrderedDict[str, pa.Table] = OrderedDict()  # path: rows
        self._kept_bytes = 0

    @classmethod
    def start(cls, objects: ObjectStore, prefix: str, delta: DeltaTable) -> TableLog | None:
        """A log at ``delta``'s version, or None if its protocol is not one written here."""
        protocol = delta.protocol()
        if (
            protocol.min_reader_version > READER_VERSION
            or protocol.min_writer_version > WRITER_VERSION
            or protocol.writer_features
        ):
            return None
        actions = pa.table(delta.get_add_actions(flatten=True))
        paths = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        return cls(objects, prefix, delta.version(), dict(zip(paths, sizes, strict=True)))

    def live_files(self) -> dict[str, int]:
        """The table's data files and their sizes, in log order, as this log knows them."""
        with self._lock:
            return dict(self.files)

    def kept_rows(self, path: str) -> pa.Table | None:
        """The rows of a live file this process committed, if still kept in memory."""
        with self._lock:
            return self._kept.get(path)

    def _keep(self, path: str, rows: pa.Table) -> None:
        self._kept[path] = rows
        self._kept_bytes += rows.nbytes
        while self._kept_bytes > KEPT_ROWS_BYTES and self._kept:
            self._kept_bytes -= self._kept.popitem(last=False)[1].nbytes

    def _forget(self, path: str) -> None:
        rows = self._kept.pop(path, None)
        if rows is not None:
            self._kept_bytes -= rows.nbytes

    def reader(self) -> LogReader:
        """A new follower; its first ``drain`` hands it every live file."""
        reader = LogReader()
        with self._lock:
            self._readers.add(reader)
        return reader

    def drain(self, reader: LogReader) -> Drained:
        """What ``reader`` has not read yet; from now on it has."""
        with self._lock:
            drained = Drained(reader.restart, dict(self.files), reader.added, reader.removed)
            reader.restart, reader.added, reader.removed = False, [], set()
            return drained

    def restart(self, reader: LogReader) -> None:
        """``reader`` lost what it drained (a failed read): it starts over."""
        with self._lock:
            reader.restart, reader.added, reader.removed = True, [], set()

    def _log_key(self, version: int) -> str:
        return f"{self.prefix}/_delta_log/{version:020d}.json"

    def follow(self) -> int:
        """Read the commits made since the known version; the number read."""
        with self._lock:
            return self._follow()

    def _follow(self) -> int:
        read = 0
        while True:
            data = self.objects.get(self._log_key(self.version + 1))
            if data is None:
                return read
            self._apply(data.decode("utf-8"))
            self.version += 1
            read += 1

    def _apply(self, text: str) -> None:
        added: list[Added] = []
        compacted: list[Added] = []
        removed: list[str] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            if "add" in action:
                add = action["add"]
                path = unquote(add["path"])
                self.files[path] = int(add["size"])
                item = Added(path, int(add["size"]))
                (added if add.get("dataChange", True) else compacted).append(item)
            elif "remove" in action:
                path = unquote(action["remove"]["path"])
                self.files.pop(path, None)
                self._forget(path)
                removed.append(path)
            elif "protocol" in action:
                protocol = action["protocol"]
                if (
                    protocol.get("minReaderVersion", 1) > READER_VERSION
                    or protocol.get("minWriterVersion", 2) > WRITER_VERSION
                ):
                    raise OSError(f"{self.prefix}: table protocol upgraded beyond this writer")
        for reader in self._readers:
            reader._take(added, compacted, removed)

    def append(self, rows: pa.Table) -> int:
        """Commit ``rows`` as one new data file; the version committed."""
        return self.commit(self.stage(rows))

    def stage(self, rows: pa.Table) -> Staged:
        """Write ``rows`` as a data file, not yet in the table (``commit`` adds it).

        Raises:
            OSError: storage failed.
        """
        data = _parquet_bytes(rows)
        name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        self.objects.put(f"{self.prefix}/{name}", data)
        return Staged(self, name, len(data), rows)

    def commit(self, staged: Staged, attempts: int = 50) -> int:
        """Add a staged file to the table as the next version; the version committed.

        Raises:
            OSError: storage failed, or ``attempts`` versions in a row were taken by
                other writers (the data file is then left unreferenced: harmless).
        """
        assert staged.log is self, "staged for another table"
        now = int(time.time() * 1000)
        entry = "\n".join(
            json.dumps(action, separators=(",", ":"))
            for action in (
                {
                    "commitInfo": {
                        "timestamp": now,
                        "operation": "WRITE",
                        "operationParameters": {"mode": "Append"},
                        "isBlindAppend": True,
                        "clientVersion": "oods",
                        "operationMetrics": {
                            "num_added_files": 1,
                            "num_added_rows": staged.rows.num_rows,
                        },
                    }
                },
                {
                    "add": {
                        "path": staged.name,
                        "partitionValues": {},
                        "size": staged.size,
                        "modificationTime": now,
                        "dataChange": True,
                        "stats": _stats(staged.rows),
                    }
                },
            )
        ).encode("utf-8")
        name = staged.name

        def added(version: int) -> None:
            self.files[name] = staged.size
            self._keep(name, staged.rows)
            for reader in self._readers:
                reader._take([Added(name, staged.size, staged.rows)], [], [])

        version = self._commit_entry(entry, name, attempts, added, valid=lambda: True)
        assert version is not None  # always valid: an append conflicts with nothing
        return version

    def replace(
        self,
        removed: Mapping[str, int],
        staged: Staged,
        target_size: int,
        read_version: int | None = None,
        attempts: int = 50,
    ) -> int | None:
        """Commit a staged file in place of ``removed`` holding the same rows (a
        compaction: ``dataChange`` false); the version committed.

        Appends never touch the files a compaction removes, so a version taken by another
        writer is retried at the next one, unless that writer removed one of ``removed``
        (another compaction): then None, nothing committed (the staged file is left
        unreferenced: harmless). ``read_version``: the version ``removed`` was chosen at.

        Raises:
            OSError: storage failed, or ``attempts`` versions in a row were taken.
        """
        assert staged.log is self, "staged for another table"
        now = int(time.time() * 1000)
        if read_version is None:
            with self._lock:
                read_version = self.version
        actions: list[dict[str, Any]] = [
            {
                "commitInfo": {
                    "timestamp": now,
                    "operation": "OPTIMIZE",
                    "operationParameters": {"targetSize": str(target_size)},
                    "readVersion": read_version,
                    "isBlindAppend": False,
                    "clientVersion": "oods",
                    "operationMetrics": {
                        "numFilesAdded": 1,
                        "numFilesRemoved": len(removed),
                        "numBatches": 1,
                    },
                }
            },
            *(
                {
                    "remove": {
                        "path": quote(path),
                        "deletionTimestamp": now,
                        "dataChange": False,
                        "extendedFileMetadata": True,
                        "partitionValues": {},
                        "size": size,
                    }
                }
                for path, size in removed.items()
            ),
            {
                "add": {
                    "path": staged.name,
                    "partitionValues": {},
                    "size": staged.size,
                    "modificationTime": now,
                    "dataChange": False,
                    "stats": _stats(staged.rows),
                }
            },
        ]
        entry = "\n".join(json.dumps(a, separators=(",", ":")) for a in actions).encode("utf-8")
        name = staged.name

        def replaced(version: int) -> None:
            for path in removed:
                self.files.pop(path, None)
                self._forget(path)
            self.files[name] = staged.size
            self._keep(name, staged.rows)
            compacted = [Added(name, staged.size, staged.rows)]
            for reader in self._readers:
                reader._take([], compacted, list(removed))

        return self._commit_entry(
            entry, name, attempts, replaced, valid=lambda: all(p in self.files for p in removed)
        )

    def _commit_entry(
        self,
        entry: bytes,
        name: str,
        attempts: int,
        applied: Callable[[int], None],
        valid: Callable[[], bool],
    ) -> int | None:
        """Create the log entry adding ``name`` at the next free version (``applied``
        then updates what this log knows); None once ``valid`` says another writer's
        commit made it invalid."""
        with self._lock:
            for attempt in range(attempts):
                if not valid():
                    return None
                version = self.version + 1
                try:
                    created = self.objects.put_if_absent(self._log_key(version), entry)
                except OSError:
                    # Maybe written, the answer lost: the follow below tells.
                    if attempt == attempts - 1:
                        raise
                    created = False
                    time.sleep(min(1.0, 0.05 * 2**attempt))
                if created:
                    self.version = version
                    applied(version)
                    return version
                self._follow()  # another writer took it: learn its commits, try the next
                if name in self.files:  # ours after all (an answer lost on the way)
                    return self.version
        raise OSError(f"{self.prefix}: {attempts} versions in a row taken by other writers")


@dataclasses.dataclass(frozen=True)
class Staged:
    """A data file written for ``log``'s table, waiting for its commit."""

    log: TableLog
    name: str
    size: int
    rows: pa.Table


def _parquet_bytes(rows: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(rows, buffer, compression="snappy", row_group_size=ROW_GROUP_ROWS)
    return buffer.getvalue()


def _stats(rows: pa.Table) -> str:
    """Delta file statistics: row and null counts, and exact bounds of integer and
    string columns, so that readers can skip the file for a filter it cannot match."""
    minimum: dict[str, Any] = {}
    maximum: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for name, column in zip(rows.column_names, rows.columns, strict=True):
        nulls[name] = column.null_count
        kind = column.type
        if rows.num_rows and column.null_count < rows.num_rows and _bounded(kind):
            bounds = pc.min_max(column).as_py()
            minimum[name], maximum[name] = bounds["min"], bounds["max"]
    stats: dict[str, Any] = {"numRecords": rows.num_rows, "nullCount": nulls}
    if minimum:
        stats["minValues"], stats["maxValues"] = minimum, maximum
    return json.dumps(stats, separators=(",", ":"))


def _bounded(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
