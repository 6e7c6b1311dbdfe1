"""Ingest master calibrations and other outputs whose data id is given, not a raw's.

A master bias or flat is identified by its dataset type, its RUN collection and a
data id (instrument, detector, and physical_filter for filter-dependent types such as
flats). Values given by the caller win; the ones not given are read from the file's
header: a processed calibration's own cards (INSTRUME, DETECTOR, FILTER; see
``catalog.calibration_headers``), or, for a raw used as one, the raw translators. The
files then go through the same batches as raws: checksum-verified create-only upload,
conflict detection, one commit per batch, one result per file, and optional provenance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from catalog import (
    FILTER_CALIBRATIONS,
    HeaderError,
    calibration_data_id,
    dataset_id,
    translate_header,
)
from catalog.calibration_headers import (
    CalibrationCards,
    is_processed_calibration,
    read_calibration_cards,
)
from catalog.provenance import DEFAULT_ROLE, check_datasets_exist

from .errors import IngestRejected, InvalidNameError
from .ingest import (
    METADATA,
    FileResult,
    IngestReport,
    Progress,
    _Prepared,
    ingest_prepared,
    read_file_head,
)
from .keys import calibration_key, check_dataset_type, check_run, check_segment
from .site import Site


def ingest_calibrations(
    site: Site,
    paths: Iterable[str | Path],
    dataset_type: str,
    run: str,
    *,
    instrument: str | None = None,
    detector: int | None = None,
    physical_filter: str | None = None,
    inputs: Iterable[str] | Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest calibration files (or folders of them) into a RUN collection.

    Args:
        site: the site to ingest into.
        paths: files and folders; folders are searched recursively.
        dataset_type: e.g. ``bias``, ``dark``, ``flat``, or any other type name.
        run: the RUN collection, e.g. ``LSSTCam/calib/20250601``.
        instrument: the instrument (Butler name); by default from the header.
        detector: the detector number; by default from the header.
        physical_filter: the filter; by default from the header for filter-dependent
            types (``flat``...), left out of the data id for the others.
        inputs: datasets every file was made from (role ``input``), or
            ``{dataset id: role}``; recorded as provenance.
        progress: called with the number of files finished, as they finish.

    Returns:
        An ``IngestReport``; per-file failures are in it, never raised.

    Raises:
        InvalidNameError: the dataset type, run or filter cannot be part of a key.
        UnknownDatasetError: an input is not in the catalog (nothing is ingested).

    Example:
        >>> ingest_calibrations(site, ["masters/bias"], "bias", "LSSTCam/calib/20250601",
        ...                     inputs=raw_bias_ids).summary()
    """
    try:
        check_dataset_type(dataset_type)
        check_run(run)
        if physical_filter is not None:
            check_segment(physical_filter, "physical filter")
        if instrument is not None:
            check_segment(instrument, "instrument")
    except ValueError as exc:
        raise InvalidNameError(str(exc)) from None
    if dataset_type == "raw":
        raise InvalidNameError("raws are ingested with oods.ingest, which reads their headers")
    roles = _roles(inputs)
    check_datasets_exist(site.store, roles)

    def prepare(path: Path) -> _Prepared | FileResult:
        return _prepare_calibration(path, dataset_type, run, instrument, detector, physical_filter)

    return ingest_prepared(site, paths, prepare, dataset_type, run, progress, roles)


def put(
    site: Site,
    path: str | Path,
    dataset_type: str,
    run: str,
    *,
    instrument: str | None = None,
    detector: int | None = None,
    physical_filter: str | None = None,
    inputs: Iterable[str] | Mapping[str, str] | None = None,
) -> FileResult:
    """Register one output file with the datasets it was made from.

    Args: as ``ingest_calibrations``, for one file.

    Returns:
        The file's result: ``ingested``, or ``skipped`` if it was already there.

    Raises:
        IngestRejected: the file could not be ingested (the reason is in it).
        InvalidNameError: the dataset type, run or filter cannot be part of a key.
        UnknownDatasetError: an input is not in the catalog.

    Example:
        >>> put(site, "flat_R22_S11.fits", "flat", "u/alice/flats", inputs=[bias_id])
    """
    report = ingest_calibrations(
        site,
        [path],
        dataset_type,
        run,
        instrument=instrument,
        detector=detector,
        physical_filter=physical_filter,
        inputs=inputs,
    )
    (result,) = report.results
    if result.status == "failed":
        raise IngestRejected(result.path, str(result.failure), str(result.reason))
    return result


def _roles(inputs: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        return {str(k): str(v) for k, v in inputs.items()}
    return dict.fromkeys(map(str, inputs), DEFAULT_ROLE)


def _prepare_calibration(
    path: Path,
    dataset_type: str,
    run: str,
    instrument: str | None,
    detector: int | None,
    physical_filter: str | None,
) -> _Prepared | FileResult:
    """Read one file and settle its data id; failures become results."""
    source = str(path)
    head = read_file_head(path)
    if isinstance(head, FileResult):
        return head
    header, size = head.header, head.size

    def failed(reason: str) -> FileResult:
        return FileResult(source, "failed", size=size, failure=METADATA, reason=reason)

    wants_filter = physical_filter is None and dataset_type in FILTER_CALIBRATIONS
    if instrument is None or detector is None or wants_filter:
        wanted = [
            (card, option)
            for card, option, value in (
                ("INSTRUME", "--instrument", instrument),
                ("DETECTOR", "--detector", detector),
            )
            if value is None
        ] + ([("FILTER", "--physical-filter")] if wants_filter else [])
        options = ", ".join(option for _, option in wanted)
        try:
            found = _header_data_id(header, source)
        except HeaderError as exc:
            return failed(f"the header does not give the data id ({exc.reason}); give {options}")
        if found.calibration_type not in (None, dataset_type.lower()):
            return failed(
                f"its OBSTYPE says {found.calibration_type!r}, not {dataset_type!r}; "
                f"check --type, or give {options}"
            )
        instrument = instrument or found.instrument
        detector = found.detector if detector is None else detector
        if wants_filter:
            physical_filter = found.physical_filter
        said = {"INSTRUME": instrument, "DETECTOR": detector, "FILTER": physical_filter}
        unsaid = [(card, option) for card, option in wanted if said[card] is None]
        if unsaid:
            cards = ", ".join(card for card, _ in unsaid)
            return failed(f"the header gives no {cards}; give {', '.join(o for _, o in unsaid)}")
    assert instrument is not None
    try:
        data_id = calibration_data_id(dataset_type, instrument, detector, physical_filter)
        key = calibration_key(dataset_type, run, data_id)
    except ValueError as exc:
        return failed(str(exc))
    return _Prepared(
        path=path,
        size=size,
        translation=None,
        dataset_id=str(dataset_id(dataset_type, run, data_id)),
        key=key,
        data_id=data_id,
        leading=head.leading,  # the upload checks the bytes sent start with these
    )


def _header_data_id(header: dict[str, Any], source: str) -> CalibrationCards:
    """The data id a file's header gives: a processed calibration's own cards, or what
    the raw translator makes of a raw's header (a raw used as a calibration).

    Raises:
        HeaderError: the header cannot give it.
    """
    if is_processed_calibration(header):
        return read_calibration_cards(header, source)
    translation = translate_header(header, source)
    return CalibrationCards(
        instrument=translation.exposure.instrument,
        detector=translation.detector.detector,
        physical_filter=translation.exposure.physical_filter,
        calibration_type=None,
    )
