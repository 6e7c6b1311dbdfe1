"""Correcting exposure and raw records after ingest (``oods records update``).

Headers are sometimes wrong (a wrong filter, a wrong "can see sky" flag) and found out
after ingest, often for some detectors of an exposure only. Corrections come from:

- corrected files: FITS files whose headers are now right, matched to the catalog by
  the dataset id computed from their header (the site's header corrections apply, as at
  ingest). Each gives its raw's own fields and its exposure's fields;
- the site's stored raws, re-read from the bucket (header blocks only) and translated
  again with header corrections (obs_lsst-style ``<instrument>-<obs_id>.yaml`` files):
  every raw present of each exposure a correction file names;
- a correction table (CSV: instrument, exposure, [detector], field, value, [reason]).

All of them become `catalog.RecordCorrection` values, checked and committed together
by `catalog.correct_records`: the old rows are superseded by newer ones, never changed,
so history and ``--as-of`` keep the old values and a replica carries the corrections.

The rule for later ingests: the newest stored exposure record stands. A raw ingested
after a correction whose header disagrees with its exposure's record does not fail: the
disagreement is reported (``IngestReport.warnings``), the record is left as it is, and
the raw's own fields (``physical_filter``) follow the fields a whole-exposure
correction changed. Raw-level corrections (some detectors only) concern those raws
alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.compute as pc

from catalog import (
    Corrections,
    HeaderError,
    NotFitsError,
    RecordCorrection,
    RecordsReport,
    Rejected,
    correct_records,
    corrections_from_translation,
    dataset_id,
    load_corrections,
    read_correction_table,
    read_header,
    read_primary_header,
    translate_header,
)

from . import _s3
from .errors import StorageError
from .site import Site
from .sources import find_files

#: Header blocks fetched to re-read a stored raw's header (LSSTCam's take about 20).
HEADER_BYTES = 64 * 2880


def update_records(
    site: Site,
    files: Iterable[str | os.PathLike[str]] = (),
    *,
    corrections: Corrections | str | os.PathLike[str] | None = None,
    table: str | os.PathLike[str] | None = None,
    reason: str | None = None,
    run: str | None = None,
    dry_run: bool = False,
) -> RecordsReport:
    """Supersede exposure and raw records with corrected values, in one commit per table.

    Args:
        site: the site whose catalog is corrected.
        files: corrected raw files (or folders of them).
        corrections: header corrections (a folder of ``<instrument>-<obs_id>.yaml``, or
            loaded ones) to re-translate the stored raws of the exposures they name.
        table: a CSV correction table.
        reason: why, kept in each corrected row's ``correction`` note (a table's own
            ``reason`` column wins for its rows).
        run: the raws' run, to compute a corrected file's dataset id; default from the
            config, e.g. ``LSSTCam/raw/all``.
        dry_run: check every correction and report the changes; commit nothing.

    Returns:
        A `catalog.RecordsReport`: what changed, and each correction rejected with its
        source (file, or table line) and reason; nothing is raised for those.

    Raises:
        CorrectionFileError: the table cannot be read at all (nothing is committed).
        FileNotFoundError: ``corrections`` is not a folder.
        CatalogCommitError: the catalog could not be committed.

    Example:
        >>> report = update_records(site, table="fixes.csv", reason="filter wheel log")
        >>> report.summary()
        {'exposures': 1, 'datasets': 3, 'fields': 4, 'unchanged': 0, 'rejected': 1}
    """
    found: list[RecordCorrection] = []
    rejected: list[Rejected] = []
    for part in (
        _from_files(site, files, reason, run),
        _from_stored_raws(site, _load(corrections), reason) if corrections is not None else None,
        read_correction_table(table, reason) if table is not None else None,
    ):
        if part is not None:
            found += part[0]
            rejected += part[1]
    report = correct_records(site.store, found, dry_run=dry_run)
    report.rejected[:0] = rejected
    return report


Gathered = tuple[list[RecordCorrection], list[Rejected]]


def _load(corrections: Corrections | str | os.PathLike[str]) -> Corrections:
    return corrections if isinstance(corrections, Corrections) else load_corrections(corrections)


def _from_files(
    site: Site, files: Iterable[str | os.PathLike[str]], reason: str | None, run: str | None
) -> Gathered:
    """Corrections from corrected files whose raws are in the catalog (others: rejected)."""
    found: dict[str, tuple[str, list[RecordCorrection]]] = {}  # by source: raw id, corrections
    rejected: list[Rejected] = []
    run = run or site.config.run
    for path in find_files(files):
        source = str(path)
        try:
            with open(path, "rb") as file:
                header = read_header(file, source)
            if site.corrections is not None:
                header, _ = site.corrections.correct(header)
            translation = translate_header(header, source)
        except HeaderError as exc:
            rejected.append(Rejected(source, exc.reason if exc.source == source else str(exc)))
            continue
        except OSError as exc:
            rejected.append(Rejected(source, f"unreadable: {exc.strerror or exc}"))
            continue
        instrument = translation.exposure.instrument
        raw_run = run.format(instrument=instrument)
        raw_id = str(dataset_id("raw", raw_run, translation.data_id()))
        found[source] = (raw_id, corrections_from_translation(translation, source, reason, raw_id))
    known = _known_datasets(site, [raw_id for raw_id, _ in found.values()])
    accepted: list[RecordCorrection] = []
    for source, (raw_id, corrections) in found.items():
        if raw_id in known:
            accepted += corrections
        else:
            rejected.append(
                Rejected(
                    source,
                    f"its dataset {raw_id} is not in the catalog (ingest the file instead, "
                    "or give the run it was ingested in)",
                )
            )
    return accepted, rejected


def _known_datasets(site: Site, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = site.store.scan(
        "datasets", pc.field("dataset_id").isin(sorted(set(ids))), ["dataset_id"]
    )
    return set(rows.column("dataset_id").to_pylist())


def _from_stored_raws(site: Site, corrections: Corrections, reason: str | None) -> Gathered:
    """Re-translate, with ``corrections``, the present raws of the exposures they name."""
    found: list[RecordCorrection] = []
    rejected: list[Rejected] = []
    raws = _raws_named(site, corrections)
    with ThreadPoolExecutor(site.config.workers) as pool:
        headers = pool.map(lambda r: _stored_header(site, r), raws)
        for raw, header in zip(raws, headers, strict=True):
            path = corrections.files[(raw["instrument"], raw["obs_id"])]
            source = f"{path.name} on {raw['key'] or 'dataset ' + raw['dataset_id']}"
            if isinstance(header, str):
                rejected.append(Rejected(source, header))
                continue
            try:
                fixed, cards = corrections.apply(header, raw["instrument"], raw["obs_id"])
                translation = translate_header(fixed, source)
            except HeaderError as exc:
                rejected.append(Rejected(source, exc.reason if exc.source == source else str(exc)))
                continue
            if translation.detector.detector != raw["detector"]:
                rejected.append(Rejected(source, "the corrected header names another detector"))
                continue
            note = f"header corrections {path.name}" + (f" ({', '.join(cards)})" if cards else "")
            found += corrections_from_translation(translation, note, reason, raw["dataset_id"])
    return found, rejected


def _raws_named(site: Site, corrections: Corrections) -> list[dict[str, Any]]:
    """The raws of the exposures whose obs_id has a correction file, with their keys."""
    obs_ids = sorted({obs_id for _, obs_id in corrections.files})
    exposures: dict[tuple[str, int], str] = {}
    for row in site.store.scan(
        "exposures", pc.field("obs_id").isin(obs_ids), ["instrument", "exposure", "obs_id"]
    ).to_pylist():
        if (row["instrument"], row["obs_id"]) in corrections:
            exposures[(row["instrument"], row["exposure"])] = row["obs_id"]
    if not exposures:
        return []
    latest: dict[str, dict[str, Any]] = {}
    rows = site.store.scan(
        "datasets",
        pc.field("exposure").isin(sorted({e for _, e in exposures}))
        & (pc.field("dataset_type") == "raw"),
        ["dataset_id", "instrument", "exposure", "detector", "recorded_at"],
    ).to_pylist()
    for row in sorted(rows, key=lambda r: r["recorded_at"]):
        if (row["instrument"], row["exposure"]) in exposures:
            latest[row["dataset_id"]] = row
    keys: dict[str, str | None] = {}
    for row in sorted(
        site.store.scan(
            "locations",
            pc.field("dataset_id").isin(sorted(latest)),
            ["dataset_id", "key", "state", "recorded_at"],
        ).to_pylist(),
        key=lambda r: r["recorded_at"],
    ):
        keys[row["dataset_id"]] = row["key"] if row["state"] == "present" else None
    return [
        {
            **row,
            "obs_id": exposures[(row["instrument"], row["exposure"])],
            "key": keys.get(row["dataset_id"]),
        }
        for row in sorted(latest.values(), key=lambda r: (r["exposure"], r["detector"]))
    ]


def _stored_header(site: Site, raw: dict[str, Any]) -> dict[str, Any] | str:
    """A stored raw's primary header, or the reason it cannot be read."""
    key = raw["key"]
    if key is None:
        return "its bytes are not on this site, so its header cannot be re-read"
    try:
        head = _get(site, key, HEADER_BYTES)
        try:
            return read_primary_header(head, key)
        except NotFitsError:
            if len(head) < HEADER_BYTES:
                raise
        return read_header(_get(site, key), key)  # a header longer than HEADER_BYTES
    except HeaderError as exc:
        return exc.reason
    except StorageError as exc:
        return f"storage: {exc.reason}"


def _get(site: Site, key: str, length: int | None = None) -> bytes:
    extra = {} if length is None else {"Range": f"bytes=0-{length - 1}"}
    try:
        return bytes(site.s3.get_object(Bucket=site.bucket, Key=key, **extra)["Body"].read())
    except _s3.TRANSPORT_ERRORS as exc:
        raise StorageError(key, _s3.describe(exc)) from exc
