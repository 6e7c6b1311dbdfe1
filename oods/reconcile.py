"""Bring the catalog back in step with the bucket, in both directions.

Notifications of deletions can be late or lost, and objects can be written or removed
behind the catalog's back; the bucket is the truth for what bytes are here. One
reconcile reads the catalog's latest location rows, then lists the bucket once (in that
order: an object ingested in between is only ever seen as an orphan to adopt, never a
present row as missing), and compares the two as tables in DuckDB:

- a present row whose object is gone gets a ``missing`` row (``expired`` when a lifecycle
  rule without a tag filter covers its key: a tag-filtered rule cannot be matched, the
  object's tag went with it), so ``ls``/``url``/``get`` stop offering it and re-ingesting
  the file uploads it again;
- an object no present row claims is adopted: restored (a known dataset whose bytes
  came back, same size and checksum), or catalogued from its own header and metadata
  with the ingest's commit; anything else is reported and left alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog import CatalogError, HeaderError, dataset_id, read_primary_header, translate_header

from . import _s3
from .background import BackgroundTask
from .bucket_listing import list_bucket
from .errors import StorageError, printable
from .ingest import IngestReport, _commit, _Prepared
from .keys import raw_key
from .location_states import EXPIRED, MISSING, PRESENT, latest_locations, record_location_states
from .site import Site

#: Header bytes read from an orphan raw: far more than any raw's primary header.
HEADER_BYTES = 64 * 2880
#: States an object that reappeared with the same bytes is restored from.
RESTORABLE = frozenset({MISSING, EXPIRED, "remote"})

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class _Adoption:
    """An orphan raw ready for the ingest's commit, with the run it was uploaded under."""

    run: str
    prepared: _Prepared


@dataclasses.dataclass(frozen=True)
class Finding:
    """One disagreement and what was done: ``missing`` or ``expired`` (a row whose object
    is gone), ``restored`` or ``adopted`` (an object now catalogued), ``unusable`` (an
    object left alone, with the reason)."""

    kind: str
    key: str
    dataset_id: str | None
    reason: str

    def line(self) -> str:
        who = f" (dataset {self.dataset_id})" if self.dataset_id else ""
        return printable(f"{self.key}{who}: {self.kind}: {self.reason}")


@dataclasses.dataclass
class ReconcileReport:
    """What a reconcile compared, and every finding (applied unless ``dry_run``)."""

    dry_run: bool = False
    objects: int = 0
    present: int = 0  # present location rows before the reconcile
    findings: list[Finding] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    listing_seconds: float = 0.0
    seconds: float = 0.0

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def unusable(self) -> list[Finding]:
        return self.of_kind("unusable")

    def summary(self) -> dict[str, object]:
        kinds = ("missing", "expired", "restored", "adopted", "unusable")
        return {
            "dry_run": self.dry_run,
            "objects": self.objects,
            "present": self.present,
            **{kind: len(self.of_kind(kind)) for kind in kinds},
            "listing_seconds": round(self.listing_seconds, 3),
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            **self.summary(),
            "warnings": self.warnings,
            "findings": [dataclasses.asdict(f) for f in self.findings],
        }


def reconcile(
    site: Site,
    dry_run: bool = False,
    verify: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Compare the bucket with the catalog and fix the catalog (unless ``dry_run``).

    Args:
        site: the site (its latest catalog and its whole bucket but the catalog prefix).
        dry_run: find and report, commit nothing.
        verify: read each orphan object whole and check its SHA-256 before adopting or
            restoring it. False trusts the sha256 metadata the upload wrote (for a
            catalog rebuilt from millions of objects; ``fsck --full`` checks later).
        workers: parallel requests for orphan objects (default: the site's ``workers``).
        progress: called with the number of keys of each listed page.

    Returns:
        A ``ReconcileReport``: one finding per disagreement; objects that cannot be
        adopted are ``unusable`` findings, never raised.

    Raises:
        StorageError: the bucket cannot be listed.
        CatalogError: the catalog cannot be read or a fix cannot be committed.

    Example:
        >>> report = reconcile(Site.open(), dry_run=True)
        >>> [f.line() for f in report.findings]
    """
    started = time.perf_counter()
    report = ReconcileReport(dry_run=dry_run)
    seen_at = dt.datetime.now(dt.UTC)
    latest = latest_locations(site)
    listing_started = time.perf_counter()
    listed = list_bucket(site, progress)
    report.listing_seconds = time.perf_counter() - listing_started
    report.objects = listed.num_rows
    gone, unclaimed = _compare(latest, listed)
    report.present = int(_count_present(latest))

    rules = _tag_free_expiry_prefixes(site, report)
    changes: dict[str, str] = {}
    for dataset, key in gone:
        expired = any(key.startswith(prefix) for prefix in rules)
        state = EXPIRED if expired else MISSING
        reason = (
            "object gone, removed by a lifecycle rule on its prefix"
            if expired
            else "no object in the bucket: marked missing (re-ingest the file to restore it)"
        )
        report.findings.append(Finding(state, key, dataset, reason))
        changes[dataset] = state

    with ThreadPoolExecutor(workers or site.config.workers) as pool:
        judged = list(pool.map(lambda row: _judge_orphan(site, row, verify), unclaimed))
    claimed = {a.prepared.dataset_id for _, a in judged if a is not None}
    present_at = _present_keys_of(latest, claimed)
    adopted: list[_Adoption] = []
    for finding, adoption in judged:
        if adoption is not None and adoption.prepared.dataset_id in present_at:
            elsewhere = present_at[adoption.prepared.dataset_id]
            reason = f"a second copy of a dataset present at {elsewhere}; left alone"
            finding, adoption = dataclasses.replace(finding, kind="unusable", reason=reason), None
        report.findings.append(finding)
        if finding.kind == "restored" and finding.dataset_id is not None:
            changes[finding.dataset_id] = PRESENT
        elif adoption is not None:
            adopted.append(adoption)

    if not dry_run:
        _commit_adopted(site, adopted, report)
        if changes:
            record_location_states(site, changes, recorded_before=seen_at)
        site.refresh()
    report.findings.sort(key=lambda f: (f.kind, f.key))
    report.seconds = time.perf_counter() - started
    return report


def _compare(
    latest: pa.Table, listed: pa.Table
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(present rows whose key is not listed, listed objects no present row claims, with
    the latest row at their key if any), by anti-joins in DuckDB."""
    connection = duckdb.connect()
    try:
        connection.register("latest", latest)
        connection.register("listed", listed)
        gone = connection.sql(
            "SELECT dataset_id, key FROM latest WHERE state = 'present' "
            "AND key NOT IN (SELECT key FROM listed) ORDER BY key"
        ).fetchall()
        unclaimed = connection.sql(
            "WITH orphans AS (SELECT key, size FROM listed WHERE key NOT IN "
            "  (SELECT key FROM latest WHERE state = 'present')), "
            "known AS (SELECT * FROM latest WHERE key IN (SELECT key FROM orphans) "
            "  QUALIFY row_number() OVER (PARTITION BY key ORDER BY recorded_at DESC) = 1) "
            "SELECT o.key, o.size, k.dataset_id, k.state, k.size AS known_size, k.checksum "
            "FROM orphans o LEFT JOIN known k USING (key) ORDER BY o.key"
        ).to_arrow_table()
    finally:
        connection.close()
    return [(str(d), str(k)) for d, k in gone], unclaimed.to_pylist()


def _count_present(latest: pa.Table) -> int:
    return int(pc.sum(pc.equal(latest.column("state"), PRESENT)).as_py() or 0)


def _present_keys_of(latest: pa.Table, ids: set[str]) -> dict[str, str]:
    """``{dataset id: key}`` of the datasets among ``ids`` present at some key."""
    if not ids:
        return {}
    chosen = latest.filter(
        pc.and_(
            pc.is_in(latest.column("dataset_id"), pa.array(sorted(ids))),
            pc.equal(latest.column("state"), PRESENT),
        )
    )
    return dict(
        zip(chosen.column("dataset_id").to_pylist(), chosen.column("key").to_pylist(), strict=True)
    )


def _judge_orphan(
    site: Site, row: Mapping[str, Any], verify: bool
) -> tuple[Finding, _Adoption | None]:
    """What to do with an object no present row claims, from its metadata and header
    (and, with ``verify``, the SHA-256 of its bytes rather than the one its metadata
    claims: metadata can be copied onto other bytes)."""
    key = str(row["key"])
    try:
        metadata = _s3.head_metadata(site.s3, site.bucket, key)
    except StorageError as exc:
        return Finding("unusable", key, None, f"storage: {exc.reason}"), None
    stored_id, claimed = metadata.get("dataset-id"), metadata.get("sha256")
    if row["dataset_id"] is not None:  # a catalogued dataset's key
        return _judge_return(site, row, claimed, verify), None
    if stored_id is None or claimed is None or "run" not in metadata:
        reason = "not stored by OODS (no dataset-id/sha256/run metadata); ingest the file instead"
        return Finding("unusable", key, None, reason), None
    prepared = _from_header(site, key, int(row["size"]), metadata, verify)
    if isinstance(prepared, str):
        return Finding("unusable", key, stored_id, prepared), None
    finding = Finding("adopted", key, stored_id, "catalogued from its header and metadata")
    return finding, _Adoption(metadata["run"], prepared)


def _judge_return(site: Site, row: Mapping[str, Any], claimed: str | None, verify: bool) -> Finding:
    """An object back at a catalogued dataset's key: restored only with the same bytes."""
    key, known, state = str(row["key"]), str(row["dataset_id"]), str(row["state"])
    if state not in RESTORABLE:
        reason = f"dataset {known} is {state}; remove the object or re-ingest the file"
        return Finding("unusable", key, known, reason)
    checksum = claimed
    if verify and claimed == row["checksum"] and row["size"] == row["known_size"]:
        try:
            _, checksum = _read_object(site, key, whole=True)
        except StorageError as exc:
            return Finding("unusable", key, known, f"storage: {exc.reason}")
    if checksum != row["checksum"] or row["size"] != row["known_size"]:
        reason = f"holds other bytes than dataset {known} ({state}); left alone"
        return Finding("unusable", key, known, reason)
    return Finding("restored", key, known, f"object back with the same bytes (was {state})")


def _from_header(
    site: Site, key: str, size: int, metadata: Mapping[str, str], verify: bool
) -> _Prepared | str:
    """The ingest's record of an orphan raw, from its header and the metadata its upload
    wrote; or why it cannot be adopted."""
    parts = key.split("/")
    if len(parts) < 3 or parts[1] == "calib":
        return "not a raw (its data id is not in its header): re-ingest it with `oods calib`"
    dataset_type, run = parts[1], metadata["run"]
    try:
        head, checksum = _read_object(site, key, whole=verify)
        header = read_primary_header(head, key)
        if site.corrections is not None:
            header, _ = site.corrections.correct(header)
        translation = translate_header(header, key)
        expected_key = raw_key(translation, dataset_type)
    except HeaderError as exc:
        return f"unusable header: {exc.reason}"
    except ValueError as exc:
        return f"unusable header: {exc}"
    except StorageError as exc:
        return f"storage: {exc.reason}"
    data_id = translation.data_id()
    computed = str(dataset_id(dataset_type, run, data_id))
    if computed != metadata["dataset-id"]:
        return (
            f"its metadata says dataset {metadata['dataset-id']} but its header gives "
            f"{computed} (run {run}); left alone"
        )
    if expected_key != key:
        return f"its header's data id belongs at {expected_key}, not here; left alone"
    if checksum is not None and checksum != metadata["sha256"]:
        return f"its bytes do not hash to its sha256 metadata ({checksum[:12]}…); left alone"
    try:
        sha256 = bytes.fromhex(metadata["sha256"])
    except ValueError:
        return "its sha256 metadata is not hex; left alone"
    name = urllib.parse.unquote(metadata.get("original-name", "")) or parts[-1]
    return _Prepared(
        path=Path(name),
        size=size,
        translation=translation,
        dataset_id=computed,
        key=key,
        data_id=data_id,
        sha256=sha256,
    )


def _read_object(site: Site, key: str, whole: bool) -> tuple[bytes, str | None]:
    """The object's leading ``HEADER_BYTES`` and, if ``whole``, the SHA-256 of all of it
    (read once, streamed); with ``whole`` False only the leading bytes are fetched."""
    extra = {} if whole else {"Range": f"bytes=0-{HEADER_BYTES - 1}"}
    try:
        body = site.s3.get_object(Bucket=site.bucket, Key=key, **extra)["Body"]
        if not whole:
            return bytes(body.read()), None
        digest = hashlib.sha256()
        head = b""
        for chunk in iter(lambda: body.read(1 << 20), b""):
            if len(head) < HEADER_BYTES:
                head += chunk[: HEADER_BYTES - len(head)]
            digest.update(chunk)
        return head, digest.hexdigest()
    except _s3.TRANSPORT_ERRORS as exc:
        raise StorageError(key, _s3.describe(exc)) from exc


def _commit_adopted(site: Site, adopted: Sequence[_Adoption], report: ReconcileReport) -> None:
    """Commit adopted raws with the ingest's own commit, one per (type, run); a failed
    commit turns their findings into ``unusable`` (the next reconcile tries again)."""
    groups: dict[tuple[str, str], list[_Prepared]] = {}
    for adoption in adopted:
        item = adoption.prepared
        groups.setdefault((item.key.split("/")[1], adoption.run), []).append(item)
    for (dataset_type, run), items in groups.items():
        ingest_report = IngestReport()
        try:
            _commit(site, items, dataset_type, run, ingest_report, {})
        except CatalogError as exc:
            failed = {item.key for item in items}
            reason = f"catalog commit failed ({exc}); the next reconcile tries again"
            report.findings = [
                Finding("unusable", f.key, f.dataset_id, reason)
                if f.kind == "adopted" and f.key in failed
                else f
                for f in report.findings
            ]
        report.warnings.extend(ingest_report.warnings)


def _tag_free_expiry_prefixes(site: Site, report: ReconcileReport) -> list[str]:
    """Prefixes that an enabled lifecycle expiry rule without a tag filter covers."""
    try:
        rules = site.s3.get_bucket_lifecycle_configuration(Bucket=site.bucket).get("Rules", [])
    except _s3.TRANSPORT_ERRORS as exc:
        if _s3.error_code(exc) != "NoSuchLifecycleConfiguration":
            report.warnings.append(f"lifecycle rules unreadable ({_s3.describe(exc)})")
        return []
    prefixes = []
    for rule in rules:
        if rule.get("Status") != "Enabled" or "Expiration" not in rule:
            continue
        found = rule.get("Filter", {})
        if "Tag" in found or "Tags" in found.get("And", {}):
            continue
        both = found.get("And", {})
        prefixes.append(str(found.get("Prefix", both.get("Prefix", rule.get("Prefix", "")))))
    return prefixes


def reconcile_task(interval: float = 3600.0) -> BackgroundTask:
    """A reconcile every ``interval`` seconds, for ``oods serve`` (``ServiceConfig.tasks``):
    deletion events can be lost, so the listener alone cannot keep the catalog right."""
    return BackgroundTask("reconcile", interval, reconcile)
