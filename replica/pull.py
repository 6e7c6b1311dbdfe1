"""``pull``: bring a subset of another site's datasets here, optionally self-consistent.

The subset is an SQL predicate over the other site's ``datasets`` (alias ``d``) joined
with its ``exposures`` (alias ``e``); ``closure`` adds what processing those datasets
needs: every calibration certified (in any collection) as valid for the selected raws,
and the inputs of everything selected, transitively, along ``provenance``. Pulled
objects are tagged with a retention class (``cache`` by default): a copy, not a record.
"""

from __future__ import annotations

import re

from oods import InvalidNameError, Site

from .plan import Plan, plan_transfers
from .replicate import Progress, ReplicaReport, replicate

#: The retention class of pulled objects unless asked otherwise.
CACHE = "cache"
_RETENTION_CLASS = re.compile(r"^[a-z][a-z0-9-]{0,31}$")  # as oods.retention_classes

_SELECTED = """
SELECT d.dataset_id FROM datasets d
LEFT JOIN exposures e ON e.instrument = d.instrument AND e.exposure = d.exposure
WHERE ({where})
"""

#: ``$ids`` plus the calibrations valid for its raws, then their inputs, transitively
#: (UNION, not UNION ALL: a cycle in provenance cannot loop).
_CLOSURE = """
WITH RECURSIVE
raws AS (
    SELECT d.dataset_id, d.instrument, d.detector, d.dataset_filter AS physical_filter,
           e.datetime_begin AS observed_at
    FROM datasets d JOIN exposures e ON e.instrument = d.instrument AND e.exposure = d.exposure
    WHERE d.dataset_id IN (SELECT unnest($ids))
),
valid AS (
    SELECT DISTINCT c.dataset_id FROM calibrations c JOIN raws r ON c.instrument = r.instrument
    WHERE c.state = 'certified'
      AND (c.detector IS NULL OR c.detector = r.detector)
      AND (c.physical_filter IS NULL OR c.physical_filter = r.physical_filter)
      AND (c.valid_begin IS NULL OR c.valid_begin <= r.observed_at)
      AND (c.valid_end IS NULL OR r.observed_at < c.valid_end)
),
closure(dataset_id) AS (
    SELECT unnest($ids) UNION SELECT dataset_id FROM valid
    UNION
    SELECT p.input_id FROM provenance p JOIN closure c ON p.output_id = c.dataset_id
)
SELECT dataset_id FROM closure
"""


def check_retention_class(name: str) -> str:
    """``name`` if it can be a retention class (an S3 tag value we write), else
    InvalidNameError, before anything is copied."""
    if not _RETENTION_CLASS.fullmatch(name):
        raise InvalidNameError(
            f"invalid retention class {name!r}: lower-case letters, digits or '-'"
        )
    return name


def select_datasets(remote: Site, where: str, closure: bool = False) -> list[str]:
    """The ids of ``remote``'s datasets matching ``where`` (plus their closure), sorted.

    Raises:
        duckdb.Error: ``where`` is not a valid predicate (the message says why).
        ReadOnlyQueryError: ``where`` tries to change the catalog.
    """
    remote.refresh()
    ids = [row[0] for row in remote.sql(_SELECTED.format(where=where)).fetchall()]
    if closure and ids:
        ids = [row[0] for row in remote.sql(_CLOSURE, params={"ids": ids}).fetchall()]
    return sorted(ids)


def pull_plan(local: Site, remote: Site, where: str, closure: bool = False) -> Plan:
    """What ``pull`` would copy from ``remote`` to ``local`` now."""
    ids = select_datasets(remote, where, closure)
    return plan_transfers(remote, local, "f.dataset_id IN (SELECT unnest(?))", [ids])


def pull(
    local: Site,
    remote: Site,
    where: str,
    closure: bool = False,
    retention: str = CACHE,
    progress: Progress | None = None,
    plan: Plan | None = None,
) -> ReplicaReport:
    """Copy here the datasets of ``remote`` matching ``where`` that this site lacks,
    with their catalog rows (exposures, certifications, provenance).

    Raises:
        InvalidNameError: ``retention`` is not a class name (checked before any copy).
    """
    check_retention_class(retention)
    plan = plan or pull_plan(local, remote, where, closure)
    return replicate(remote, local, plan, retention, progress)
