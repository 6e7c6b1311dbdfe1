"""Bring here the bytes of datasets imported from a Butler repository (``--with-bytes``).

An imported dataset is located ``remote`` with the Butler's URI as its key. Its bytes
are read through lsst-resources (``s3://`` via ``S3_ENDPOINT_URL``, or a local file),
hashed here (the Butler keeps no checksum by default), and written create-only at the
key a local ingest would give the same dataset, so that a later ingest of the same raw
finds identical bytes instead of a conflict. The dataset then becomes ``present``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.errors import one_line
from catalog.records import DetectorRecord, ExposureRecord, Translation
from catalog.translators.focalplane import COMCAM_DETECTORS, LATISS_DETECTORS, LSSTCAM_DETECTORS
from oods import Site
from oods._s3 import TRANSPORT_ERRORS, describe
from oods.keys import calibration_key, raw_key
from oods.location_states import PRESENT, REMOTE

from .plan import Transfer
from .pull import CACHE
from .rows import location_rows
from .transfer import put_verified

_DETECTORS: Mapping[str, Mapping[int, DetectorRecord]] = {
    "LSSTCam": {d.detector: d for d in LSSTCAM_DETECTORS},
    "LSSTComCam": {d.detector: d for d in COMCAM_DETECTORS},
    "LATISS": {d.detector: d for d in LATISS_DETECTORS},
}


@dataclasses.dataclass
class ButlerFetchReport:
    """The datasets whose bytes were copied here, and those that failed (with why)."""

    copied: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bytes: int = 0


def fetch_from_butler(
    site: Site, dataset_ids: Sequence[str], retention: str = CACHE
) -> ButlerFetchReport:
    """Copy here the bytes of those of ``dataset_ids`` located ``remote`` at a Butler URI
    (the others are left alone), then record them ``present`` in one commit."""
    report = ButlerFetchReport()
    site.refresh()
    rows = _remote_rows(site, dataset_ids)
    exposures = _exposures(site, rows)
    done: list[Transfer] = []
    for row in rows:
        try:
            transfer, data = _read(row, exposures)
            copied = put_verified(site, transfer, io.BytesIO(data), {}, retention)
        except (ValueError, OSError, *TRANSPORT_ERRORS) as exc:
            detail = describe(exc) if isinstance(exc, TRANSPORT_ERRORS) else one_line(exc)
            report.failed.append((row["key"], detail))
            continue
        if copied.status == "failed":
            report.failed.append((row["key"], copied.reason or "not copied"))
            continue
        done.append(transfer)
        report.copied.append(transfer.dataset_id)
        report.bytes += transfer.size
    if done:
        site.store.append("locations", location_rows(done, PRESENT))
        site.refresh()
    return report


def _remote_rows(site: Site, dataset_ids: Sequence[str]) -> list[dict[str, Any]]:
    relation = site.sql(
        "SELECT dataset_id, dataset_type, run, instrument, data_id, day_obs, exposure, "
        "detector, key, file_name FROM all_files "
        "WHERE state = $state AND dataset_id IN (SELECT unnest($ids)) ORDER BY key",
        {"state": REMOTE, "ids": list(dataset_ids)},
    )
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _exposures(site: Site, rows: list[dict[str, Any]]) -> dict[tuple[str, int], ExposureRecord]:
    """The catalog's exposure records of the rows' exposures (for the raws' keys)."""
    wanted = sorted({(r["instrument"], r["exposure"]) for r in rows if r["exposure"] is not None})
    if not wanted:
        return {}
    relation = site.sql(
        "SELECT e.* EXCLUDE (recorded_at) FROM exposures e JOIN (SELECT unnest($i) AS "
        "instrument, unnest($x) AS exposure) w USING (instrument, exposure)",
        {"i": [w[0] for w in wanted], "x": [w[1] for w in wanted]},
    )
    records = [
        ExposureRecord(**dict(zip(relation.columns, row, strict=True)))
        for row in relation.fetchall()
    ]
    return {(e.instrument, e.exposure): e for e in records}


def _read(
    row: dict[str, Any], exposures: Mapping[tuple[str, int], ExposureRecord]
) -> tuple[Transfer, bytes]:
    """The transfer to this site's key, and the bytes read from the Butler's URI.

    Raises:
        ValueError: no safe key can be made for the dataset (named in the message).
        OSError: the URI cannot be read.
    """
    from lsst.resources import ResourcePath

    key = _site_key(row, exposures)
    data = ResourcePath(row["key"]).read()
    checksum = hashlib.sha256(data).hexdigest()
    now = dt.datetime.now(dt.UTC)
    transfer = Transfer(
        row["dataset_id"],
        row["dataset_type"],
        row["instrument"],
        key,
        len(data),
        checksum,
        row["file_name"],
        now,
        row["day_obs"],
        row["exposure"],
    )
    return transfer, data


def _site_key(row: dict[str, Any], exposures: Mapping[tuple[str, int], ExposureRecord]) -> str:
    """The key a local ingest gives this dataset: a raw's by its exposure and detector,
    any other by its type, run and data id."""
    exposure = exposures.get((row["instrument"], row["exposure"]))
    detector = _DETECTORS.get(row["instrument"], {}).get(row["detector"])
    if row["exposure"] is not None:
        if exposure is None or detector is None:
            raise ValueError(
                f"no exposure record or detector layout for {row['instrument']} "
                f"exposure {row['exposure']} detector {row['detector']}: no key for it here"
            )
        return raw_key(Translation(exposure, detector), row["dataset_type"])
    return calibration_key(row["dataset_type"], row["run"], json.loads(row["data_id"]))
