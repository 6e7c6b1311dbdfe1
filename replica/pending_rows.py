"""The catalog rows a replication will commit, read before the bytes are copied.

Which rows the destination lacks is known from the plan alone, so reading them (a few
queries at the source, a few Delta columns at the destination) can overlap the byte
transfer; what is left after the copies is the commit. Nothing here writes: rows are
committed only for the datasets whose copies were verified, batch by batch, and a row
committed once is not handed out again by a later batch of the same run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from catalog.tables import TABLES
from oods import Site

from .rows import ROW_IDENTITY, SELECT, held_keys, not_held
from .schemas import conform, version_notes

#: The column naming the dataset a row belongs to (exposures: through ``datasets``).
_DATASET_COLUMN = {
    "datasets": "dataset_id",
    "provenance": "output_id",
    "calibrations": "dataset_id",
}
_EXPOSURE_KEY = ["instrument", "exposure"]


@dataclasses.dataclass
class PendingRows:
    """Rows of the source the destination lacks, per table, not yet committed."""

    tables: dict[str, pa.Table]
    #: ``dataset_id, instrument, exposure`` of every dataset asked for (to pick exposures).
    exposure_of: pa.Table
    notes: tuple[str, ...] = ()

    def of(self, dataset_ids: Sequence[str]) -> dict[str, pa.Table]:
        """The pending rows of these datasets only; exposures: those they belong to."""
        ids = pa.array(list(dataset_ids), pa.string())
        chosen: dict[str, pa.Table] = {}
        for table, rows in self.tables.items():
            if table == "exposures":
                mine = self.exposure_of.filter(pc.is_in(self.exposure_of["dataset_id"], ids))
                pairs = mine.select(_EXPOSURE_KEY).group_by(_EXPOSURE_KEY).aggregate([])
                picked = rows.join(pairs, keys=_EXPOSURE_KEY, join_type="left semi")
            else:
                picked = rows.filter(pc.is_in(rows[_DATASET_COLUMN[table]], ids))
            if picked.num_rows:
                chosen[table] = picked.select(rows.column_names)  # the join may reorder
        return chosen

    def committed(self, rows: Mapping[str, pa.Table]) -> None:
        """Forget ``rows``, now committed: datasets of a later batch may share their
        exposure, which must not be written twice."""
        for table, done in rows.items():
            pending = self.tables[table]
            if done.num_rows == pending.num_rows:
                self.tables[table] = pending.slice(0, 0)
            else:
                self.tables[table] = not_held(pending, done, ROW_IDENTITY[table])


def pending_catalog_rows(
    source: Site, destination: Site, dataset_ids: Sequence[str]
) -> PendingRows:
    """The current rows of ``source`` for ``dataset_ids`` that ``destination`` lacks
    (datasets, exposures, provenance, certifications), conformed to its schema.

    Raises:
        SchemaMismatch: the source lacks a column the destination requires.
    """
    params = {"ids": list(dataset_ids)}
    exposure_of = source.sql(
        "SELECT dataset_id, instrument, exposure FROM datasets "
        "WHERE dataset_id IN (SELECT unnest($ids))",
        params=params,
    ).to_arrow_table()
    tables: dict[str, pa.Table] = {}
    notes: set[str] = set()
    for table, query in SELECT.items():
        rows = source.sql(query, params=params).to_arrow_table()  # upgraded as read
        held = held_keys(destination, table, ROW_IDENTITY[table])
        new = not_held(rows, held, ROW_IDENTITY[table])
        if not new.num_rows:  # notes only for the tables written to, as copy_catalog_rows
            tables[table] = TABLES[table].schema.empty_table()
            continue
        notes |= version_notes(source.store, table)
        tables[table] = conform(new, table, notes)
    return PendingRows(tables, exposure_of, tuple(sorted(notes)))
