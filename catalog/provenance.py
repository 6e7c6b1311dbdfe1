"""Provenance: which datasets an output was made from, and everything behind those.

The ``provenance`` table holds one row per (output, input, role), append-only; a row
repeated by a retried commit is the same fact and is read once. The closure of an
output's inputs is one recursive query, which is what a subset sync needs to carry
a calibration together with everything it was made from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import duckdb
import pyarrow.compute as pc

from .errors import UnknownDatasetError
from .query import Snapshot
from .records import ProvenanceRecord, to_arrow
from .tables import CatalogStore

DEFAULT_ROLE = "input"
#: Deepest chain followed; a guard against a cycle someone wrote by hand.
MAX_DEPTH = 64

_CLOSURE = f"""
WITH RECURSIVE closure(input_id, depth) AS (
    SELECT input_id, 1 FROM provenance WHERE output_id = $id
    UNION
    SELECT p.input_id, c.depth + 1
    FROM provenance p JOIN closure c ON p.output_id = c.input_id
    WHERE c.depth < {MAX_DEPTH}
)
SELECT c.input_id AS dataset_id, min(c.depth) AS depth,
       any_value(d.dataset_type) AS dataset_type, any_value(d.run) AS run,
       any_value(d.instrument) AS instrument, any_value(d.exposure) AS exposure,
       any_value(d.detector) AS detector, any_value(d.dataset_filter) AS physical_filter
FROM closure c LEFT JOIN datasets d ON d.dataset_id = c.input_id
GROUP BY c.input_id
ORDER BY depth, dataset_type, exposure, detector, dataset_id
"""


def provenance_records(
    output_id: str, inputs: Iterable[str] | Mapping[str, str], when: dt.datetime | None = None
) -> list[ProvenanceRecord]:
    """Rows saying ``output_id`` was made from ``inputs``.

    Args:
        output_id: the output dataset.
        inputs: input dataset ids (role ``input``), or ``{input_id: role}``.
        when: the time to record (now by default).
    """
    now = when or dt.datetime.now(dt.UTC)
    pairs = inputs.items() if isinstance(inputs, Mapping) else ((i, DEFAULT_ROLE) for i in inputs)
    return [ProvenanceRecord(output_id, str(i), role, now) for i, role in pairs]


def check_datasets_exist(store: CatalogStore, dataset_ids: Iterable[str]) -> None:
    """Raise for the first id the catalog does not know.

    Raises:
        UnknownDatasetError: naming the id.
    """
    wanted = sorted(set(dataset_ids))
    if not wanted:
        return
    rows = store.scan("datasets", pc.field("dataset_id").isin(wanted), ["dataset_id"])
    known = set(rows.column("dataset_id").to_pylist())
    for dataset_id in wanted:
        if dataset_id not in known:
            raise UnknownDatasetError(dataset_id, "unknown input: no such dataset in the catalog")


def record_provenance(
    store: CatalogStore, output_id: str, inputs: Iterable[str] | Mapping[str, str]
) -> list[ProvenanceRecord]:
    """Record that ``output_id`` was made from ``inputs``, in one commit.

    Args:
        store: the catalog.
        output_id: the output dataset, already in the catalog.
        inputs: input dataset ids (role ``input``), or ``{input_id: role}``.

    Returns:
        The rows committed.

    Raises:
        UnknownDatasetError: the output or an input is not in the catalog.

    Example:
        >>> record_provenance(store, master_bias_id, {raw_id: "bias"})
    """
    records = provenance_records(output_id, inputs)
    check_datasets_exist(store, [output_id, *(r.input_id for r in records)])
    if records:
        store.append("provenance", to_arrow(records, ProvenanceRecord))
    return records


def input_closure(snapshot: Snapshot, dataset_id: str) -> duckdb.DuckDBPyRelation:
    """Every dataset ``dataset_id`` was made from, directly or not, with its depth.

    Args:
        snapshot: the catalog snapshot to read.
        dataset_id: the output whose inputs are wanted.

    Returns:
        A relation, one row per input: dataset_id, depth (1 = direct input; the
        shortest chain), dataset_type, run, instrument, exposure, detector,
        physical_filter. Empty for a dataset with no recorded inputs.

    Example:
        >>> input_closure(snap, flat_id).df()
    """
    return snapshot.sql(_CLOSURE, {"id": dataset_id})
