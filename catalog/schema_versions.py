"""Which schema version each catalog table is at, and whether this code may write it.

A table's version is kept in its Delta metadata (``metaData.configuration``, key
``oods.schema_version``), so it is read from the log, without reading data, and every
other Delta reader sees it too. A table made before versions existed has no key and
counts as version 1. Tables still at version 1 get no key (creating them stays one
commit, so the catalog's version numbering is unchanged).

The code writes only tables at its own version: an older table must be migrated first
(``oods catalog migrate``, see ``catalog.migrations``), and a newer one belongs to a
newer OODS. Reading works either way (older rows are upgraded as they are read).
"""

from __future__ import annotations

from deltalake import DeltaTable

from .errors import CatalogError

#: The Delta table property holding a table's schema version.
SCHEMA_VERSION_KEY = "oods.schema_version"
#: Each table's schema version in this code; a table not named here is at version 1.
#: Raising a number needs a migration in ``catalog.migrations`` (version N -> N + 1).
CURRENT_VERSIONS: dict[str, int] = {"datasets": 2, "exposures": 2, "locations": 2}


class SchemaVersionError(CatalogError):
    """A table's schema version is not this code's: writing it is refused."""

    def __init__(self, table: str, stored: int, needed: int) -> None:
        self.table, self.stored, self.needed = table, stored, needed
        if stored < needed:
            advice = "run `oods catalog migrate`"
        else:
            advice = "upgrade this oods to write it (reading works)"
        super().__init__(
            f"catalog table {table} is at schema version {stored}, "
            f"this oods needs {needed}: {advice}"
        )


def current_version(table: str) -> int:
    """The schema version of ``table`` that this code reads and writes."""
    return CURRENT_VERSIONS.get(table, 1)


def stored_version(delta: DeltaTable) -> int:
    """The schema version a table records (1 if it records none: made before versions)."""
    text = delta.metadata().configuration.get(SCHEMA_VERSION_KEY)
    try:
        return int(text) if text else 1
    except ValueError:
        return 1


def check_writable(table: str, delta: DeltaTable) -> None:
    """Refuse to write a table whose schema version is not this code's.

    Raises:
        SchemaVersionError: one line saying which table, its version, and what to do.
    """
    stored, needed = stored_version(delta), current_version(table)
    if stored != needed:
        raise SchemaVersionError(table, stored, needed)


def mark_current(delta: DeltaTable, table: str) -> None:
    """Record this code's version of ``table`` in its metadata (a commit of its own:
    deltalake refuses unknown properties when creating a table)."""
    if stored_version(delta) != current_version(table):
        delta.alter.set_table_properties(
            {SCHEMA_VERSION_KEY: str(current_version(table))}, raise_if_not_exists=False
        )
