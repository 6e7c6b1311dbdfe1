"""Ingest raw files: translate headers, upload unchanged bytes, commit one batch at a time.

Per batch: read and translate every file (metadata failures stop here), look the ids up
in the catalog (same bytes: skipped; other bytes: conflict), upload with a create-only
PUT verified by SHA-256, then commit exposures, datasets, provenance and locations.
Every step can be re-run: an object left by a crash before its commit is recognised by
its checksum and catalogued by the next ingest.

The batch machinery (``ingest_prepared``) is shared with ``oods.calibrations``, which
prepares files from an explicit data id instead of a raw header.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from catalog import (
    CatalogError,
    Corrections,
    DatasetRecord,
    ExposureRecord,
    HeaderError,
    IdentityConflict,
    LocationRecord,
    ProvenanceRecord,
    Translation,
    dataset_id,
    read_header,
    to_arrow,
    translate_header,
)

from . import _s3
from .errors import StorageError
from .keys import raw_key
from .site import Site

METADATA = "metadata"  # the header is unusable: the file is not what it claims
INGEST = "ingest"  # storage or catalog failed, or the identity conflicts

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What happened to one file: ``ingested``, ``skipped`` (already there) or ``failed``."""

    path: str
    status: str
    dataset_id: str | None = None
    key: str | None = None
    size: int = 0
    failure: str | None = None
    reason: str | None = None

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.path}: {self.failure} failure: {self.reason}"
        return f"{self.path}: {self.status} as {self.key}"


@dataclasses.dataclass
class IngestReport:
    """The outcome of one ``ingest`` call, file by file."""

    results: list[FileResult] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def _with(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def ingested(self) -> list[FileResult]:
        return self._with("ingested")

    @property
    def skipped(self) -> list[FileResult]:
        return self._with("skipped")

    @property
    def failed(self) -> list[FileResult]:
        return self._with("failed")

    @property
    def bytes_ingested(self) -> int:
        return sum(r.size for r in self.ingested)

    def summary(self) -> dict[str, object]:
        return {
            "ingested": len(self.ingested),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "metadata_failures": sum(r.failure == METADATA for r in self.failed),
            "ingest_failures": sum(r.failure == INGEST for r in self.failed),
            "bytes": self.bytes_ingested,
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            **self.summary(),
            "warnings": self.warnings,
            "files": [dataclasses.asdict(r) for r in self.results],
        }


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A file read and identified, ready for the identity check and upload.

    ``translation`` is the raw header's records (committed with the dataset); files
    ingested with an explicit data id (calibrations, outputs) have none.
    """

    path: Path
    size: int
    sha256: bytes
    translation: Translation | None
    dataset_id: str
    key: str
    data_id: dict[str, object]

    @property
    def checksum(self) -> str:
        return self.sha256.hex()

    def result(
        self, status: str, failure: str | None = None, reason: str | None = None
    ) -> FileResult:
        return FileResult(
            str(self.path), status, self.dataset_id, self.key, self.size, failure, reason
        )


def find_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named or found (recursively, hidden ones left out) under the given paths."""
    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from (Path(root) / n for n in sorted(names) if not n.startswith("."))
        else:
            yield path


def ingest(
    site: Site,
    paths: Iterable[str | Path],
    run: str | None = None,
    dataset_type: str = "raw",
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest raw files (or folders of them) into a site.

    Args:
        site: the site to ingest into.
        paths: files and folders; folders are searched recursively.
        run: the run collection; default from the config, e.g. ``LSSTCam/raw/all``.
        dataset_type: the dataset type of every file.
        progress: called with the number of files finished, as they finish.

    Returns:
        An ``IngestReport``; failures are in it, one per file, never raised.

    Example:
        >>> report = ingest(Site.open(), ["night/20250415"])
        >>> report.summary()["ingested"]
    """
    run = run or site.config.run
    corrections = site.corrections
    return ingest_prepared(
        site,
        paths,
        lambda path: _prepare(path, run, dataset_type, corrections),
        dataset_type,
        run,
        progress,
    )


def ingest_prepared(
    site: Site,
    paths: Iterable[str | Path],
    prepare: Callable[[Path], _Prepared | FileResult],
    dataset_type: str,
    run: str,
    progress: Progress | None = None,
    inputs: Mapping[str, str] | None = None,
) -> IngestReport:
    """Ingest files that ``prepare`` identifies, in batches of ``site.config.batch_size``.

    Args:
        inputs: ``{input dataset id: role}`` recorded as provenance of every file.
    """
    started = time.perf_counter()
    report = IngestReport()
    files = list(find_files(paths))
    batch_size = site.config.batch_size
    with ThreadPoolExecutor(site.config.workers) as pool:
        for start in range(0, len(files), batch_size):
            batch = files[start : start + batch_size]
            _ingest_batch(
                site, pool, batch, prepare, dataset_type, run, report, progress, inputs or {}
            )
    report.seconds = time.perf_counter() - started
    return report


def _ingest_batch(
    site: Site,
    pool: ThreadPoolExecutor,
    batch: Sequence[Path],
    prepare: Callable[[Path], _Prepared | FileResult],
    dataset_type: str,
    run: str,
    report: IngestReport,
    progress: Progress | None,
    inputs: Mapping[str, str],
) -> None:
    prepared: list[_Prepared] = []
    for item in pool.map(prepare, batch):
        if isinstance(item, FileResult):
            report.results.append(item)
            _tick(progress)
        else:
            prepared.append(item)

    try:
        to_upload = _check_identities(site, prepared, report, progress)
    except CatalogError as exc:
        report.results.extend(p.result("failed", INGEST, f"catalog: {exc}") for p in prepared)
        for _ in prepared:
            _tick(progress)
        return
    uploaded: list[_Prepared] = []
    for item, failure in zip(
        to_upload, pool.map(lambda p: _upload(site, p), to_upload), strict=True
    ):
        if failure is None:
            uploaded.append(item)
        else:
            report.results.append(item.result("failed", INGEST, failure))
            _tick(progress)
    if not uploaded:
        return
    try:
        _commit(site, uploaded, dataset_type, run, report, inputs)
    except CatalogError as exc:
        reason = (
            f"catalog commit failed ({exc}); the bytes are stored and the next ingest "
            "of this file will catalog them"
        )
        report.results.extend(p.result("failed", INGEST, reason) for p in uploaded)
    else:
        report.results.extend(p.result("ingested") for p in uploaded)
    for _ in uploaded:
        _tick(progress)


def _tick(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)


def _prepare(
    path: Path, run: str, dataset_type: str, corrections: Corrections | None = None
) -> _Prepared | FileResult:
    """Read one file, correct and translate its header; failures become results."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(
            source, "failed", failure=INGEST, reason=f"unreadable: {exc.strerror or exc}"
        )
    try:
        header = read_header(data, source)
        corrected: list[str] = []
        if corrections is not None:
            header, corrected = corrections.correct(header)
        translation = translate_header(header, source)
        if corrected:
            exposure = dataclasses.replace(
                translation.exposure, corrected_cards=",".join(corrected)
            )
            translation = dataclasses.replace(translation, exposure=exposure)
    except HeaderError as exc:  # a bad correction file is named in the reason
        reason = exc.reason if exc.source == source else str(exc)
        return FileResult(source, "failed", size=len(data), failure=METADATA, reason=reason)
    instrument = translation.exposure.instrument
    data_id = translation.data_id()
    return _Prepared(
        path=path,
        size=len(data),
        sha256=hashlib.sha256(data).digest(),
        translation=translation,
        dataset_id=str(dataset_id(dataset_type, run.format(instrument=instrument), data_id)),
        key=raw_key(translation, dataset_type, path.name),
        data_id=data_id,
    )


def _check_identities(
    site: Site, prepared: list[_Prepared], report: IngestReport, progress: Progress | None
) -> list[_Prepared]:
    """Drop files already ingested (same bytes) and conflicts (other bytes)."""
    ids = sorted({p.dataset_id for p in prepared})
    current: dict[str, tuple[str, str]] = {}
    if ids:
        rows = site.store.scan(
            "locations",
            pc.field("dataset_id").isin(ids),
            ["dataset_id", "checksum", "state", "recorded_at"],
        )
        for row in sorted(rows.to_pylist(), key=lambda r: r["recorded_at"]):
            current[row["dataset_id"]] = (row["checksum"], row["state"])
    accepted: dict[str, _Prepared] = {}
    for item in prepared:
        checksum, state = current.get(item.dataset_id, (None, None))
        earlier = accepted.get(item.dataset_id)
        if earlier is not None:
            checksum, state = earlier.checksum, "present"
        if state == "present" and checksum == item.checksum:
            report.results.append(item.result("skipped"))
            _tick(progress)
        elif state == "present":
            assert checksum is not None
            conflict = IdentityConflict(str(item.path), item.dataset_id, checksum, item.checksum)
            report.results.append(item.result("failed", INGEST, str(conflict).split(": ", 1)[1]))
            _tick(progress)
        else:
            accepted[item.dataset_id] = item
    return list(accepted.values())


def _upload(site: Site, item: _Prepared) -> str | None:
    """Create the object; None on success, else the reason it failed."""
    metadata = {
        "sha256": item.checksum,
        "dataset-id": item.dataset_id,
        "original-name": urllib.parse.quote(item.path.name),
    }
    try:
        with open(item.path, "rb") as body:
            if _s3.put_new(site.s3, site.bucket, item.key, body, item.sha256, metadata):
                return None
        existing = _s3.head_metadata(site.s3, site.bucket, item.key).get("sha256")
    except StorageError as exc:
        return f"storage: {exc.reason}"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if existing == item.checksum:
        return None  # left by an earlier run that stopped before its commit
    return (
        f"{item.key} already holds different bytes (sha256 {str(existing)[:12]}…); "
        "nothing was overwritten"
    )


def _commit(
    site: Site,
    items: list[_Prepared],
    dataset_type: str,
    run: str,
    report: IngestReport,
    inputs: Mapping[str, str],
) -> None:
    """Commit one batch: exposures first, then datasets, provenance, then locations.

    Readers treat a dataset as present only once its location is committed, so a crash
    between the commits leaves nothing that points at missing bytes (and a retry of the
    same files commits them all again; repeated provenance rows read as one).
    """
    now = dt.datetime.now(dt.UTC)
    translated = [p.translation.exposure for p in items if p.translation is not None]
    exposures = _new_exposures(site, translated, report) if translated else []
    if exposures:
        table = to_arrow(exposures, ExposureRecord)
        table = table.append_column(
            "recorded_at", pa.array([now] * len(exposures), pa.timestamp("us", tz="UTC"))
        )
        site.store.append("exposures", table)
    datasets = [_dataset_record(p, dataset_type, run, now) for p in items]
    site.store.append("datasets", to_arrow(datasets, DatasetRecord))
    if inputs:
        provenance = [
            ProvenanceRecord(p.dataset_id, input_id, role, now)
            for p in items
            for input_id, role in inputs.items()
        ]
        site.store.append("provenance", to_arrow(provenance, ProvenanceRecord))
    locations = [
        LocationRecord(p.dataset_id, p.key, p.size, p.checksum, p.path.name, "present", now)
        for p in items
    ]
    site.store.append("locations", to_arrow(locations, LocationRecord))


def _dataset_record(
    item: _Prepared, dataset_type: str, run: str, now: dt.datetime
) -> DatasetRecord:
    """The dataset row: from the raw's translated header, else from its data id."""
    data_id = item.data_id
    exposure = item.translation.exposure if item.translation is not None else None
    instrument = str(data_id["instrument"])
    return DatasetRecord(
        dataset_id=item.dataset_id,
        dataset_type=dataset_type,
        run=run.format(instrument=instrument),
        instrument=instrument,
        data_id=json.dumps(data_id, sort_keys=True),
        ingested_at=now,
        exposure=exposure.exposure if exposure is not None else _int(data_id.get("exposure")),
        detector=_int(data_id.get("detector")),
        physical_filter=(
            exposure.physical_filter
            if exposure is not None
            else _str(data_id.get("physical_filter"))
        ),
        day_obs=exposure.day_obs if exposure is not None else None,
    )


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _new_exposures(
    site: Site, records: list[ExposureRecord], report: IngestReport
) -> list[ExposureRecord]:
    """Exposure records not yet in the catalog; a record that disagrees with the stored
    one is kept out and reported (the first record of an exposure stands)."""
    batch: dict[tuple[str, int], ExposureRecord] = {}
    for record in records:
        key = (record.instrument, record.exposure)
        if key in batch and batch[key] != record:
            report.warnings.append(_mismatch(batch[key], record))
        batch.setdefault(key, record)
    rows = site.store.scan(
        "exposures", pc.field("exposure").isin(sorted({k[1] for k in batch}))
    ).to_pylist()
    stored: dict[tuple[str, int], ExposureRecord] = {}
    fields = [f.name for f in dataclasses.fields(ExposureRecord)]
    for row in sorted(rows, key=lambda r: r["recorded_at"]):
        stored[(row["instrument"], row["exposure"])] = ExposureRecord(
            **{name: row[name] for name in fields}
        )
    fresh = []
    for key, record in batch.items():
        if key not in stored:
            fresh.append(record)
        elif stored[key] != record:
            report.warnings.append(_mismatch(stored[key], record))
    return fresh


def _mismatch(kept: ExposureRecord, other: ExposureRecord) -> str:
    fields = [
        f.name
        for f in dataclasses.fields(ExposureRecord)
        if getattr(kept, f.name) != getattr(other, f.name)
    ]
    shown = ", ".join(
        f"{f}: kept {getattr(kept, f)!r}, header says {getattr(other, f)!r}" for f in fields
    )
    return (
        f"exposure {kept.instrument} {kept.exposure}: headers disagree ({shown}); "
        "the first record stands"
    )
