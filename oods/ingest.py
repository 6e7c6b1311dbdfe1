"""Ingest raw files: translate headers, upload unchanged bytes, commit one batch at a time.

Per batch: read every file's header blocks and translate them (metadata failures stop
here), look the ids up in the catalog, then in parallel workers read, hash (SHA-256) and
upload each new file with a create-only PUT; a file whose id is already held is hashed
and compared instead (same bytes: skipped; other bytes: a conflict, nothing
overwritten). Then commit exposures, datasets, provenance and, last, locations. Every
step can be re-run: an object left by a crash before its commit is recognised by its
checksum and catalogued by the next ingest.

One dataset id, one byte stream: the key is built from the data id alone (never from
the file name), so the create-only PUT on it is the lock between concurrent writers.
The loser reads the object's metadata: the same dataset and bytes are catalogued (left
by a crashed run, or a twin writer), anything else is refused and nothing overwritten.
A raw is one dataset: the same data id under another run is refused, whether it is
found in the catalog or on the key. The bytes uploaded are checked to be those whose
header was translated (a file replaced in between is refused, nothing stored).

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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pyarrow as pa

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
from catalog.headers import BLOCK, CARD

from . import _s3
from .config import check_run_template
from .errors import StorageError, printable
from .keys import raw_key
from .site import Site
from .sources import Note, open_regular, scan_sources
from .stored_records import follow_corrections, new_exposures

METADATA = "metadata"  # the header is unusable: the file is not what it claims
INGEST = "ingest"  # storage or catalog failed, or the identity conflicts

CHANGED = "the file changed while it was being ingested; nothing stored"

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
        """One line of output; control characters in names are escaped (see printable)."""
        if self.status == "failed":
            return printable(f"{self.path}: {self.failure} failure: {self.reason}")
        return printable(f"{self.path}: {self.status} as {self.key}")


@dataclasses.dataclass
class IngestReport:
    """The outcome of one ``ingest`` call, file by file."""

    results: list[FileResult] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    notes: list[Note] = dataclasses.field(default_factory=list)  # paths passed over
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
            "notes": [dataclasses.asdict(n) for n in self.notes],
            "files": [dataclasses.asdict(r) for r in self.results],
        }


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A file identified from its header, ready for the identity check and upload.

    Only the header blocks have been read; the bytes are read once more by the worker
    that hashes and uploads them (``sha256`` is set then), so hashing overlaps uploads.
    ``translation`` is the raw header's records (committed with the dataset); files
    ingested with an explicit data id (calibrations, outputs) have none. ``leading``
    is the primary header's bytes as translated: the bytes uploaded must start with
    them (and have ``size``), or the file was replaced in between.
    """

    path: Path
    size: int
    translation: Translation | None
    dataset_id: str
    key: str
    data_id: dict[str, object]
    sha256: bytes | None = None
    leading: bytes = b""

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

    Raises:
        InvalidNameError: ``run`` is not a safe run name (checked before any file).
        SchemaVersionError: a catalog table is at another schema version than this
            code's (checked before any file: migrate, or upgrade OODS).

    Example:
        >>> report = ingest(Site.open(), ["night/20250415"])
        >>> report.summary()["ingested"]
    """
    run = check_run_template(run or site.config.run)
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
    site.store.check_writable_tables()  # one line for a catalog to migrate, not one per file
    report = IngestReport()
    sources = scan_sources(paths)  # the CLI's own scan is not walked again
    report.notes.extend(sources.notes)
    report.results.extend(
        FileResult(n.path, "failed", failure=INGEST, reason=n.reason) for n in sources.refused
    )
    files = sources.files
    size = site.config.batch_size
    batches = [files[start : start + size] for start in range(0, len(files), size)]
    # Headers are read and translated by one thread (the work holds the GIL: more threads
    # only slow it down), a batch ahead of the workers that hash and upload.
    with ThreadPoolExecutor(site.config.workers) as pool, ThreadPoolExecutor(1) as reader:
        # One batch (a file at a time, as an archiver calls) is prepared here: a thread
        # started per call would overlap nothing.
        upcoming = reader.submit(_prepare_all, prepare, batches[0]) if len(batches) > 1 else None
        for index in range(len(batches)):
            if upcoming is None:
                prepared = _prepare_all(prepare, batches[index])
            else:
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
    if not prepared:
        return
    try:
        # One look at each table's log for the whole batch (see CatalogIndex.batch).
        with site.index.batch():
            _ingest_known(site, pool, prepared, dataset_type, run, report, progress, inputs)
    except CatalogError as exc:  # the lookups failed: nothing was uploaded
        report.results.extend(p.result("failed", INGEST, f"catalog: {exc}") for p in prepared)
        for _ in prepared:
            _tick(progress)


def _ingest_known(
    site: Site,
    pool: ThreadPoolExecutor,
    prepared: list[_Prepared],
    dataset_type: str,
    run: str,
    report: IngestReport,
    progress: Progress | None,
    inputs: Mapping[str, str],
) -> None:
    """The batch once the catalog is up to date: upload, compare, commit.

    Raises:
        CatalogError: only from the lookups, before anything is uploaded.
    """
    known = _known_checksums(site, [p.dataset_id for p in prepared])
    held = _held_under_other_runs(site, prepared, dataset_type)
    # A file whose id is new is uploaded at once; one whose id is known (in the catalog,
    # or earlier in this batch) is hashed and compared instead: skipped or a conflict.
    fresh: dict[str, _Prepared] = {}
    repeated: list[_Prepared] = []
    for item in prepared:
        if item.dataset_id in held:
            holder, holder_run = held[item.dataset_id]
            report.results.append(item.result("failed", INGEST, _one_raw(holder, holder_run)))
            _tick(progress)
        elif item.dataset_id in known or item.dataset_id in fresh:
            repeated.append(item)
        else:
            fresh[item.dataset_id] = item
    uploaded: list[_Prepared] = []
    adopted: set[str] = set()  # found already stored, same bytes: catalogued unless known
    for item, outcome in zip(
        fresh.values(), _map(pool, lambda p: _upload(site, p, run), fresh.values()), strict=True
    ):
        if outcome.failure is None:
            uploaded.append(dataclasses.replace(item, sha256=outcome.sha256))
            if outcome.adopted:
                adopted.add(item.dataset_id)
        else:
            report.results.append(item.result("failed", INGEST, outcome.failure))
            _tick(progress)
    known.update({p.dataset_id: p.checksum for p in uploaded})
    uploaded = _drop_catalogued_meanwhile(site, uploaded, adopted, report, progress)
    for item, (sha256, failure) in zip(repeated, _map(pool, _hash, repeated), strict=True):
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


_T = TypeVar("_T")
_R = TypeVar("_R")


def _map(pool: ThreadPoolExecutor, work: Callable[[_T], _R], items: Collection[_T]) -> Iterator[_R]:
    """``pool.map``, but one item is done here: no thread is started for it."""
    if len(items) <= 1:
        return iter([work(item) for item in items])
    return pool.map(work, items)


def _tick(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)


def _prepare(
    path: Path, run: str, dataset_type: str, corrections: Corrections | None = None
) -> _Prepared | FileResult:
    """Read one file, correct and translate its header; failures become results."""
    source = str(path)
    head = read_file_head(path)
    if isinstance(head, FileResult):
        return head
    header, size = head.header, head.size
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
        key = raw_key(translation, dataset_type)
    except HeaderError as exc:  # a bad correction file is named in the reason
        reason = exc.reason if exc.source == source else str(exc)
        return FileResult(source, "failed", size=size, failure=METADATA, reason=reason)
    except ValueError as exc:  # the header's obs_id or detector cannot be part of a key
        return FileResult(source, "failed", size=size, failure=METADATA, reason=str(exc))
    instrument = translation.exposure.instrument
    data_id = translation.data_id()
    return _Prepared(
        path=path,
        size=size,
        translation=translation,
        dataset_id=str(dataset_id(dataset_type, run.format(instrument=instrument), data_id)),
        key=key,
        data_id=data_id,
        leading=head.leading,
    )


@dataclasses.dataclass(frozen=True)
class FileHead:
    """A file's primary header, its size, and the header bytes it was parsed from."""

    header: dict[str, Any]
    size: int
    leading: bytes


def read_file_head(path: Path) -> FileHead | FileResult:
    """A file's primary header, size and header bytes, reading its header blocks only.

    The header bytes are read before and after parsing, from the same open file: if
    they differ the file was being rewritten, and what was parsed cannot be trusted.

    Returns:
        The ``FileHead``, or the failed result: unreadable or changed (ingest), or
        unusable (metadata).
    """
    source = str(path)
    try:
        with open_regular(path) as file:  # a FIFO would block open() forever
            size = os.fstat(file.fileno()).st_size
            before = _header_bytes(file)
            try:
                header = read_header(file, source)
            except HeaderError as exc:
                return FileResult(source, "failed", size=size, failure=METADATA, reason=exc.reason)
            if _header_bytes(file) != before or os.fstat(file.fileno()).st_size != size:
                return FileResult(source, "failed", size=size, failure=INGEST, reason=CHANGED)
            return FileHead(header, size, before)
    except OSError as exc:
        return FileResult(
            source, "failed", failure=INGEST, reason=f"unreadable: {exc.strerror or exc}"
        )


def read_file_header(path: Path) -> tuple[dict[str, Any], int] | FileResult:
    """A file's primary header and size, reading its header blocks only.

    Returns:
        (header, size), or the failed result: unreadable (ingest) or unusable (metadata).
    """
    head = read_file_head(path)
    return head if isinstance(head, FileResult) else (head.header, head.size)


#: Header blocks kept at most: far more than any raw's primary header needs.
_HEADER_BLOCKS = 64


def _header_bytes(file: BinaryIO) -> bytes:
    """The primary header's blocks, up to its END card (or ``_HEADER_BLOCKS`` blocks)."""
    file.seek(0)
    blocks: list[bytes] = []
    while len(blocks) < _HEADER_BLOCKS:
        block = file.read(BLOCK)
        blocks.append(block)
        if len(block) < BLOCK or (len(blocks) == 1 and not block.startswith(b"SIMPLE")):
            break
        if any(block[i : i + CARD].rstrip() == b"END" for i in range(0, BLOCK, CARD)):
            break
    return b"".join(blocks)


def _known_checksums(site: Site, ids: Sequence[str]) -> dict[str, str]:
    """Checksums of the datasets among ``ids`` whose bytes the site holds now."""
    return site.index.present_checksums(ids) if ids else {}


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
    """(sha256, None), or (None, the reason the file could not be read or changed)."""
    try:
        with open(item.path, "rb") as file:
            sha256 = _digest_as_read(file, item)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    return (sha256, None) if sha256 is not None else (None, CHANGED)


def _digest_as_read(file: BinaryIO, item: _Prepared) -> bytes | None:
    """The SHA-256 of the whole file, or None if it is not the file whose header was read
    (other leading header bytes, or another size)."""
    if file.read(len(item.leading)) != item.leading:
        return None
    digest = hashlib.sha256(item.leading)
    size = len(item.leading)
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest() if size == item.size else None


@dataclasses.dataclass(frozen=True)
class _Upload:
    """One upload's outcome: stored (``sha256``), or why not (``failure``).

    ``adopted``: the object was already there with this dataset's id and bytes (left by
    a run that stopped before its commit, or a concurrent writer of the same file).
    """

    sha256: bytes | None = None
    failure: str | None = None
    adopted: bool = False


#: What a rejected SHA-256 or CRC32 looks like: the bytes sent are not the bytes hashed.
_DIGEST_ERRORS = ("BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch")


def _upload(
    site: Site, item: _Prepared, run: str, in_memory_limit: int = IN_MEMORY_LIMIT
) -> _Upload:
    """Hash and create the object under its data id's key, or find out who holds it.

    The create-only PUT is the lock: of concurrent writers of one key, one wins. Files
    over ``in_memory_limit`` bytes are streamed from disk.
    """
    metadata = {
        "dataset-id": item.dataset_id,
        "run": run.format(instrument=item.data_id["instrument"]),
        "original-name": urllib.parse.quote(item.path.name),
    }
    try:
        with open(item.path, "rb") as file:
            if item.size <= in_memory_limit:
                body: bytes | BinaryIO = file.read(item.size + 1)
                if len(body) != item.size or not body.startswith(item.leading):
                    return _Upload(failure=CHANGED)
                sha256 = hashlib.sha256(body).digest()
                verify = None  # the hashed bytes themselves are sent: CRC32 guards the wire
            else:
                # Streamed: the server checks the bytes sent against this SHA-256, taken
                # in a pass that also checked the header bytes and the size.
                digest = _digest_as_read(file, item)
                if digest is None:
                    return _Upload(failure=CHANGED)
                sha256 = digest
                file.seek(0)
                body, verify = file, sha256
            metadata["sha256"] = sha256.hex()
            if _create(site, item.key, body, verify, sha256, metadata):
                return _Upload(sha256)
        existing = _s3.head_metadata(site.s3, site.bucket, item.key)
    except StorageError as exc:
        if any(code in exc.reason for code in _DIGEST_ERRORS):
            return _Upload(failure=CHANGED)
        return _Upload(failure=f"storage: {exc.reason}")
    except OSError as exc:
        return _Upload(failure=f"unreadable: {exc.strerror or exc}")
    return _claimed(item, sha256, existing)


def _create(
    site: Site,
    key: str,
    body: bytes | BinaryIO,
    verify: bytes | None,
    sha256: bytes,
    metadata: dict[str, str],
) -> bool:
    """The create-only PUT: bytes in memory through the site's lean signed calls (their
    SHA-256, taken already, signs the payload), a streamed file through boto3."""
    if not isinstance(body, bytes):
        return _s3.put_new(site.s3, site.bucket, key, body, verify, metadata)
    try:
        return site.objects.create(key, body, sha256, metadata, f"{_s3.RETENTION_TAG}={_s3.HOLD}")
    except OSError as exc:
        raise StorageError(key, str(exc).removeprefix(f"{key}: ")) from exc


def _claimed(item: _Prepared, sha256: bytes, existing: Mapping[str, str]) -> _Upload:
    """The outcome for a file whose key is already taken, from the object's metadata."""
    holder = existing.get("dataset-id")
    if holder is not None and holder != item.dataset_id:
        return _Upload(failure=_one_raw(holder, existing.get("run", "unknown")))
    if existing.get("sha256") == sha256.hex():
        return _Upload(sha256, adopted=True)
    if holder is None or "sha256" not in existing:
        return _Upload(
            failure=f"{item.key} already holds bytes OODS did not store; nothing was overwritten"
        )
    conflict = IdentityConflict(str(item.path), item.dataset_id, existing["sha256"], sha256.hex())
    return _Upload(failure=conflict.reason)


def _one_raw(holder: str, holder_run: str) -> str:
    return (
        f"this raw is already stored as dataset {holder} (run {holder_run}); one raw, one dataset"
    )


def _held_under_other_runs(
    site: Site, items: Sequence[_Prepared], dataset_type: str
) -> dict[str, tuple[str, str]]:
    """``{dataset id: (the dataset holding its raw, that dataset's run)}`` for the raws
    among ``items`` whose data id the catalog already holds under another run.

    Catches what the key lock cannot: raws stored before keys were built from the data
    id, under a key of the older layout.
    """
    raws = [p for p in items if p.translation is not None]
    if not raws:
        return {}
    keys = {item.dataset_id: _data_id_key(item, dataset_type) for item in raws}
    catalogued = site.index.holders(set(keys.values()))
    held: dict[str, tuple[str, str]] = {}
    for item in raws:
        others = [
            d for d in catalogued.get(keys[item.dataset_id], {}).items() if d[0] != item.dataset_id
        ]
        if others:
            held[item.dataset_id] = min(others)
    return held


def _data_id_key(item: _Prepared, dataset_type: str) -> tuple[str, str, int, int]:
    data_id = item.data_id
    return (
        dataset_type,
        str(data_id["instrument"]),
        int(data_id["exposure"]),  # type: ignore[call-overload]
        int(data_id["detector"]),  # type: ignore[call-overload]
    )


def _drop_catalogued_meanwhile(
    site: Site,
    stored: list[_Prepared],
    adopted: set[str],
    report: IngestReport,
    progress: Progress | None,
) -> list[_Prepared]:
    """``stored`` less the adopted objects that another writer catalogued meanwhile.

    Those are reported as skipped, so that twin writers of the same file do not both
    commit a location for it. (A failed lookup changes nothing: committing again is
    harmless, a location row per commit.)
    """
    if not adopted:
        return stored
    try:
        now_known = site.index.present_checksums(sorted(adopted), follow=True)
    except CatalogError:
        return stored
    kept: list[_Prepared] = []
    for item in stored:
        if now_known.get(item.dataset_id) == item.checksum:
            report.results.append(item.result("skipped"))
            _tick(progress)
        else:
            kept.append(item)
    return kept


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
    locations = [
        LocationRecord(
            d.dataset_id,
            d.instrument,
            d.day_obs,
            d.exposure,
            p.key,
            p.size,
            p.checksum,
            p.path.name,
            "present",
            now,
        )
        for p, d in zip(items, datasets, strict=True)
    ]
    # The first three do not depend on each other; the locations that make the batch
    # visible are committed only once all of them are.
    site.store.append_in_order(
        [
            {
                "exposures": exposure_rows,
                "datasets": to_arrow(datasets, DatasetRecord),
                "provenance": to_arrow(provenance, ProvenanceRecord),
            },
            {"locations": to_arrow(locations, LocationRecord)},
        ]
    )


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
        dataset_filter=(
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
