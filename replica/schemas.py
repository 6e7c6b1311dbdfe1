"""Rows from a site whose catalog is at another schema version, made to fit this one.

Two sites upgrade at different times, so a table at the other site may lack a column
this version added, or hold one this version does not know. Sync works on the columns
both have: an unknown column is dropped, a missing nullable one is filled with nulls,
and each is said once (``notes``). A missing column that cannot be null stops the sync
of that table with one line naming it: guessing a value would be worse.
"""

from __future__ import annotations

import pyarrow as pa

from catalog.tables import TABLES


class SchemaMismatch(ValueError):
    """The other site's table lacks a column this catalog requires."""


def conform(rows: pa.Table, table: str, notes: set[str]) -> pa.Table:
    """``rows`` of ``table`` in this catalog's schema; adds what it did to ``notes``.

    Raises:
        SchemaMismatch: a required (non-nullable) column is missing from ``rows``.
    """
    schema = TABLES[table].schema
    have = set(rows.column_names)
    for name in sorted(have - set(schema.names)):
        notes.add(f"{table}: dropped column {name} (not in this site's catalog schema)")
    columns = []
    for field in schema:
        if field.name in have:
            columns.append(rows.column(field.name))
            continue
        if not field.nullable:
            raise SchemaMismatch(
                f"{table}: the other site's catalog has no column {field.name}, which "
                "this site requires; upgrade the older site before syncing"
            )
        notes.add(f"{table}: defaulted column {field.name} to null (not in the other site's)")
        columns.append(pa.nulls(rows.num_rows, field.type))
    return pa.Table.from_arrays(columns, names=schema.names).cast(schema)
