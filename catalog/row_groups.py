"""How big the row groups of the catalog's Parquet files are.

A lazy snapshot reads whole row groups: a file's statistics let a query skip the file,
and each row group's statistics let it skip the rest of the file, but a row group that
may hold a matching row is read whole (every column the query needs). A night's commit
is one file of 205,000 raws; in one row group, a query on one exposure (205 rows) read
the night's columns. In row groups of ``ROW_GROUP_ROWS`` (written in exposure order, as
ingest writes them), it reads one or two groups. Smaller groups mean more footer to read
at a file's first scan and less compression; 16,384 rows measured best (tests/bench/scale.py).
"""

from __future__ import annotations

from deltalake import WriterProperties

ROW_GROUP_ROWS = 16_384


def writer_properties() -> WriterProperties:
    """``deltalake`` writer settings (compaction, ``write_deltalake``) for catalog files."""
    return WriterProperties(max_row_group_size=ROW_GROUP_ROWS)
