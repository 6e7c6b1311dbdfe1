"""Ordered schema migrations of the catalog's tables, version N -> N + 1 per table.

Each migration is a function of a table's rows (Arrow, every row, history included),
so the same step serves three callers: ``migrate`` rewrites a stored table with it;
a snapshot upgrades the rows of a table not migrated yet (or an older version read by
time travel) as it loads them; and a replica fits rows from a site at another version.
Steps are idempotent (a rewrite interrupted before its version was recorded is simply
run again).

``migrate`` rewrites a table as one Delta overwrite commit and then records its new
version: the older versions stay in the log and their files are kept (nothing is
vacuumed), so time travel to before the migration still works. Run it with the site's
writers stopped (``oods serve``, ingests): a writer of the older code would append rows
of the older schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from .bands import band_of
from .errors import CatalogCommitError
from .schema_versions import current_version, mark_current, stored_version

if TYPE_CHECKING:
    from .tables import CatalogStore


@dataclasses.dataclass(frozen=True)
class Migration:
    """One step of one table: from ``to_version - 1`` to ``to_version``."""

    table: str
    to_version: int
    summary: str
    upgrade: Callable[[pa.Table], pa.Table]
    derive: Derivation | None = None


@dataclasses.dataclass(frozen=True)
class Derivation:
    """A second pass of a step that needs another table's rows: run when the caller has
    them (``migrate`` does; a snapshot of an unmigrated table does not)."""

    source: str  # the other table
    columns: tuple[str, ...]  # the columns of it read
    fill: Callable[[pa.Table, pa.Table], pa.Table]  # (this table's rows, source's) -> rows


def _rename_dataset_filter(rows: pa.Table) -> pa.Table:
    """``datasets.physical_filter`` -> ``dataset_filter``: a join with ``exposures``
    (which has the Butler's ``physical_filter``) named it twice."""
    if "physical_filter" not in rows.column_names or "dataset_filter" in rows.column_names:
        return rows
    names = ["dataset_filter" if n == "physical_filter" else n for n in rows.column_names]
    return rows.rename_columns(names)


def _add_band(rows: pa.Table) -> pa.Table:
    """``exposures.band``, derived from ``physical_filter`` as the Butler derives it."""
    if "band" in rows.column_names or "physical_filter" not in rows.column_names:
        return rows
    filters = rows.column("physical_filter").combine_chunks()
    known = pc.unique(filters).to_pylist()
    bands = {f: band_of(f) for f in known if f is not None}
    values = pc.index_in(filters, value_set=pa.array(list(bands), pa.string()))
    band = pc.take(pa.array(list(bands.values()), pa.string()), values)
    at = rows.column_names.index("datetime_end") + 1 if "datetime_end" in rows.column_names else 0
    return rows.add_column(at, pa.field("band", pa.string(), nullable=False), band)


#: The dataset's columns a location row carries from schema version 2, and their types.
DATASET_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("instrument", pa.string()),
    pa.field("day_obs", pa.int64()),
    pa.field("exposure", pa.int64()),
)


def _add_dataset_columns(rows: pa.Table) -> pa.Table:
    """``locations.instrument``, ``day_obs``, ``exposure``, null until derived: without
    the ``datasets`` table, a reader of an unmigrated table cannot know them (its
    ``files`` join on ``dataset_id`` and take them from the datasets anyway)."""
    at = rows.column_names.index("dataset_id") + 1 if "dataset_id" in rows.column_names else 0
    for offset, field in enumerate(DATASET_COLUMNS):
        if field.name not in rows.column_names:
            rows = rows.add_column(at + offset, field, pa.nulls(rows.num_rows, field.type))
    return rows


def fill_dataset_columns(locations: pa.Table, datasets: pa.Table) -> pa.Table:
    """The ``DATASET_COLUMNS`` of each location row, taken from its dataset's row.

    They never differ between the rows of one dataset, so any row serves. A location
    whose dataset has no row keeps nulls: instrument included (``""`` would claim a
    value), and such a location is in no ``files`` answer, which joins the datasets.
    """
    found = pc.index_in(locations.column("dataset_id"), value_set=datasets.column("dataset_id"))
    for field in DATASET_COLUMNS:
        values = pc.take(datasets.column(field.name), found).cast(field.type)
        at = locations.column_names.index(field.name)
        locations = locations.set_column(at, field, values)
    return locations


#: Every migration, in order. A new one raises ``CURRENT_VERSIONS`` of its table.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("datasets", 2, "rename physical_filter to dataset_filter", _rename_dataset_filter),
    Migration("exposures", 2, "add band, derived from physical_filter", _add_band),
    Migration(
        "locations",
        2,
        "add instrument, day_obs, exposure, copied from the datasets",
        _add_dataset_columns,
        Derivation(
            "datasets",
            ("dataset_id", *(field.name for field in DATASET_COLUMNS)),
            fill_dataset_columns,
        ),
    ),
)


def steps(table: str, version: int) -> list[Migration]:
    """The migrations that bring ``table`` from ``version`` to this code's version."""
    return [
        m
        for m in MIGRATIONS
        if m.table == table and version < m.to_version <= current_version(table)
    ]


def upgrade_rows(
    table: str, version: int, rows: pa.Table, related: Mapping[str, pa.Table] | None = None
) -> pa.Table:
    """``rows`` of ``table`` stored at ``version``, as this code's version holds them.

    ``related`` holds other tables' rows for the steps that derive from them (see
    ``Migration.derive``); a step whose table is not there leaves its columns null.
    """
    for migration in steps(table, version):
        rows = migration.upgrade(rows)
        derivation = migration.derive
        if derivation is not None and related and derivation.source in related:
            rows = derivation.fill(rows, related[derivation.source])
    return rows


def derivations(table: str, version: int) -> list[Derivation]:
    """What upgrading ``table`` from ``version`` derives from other tables."""
    return [m.derive for m in steps(table, version) if m.derive is not None]


def related_tables(store: CatalogStore, table: str, version: int) -> dict[str, pa.Table]:
    """The other tables' rows (only the columns read) that upgrading ``table`` from
    ``version`` derives from, read from the store's latest snapshot."""
    return {
        d.source: store.scan(d.source, columns=list(d.columns)) for d in derivations(table, version)
    }


@dataclasses.dataclass(frozen=True)
class TableMigration:
    """What ``migrate`` did (or would do) to one table."""

    table: str
    from_version: int
    to_version: int
    summaries: tuple[str, ...]
    rows: int = 0

    def line(self, dry_run: bool) -> str:
        """E.g. ``datasets: schema version 1 -> 2: rename … (1,230 rows rewritten)``."""
        if self.from_version > self.to_version:
            return (
                f"{self.table}: at schema version {self.from_version}, newer than this "
                f"oods ({self.to_version}): left alone"
            )
        done = "would rewrite" if dry_run else "rewrote"
        return (
            f"{self.table}: schema version {self.from_version} -> {self.to_version}: "
            f"{'; '.join(self.summaries)} ({done} {self.rows:,} rows; history kept)"
        )


def pending(store: CatalogStore) -> list[TableMigration]:
    """The tables whose schema version is not this code's, and what migrating does."""
    from .tables import TABLES

    found = []
    for table in TABLES:
        delta = store.open(table)
        if delta is None:
            continue  # made at the current version by the next writer
        version, wanted = stored_version(delta), current_version(table)
        if version != wanted:
            summaries = tuple(m.summary for m in steps(table, version))
            found.append(TableMigration(table, version, wanted, summaries, delta.count()))
    return found


def migrate(store: CatalogStore, dry_run: bool = False) -> list[TableMigration]:
    """Bring every older table to this code's schema version (newer ones are left).

    Raises:
        CatalogCommitError: a rewrite failed (the table stays at its version; rerun).
    """
    from .tables import TABLES

    plan = pending(store)
    if dry_run:
        return plan
    for item in plan:
        if item.from_version > item.to_version:
            continue
        delta = store.open(item.table)
        assert delta is not None
        schema = TABLES[item.table].schema
        try:
            related = related_tables(store, item.table, item.from_version)
            rows = upgrade_rows(item.table, item.from_version, delta.to_pyarrow_table(), related)
            rows = rows.select(schema.names).cast(schema)
            write_deltalake(delta, rows, mode="overwrite", schema_mode="overwrite")
            mark_current(DeltaTable(delta.table_uri, storage_options=_options(store)), item.table)
        except (DeltaError, OSError, pa.ArrowInvalid) as exc:
            raise CatalogCommitError(item.table, 1, exc) from exc
    store.close()  # kept tables and logs predate the rewrite
    return plan


def _options(store: CatalogStore) -> dict[str, str]:
    return dict(store.storage_options)
