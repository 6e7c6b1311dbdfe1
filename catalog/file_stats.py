"""A table's Arrow dataset whose files carry their Delta statistics as guarantees.

A lazy snapshot skips a data file when the file's statistics (in the Delta log) show
that no row can match a query's predicate. ``deltalake``'s own ``to_pyarrow_dataset``
turns every column's statistics into expressions, one pyarrow call at a time: at 10^7
raws (50 files a table) that was 80 ms of every snapshot's opening, and it grows with
the files. Only the columns that predicates name need them (a table's key and
``lazy_tables.INVARIANT_COLUMNS``: instrument, night, exposure …); this builds those
alone, from the log's add actions read as one Arrow table.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
from deltalake import DeltaTable

#: Delta writers may truncate long string bounds; a bound this long or longer is not
#: trusted (no guarantee for that column of that file: the file is read).
MAX_STRING_BOUND = 32


def stats_dataset(
    delta: DeltaTable, filesystem: pa_fs.FileSystem, columns: Iterable[str]
) -> ds.FileSystemDataset:
    """The table's files (paths relative to ``filesystem``, rooted at the table), each
    guaranteed to hold only rows within its bounds for ``columns``."""
    schema = pa.schema(delta.schema().to_arrow())
    actions = pa.table(delta.get_add_actions(flatten=True))
    paths = [str(p) for p in actions.column("path").to_pylist()]
    rows = actions.column("num_records").to_pylist()
    # Known sizes: reading a file starts with its footer, not with a HEAD request.
    sizes = actions.column("size_bytes").to_pylist() if "size_bytes" in actions.column_names else []
    sizes = sizes or [None] * len(paths)
    guarantees = [ds.scalar(True)] * len(paths)
    for name in dict.fromkeys(columns):
        if schema.get_field_index(name) < 0 or f"min.{name}" not in actions.column_names:
            continue
        field = schema.field(name)
        if not (pa.types.is_integer(field.type) or pa.types.is_string(field.type)):
            continue
        lows = actions.column(f"min.{name}").to_pylist()
        highs = actions.column(f"max.{name}").to_pylist()
        nulls = actions.column(f"null_count.{name}").to_pylist()
        column = ds.field(name)
        for i, (low, high, null_count) in enumerate(zip(lows, highs, nulls, strict=True)):
            guarantee = _bounds(column, field.type, low, high, null_count, rows[i])
            if guarantee is not None:
                guarantees[i] = guarantees[i] & guarantee
    parquet = ds.ParquetFileFormat(
        default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=True)
    )
    fragments = [
        parquet.make_fragment(
            path, filesystem=filesystem, partition_expression=guarantee, file_size=size
        )
        for path, guarantee, size in zip(paths, guarantees, sizes, strict=True)
    ]
    return ds.FileSystemDataset(fragments, schema, parquet, filesystem)


def _bounds(
    column: ds.Expression,
    kind: pa.DataType,
    low: object,
    high: object,
    null_count: int | None,
    rows: int | None,
) -> ds.Expression | None:
    """What every row of one file satisfies for one column; None if nothing is known."""
    if null_count is None or rows is None:
        return None
    if null_count == rows:
        return column.is_null()
    if low is None or high is None:
        return None
    if pa.types.is_string(kind) and max(len(str(low)), len(str(high))) >= MAX_STRING_BOUND:
        return None
    within = (column >= pa.scalar(low, kind)) & (column <= pa.scalar(high, kind))
    return within | column.is_null() if null_count else within
