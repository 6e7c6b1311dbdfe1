"""Rows from a site whose catalog is at another schema version, made to fit this one.

Two sites upgrade at different times, so a table at the other site may lack a column
this version added, or hold one this version does not know. Sync works on the columns
both have: an unknown column is dropped, a missing nullable one is filled with nulls,
and each is said once (``notes``). A missing column that cannot be null stops the sync
of that table with one line naming it: guessing a value would be worse.

A table at an older schema version is read through its migrations (a renamed column
keeps its values, a derived one is derived: ``catalog.migrations``), and that is said
too (``version_notes``). Writing to a site whose table is at another version is
refused by the catalog (``SchemaVersionError``): migrate that site first.
"""

from __future__ import annotations

import pyarrow as pa

from catalog.migrations import steps
from catalog.schema_versions import current_version, stored_version
from catalog.tables import TABLES, CatalogStore


class SchemaMismatch(ValueError):
    """The other site's table lacks a column this catalog requires."""


def version_notes(source: CatalogStore, table: str) -> set[str]:
    """What reading ``table`` from ``source`` at its schema version changed, per step."""
    delta = source.open(table)
    if delta is None:
        return set()
    theirs, ours = stored_version(delta), current_version(table)
    if theirs == ours:
        return set()
    where = f"the other site's table is at schema version {theirs}, this site's at {ours}"
    if theirs > ours:
        return {f"{table}: {where}: read for the columns this site knows"}
    return {f"{table}: {m.summary} ({where})" for m in steps(table, theirs)}


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
