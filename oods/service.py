"""``oods serve``: ingest files as they land, one micro-batch per catalog commit.

The main loop polls the landing folder (see ``oods.landing``; a file closed by its
writer wakes it at once), gathers the files that became complete into a batch, and
hands the batch to ``oods.ingest`` in one call: one exposure's files, arriving
together, cost one catalog commit; a lone file waits at
most ``max_wait`` (or until a poll finds nothing new). After the batch's commit, one
``arrivals`` row per file is committed, and only then is the file removed (or moved to
``done``) - or moved to ``failed`` if it was rejected. A crash anywhere leaves the file
in landing, so the next start ingests it again (``skipped`` if it was already in):
no file is lost and no object goes unrecorded.

Stopping (``stop`` set, e.g. by SIGTERM) is checked between batches only, so the batch
in flight is finished, never half-committed. Background tasks (compaction, and later
retention, reconcile, replica sync) run in their own threads on their own intervals;
a failing run is logged, counted and retried at the next interval.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from catalog import TABLES
from catalog.current_files import refresh_current_files
from catalog.dataset_index import refresh_dataset_index
from catalog.errors import one_line
from catalog.lazy_tables import choose_mode
from catalog.records import ArrivalRecord, to_arrow

from .background import BackgroundTask
from .deletion_events import start_deletion_listener
from .errors import ConfigError
from .ingest import FileResult, ingest
from .landing import Landed, LandingWatcher, move_beside
from .metrics import DEFAULT_METRICS_PORT, MetricsServer, ServiceMetrics
from .site import Site
from .sources import Note
from .staging import StagingWatcher

log = logging.getLogger("oods.serve")

ON_SUCCESS = ("delete", "move")
#: Every LSSTCam exposure has this many detector files (science, wavefront, guider).
LSSTCAM_DETECTORS = 205


def compact_all(site: Site) -> None:
    """Merge the small files every commit adds, in every catalog table (history kept),
    rebuild the dataset-id index once it is stale (``catalog.dataset_index``) and, in a
    catalog large enough to be read lazily, the current files of the nights changed
    since (``catalog.current_files``)."""
    for table in TABLES:
        site.store.compact(table)
    refresh_dataset_index(site.store)
    tables = {name: site.store.open(name) for name in TABLES}
    if choose_mode(tables) == "lazy":  # a smaller catalog is read into memory: unused
        refresh_current_files(site.store)


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    """How ``serve`` watches, batches and reports. Times are in seconds.

    ``done`` and ``failed`` default to folders beside ``landing`` (``done/``,
    ``failed/``); they may also be inside it (they are not watched).
    """

    landing: Path
    on_success: str = "delete"
    done: Path | None = None
    failed: Path | None = None
    poll_interval: float = 0.1
    settle: float = 0.3
    max_wait: float = 0.2
    max_batch: int = 1000
    metrics_port: int | None = DEFAULT_METRICS_PORT
    compact_interval: float = 600.0
    expected_detectors: int = LSSTCAM_DETECTORS
    incomplete_after: float = 60.0
    staging_bucket: str | None = None
    staging_prefix: str = ""
    staging_rescan: float = 1.0
    tasks: tuple[BackgroundTask, ...] = ()
    #: Mark objects deleted from the bucket (by lifecycle expiry or anyone) in the
    #: catalog as the deletion events arrive (``oods.deletion_events``).
    deletion_events: bool = True

    def __post_init__(self) -> None:
        if self.on_success not in ON_SUCCESS:
            raise ConfigError(
                f"serve: on_success must be one of {ON_SUCCESS}, not {self.on_success!r}"
            )
        for name in (
            "poll_interval",
            "max_wait",
            "compact_interval",
            "incomplete_after",
            "staging_rescan",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"serve: {name} must be more than 0 seconds")
        if self.settle < 0 or self.max_batch < 1 or self.expected_detectors < 1:
            raise ConfigError("serve: settle must be >= 0, max_batch and expected_detectors >= 1")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"serve: metrics_port {self.metrics_port} is not a port")

    @property
    def done_folder(self) -> Path:
        return self.done or self.landing.parent / "done"

    @property
    def failed_folder(self) -> Path:
        return self.failed or self.landing.parent / "failed"


@dataclasses.dataclass
class ServiceReport:
    """What one run of ``serve`` did, for the command's last line."""

    batches: int = 0
    files: dict[str, int] = dataclasses.field(default_factory=dict)
    incomplete: list[str] = dataclasses.field(default_factory=list)


class ArrivalSequencer:
    """Numbers arrival rows: microseconds of the commit time, never going back."""

    def __init__(self, site: Site) -> None:
        rows = site.store.scan("arrivals", columns=["seq"])
        seqs = rows.column("seq").to_pylist()
        self.last = max(seqs, default=0)

    def take(self, n: int) -> int:
        """The first of ``n`` new consecutive numbers."""
        first = max(self.last + 1, time.time_ns() // 1000)
        self.last = first + n - 1
        return first


def serve(
    site: Site,
    config: ServiceConfig,
    stop: threading.Event,
    metrics: ServiceMetrics | None = None,
    on_ready: Callable[[int | None], None] | None = None,
) -> ServiceReport:
    """Ingest what lands in ``config.landing`` until ``stop`` is set; then return.

    ``on_ready`` is called once with the metrics port (None without metrics), when
    the service is listening and about to make its first poll.
    """
    metrics = metrics or ServiceMetrics()
    service = _Service(site, config, stop, metrics)
    staging = _staging(site, config, stop)  # checked before any thread starts
    server = None
    if config.metrics_port is not None:
        stale = max(30.0, 20 * config.poll_interval)  # a big batch may take seconds
        server = MetricsServer(metrics, config.metrics_port, stale).start()
    tasks = (BackgroundTask("compaction", config.compact_interval, compact_all), *config.tasks)
    threads = [
        threading.Thread(target=_run_task, args=(task, site, stop, metrics), daemon=True)
        for task in tasks
    ]
    for thread in threads:
        thread.start()
    if staging is not None:
        threads.extend(staging.start())
    log.info(
        "serving %s: landing %s, %s, metrics %s",
        site.bucket,
        config.landing,
        f"done -> {config.done_folder}" if config.on_success == "move" else "delete when done",
        f"http://127.0.0.1:{server.port}/metrics" if server else "off",
    )
    if on_ready is not None:
        on_ready(server.port if server else None)
    service.watcher.start_events()
    # Its own Site: it commits from its own thread.
    deletions = start_deletion_listener(Site(site.config)) if config.deletion_events else None
    try:
        service.run()
    finally:
        stop.set()
        service.watcher.stop_events()
        if deletions is not None:
            deletions.stop()
        for thread in threads:
            thread.join(timeout=60)  # a compaction in flight finishes its commit
        if server is not None:
            server.stop()
    log.info("stopped after %d batches: %s", service.report.batches, service.report.files)
    return service.report


class _Service:
    def __init__(
        self, site: Site, config: ServiceConfig, stop: threading.Event, metrics: ServiceMetrics
    ) -> None:
        self.site = site
        self.config = config
        self.stop = stop
        self.metrics = metrics
        self.report = ServiceReport()
        config.landing.mkdir(parents=True, exist_ok=True)
        self.watcher = LandingWatcher(
            config.landing, config.settle, exclude=(config.done_folder, config.failed_folder)
        )
        self.sequencer = ArrivalSequencer(site)
        #: exposure (instrument/obs_id) -> (first seen, detector keys seen)
        self.exposures: dict[str, tuple[float, set[str]]] = {}

    def run(self) -> None:
        pending: list[Landed] = []
        since: float | None = None
        while not self.stop.is_set():
            found = self.watcher.poll()
            self.metrics.polled()
            if found:
                pending.extend(found)
                since = since if since is not None else time.monotonic()
            self.metrics.backlog.set(len(pending) + self.watcher.waiting())
            due = bool(pending) and (
                len(pending) >= self.config.max_batch
                or not found  # arrivals went quiet: nothing gained by waiting
                or time.monotonic() - (since or 0.0) >= self.config.max_wait
            )
            if due:
                batch, pending = pending[: self.config.max_batch], pending[self.config.max_batch :]
                since = time.monotonic() if pending else None
                if not self._commit(batch):
                    self.stop.wait(1.0)  # storage or catalog trouble: back off, then retry
                self.metrics.backlog.set(len(pending) + self.watcher.waiting())
                if pending:
                    continue
            self._check_incomplete()
            if not self.stop.is_set():
                self.watcher.wait(self.config.poll_interval)  # or less: a file closed

    def _commit(self, batch: list[Landed]) -> bool:
        """Ingest ``batch`` and record its arrivals; False (files kept) if it failed."""
        started = time.monotonic()
        log.info("ingesting a batch of %d files", len(batch))
        try:
            # Cheap, and it keeps an outage from being filed as every file's failure.
            self.site.s3.head_bucket(Bucket=self.site.bucket)
            report = ingest(self.site, [landed.path for landed in batch])
            queryable = dt.datetime.now(dt.UTC)
            records = self._arrivals(batch, report.results, report.notes, queryable)
            self.site.store.append("arrivals", to_arrow(records, ArrivalRecord))
        except Exception as exc:  # nothing is moved: the next poll hands them out again
            log.error("batch of %d files not committed, will retry: %s", len(batch), one_line(exc))
            self.metrics.loop_failures.labels("ingest").inc()
            for landed in batch:
                self.watcher.release(landed.path)
            return False
        self.metrics.commit.observe(time.monotonic() - started)
        self.metrics.batches.inc()
        self.report.batches += 1
        for landed, record in zip(batch, records, strict=True):
            self._account(landed, record)
        log.info(
            "batch of %d files in %.3fs: %s",
            len(batch),
            time.monotonic() - started,
            ", ".join(f"{n} {s}" for s, n in sorted(_count(records).items())),
        )
        return True

    def _arrivals(
        self,
        batch: list[Landed],
        results: list[FileResult],
        notes: list[Note],
        queryable: dt.datetime,
    ) -> list[ArrivalRecord]:
        by_path = {result.path: result for result in results}
        noted = {note.path: note.reason for note in notes}
        first = self.sequencer.take(len(batch))
        records = []
        for n, landed in enumerate(batch):
            result = by_path.get(str(landed.path))
            arrived = dt.datetime.fromtimestamp(landed.mtime, dt.UTC)
            common = {"seq": first + n, "path": str(landed.path), "arrived_at": arrived}
            if result is None:
                reason = noted.get(str(landed.path)) or "not taken by ingest"
                records.append(
                    ArrivalRecord(
                        **common,
                        status="ingest_failure",
                        recorded_at=queryable,
                        size=landed.size,
                        failure="ingest",
                        reason=reason,
                    )
                )
                continue
            status = f"{result.failure}_failure" if result.status == "failed" else result.status
            records.append(
                ArrivalRecord(
                    **common,
                    status=status,
                    recorded_at=queryable,
                    dataset_id=result.dataset_id,
                    key=result.key,
                    size=result.size or landed.size,
                    failure=result.failure,
                    reason=result.reason,
                    ingested_at=queryable if result.status == "ingested" else None,
                )
            )
        return records

    def _account(self, landed: Landed, record: ArrivalRecord) -> None:
        """Count the file, report it, and clear it out of landing."""
        files = self.report.files
        files[record.status] = files.get(record.status, 0) + 1
        self.metrics.files.labels(record.status).inc()
        if record.status in ("ingested", "skipped"):
            if record.status == "ingested":
                self.metrics.bytes.inc(record.size or 0)
                self.metrics.latency.observe(
                    max(0.0, (record.recorded_at - record.arrived_at).total_seconds())
                )
                self._note_exposure(record.key)
            self._clear(
                landed, self.config.done_folder if self.config.on_success == "move" else None
            )
        else:
            self.metrics.failures.labels(record.failure or "ingest").inc()
            log.warning("%s: %s failure: %s", landed.path, record.failure, record.reason)
            self._clear(landed, self.config.failed_folder)

    def _clear(self, landed: Landed, target: Path | None) -> None:
        try:
            if target is None:
                landed.path.unlink(missing_ok=True)
            else:
                move_beside(landed.path, self.config.landing, target)
        except OSError as exc:
            log.error("%s: recorded, but could not be cleared from landing: %s", landed.path, exc)

    def _note_exposure(self, key: str | None) -> None:
        parts = (key or "").split("/")
        if len(parts) < 5:
            return
        exposure = f"{parts[0]}/{parts[3]}"
        seen = self.exposures.setdefault(exposure, (time.monotonic(), set()))
        seen[1].add(key or "")

    def _check_incomplete(self) -> None:
        """Report (once) exposures still short of detectors ``incomplete_after`` on."""
        now = time.monotonic()
        for exposure, (first, keys) in list(self.exposures.items()):
            if len(keys) >= self.config.expected_detectors:
                del self.exposures[exposure]
            elif now - first >= self.config.incomplete_after:
                del self.exposures[exposure]
                self.metrics.incomplete.inc()
                self.report.incomplete.append(exposure)
                log.warning(
                    "incomplete exposure %s: %d of %d detectors after %.0fs",
                    exposure,
                    len(keys),
                    self.config.expected_detectors,
                    self.config.incomplete_after,
                )


def _staging(site: Site, config: ServiceConfig, stop: threading.Event) -> StagingWatcher | None:
    if config.staging_bucket is None:
        return None
    if config.staging_bucket == site.bucket:
        raise ConfigError(
            f"serve: staging_bucket {site.bucket!r} is the site's own bucket: "
            "give a bucket of its own (its objects are deleted once brought in)"
        )
    return StagingWatcher(
        site,
        config.staging_bucket,
        config.staging_prefix,
        config.landing,
        config.staging_rescan,
        stop,
    )


def _run_task(
    task: BackgroundTask, site: Site, stop: threading.Event, metrics: ServiceMetrics
) -> None:
    while not stop.wait(task.interval):
        started = time.monotonic()
        try:
            task.action(site)
        except Exception as exc:  # logged and retried next interval, never fatal
            metrics.loop_failures.labels(task.name).inc()
            log.error("%s failed (retried in %.0fs): %s", task.name, task.interval, one_line(exc))
        else:
            log.info("%s done in %.1fs", task.name, time.monotonic() - started)


def _count(records: list[ArrivalRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return counts
