"""Compaction of a table's small files, committed through the table's own log.

``deltalake``'s ``optimize.compact`` gives up after 15 commit attempts, and a stream of
appends adds that many versions during one rewrite: a third of the background
compactions failed, their work wasted. Appends never touch the files a compaction
removes, so the commit here (``TableLog.replace``) simply retries at the next version,
and gives up only if another compaction removed one of the same files.

Which files: size-tiered, so that a compaction rewrites O(new) bytes, not the table's
history. The small files are taken smallest first while each is at most twice the
total so far: a burst of fresh commit files merges into one, which later merges with
the previous outputs of about its size (a binary counter), leaving O(log n) files.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from .append_log import TableLog

#: A file joins the compaction if it is at most this many times the total chosen so far.
TIER_RATIO = 2


def small_files(files: Mapping[str, int], target_size: int) -> dict[str, int]:
    """The files to merge (in log order), or none if fewer than two are worth it."""
    chosen: set[str] = set()
    total = 0
    for size, path in sorted((size, path) for path, size in files.items() if size < target_size):
        if chosen and size > TIER_RATIO * total:
            break
        chosen.add(path)
        total += size
    if len(chosen) < 2:
        return {}
    return {path: size for path, size in files.items() if path in chosen}


def compact_small_files(log: TableLog, schema: pa.Schema, target_size: int) -> int | None:
    """Merge the table's small files into one; the version committed, or None if there
    was nothing to merge or another compaction took some of the files first.

    Raises:
        OSError: storage failed (a file missing, a PUT refused).
        pyarrow.ArrowException: a file could not be read as ``schema``.
    """
    merged = _merge_once(log, schema, target_size)
    return None if merged is None else merged[0]


def compact_until_done(log: TableLog, schema: pa.Schema, target_size: int) -> tuple[int, int]:
    """Merge tier after tier until no two small files are worth merging (a manual
    ``oods catalog compact``); the files removed and the files added.

    Raises:
        OSError, pyarrow.ArrowException: as ``compact_small_files``.
    """
    removed = added = 0
    while (merged := _merge_once(log, schema, target_size)) is not None:
        removed += merged[1]
        added += 1
    return removed, added


def _merge_once(log: TableLog, schema: pa.Schema, target_size: int) -> tuple[int, int] | None:
    """One merge: the version committed and how many files it merged."""
    log.follow()
    read_version = log.version
    chosen = small_files(log.live_files(), target_size)
    if not chosen:
        return None
    parts = []
    for path in chosen:
        part = log.kept_rows(path)
        if part is None:
            part = _read(log, path)
        missing = set(schema.names) - set(part.column_names)
        if missing:  # written before a migration: left to deltalake's compaction
            raise pa.ArrowInvalid(f"{log.prefix}/{path}: no column {sorted(missing)[0]}")
        parts.append(part.select(schema.names).cast(schema))
    staged = log.stage(pa.concat_tables(parts).combine_chunks())
    version = log.replace(chosen, staged, target_size, read_version)
    return None if version is None else (version, len(chosen))


def _read(log: TableLog, path: str) -> pa.Table:
    """A data file another process wrote (or one no longer kept in memory)."""
    data = log.objects.get(f"{log.prefix}/{path}")
    if data is None:
        raise OSError(f"{log.prefix}/{path}: data file missing")
    return pq.ParquetFile(pa.BufferReader(data)).read()
