"""Export catalogued datasets as a Butler export (``export.yaml`` plus files).

``Butler.import_`` (or ``butler import``) reads the result into any Butler repository:
the dimension records the datasets need (instrument, detector, physical_filter, day_obs,
group, exposure), their RUN collections, and for calibrations their CALIBRATION
collections with the validity ranges, so certified calibrations arrive certified. The
dataset ids are OODS's own, which are the Butler's (UUID5, DATAID_TYPE_RUN), so a raw
keeps its id across the site, the archive and every repository it is imported into.

The file is written with pyyaml alone (no Butler needed here), in the Butler's export
format 1.0.2 for dimension universe 8; times are TAI, as the Butler stores them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import yaml
from astropy.time import Time

from catalog.bands import band_of
from catalog.ids import FILTER_CALIBRATIONS
from catalog.records import DetectorRecord
from catalog.translators.focalplane import COMCAM_DETECTORS, LATISS_DETECTORS, LSSTCAM_DETECTORS

from .download import get
from .errors import OodsError
from .site import Site

EXPORT_FILE = "export.yaml"
TRANSFERS = ("copy", "none")
#: The Butler export format and dimension universe this module writes.
FORMAT_VERSION = "1.0.2"
UNIVERSE_VERSION = 8

#: obs_lsst's instrument classes and raw formatters (the defaults of ``formatter``).
INSTRUMENT_CLASSES: Mapping[str, str] = {
    "LSSTCam": "lsst.obs.lsst.LsstCam",
    "LSSTComCam": "lsst.obs.lsst.LsstComCam",
    "LATISS": "lsst.obs.lsst.Latiss",
}
RAW_FORMATTERS: Mapping[str, str] = {
    "LSSTCam": "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter",
    "LSSTComCam": "lsst.obs.lsst.rawFormatter.LsstComCamRawFormatter",
    "LATISS": "lsst.obs.lsst.rawFormatter.LatissRawFormatter",
}
#: What pipelines write master calibrations with (obs_base).
CALIBRATION_FORMATTER = "lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter"
#: The storage classes Rubin's repositories use for these dataset types.
RAW_STORAGE_CLASS = "Exposure"
CALIBRATION_STORAGE_CLASS = "ExposureF"
#: Calibration types the Butler registers as calibrations even when none is certified.
CALIBRATION_TYPES = frozenset({"bias", "dark", "defects", "linearizer", *FILTER_CALIBRATIONS})
_DETECTORS: Mapping[str, tuple[DetectorRecord, ...]] = {
    "LSSTCam": LSSTCAM_DETECTORS,
    "LSSTComCam": COMCAM_DETECTORS,
    "LATISS": LATISS_DETECTORS,
}
#: Upper bounds of the instruments' ids (exposure ids are YYYYMMDDnnnnn, 13 digits);
#: a repository that already has the instrument keeps its own record (import skips it).
_ID_MAX = {"detector_max": 1000, "exposure_max": 10**14, "visit_max": 10**14}
#: The exposure record fields OODS keeps under the Butler's own names.
_EXPOSURE_FIELDS = (
    "obs_id",
    "exposure_time",
    "dark_time",
    "observation_type",
    "observation_reason",
    "seq_num",
    "target_name",
    "science_program",
    "tracking_ra",
    "tracking_dec",
    "sky_angle",
    "azimuth",
    "zenith_angle",
    "can_see_sky",
)


class ExportError(OodsError):
    """The export cannot be made at all (e.g. an unknown transfer mode)."""


@dataclasses.dataclass
class ExportReport:
    """What ``export_for_butler`` wrote, and the datasets it had to leave out (with why)."""

    directory: Path
    export_file: Path
    transfer: str
    datasets: dict[str, int] = dataclasses.field(default_factory=dict)  # per dataset type
    exposures: int = 0
    certifications: int = 0
    files_copied: int = 0
    files_skipped: int = 0  # already in the directory with the same bytes
    bytes_copied: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (key, reason)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """One line per dataset left out: the object and the reason."""
        return [f"{key}: not exported: {reason}" for key, reason in self.failed]

    def summary(self) -> dict[str, object]:
        return {
            "export_file": str(self.export_file),
            "transfer": self.transfer,
            "datasets": sum(self.datasets.values()),
            "by_type": dict(self.datasets),
            "exposures": self.exposures,
            "certifications": self.certifications,
            "files_copied": self.files_copied,
            "files_skipped": self.files_skipped,
            "bytes_copied": self.bytes_copied,
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self) -> dict[str, object]:
        failed = [{"key": key, "reason": reason} for key, reason in self.failed]
        return {**self.summary(), "failures": failed}


def export_for_butler(
    site: Site,
    to: str | os.PathLike[str],
    where: str | None = None,
    *,
    transfer: str = "copy",
    formatter: str | None = None,
    calibration_formatter: str = CALIBRATION_FORMATTER,
    storage_classes: Mapping[str, str] | None = None,
) -> ExportReport:
    """Write a Butler export of the present datasets ``where`` selects into ``to``.

    Reads the site's kept snapshot (``site.sql``), so that a loop of exports does not
    reload the catalog each time: call ``site.refresh()`` first to see later commits.

    Args:
        site: the site.
        to: the export directory (created); ``export.yaml`` goes in it, and with
            ``transfer="copy"`` the files too, at ``<to>/<object key>``.
        where: a SQL predicate over the datasets and their exposures' columns
            (``day_obs = 20250601 AND observation_type = 'science'``); None: everything.
        transfer: ``copy`` (download and verify each file) or ``none`` (the export
            names each object by its ``s3://bucket/key`` URL).
        formatter: the raws' formatter class; default obs_lsst's for the instrument.
        calibration_formatter: the formatter class of every other dataset type.
        storage_classes: storage class per dataset type (default ``Exposure`` for raws,
            ``ExposureF`` for the rest).

    Returns:
        An ``ExportReport``; a file that cannot be copied is left out and reported,
        the others are exported.

    Raises:
        ExportError: an unknown transfer (an earlier export.yaml in ``to`` is replaced).
        SelectionError: ``where`` is not a valid predicate.

    Example:
        >>> export_for_butler(Site.open(), "out", "exposure = 2025060100005")
    """
    started = time.perf_counter()
    if transfer not in TRANSFERS:
        raise ExportError(f"unknown transfer {transfer!r} (known: {', '.join(TRANSFERS)})")
    root = Path(to).resolve()
    export_file = root / EXPORT_FILE
    report = ExportReport(root, export_file, transfer)
    rows = _select(site, where)
    exposures = _exposures(site, rows)
    rows = _with_exposure_records(rows, exposures, report)
    if transfer == "copy" and rows:
        rows = _copy(site, root, rows, report)
        exposures = _exposures(site, rows)
    certifications = _certifications(site, rows)
    document = _document(
        site,
        rows,
        exposures,
        certifications,
        transfer=transfer,
        formatter=formatter,
        calibration_formatter=calibration_formatter,
        storage_classes=storage_classes or {},
    )
    root.mkdir(parents=True, exist_ok=True)
    partial = export_file.with_name(f".{EXPORT_FILE}.part")
    with open(partial, "w", encoding="utf-8") as stream:
        _write(document, stream)
    os.replace(partial, export_file)
    for row in rows:
        report.datasets[row["dataset_type"]] = report.datasets.get(row["dataset_type"], 0) + 1
    report.exposures = len(exposures)
    report.certifications = len(certifications)
    report.seconds = time.perf_counter() - started
    return report


def _select(site: Site, where: str | None) -> list[dict[str, Any]]:
    """The present datasets selected, with their exposure's columns beside them."""
    predicate = f"WHERE ({where})" if where and where.strip() else ""
    query = (
        "SELECT * FROM (SELECT f.*, e.* EXCLUDE (instrument, exposure, day_obs, "
        "physical_filter, band, recorded_at, corrected_fields, correction) "
        "FROM files f LEFT JOIN exposures e USING (instrument, exposure)) "
        f"{predicate} ORDER BY dataset_type, run, instrument, exposure, detector"
    )
    return _rows(site, query)


def _with_exposure_records(
    rows: list[dict[str, Any]], exposures: list[dict[str, Any]], report: ExportReport
) -> list[dict[str, Any]]:
    """The rows whose exposure has a record; the others are reported, not exported
    (the Butler refuses a dataset whose exposure it has no record of, and the whole
    import with it)."""
    known = {(e["instrument"], e["exposure"]) for e in exposures}
    kept = []
    for row in rows:
        if row["exposure"] is None or (row["instrument"], row["exposure"]) in known:
            kept.append(row)
        else:
            reason = f"exposure {row['exposure']} has no exposure record in the catalog"
            report.failed.append((row["key"], reason))
    return kept


def _copy(
    site: Site, root: Path, rows: list[dict[str, Any]], report: ExportReport
) -> list[dict[str, Any]]:
    """Download the files, verified; the rows whose file is now in ``root``."""
    fetched = get(site, root, dataset_ids=[row["dataset_id"] for row in rows])
    copied: set[str] = set()
    for result in fetched.results:
        if result.status in ("downloaded", "skipped") and result.dataset_id is not None:
            copied.add(result.dataset_id)
        else:
            report.failed.append((result.key, result.reason or result.status))
    report.files_copied = len(fetched.downloaded)
    report.files_skipped = len(fetched.skipped)
    report.bytes_copied = fetched.bytes
    return [row for row in rows if row["dataset_id"] in copied]


def _exposures(site: Site, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exposure records of the selected raws (and any dataset with an exposure)."""
    wanted = sorted({(r["instrument"], r["exposure"]) for r in rows if r["exposure"] is not None})
    if not wanted:
        return []
    return _rows(
        site,
        "SELECT e.* FROM exposures e JOIN (SELECT unnest($i) AS instrument, "
        "unnest($x) AS exposure) w USING (instrument, exposure) ORDER BY instrument, exposure",
        {"i": [w[0] for w in wanted], "x": [w[1] for w in wanted]},
    )


def _certifications(site: Site, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current, certified validity ranges of the selected datasets."""
    ids = [r["dataset_id"] for r in rows if r["dataset_type"] != "raw"]
    if not ids:
        return []
    return _rows(
        site,
        "SELECT collection, dataset_id, valid_begin, valid_end FROM calibrations "
        "WHERE state = 'certified' AND dataset_id IN (SELECT unnest($ids)) "
        "ORDER BY collection, valid_begin NULLS FIRST, dataset_id",
        {"ids": ids},
    )


def _rows(site: Site, query: str, params: object = None) -> list[dict[str, Any]]:
    """The rows of a read-only query on the site's kept snapshot, as dicts."""
    relation = site.sql(query, params)
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _document(
    site: Site,
    rows: list[dict[str, Any]],
    exposures: list[dict[str, Any]],
    certifications: list[dict[str, Any]],
    *,
    transfer: str,
    formatter: str | None,
    calibration_formatter: str,
    storage_classes: Mapping[str, str],
) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    data.extend(_dimension_records(rows, exposures))
    calibration_types = {r["dataset_type"] for r in rows if r["dataset_type"] in CALIBRATION_TYPES}
    calibration_types |= {
        r["dataset_type"]
        for r in rows
        if r["dataset_id"] in {c["dataset_id"] for c in certifications}
    }
    for collection in sorted({c["collection"] for c in certifications}):
        data.append({"type": "collection", "collection_type": "CALIBRATION", "name": collection})
    for run in sorted({r["run"] for r in rows}):
        data.append(
            {
                "type": "collection",
                "collection_type": "RUN",
                "name": run,
                "host": None,
                "timespan_begin": None,
                "timespan_end": None,
            }
        )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset_type"], row["run"])].append(row)
    declared: set[str] = set()
    for (dataset_type, run), members in groups.items():
        data_ids = [json.loads(m["data_id"]) for m in members]
        is_calibration = dataset_type in calibration_types
        if dataset_type not in declared:
            declared.add(dataset_type)
            default_class = (
                RAW_STORAGE_CLASS if dataset_type == "raw" else CALIBRATION_STORAGE_CLASS
            )
            data.append(
                {
                    "type": "dataset_type",
                    "name": dataset_type,
                    "dimensions": sorted(data_ids[0]),
                    "storage_class": storage_classes.get(dataset_type, default_class),
                    "is_calibration": is_calibration,
                }
            )
        records = []
        for member, data_id in zip(members, data_ids, strict=True):
            if dataset_type == "raw":
                named = formatter or RAW_FORMATTERS.get(member["instrument"], "")
            else:
                named = calibration_formatter
            path = member["key"] if transfer == "copy" else f"s3://{site.bucket}/{member['key']}"
            records.append(
                {
                    "dataset_id": [_Uuid(member["dataset_id"])],
                    "data_id": [data_id],
                    "path": path,
                    "formatter": named,
                }
            )
        data.append(
            {"type": "dataset", "dataset_type": dataset_type, "run": run, "records": records}
        )
    data.extend(_associations(certifications))
    return {
        "description": "Butler Data Repository Export",
        "version": FORMAT_VERSION,
        "universe_version": UNIVERSE_VERSION,
        "universe_namespace": "daf_butler",
        "data": data,
    }


def _write(document: dict[str, Any], stream: TextIO) -> None:
    """Write ``document`` as YAML; the dataset records (nearly all of an export) as one
    flow mapping per line, formatted here: pyyaml's representer would take most of the
    export's time. JSON strings are valid YAML double-quoted scalars."""
    head = {key: value for key, value in document.items() if key != "data"}
    stream.write(yaml.dump(head, Dumper=_Dumper, sort_keys=False))
    data = document["data"]
    if not data:
        stream.write("data: []\n")
        return
    stream.write("data:\n")
    pending: list[dict[str, Any]] = []
    for item in data:
        if item["type"] != "dataset":
            pending.append(item)
            continue
        if pending:
            stream.write(yaml.dump(pending, Dumper=_Dumper, sort_keys=False))
            pending = []
        stream.write(
            f"- type: dataset\n  dataset_type: {json.dumps(item['dataset_type'])}\n"
            f"  run: {json.dumps(item['run'])}\n  records:\n"
        )
        stream.writelines(
            f"  - {{dataset_id: [!uuid '{record['dataset_id'][0]}'], "
            f"data_id: [{json.dumps(record['data_id'][0])}], "
            f"path: {json.dumps(record['path'])}, formatter: {json.dumps(record['formatter'])}}}\n"
            for record in item["records"]
        )
    if pending:
        stream.write(yaml.dump(pending, Dumper=_Dumper, sort_keys=False))


def _dimension_records(
    rows: list[dict[str, Any]], exposures: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """instrument, detector, physical_filter, day_obs, group and exposure records, in
    the order the Butler needs them (an exposure implies its filter, group and day)."""
    instruments = sorted({r["instrument"] for r in rows})
    detectors = sorted(
        {(r["instrument"], r["detector"]) for r in rows if r["detector"] is not None}
    )
    filters = {(r["instrument"], r["dataset_filter"]) for r in rows if r["dataset_filter"]}
    filters |= {(e["instrument"], e["physical_filter"]) for e in exposures}
    days = sorted({(e["instrument"], e["day_obs"]) for e in exposures})
    groups = sorted({(e["instrument"], e["group"]) for e in exposures})
    elements: list[dict[str, Any]] = []

    def add(element: str, records: list[dict[str, Any]]) -> None:
        if records:
            elements.append({"type": "dimension", "element": element, "records": records})

    add(
        "instrument",
        [
            {
                "name": name,
                "visit_max": _ID_MAX["visit_max"],
                "visit_system": None,
                "exposure_max": _ID_MAX["exposure_max"],
                "detector_max": _ID_MAX["detector_max"],
                "class_name": INSTRUMENT_CLASSES.get(name, ""),
            }
            for name in instruments
        ],
    )
    add("detector", [_detector_record(i, d) for i, d in detectors])
    add(
        "physical_filter",
        [{"instrument": i, "name": f, "band": band_of(f)} for i, f in sorted(filters)],
    )
    add("day_obs", [_day_obs_record(i, d) for i, d in days])
    add("group", [{"instrument": i, "name": g} for i, g in groups])
    add("exposure", _exposure_records(exposures))
    return elements


def _detector_record(instrument: str, detector: int) -> dict[str, Any]:
    known = {d.detector: d for d in _DETECTORS.get(instrument, ())}.get(detector)
    if known is None:  # an instrument OODS has no layout for: the number is all we know
        return {
            "instrument": instrument,
            "id": detector,
            "full_name": f"{detector:03d}",
            "name_in_raft": None,
            "raft": None,
            "purpose": None,
        }
    return {
        "instrument": instrument,
        "id": detector,
        "full_name": known.name,
        "name_in_raft": known.sensor,
        "raft": known.group,
        "purpose": known.purpose,
    }


def _day_obs_record(instrument: str, day_obs: int) -> dict[str, Any]:
    """A day_obs spans noon to noon TAI (Rubin's 12 h offset), as obs_lsst defines it."""
    day = dt.datetime.strptime(str(day_obs), "%Y%m%d")
    begin = day + dt.timedelta(hours=12)
    return {
        "instrument": instrument,
        "id": day_obs,
        "datetime_begin": _TaiTime(begin.strftime("%Y-%m-%d %H:%M:%S.000000000")),
        "datetime_end": _TaiTime(
            (begin + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.000000000")
        ),
    }


def _exposure_records(exposures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Butler's ``exposure`` records, with TAI times converted in one call."""
    if not exposures:
        return []
    begins = _tai([e["datetime_begin"] for e in exposures])
    ends = _tai([e["datetime_end"] for e in exposures])
    records = []
    for exposure, begin, end in zip(exposures, begins, ends, strict=True):
        record: dict[str, Any] = {
            "instrument": exposure["instrument"],
            "id": exposure["exposure"],
            "day_obs": exposure["day_obs"],
            "group": exposure["group"],
            "physical_filter": exposure["physical_filter"],
        }
        record.update({name: exposure[name] for name in _EXPOSURE_FIELDS})
        record["seq_start"] = _or(exposure["seq_start"], exposure["seq_num"])
        record["seq_end"] = _or(exposure["seq_end"], exposure["seq_num"])
        record["has_simulated"] = bool(exposure["has_simulated_content"])
        record["datetime_begin"] = begin
        record["datetime_end"] = end
        records.append(record)
    return records


def _associations(certifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One CALIBRATION association block per collection, datasets grouped by range."""
    by_collection: dict[str, dict[tuple[Any, Any], list[str]]] = defaultdict(dict)
    for cert in certifications:
        span = (cert["valid_begin"], cert["valid_end"])
        by_collection[cert["collection"]].setdefault(span, []).append(cert["dataset_id"])
    blocks = []
    for collection, spans in by_collection.items():
        bounds = [b for span in spans for b in span if b is not None]
        converted = dict(zip(bounds, _tai(bounds), strict=True)) if bounds else {}
        ranges = [
            {
                "timespan": _Timespan(
                    None if begin is None else converted[begin],
                    None if end is None else converted[end],
                ),
                "dataset_ids": [_Uuid(i) for i in ids],
            }
            for (begin, end), ids in spans.items()
        ]
        blocks.append(
            {
                "type": "associations",
                "collection": collection,
                "collection_type": "CALIBRATION",
                "validity_ranges": ranges,
            }
        )
    return blocks


def _tai(moments: Iterable[dt.datetime]) -> list[_TaiTime]:
    """UTC datetimes as the Butler's TAI ISO strings (nanoseconds)."""
    values = [m if m.tzinfo is None else m.astimezone(dt.UTC).replace(tzinfo=None) for m in moments]
    times = Time(values, scale="utc").tai
    times.precision = 9
    return [_TaiTime(text) for text in times.iso]


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


class _TaiTime(str):
    """A TAI time, written with the Butler's ``!butler_time/tai/iso`` tag."""


class _Uuid(str):
    """A dataset id, written with the Butler's ``!uuid`` tag."""


@dataclasses.dataclass(frozen=True)
class _Timespan:
    """A validity range, written with the Butler's ``!lsst.daf.butler.Timespan`` tag."""

    begin: _TaiTime | None
    end: _TaiTime | None


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """A safe YAML dumper that knows the Butler's three tags (C-accelerated if built)."""


_Dumper.add_representer(_TaiTime, lambda d, v: d.represent_scalar("!butler_time/tai/iso", str(v)))
_Dumper.add_representer(_Uuid, lambda d, v: d.represent_scalar("!uuid", str(v)))
_Dumper.add_representer(
    _Timespan,
    lambda d, v: d.represent_mapping("!lsst.daf.butler.Timespan", {"begin": v.begin, "end": v.end}),
)
