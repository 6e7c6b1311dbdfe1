"""``push``: send to the archive (the DBB) what it lacks, then release the local copies.

What is pushed: raws and certified calibrations (``plan.PUSHED``); there is no
promotion marker for other outputs yet, so they stay local. Pushed objects are tagged
``hold`` at the archive. Once the archive's copy is verified and catalogued, the local
copies are handed to the retention gate (``release_pushed``), which alone decides
whether they may expire.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from catalog import CatalogError
from catalog.errors import one_line
from oods import OodsError, Site
from oods._s3 import HOLD

from .plan import PUSHED, Plan, plan_transfers
from .replicate import Progress, ReplicaReport, replicate
from .rows import RowsCopied, copy_catalog_rows


def push_plan(local: Site, archive: Site) -> Plan:
    """What ``push`` would copy from ``local`` to ``archive`` now."""
    return plan_transfers(local, archive, PUSHED)


def push(
    local: Site,
    archive: Site,
    progress: Progress | None = None,
    release: bool = True,
    plan: Plan | None = None,
    release_to: str | None = None,
) -> ReplicaReport:
    """Copy to ``archive`` every pushed dataset it lacks, verified, then catalogue it there.

    Args:
        release: hand the pushed datasets' local copies to the retention gate.
        release_to: the expiring class they go to (default: the gate's).
        plan: a plan made just before (``push_plan``), else made now.
    """
    plan = plan or push_plan(local, archive)
    report = replicate(local, archive, plan, HOLD, progress)
    if release and report.copied:
        report.released, report.release_note = release_pushed(
            local, [t.dataset_id for t in report.copied], archive, release_to
        )
    return report


def push_corrections(local: Site, archive: Site) -> RowsCopied:
    """Send the archive the newer rows (record corrections made here) of the datasets
    it already holds; a push itself only sends rows with new datasets."""
    archive.refresh()
    held = archive.sql("SELECT dataset_id FROM files").to_arrow_table().column(0).to_pylist()
    return copy_catalog_rows(local, archive, held)


def release_pushed(
    local: Site, dataset_ids: Sequence[str], archive: Site, to_class: str | None = None
) -> tuple[int, str]:
    """THE retention hook of push: let the local copies of archived datasets expire.

    Delegates to ``oods.retention.release``, the one gate that checks the archive's copy
    (size and checksum) before retagging a local copy from ``hold`` to its expiring
    class (``to_class``, default the gate's). Without the gate (retention not
    installed) nothing is released and the copies stay on hold.

    Returns:
        (datasets released, a one-line note).
    """
    try:
        retention = importlib.import_module("oods.retention")
    except ImportError:
        return 0, "retention is not available: local copies kept on hold"
    gate = getattr(retention, "release", None)
    if gate is None:
        return 0, "oods.retention has no release gate: local copies kept on hold"
    options = {} if to_class is None else {"to_class": to_class}
    try:
        result = gate(local, dataset_ids, archive, **options)
    except (OodsError, CatalogError) as exc:
        return 0, (
            f"release failed ({one_line(exc)}): local copies kept on hold; "
            "`oods retention release --verified-at` retries"
        )
    released = len(getattr(result, "changed", []))
    refused = len(getattr(result, "refused", {}))
    note = f"released {released} local copies to their expiring class"
    return released, note + (f"; {refused} kept on hold (refused by the gate)" if refused else "")
