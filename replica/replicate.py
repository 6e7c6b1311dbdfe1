"""Carry out a plan: copy the bytes in parallel, then commit the destination's rows.

Rows are committed only for copies verified against the checksum, and the locations
that make them readable at the destination last (as ingest does), so a run stopped at
any point leaves nothing pointing at missing bytes; the next run's plan holds exactly
what is left, and objects already copied are adopted after re-hashing them.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from catalog import CatalogError, SchemaVersionError
from catalog.errors import CatalogReadError, one_line
from catalog.tables import TABLES
from oods import Site

from .pending_rows import PendingRows, pending_catalog_rows
from .plan import Plan, Transfer
from .rows import location_rows
from .schemas import SchemaMismatch
from .transfer import Copied, copy_object

#: The status of a transfer not tried because a server had stopped answering.
NOT_DONE = "not-done"

#: Called with the bytes of each transfer as it finishes (for a progress bar).
Progress = Callable[[int], None]


@dataclasses.dataclass
class ReplicaReport:
    """What one push or pull did, dataset by dataset."""

    plan: Plan
    copied: list[Transfer] = dataclasses.field(default_factory=list)
    failed: list[tuple[Transfer, str]] = dataclasses.field(default_factory=list)
    #: Left for the next run because a server stopped answering (reported in one line).
    not_done: list[Transfer] = dataclasses.field(default_factory=list)
    #: Columns dropped or defaulted because the sites' schemas differ (not failures).
    notes: list[str] = dataclasses.field(default_factory=list)
    #: Dataset ids asked for by name that the source does not hold (``fetch``).
    unavailable: list[str] = dataclasses.field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    #: How the source's copies were released after a push (None: not asked).
    released: int | None = None
    release_note: str | None = None

    @property
    def bytes(self) -> int:
        return sum(t.size for t in self.copied)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.not_done or self.unavailable)

    def lines(self) -> list[str]:
        """One line per dataset that failed, naming its key and the reason, and one for
        those left because a server stopped answering."""
        lines = [reason for _, reason in self.failed]
        lines.extend(f"{i}: not held at {self.plan.source}" for i in self.unavailable)
        if self.not_done:
            lines.append(
                f"{len(self.not_done)} datasets not done: a server stopped answering; "
                "the next run resumes (copies already made are verified and adopted)"
            )
        return lines

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.plan.source,
            "destination": self.plan.destination,
            "planned": self.plan.count,
            "copied": len(self.copied),
            "failed": len(self.failed),
            "not_done": len(self.not_done),
            "unavailable": len(self.unavailable),
            "bytes": self.bytes,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "released": self.released,
            "release_note": self.release_note,
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "datasets": [t.dataset_id for t in self.copied],
            "failures": [{"dataset_id": t.dataset_id, "reason": r} for t, r in self.failed],
            "not_done": [t.dataset_id for t in self.not_done],
            "unavailable": self.unavailable,
        }


def replicate(
    source: Site,
    destination: Site,
    plan: Plan,
    retention: str,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ReplicaReport:
    """Copy every transfer of ``plan`` and commit the destination's catalog rows.

    Failures are in the report, one line each, never raised; once a server stops
    answering the transfers not yet started are not tried (one line says so).
    """
    started = time.perf_counter()
    report = ReplicaReport(plan)
    with ThreadPoolExecutor(workers or source.config.workers) as pool:
        try:  # before any byte moves: a table at another version would refuse the rows
            list(pool.map(destination.store.check_writable, TABLES))  # one table a thread
        except SchemaVersionError as exc:
            report.failed.extend((t, f"{t.key}: not copied: {exc}") for t in plan.transfers)
            return report
        except CatalogReadError:  # its tables did not answer (bounded): the next run resumes
            report.not_done.extend(plan.transfers)
            return report
        _copy_all(source, destination, pool, plan, retention, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _copy_all(
    source: Site,
    destination: Site,
    pool: ThreadPoolExecutor,
    plan: Plan,
    retention: str,
    report: ReplicaReport,
    progress: Progress | None,
) -> None:
    """Copy the plan batch by batch, while another thread reads the catalog rows the
    destination lacks (known from the plan): after the copies, only commits are left."""
    gone = threading.Event()

    def one(item: Transfer) -> Copied:
        if gone.is_set():
            return Copied(item, NOT_DONE)
        outcome = copy_object(source, destination, item, retention)
        if outcome.unreachable:
            gone.set()
        return outcome

    if not plan.transfers:
        return
    size = source.config.batch_size
    batches = [plan.transfers[i : i + size] for i in range(0, len(plan.transfers), size)]
    ids = [t.dataset_id for t in plan.transfers]
    with ThreadPoolExecutor(1, thread_name_prefix="replica-rows") as reader:
        pending = reader.submit(pending_catalog_rows, source, destination, ids)
        for batch in batches:  # one catalog commit per batch, as ingest does
            _copy_batch(destination, pool, one, batch, pending, report, progress, gone)
    if not gone.is_set():  # read again only when next queried: it is what was just written
        destination.refresh(lazily=True)


def _copy_batch(
    destination: Site,
    pool: ThreadPoolExecutor,
    one: Callable[[Transfer], Copied],
    batch: Sequence[Transfer],
    pending: Future[PendingRows],
    report: ReplicaReport,
    progress: Progress | None,
    gone: threading.Event,
) -> None:
    """Copy one batch's objects, then commit the verified ones' rows at the destination:
    catalog rows first, locations last, in one ``append_in_order``."""
    verified: list[Transfer] = []
    for outcome in pool.map(one, batch):
        if progress is not None:  # called from this thread only, in plan order
            progress(outcome.transfer.size)
        if outcome.status == NOT_DONE:
            report.not_done.append(outcome.transfer)
        elif outcome.status == "failed":
            report.failed.append((outcome.transfer, outcome.reason or "failed"))
        else:
            verified.append(outcome.transfer)
    if not verified:
        return
    if gone.is_set():
        # Committing to a server that stopped answering would only wait out its retries.
        report.not_done.extend(verified)
        return
    try:
        rows = pending.result().of([t.dataset_id for t in verified])
        locations = location_rows(verified, "present")
        destination.store.append_in_order([rows, {"locations": locations}])
    except (SchemaMismatch, SchemaVersionError) as exc:
        report.failed.extend((t, f"{t.key}: not catalogued: {exc}") for t in verified)
    except CatalogError as exc:
        reason = "catalog commit failed ({}); the bytes are copied and the next run adopts them"
        report.failed.extend((t, f"{t.key}: {reason.format(one_line(exc))}") for t in verified)
    else:
        pending.result().committed(rows)
        report.rows += sum(t.num_rows for t in rows.values()) + len(verified)
        report.notes = sorted(set(report.notes) | set(pending.result().notes))
        report.copied.extend(verified)
