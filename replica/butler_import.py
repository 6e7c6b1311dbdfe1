"""``oods import butler:REPO``: learn what a Butler repository (the DBB) already holds.

Reads the repository's registry (never its files): the datasets of the RUN collections
among ``collections`` matching ``where`` (a Butler query expression), the calibrations
certified in its CALIBRATION collections with their validity ranges, and the exposure
records they need. Each becomes an OODS catalog row under the Butler's own dataset id,
located ``remote`` (known and queryable here, bytes at the Butler's URI, which the
location's key holds). Rows this catalog already has are not written again, so a second
import with nothing new writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog import CatalogError, certify
from catalog.errors import one_line
from catalog.records import DatasetRecord, ExposureRecord, LocationRecord, to_arrow
from oods import OodsError, Site
from oods.location_states import REMOTE

from .butler_fetch import fetch_from_butler
from .butler_push import open_butler

if TYPE_CHECKING:
    from lsst.daf.butler import Butler, DatasetRef, DimensionRecord, Timespan


class ButlerQueryError(OodsError):
    """The Butler refused the query: an unknown collection, or ``--where`` is not a valid
    Butler expression."""


#: The exposure record fields OODS keeps under the Butler's own names.
_SAME_NAMES = (
    "obs_id",
    "day_obs",
    "seq_num",
    "group",
    "physical_filter",
    "observation_type",
    "observation_reason",
    "science_program",
    "target_name",
    "exposure_time",
    "dark_time",
    "tracking_ra",
    "tracking_dec",
    "sky_angle",
    "zenith_angle",
    "azimuth",
    "can_see_sky",
    "seq_start",
    "seq_end",
)


@dataclasses.dataclass
class ButlerImportReport:
    """What one import from a Butler repository wrote here."""

    repo: str
    found: int = 0  # datasets the query found in the repository
    datasets: int = 0  # new dataset rows written
    exposures: int = 0  # new exposure records written
    certifications: int = 0  # validity ranges certified here
    remote: int = 0  # datasets newly located ``remote``
    copied: int = 0  # with bytes: datasets whose files were copied here
    bytes: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (what, why)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [f"{what}: not imported: {why}" for what, why in self.failed]

    def to_dict(self) -> dict[str, Any]:
        failures = [{"dataset": what, "reason": why} for what, why in self.failed]
        return {**dataclasses.asdict(self), "seconds": round(self.seconds, 3), "failed": failures}


def import_from_butler(
    site: Site,
    repo: str,
    collections: Sequence[str],
    where: str | None = None,
    *,
    with_bytes: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ButlerImportReport:
    """Catalog here the datasets ``repo`` holds in ``collections`` (metadata only, unless
    ``with_bytes``).

    Args:
        collections: collection names or patterns; chains are followed. RUN collections
            give their datasets, CALIBRATION collections their certified calibrations.
        where: a Butler query expression (``instrument = 'LSSTCam' AND day_obs =
            20250601``); None: all.
        with_bytes: also copy the files here (``butler_fetch``): they become ``present``.
        progress: told each stage in a line (for a terminal).

    Raises:
        ButlerUnavailable: ``repo`` is not a Butler repository.
        ButlerQueryError: an unknown collection, or ``where`` is not a Butler expression.
    """
    started = time.perf_counter()
    report = ButlerImportReport(repo)
    butler = open_butler(repo)
    runs, calibrations = _collections(butler, collections)
    refs = _run_datasets(butler, runs, where)
    associations = _certified(butler, calibrations, refs, where)
    for ref in (a.ref for a in associations):
        refs.setdefault(str(ref.id), ref)
    report.found = len(refs)
    if progress is not None:
        progress(f"{len(refs)} datasets found in {repo}")
    site.refresh()
    now = dt.datetime.now(dt.UTC)
    exposures = _exposure_records(butler, refs.values())
    known_exposures = set(site.sql("SELECT instrument, exposure FROM exposures").fetchall())
    new_exposures = [e for e in exposures if (e.instrument, e.exposure) not in known_exposures]
    days = {(e.instrument, e.exposure): e.day_obs for e in exposures}
    known = set(site.sql("SELECT dataset_id FROM datasets").to_arrow_table().column(0).to_pylist())
    located = set(site.sql("SELECT DISTINCT dataset_id FROM locations_history").fetchall())
    datasets = [_dataset_row(ref, days, now) for i, ref in refs.items() if i not in known]
    uris = _uris(butler, [ref for i, ref in refs.items() if (i,) not in located], report)
    described = {i: _dataset_row(refs[i], days, now) for i in uris}  # known ones too
    locations = [
        LocationRecord(
            i,
            described[i].instrument,
            described[i].day_obs,
            described[i].exposure,
            uri,
            size,
            "",
            uri.rsplit("/", 1)[-1],
            REMOTE,
            now,
        )
        for i, (uri, size) in uris.items()
    ]
    exposure_rows = to_arrow(new_exposures, ExposureRecord)
    exposure_rows = exposure_rows.append_column(
        "recorded_at", pa.array([now] * len(new_exposures), pa.timestamp("us", tz="UTC"))
    )
    # As ingest commits: the locations that make the datasets visible (``files``) last.
    site.store.append_in_order(
        [
            {"exposures": exposure_rows, "datasets": to_arrow(datasets, DatasetRecord)},
            {"locations": to_arrow(locations, LocationRecord)},
        ]
    )
    report.exposures, report.datasets, report.remote = (
        len(new_exposures),
        len(datasets),
        len(locations),
    )
    report.certifications = _certify(site, associations, report)
    site.refresh()
    if with_bytes:
        if progress is not None:
            progress(f"copying the files of {len(refs)} datasets here")
        fetched = fetch_from_butler(site, list(refs))
        report.copied, report.bytes = len(fetched.copied), fetched.bytes
        report.failed.extend(fetched.failed)
    report.seconds = time.perf_counter() - started
    return report


def _collections(butler: Butler, collections: Sequence[str]) -> tuple[list[str], list[str]]:
    """(RUN collections, CALIBRATION collections) named by ``collections``, chains followed."""
    from lsst.daf.butler import ButlerUserError, CollectionType, MissingCollectionError

    try:
        infos = butler.collections.query_info(list(collections), flatten_chains=True)
    except (ButlerUserError, MissingCollectionError) as exc:
        raise ButlerQueryError(f"--collections: {one_line(exc)}") from exc
    runs = [i.name for i in infos if i.type == CollectionType.RUN]
    calibrations = [i.name for i in infos if i.type == CollectionType.CALIBRATION]
    return runs, calibrations


def _run_datasets(butler: Butler, runs: list[str], where: str | None) -> dict[str, DatasetRef]:
    """Every dataset of ``runs`` matching ``where``, by id, with its dimension records."""
    found: dict[str, DatasetRef] = {}
    if not runs:
        return found
    from lsst.daf.butler import ButlerUserError

    for dataset_type in butler.registry.queryDatasetTypes(...):
        try:
            refs = butler.query_datasets(
                dataset_type,
                collections=runs,
                find_first=False,
                where=where or "",
                with_dimension_records=True,
                limit=None,
                explain=False,
            )
        except ButlerUserError as exc:  # the expression, not the repository
            raise ButlerQueryError(f"--where {where!r}: {one_line(exc)}") from exc
        found.update((str(ref.id), ref) for ref in refs)
    return found


def _certified(
    butler: Butler, calibrations: list[str], refs: dict[str, DatasetRef], where: str | None
) -> list[Any]:
    """The associations (ref, collection, timespan) of ``calibrations``; with ``where``,
    only those of calibrations the expression selects in their own RUN."""
    if not calibrations:
        return []
    from lsst.daf.butler import CollectionType

    found = []
    for dataset_type in butler.registry.queryDatasetTypes(...):
        if not dataset_type.isCalibration():
            continue
        found.extend(
            butler.registry.queryDatasetAssociations(
                dataset_type,
                collections=calibrations,
                collectionTypes={CollectionType.CALIBRATION},
            )
        )
    if where:
        chosen = _run_datasets(butler, sorted({a.ref.run for a in found}), where)
        found = [a for a in found if str(a.ref.id) in chosen]
    ids = [str(a.ref.id) for a in found]
    expanded = {str(r.id): r for r in butler.get_many_datasets(ids)} if ids else {}
    return [dataclasses.replace(a, ref=_expanded(butler, expanded[str(a.ref.id)])) for a in found]


def _expanded(butler: Butler, ref: DatasetRef) -> DatasetRef:
    """``ref`` with its data id's dimension records (for the exposure, if any)."""
    return ref.expanded(butler.registry.expandDataId(ref.dataId))


def _exposure_records(butler: Butler, refs: Iterable[DatasetRef]) -> list[ExposureRecord]:
    """OODS exposure records of the datasets' exposures (from the Butler's records)."""
    records: dict[tuple[str, int], DimensionRecord] = {}
    for ref in refs:
        if "exposure" in ref.dataId.dimensions.names and ref.dataId.hasRecords():
            record = ref.dataId.records["exposure"]
            if record is not None:
                records[(record.instrument, record.id)] = record
    return [_exposure_row(r) for _, r in sorted(records.items())]


def _exposure_row(record: DimensionRecord) -> ExposureRecord:
    fields = {name: getattr(record, name, None) for name in _SAME_NAMES}
    begin, end = _utc(record.timespan)
    return ExposureRecord(
        instrument=record.instrument,
        exposure=record.id,
        datetime_begin=begin,  # type: ignore[arg-type]
        datetime_end=end,  # type: ignore[arg-type]
        has_simulated_content=bool(getattr(record, "has_simulated", False)),
        **{k: v for k, v in fields.items() if v is not None},
    )


def _dataset_row(
    ref: DatasetRef, days: dict[tuple[str, int], int], now: dt.datetime
) -> DatasetRecord:
    required = {k: ref.dataId[k] for k in ref.dataId.dimensions.required}
    exposure = required.get("exposure")
    instrument = str(required.get("instrument", ""))
    return DatasetRecord(
        dataset_id=str(ref.id),
        dataset_type=ref.datasetType.name,
        run=ref.run,
        instrument=instrument,
        data_id=json.dumps(required, sort_keys=True),
        ingested_at=now,
        recorded_at=now,
        exposure=exposure,  # type: ignore[arg-type]
        detector=required.get("detector"),  # type: ignore[arg-type]
        dataset_filter=required.get("physical_filter"),  # type: ignore[arg-type]
        day_obs=days.get((instrument, exposure)) if exposure is not None else None,  # type: ignore[arg-type]
    )


def _uris(
    butler: Butler, refs: list[DatasetRef], report: ButlerImportReport
) -> dict[str, tuple[str, int]]:
    """(URI, size) of each dataset's file, from the datastore's records (no file read)."""
    if not refs:
        return {}
    sizes: dict[str, int] = {}
    for data in butler._datastore.export_records(refs).values():
        for dataset_id, tables in data.records.items():
            for info in (info for infos in tables.values() for info in infos):
                sizes[str(dataset_id)] = int(getattr(info, "file_size", -1))
    located: dict[str, tuple[str, int]] = {}
    for ref, uris in butler._datastore.getManyURIs(refs).items():
        if uris.primaryURI is None:
            report.failed.append((str(ref.id), "the Butler has no single file for it"))
            continue
        located[str(ref.id)] = (str(uris.primaryURI), sizes.get(str(ref.id), -1))
    return located


def _certify(site: Site, associations: list[Any], report: ButlerImportReport) -> int:
    """Certify here each association's dataset over its timespan (same range: no-op)."""
    groups: dict[tuple[str, dt.datetime | None, dt.datetime | None], list[str]] = defaultdict(list)
    for association in associations:
        begin, end = _utc(association.timespan)
        groups[(association.collection, begin, end)].append(str(association.ref.id))
    certified = 0
    for (collection, begin, end), ids in groups.items():
        try:
            result = certify(site.store, collection, ids, begin, end)
        except CatalogError as exc:  # e.g. overlaps a range certified here already
            report.failed.extend(
                (i, f"not certified in {collection}: {one_line(exc)}") for i in ids
            )
            continue
        certified += len(result.certified)
    return certified


def _utc(timespan: Timespan | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """A Butler timespan's bounds as UTC datetimes (None: unbounded)."""
    if timespan is None:
        return None, None

    def convert(moment: Any) -> dt.datetime | None:
        if moment is None:
            return None
        return moment.utc.to_datetime(timezone=dt.UTC)  # type: ignore[no-any-return]

    return convert(timespan.begin), convert(timespan.end)
