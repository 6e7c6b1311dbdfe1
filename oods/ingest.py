"""Ingest raw files: translate headers, upload unchanged bytes, commit one batch at a time.

Per batch: read every file's header blocks and translate them (metadata failures stop
here), look the ids up in the catalog, then in parallel workers read, hash (SHA-256) and
upload each new file with a create-only PUT; a file whose id is already held is hashed
and compared instead (same bytes: skipped; other bytes: a conflict, nothing
overwritten). Then commit exposures, datasets, provenance and, last, locations. Every
step can be re-run: an object left by a crash before its commit is recognised by its
checksum and catalogued by the next ingest.

A stored exposure record is never rewritten by a header: raws of a corrected exposure
follow the correction and the disagreement is reported (see ``oods.records``).

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
from typing import Any, BinaryIO

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
from .stored_records import follow_corrections, new_exposures

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
    """A file identified from its header, ready for the identity check and upload.

    Only the header blocks have been read; the bytes are read once more by the worker
    that hashes and uploads them (``sha256`` is set then), so hashing overlaps uploads.
    ``translation`` is the raw header's records (committed with the dataset); files
    ingested with an explicit data id (calibrations, outputs) have none.
    """

    path: Path
    size: int
    translation: Translation | None
    dataset_id: str
    key: str
    data_id: dict[str, object]
    sha256: bytes | None = None

    @property
    def checksum(self) -> str:
        assert self.sha256 is not None, "hashed by the upload"
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
    size = site.config.batch_size
    batches = [files[start : start + size] for start in range(0, len(files), size)]
    # Headers are read and translated by one thread (the work holds the GIL: more threads
    # only slow it down), a batch ahead of the workers that hash and upload.
    with ThreadPoolExecutor(site.config.workers) as pool, ThreadPoolExecutor(1) as reader:
        upcoming = reader.submit(_prepare_all, prepare, batches[0]) if batches else None
        for index in range(len(batches)):
            assert upcoming is not None
            prepared = upcoming.result()
            if index + 1 < len(batches):
                upcoming = reader.submit(_prepare_all, prepare, batches[index + 1])
            _ingest_batch(site, pool, prepared, dataset_type, run, report, progress, inputs or {})
    report.seconds = time.perf_counter() - started
    return report


def _prepare_all(
    prepare: Callable[[Path], _Prepared | FileResult], batch: Sequence[Path]
) -> list[_Prepared | FileResult]:
    return [prepare(path) for path in batch]


def _ingest_batch(
    site: Site,
    pool: ThreadPoolExecutor,
    batch: Sequence[_Prepared | FileResult],
    dataset_type: str,
    run: str,
    report: IngestReport,
    progress: Progress | None,
    inputs: Mapping[str, str],
) -> None:
    prepared: list[_Prepared] = []
    for item in batch:
        if isinstance(item, FileResult):
            report.results.append(item)
            _tick(progress)
        else:
            prepared.append(item)

    try:
        known = _known_checksums(site, [p.dataset_id for p in prepared])
    except CatalogError as exc:
        report.results.extend(p.result("failed", INGEST, f"catalog: {exc}") for p in prepared)
        for _ in prepared:
            _tick(progress)
        return
    # A file whose id is new is uploaded at once; one whose id is known (in the catalog,
    # or earlier in this batch) is hashed and compared instead: skipped or a conflict.
    fresh: dict[str, _Prepared] = {}
    repeated: list[_Prepared] = []
    for item in prepared:
        if item.dataset_id in known or item.dataset_id in fresh:
            repeated.append(item)
        else:
            fresh[item.dataset_id] = item
    uploaded: list[_Prepared] = []
    for item, (sha256, failure) in zip(
        fresh.values(), pool.map(lambda p: _upload(site, p), fresh.values()), strict=True
    ):
        if failure is None:
            uploaded.append(dataclasses.replace(item, sha256=sha256))
        else:
            report.results.append(item.result("failed", INGEST, failure))
            _tick(progress)
    known.update({p.dataset_id: p.checksum for p in uploaded})
    for item, (sha256, failure) in zip(repeated, pool.map(_hash, repeated), strict=True):
        report.results.append(_compare(item, sha256, failure, known.get(item.dataset_id)))
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
    read = read_file_header(path)
    if isinstance(read, FileResult):
        return read
    header, size = read
    try:
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
        return FileResult(source, "failed", size=size, failure=METADATA, reason=reason)
    instrument = translation.exposure.instrument
    data_id = translation.data_id()
    return _Prepared(
        path=path,
        size=size,
        translation=translation,
        dataset_id=str(dataset_id(dataset_type, run.format(instrument=instrument), data_id)),
        key=raw_key(translation, dataset_type, path.name),
        data_id=data_id,
    )


def read_file_header(path: Path) -> tuple[dict[str, Any], int] | FileResult:
    """A file's primary header and size, reading its header blocks only.

    Returns:
        (header, size), or the failed result: unreadable (ingest) or unusable (metadata).
    """
    source = str(path)
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            try:
                return read_header(file, source), size
            except HeaderError as exc:
                return FileResult(source, "failed", size=size, failure=METADATA, reason=exc.reason)
    except OSError as exc:
        return FileResult(
            source, "failed", failure=INGEST, reason=f"unreadable: {exc.strerror or exc}"
        )


def _known_checksums(site: Site, ids: Sequence[str]) -> dict[str, str]:
    """Checksums of the datasets among ``ids`` whose bytes the site holds now."""
    if not ids:
        return {}
    rows = site.store.scan(
        "locations",
        pc.field("dataset_id").isin(sorted(set(ids))),
        ["dataset_id", "checksum", "state", "recorded_at"],
    )
    current: dict[str, tuple[str, str]] = {}
    for row in sorted(rows.to_pylist(), key=lambda r: r["recorded_at"]):
        current[row["dataset_id"]] = (row["checksum"], row["state"])
    return {i: checksum for i, (checksum, state) in current.items() if state == "present"}


def _compare(
    item: _Prepared, sha256: bytes | None, failure: str | None, known: str | None
) -> FileResult:
    """The result for a file whose dataset id is already held: skipped or a conflict."""
    if failure is not None:
        return item.result("failed", INGEST, failure)
    if known is None:
        return item.result(
            "failed", INGEST, "another file with the same dataset id failed in this batch"
        )
    assert sha256 is not None
    if sha256.hex() == known:
        return dataclasses.replace(item, sha256=sha256).result("skipped")
    conflict = IdentityConflict(str(item.path), item.dataset_id, known, sha256.hex())
    return item.result("failed", INGEST, conflict.reason)


#: Files up to this size are read into memory once, for both the hash and the upload.
IN_MEMORY_LIMIT = 256 * 2**20


def _hash(item: _Prepared) -> tuple[bytes | None, str | None]:
    """(sha256, None), or (None, the reason the file could not be read)."""
    try:
        with open(item.path, "rb") as file:
            return hashlib.file_digest(file, "sha256").digest(), None
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"


def _upload(site: Site, item: _Prepared) -> tuple[bytes | None, str | None]:
    """Hash and create the object: (sha256, None), or (None, the reason it failed)."""
    metadata = {"dataset-id": item.dataset_id, "original-name": urllib.parse.quote(item.path.name)}
    try:
        with open(item.path, "rb") as file:
            if item.size <= IN_MEMORY_LIMIT:
                body: bytes | BinaryIO = file.read()
                if len(body) != item.size:
                    return None, "the file changed while it was being ingested"
                sha256 = hashlib.sha256(body).digest()
                verify = None  # the hashed bytes themselves are sent: CRC32 guards the wire
            else:
                sha256 = hashlib.file_digest(file, "sha256").digest()
                file.seek(0)
                body, verify = file, sha256
            metadata["sha256"] = sha256.hex()
            if _s3.put_new(site.s3, site.bucket, item.key, body, verify, metadata):
                return sha256, None
        existing = _s3.head_metadata(site.s3, site.bucket, item.key).get("sha256")
    except StorageError as exc:
        return None, f"storage: {exc.reason}"
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if existing == sha256.hex():
        return sha256, None  # left by an earlier run that stopped before its commit
    return None, (
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
    exposures, stored = new_exposures(site, translated, report) if translated else ([], {})
    exposure_rows = to_arrow(exposures, ExposureRecord).append_column(
        "recorded_at", pa.array([now] * len(exposures), pa.timestamp("us", tz="UTC"))
    )
    datasets = [_dataset_record(p, dataset_type, run, now) for p in items]
    if stored:
        datasets = follow_corrections(site, datasets, stored, report)
    provenance = [
        ProvenanceRecord(p.dataset_id, input_id, role, now)
        for p in items
        for input_id, role in inputs.items()
    ]
    # These three do not depend on each other; the locations that make the batch
    # visible are committed only once all of them are.
    site.store.append_together(
        {
            "exposures": exposure_rows,
            "datasets": to_arrow(datasets, DatasetRecord),
            "provenance": to_arrow(provenance, ProvenanceRecord),
        }
    )
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
        recorded_at=now,
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
