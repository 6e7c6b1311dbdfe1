"""Finding one dataset by id in a lazy snapshot without scanning every file.

Dataset ids are random UUIDs: the ``datasets`` files' statistics cannot skip a file for
``dataset_id = …``, so a lazy lookup by id read the id column of the whole table (its
cost grew with the archive). What does prune is the dataset's own instrument, night and
exposure, which never change for an id (``lazy_tables.INVARIANT_COLUMNS``). The *dataset
index* maps every id to them: Parquet objects beside the tables, sorted by id and cut
into shards of ``SHARD_ROWS`` ids in small row groups, so a lookup reads one shard's
footer once and then one row group; the query then names the dataset's exposure too,
and reads only that exposure's files.

The index is derived data, built by maintenance (``refresh_dataset_index``), and may be
older than the table. Its manifest lists the ``datasets`` data files it was built from;
a snapshot scans the rest (its *tail*: files added since, or files of an older version
rewritten by compaction) whole. An id is therefore found whatever the index's age, and
time travel stays correct: an as-of snapshot whose files the index does not cover scans
them as before. A missing or unreadable index only makes lookups slower.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
from deltalake import DeltaTable

from .derived_folders import derived_folder, read_manifest_object
from .file_stats import stats_dataset
from .lazy_tables import _table_tree, s3_filesystem, stored_rows
from .tables import CatalogStore

#: Under the catalog's root; not a Delta table (nothing in it is history).
INDEX_FOLDER = "_dataset_index"
MANIFEST = "manifest.json"
#: What a lookup learns: the columns that prune the ``datasets`` and ``locations`` scans.
COLUMNS = ("dataset_id", "instrument", "day_obs", "exposure")
#: Rows per row group of the index: a lookup reads one (about 300 kB of ids).
INDEX_ROW_GROUP = 8_192
#: Ids per shard object: a first lookup in a shard reads its footer (about 60 kB).
SHARD_ROWS = 1_048_576
#: DuckDB's memory for the sort that builds the index; beyond, it spills to disk.
SORT_MEMORY = "512MB"
#: Maintenance rebuilds the index once the tail holds this share of the table's rows.
STALE_SHARE = 0.1


@dataclass(frozen=True)
class IndexReport:
    """What ``refresh_dataset_index`` did."""

    built: bool
    rows: int  # ids in the index
    tail_rows: int  # rows of the table the index did not cover before


def _location(store: CatalogStore) -> tuple[pa_fs.FileSystem, str]:
    """The index folder (see ``catalog.derived_folders``)."""
    return derived_folder(store, INDEX_FOLDER)


def _read_manifest(filesystem: pa_fs.FileSystem, folder: str) -> dict[str, Any] | None:
    """None if none was built yet, or it is unreadable: lookups scan."""
    return read_manifest_object(filesystem, f"{folder}/{MANIFEST}")


def _data_files(delta: DeltaTable) -> list[str]:
    """The table's data files, as its log names them (relative to the table)."""
    return [
        str(p) for p in pa.table(delta.get_add_actions(flatten=True)).column("path").to_pylist()
    ]


def _tail_rows(delta: DeltaTable, covered: set[str]) -> int:
    """Rows in the table's files that the index does not cover (from the log)."""
    actions = pa.table(delta.get_add_actions(flatten=True))
    rows = 0
    for path, count in zip(
        actions.column("path").to_pylist(), actions.column("num_records").to_pylist(), strict=True
    ):
        if path not in covered:
            rows += int(count or 0)
    return rows


def refresh_dataset_index(
    store: CatalogStore, force: bool = False, shard_rows: int = SHARD_ROWS
) -> IndexReport:
    """Rebuild the index from the latest ``datasets`` if it is missing or its tail holds
    ``STALE_SHARE`` of the rows (or ``force``); the old index stays until replaced.

    Costs a scan of the table's four index columns and a sort (in bounded memory, see
    ``_write_sorted``), so maintenance runs it rarely, not every commit.
    """
    delta = store.open("datasets")
    if delta is None:
        return IndexReport(built=False, rows=0, tail_rows=0)
    filesystem, folder = _location(store)
    manifest = _read_manifest(filesystem, folder)
    covered = set(manifest.get("files", [])) if manifest else set()
    tail = _tail_rows(delta, covered)
    if manifest and _shards(manifest) and not force and tail < STALE_SHARE * stored_rows(delta):
        return IndexReport(built=False, rows=int(manifest.get("rows", 0)), tail_rows=tail)
    tree = _table_tree(delta, s3_filesystem(store.root, store.storage_options))
    files = _data_files(delta)  # the files read below: the manifest names exactly these
    filesystem.create_dir(folder, recursive=True)
    shards, rows = _write_sorted(
        delta.to_pyarrow_dataset(filesystem=tree), filesystem, folder, shard_rows
    )
    text = json.dumps({"shards": shards, "version": delta.version(), "rows": rows, "files": files})
    with filesystem.open_output_stream(f"{folder}/{MANIFEST}") as stream:
        stream.write(text.encode())
    for _, replaced in _shards(manifest):
        # A snapshot still reading an old shard falls back to a scan.
        with contextlib.suppress(OSError):
            filesystem.delete_file(f"{folder}/{replaced}")
    return IndexReport(built=True, rows=rows, tail_rows=tail)


def _shards(manifest: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(first id, object name) of each shard a manifest names, in id order."""
    listed = manifest.get("shards") if manifest else None
    if not isinstance(listed, list):
        return []
    return [(str(first), str(name)) for first, name in listed]


def _write_sorted(
    history: ds.Dataset, filesystem: pa_fs.FileSystem, folder: str, shard_rows: int
) -> tuple[list[tuple[str, str]], int]:
    """Write the index columns of ``history`` sorted by id, in shards of about
    ``shard_rows`` under ``folder``; the shards (first id, name) and the rows written.

    DuckDB sorts within ``SORT_MEMORY`` (spilling to a temporary folder beyond) and the
    rows stream out one row group at a time, so memory stays bounded at any size. An id
    with several rows (corrections) may appear more than once, even in two shards:
    harmless, its rows agree on what the index tells.
    """
    shards: list[tuple[str, str]] = []
    rows = 0
    writer: pq.ParquetWriter | None = None
    with tempfile.TemporaryDirectory(prefix="oods-index-") as spill:
        connection = duckdb.connect(config={"memory_limit": SORT_MEMORY, "temp_directory": spill})
        try:
            connection.register("history", history)
            reader = connection.sql(
                f"SELECT {', '.join(COLUMNS)} FROM history ORDER BY dataset_id"
            ).to_arrow_reader(min(INDEX_ROW_GROUP, shard_rows))
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                if writer is None or rows >= len(shards) * shard_rows:
                    if writer is not None:
                        writer.close()
                    name = f"index-{uuid.uuid4()}.parquet"
                    shards.append((str(batch.column(0)[0]), name))
                    writer = pq.ParquetWriter(
                        f"{folder}/{name}",
                        reader.schema,
                        filesystem=filesystem,
                        compression="snappy",
                        write_statistics=["dataset_id"],  # a small footer: the one it prunes by
                    )
                writer.write_batch(batch, row_group_size=INDEX_ROW_GROUP)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
            connection.close()
    return shards, rows


class DatasetIndex:
    """The index as one snapshot of ``datasets`` sees it: the shards plus that version's tail."""

    def __init__(
        self,
        filesystem: pa_fs.FileSystem,
        folder: str,
        shards: list[tuple[str, str]],
        tail: ds.Dataset | None,
    ) -> None:
        self.filesystem = filesystem
        self.folder = folder
        self.firsts = [first for first, _ in shards]
        self.names = [name for _, name in shards]
        self.opened: dict[str, ds.Dataset] = {}  # by name; each keeps its footer once read
        self.tail = tail

    @classmethod
    def open(
        cls, store: CatalogStore, delta: DeltaTable, filesystem: pa_fs.FileSystem | None
    ) -> DatasetIndex | None:
        """The index for ``delta`` (the snapshot's ``datasets``), or None if none is built."""
        index_filesystem, folder = _location(store)
        manifest = _read_manifest(index_filesystem, folder)
        shards = _shards(manifest)
        if manifest is None or not shards:
            return None
        covered = set(manifest.get("files", []))
        tree = _table_tree(delta, filesystem)
        try:
            history = delta.to_pyarrow_dataset() if tree is None else stats_dataset(delta, tree, ())
        except (OSError, pa.ArrowException):
            return None
        # A file named differently from the manifest (another reader's path form) is
        # scanned: slower, never wrong.
        tail = [f for f in history.get_fragments() if f.path not in covered]
        tail_dataset = (
            ds.FileSystemDataset(tail, history.schema, history.format, history.filesystem)
            if tail
            else None
        )
        return cls(index_filesystem, folder, shards, tail_dataset)

    def _shard(self, dataset_id: str) -> ds.Dataset | None:
        """The shard whose ids range covers ``dataset_id`` (None before the first)."""
        at = bisect.bisect_right(self.firsts, dataset_id) - 1
        if at < 0:
            return None
        name = self.names[at]
        if name not in self.opened:
            self.opened[name] = ds.dataset(
                f"{self.folder}/{name}", filesystem=self.filesystem, format="parquet"
            )
        return self.opened[name]

    def places(self, dataset_ids: Sequence[str]) -> list[tuple[str | None, int | None, int | None]]:
        """The distinct (instrument, day_obs, exposure) of ``dataset_ids`` (unknown ids: none).

        Raises:
            OSError, pyarrow.ArrowException: the index or a tail file could not be read.
        """
        parts = []
        for dataset_id in dict.fromkeys(str(i) for i in dataset_ids):
            shard = self._shard(dataset_id)
            if shard is not None:
                # An equality meets the row groups' min/max: one group is read.
                wanted = ds.field("dataset_id") == dataset_id
                parts.append(shard.to_table(columns=list(COLUMNS[1:]), filter=wanted))
        if self.tail is not None and dataset_ids:
            wanted = ds.field("dataset_id").isin(pa.array(list(dataset_ids), pa.string()))
            parts.append(self.tail.to_table(columns=list(COLUMNS[1:]), filter=wanted))
        if not parts:
            return []
        found = pa.concat_tables(parts, promote_options="permissive")
        return sorted(
            set(zip(*(found.column(c).to_pylist() for c in COLUMNS[1:]), strict=True)),
            key=repr,
        )
