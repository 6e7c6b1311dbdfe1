"""The ``oods calib``, ``oods put`` and ``oods provenance`` commands: thin, over the library.

Registered on the ``oods`` group by ``oods/cli/__init__.py`` (import that, not this module:
this one uses its helpers); errors go through its one mapping to exit codes (4 when some
files or rows were rejected).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from catalog import (
    CertificationRecord,
    certify,
    decertify,
    find_calibration,
    find_calibrations,
    import_certifications,
    input_closure,
    list_certifications,
)
from catalog.calibrations import CertificationRequest, describe_range, plan_certifications
from catalog.errors import UnknownDatasetError

from ..calibrations import ingest_calibrations
from ..calibrations import put as put_file
from ..errors import InvalidNameError
from ..sources import scan_sources
from ._console import (
    EXIT_PARTIAL,
    FORMATS,
    Context,
    known_instrument,
    pass_context,
    progressbar,
    render,
    render_rows,
    show_report,
)

_MATCH_COLUMNS = ["dataset_type", "calibration_id", "collection", "valid_begin", "valid_end"]


def _time(value: str | None, param: str) -> dt.datetime | None:
    """An ISO 8601 time (UTC when no zone is given); empty or None for an open end."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=param) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _names(values: Sequence[str]) -> list[str]:
    """Names given repeated or comma-separated, in order."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _inputs(values: Sequence[str]) -> dict[str, str]:
    """``ID`` or ``ROLE=ID`` values, repeated or comma-separated, as {id: role}."""
    roles: dict[str, str] = {}
    for value in _names(values):
        role, _, dataset = value.rpartition("=")
        roles[dataset] = role or "input"
    return roles


def _data_id_options(function: click.decorators.FC) -> click.decorators.FC:
    for decorator in reversed(
        [
            click.option("--type", "dataset_type", required=True, help="e.g. bias, dark, flat."),
            click.option("--run", required=True, help="RUN collection, e.g. LSSTCam/calib/v1."),
            click.option(
                "--instrument", callback=known_instrument, help="Default: from the header."
            ),
            click.option(
                "--detector", type=click.IntRange(min=0), help="Default: from the header."
            ),
            click.option(
                "--physical-filter", help="Default: from the header for flats (and the like)."
            ),
            click.option(
                "--inputs",
                "--input",
                "inputs",
                multiple=True,
                help="Dataset ids it was made from (ID or ROLE=ID; repeat or comma-separate).",
            ),
        ]
    ):
        function = decorator(function)
    return function


@click.group()
def calib() -> None:
    """Calibrations: ingest masters, certify validity ranges, look them up.

    \b
    Example:
      oods calib ingest masters/bias --type bias --run LSSTCam/calib/v1
      oods calib certify ID... --collection LSSTCam/calib --begin 2025-06-01
      oods calib find --exposure 2025060100005 --collections LSSTCam/calib
    """


@calib.command(name="ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_data_id_options
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def ingest_command(
    obj: Context,
    paths: Sequence[Path],
    dataset_type: str,
    run: str,
    instrument: str | None,
    detector: int | None,
    physical_filter: str | None,
    inputs: Sequence[str],
    as_json: bool,
) -> None:
    """Ingest master calibration files (or folders of them) into a RUN collection.

    The data id is instrument, detector, and physical filter for flats: given as options,
    or read from the header when it says. Exit status 4 when some files were rejected.

    \b
    Example:
      oods calib ingest masters/flat --type flat --run LSSTCam/calib/v1 \\
          --instrument LSSTCam --physical-filter r_57
    """
    sources = scan_sources(paths)  # walked once: counted here, then ingested
    try:
        with progressbar(len(sources), "ingesting") as advance:
            report = ingest_calibrations(
                obj.site,
                sources,
                dataset_type,
                run,
                instrument=instrument,
                detector=detector,
                physical_filter=physical_filter,
                inputs=_inputs(inputs),
                progress=advance,
            )
    except InvalidNameError as exc:
        raise click.UsageError(str(exc)) from None
    show_report(report, as_json)


@calib.command(name="certify")
@click.argument("dataset_ids", nargs=-1, required=True)
@click.option("--collection", required=True, help="Calibration collection to certify into.")
@click.option("--begin", help="First valid time, ISO 8601 (UTC). Default: open.")
@click.option("--end", help="First time no longer valid (exclusive). Default: open.")
@click.option(
    "--dry-run", is_flag=True, help="Check and say what would be certified; commit nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def certify_command(
    obj: Context,
    dataset_ids: Sequence[str],
    collection: str,
    begin: str | None,
    end: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Certify calibration datasets into a collection over [begin, end).

    Refused, with nothing committed, if a range would overlap one already certified for
    the same type and data id in that collection. Candidates go in their own collection.

    \b
    Example:
      oods calib certify 6b1cbc85-e6ad-5662-bb92-f98cdbe39843 --collection LSSTCam/calib \\
          --begin 2025-06-01T12:00:00 --dry-run
    """
    valid = _time(begin, "--begin"), _time(end, "--end")
    if dry_run:  # the same checks as certify, without the commit
        requests = [CertificationRequest(i, collection, *valid) for i in dataset_ids]
        report = plan_certifications(obj.site.store, requests)
        if report.rejected:
            raise report.rejected[0][1]
    else:
        report = certify(obj.site.store, collection, dataset_ids, *valid)
    if as_json:
        _json(dry_run, certified=report.certified, unchanged=report.unchanged)
        return
    verb = "would certify" if dry_run else "certified"
    for record in report.certified:
        shown = describe_range(record.valid_begin, record.valid_end)
        click.echo(f"{verb} {record.dataset_type} {record.dataset_id} over {shown}")
    for record in report.unchanged:
        click.echo(f"unchanged {record.dataset_type} {record.dataset_id} (already certified)")


@calib.command(name="decertify")
@click.option("--collection", required=True, help="Calibration collection.")
@click.option("--type", "dataset_type", required=True, help="e.g. flat.")
@click.option("--begin", help="Start of the span to clear, ISO 8601. Default: open.")
@click.option("--end", help="End of the span (exclusive). Default: open.")
@click.option("--instrument", help="Only this instrument's.")
@click.option("--detector", type=int, help="Only this detector's.")
@click.option("--physical-filter", help="Only this filter's.")
@click.option("--dataset-id", help="Only this dataset's ranges.")
@click.option("--dry-run", is_flag=True, help="Say what would be ended and kept; commit nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def decertify_command(
    obj: Context,
    collection: str,
    dataset_type: str,
    begin: str | None,
    end: str | None,
    instrument: str | None,
    detector: int | None,
    physical_filter: str | None,
    dataset_id: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """End certification over [begin, end); ranges reaching beyond it are split.

    History is kept: `oods calib find --as-of` still sees the old ranges.

    \b
    Example:
      oods calib decertify --collection LSSTCam/calib --type flat --detector 94 \\
          --begin 2025-06-03 --end 2025-06-04
    """
    report = decertify(
        obj.site.store,
        collection,
        dataset_type,
        _time(begin, "--begin"),
        _time(end, "--end"),
        instrument=instrument,
        detector=detector,
        physical_filter=physical_filter,
        dataset_id=dataset_id,
        dry_run=dry_run,
    )
    if as_json:
        _json(dry_run, removed=report.removed, kept=report.kept)
        return
    if not report.removed:
        click.echo("nothing to decertify")
    ended, kept = ("would decertify", "would keep") if dry_run else ("decertified", "kept")
    for record in report.removed:
        shown = describe_range(record.valid_begin, record.valid_end)
        click.echo(f"{ended} {record.dataset_type} {record.dataset_id} over {shown}")
    for record in report.kept:
        shown = describe_range(record.valid_begin, record.valid_end)
        click.echo(f"{kept} {record.dataset_type} {record.dataset_id} over {shown}")


@calib.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "parquet"]),
    help="Default: from the file's suffix.",
)
@click.option("--dry-run", is_flag=True, help="Check every row; commit nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def import_command(
    obj: Context, path: Path, file_format: str | None, dry_run: bool, as_json: bool
) -> None:
    """Certify what a CSV or Parquet file lists (as the archive hands validity over).

    Columns: dataset_id or file_name, collection, dataset_type (or type), begin, end
    (ISO 8601; empty for open). Good rows are committed together; each bad row gets one
    line with its line number. Exit status 4 when some rows were rejected.

    \b
    Example:
      oods calib import dbb_validity.csv --dry-run
      oods calib import dbb_validity.csv
    """
    report = import_certifications(obj.site.store, path, file_format, dry_run=dry_run)
    if as_json:
        _json(
            dry_run,
            source=report.source,
            **report.summary(),
            certified_ranges=report.certified,
            unchanged_ranges=report.unchanged,
            rejected_rows=[dataclasses.asdict(r) for r in report.rejected],
        )
    else:
        for line in report.lines():
            click.echo(line, err=True)
        s = report.summary()
        verb = "dry run: would certify" if dry_run else "certified"
        click.echo(
            f"{verb} {s['certified']}, unchanged {s['unchanged']} (already certified), "
            f"rejected {s['rejected']}"
        )
    if report.rejected:
        sys.exit(EXIT_PARTIAL)


@calib.command(name="find")
@click.argument("raw", required=False)
@click.option(
    "--collections",
    "--collection",
    "collections",
    multiple=True,
    required=True,
    help="Collections in search order (repeat or comma-separate); first match wins.",
)
@click.option(
    "--type",
    "dataset_types",
    multiple=True,
    help="Calibration types (repeat or comma-separate). Default: bias, dark, flat.",
)
@click.option("--exposure", type=int, help="One exposure (all its detectors without --detector).")
@click.option("--detector", type=int, help="One detector (with --exposure).")
@click.option("--day-obs", type=int, help="A whole night.")
@click.option("--instrument", help="Only this instrument's raws.")
@click.option(
    "--as-of",
    help="A recording time (ISO 8601, UTC): what a lookup made then would have chosen, "
    "from the ranges recorded by then. Not an observation time: that is the raw's own.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_context
def find_command(
    obj: Context,
    raw: str | None,
    collections: Sequence[str],
    dataset_types: Sequence[str],
    exposure: int | None,
    detector: int | None,
    day_obs: int | None,
    instrument: str | None,
    as_of: str | None,
    fmt: str,
) -> None:
    """Find the calibrations valid for a raw, an exposure or a night.

    One raw (by id, or --exposure and --detector): an error if a type has none. An
    exposure or a night: one query, one row per raw and type found.

    \b
    Example:
      oods calib find --exposure 2025060100005 --detector 94 \\
          --collections u/alice/candidates,LSSTCam/calib
      oods calib find --day-obs 20250601 --collections LSSTCam/calib --format csv
    """
    names, types = _names(collections), _names(dataset_types) or ["bias", "dark", "flat"]
    when = _time(as_of, "--as-of")
    snapshot = obj.site.snapshot()
    if raw is not None or (exposure is not None and detector is not None):
        found = find_calibration(
            snapshot,
            names,
            types,
            raw=raw,
            exposure=exposure,
            detector=detector,
            instrument=instrument,
            as_of=when,
        )
        rows = [
            (m.dataset_type, m.dataset_id, m.collection, m.valid_begin, m.valid_end)
            for m in found.values()
        ]
        render_rows(_MATCH_COLUMNS, rows, fmt)
        return
    if exposure is None and day_obs is None:
        raise click.UsageError("give a RAW id, --exposure (and --detector), or --day-obs")
    relation = find_calibrations(
        snapshot,
        names,
        types,
        exposure=exposure,
        day_obs=day_obs,
        detector=detector,
        instrument=instrument,
        as_of=when,
    )
    render(
        relation.select(
            "raw_id, exposure, detector, dataset_type, calibration_id, collection, "
            "valid_begin, valid_end"
        ),
        fmt,
    )


@calib.command(name="ls")
@click.option("--collection", help="Only this calibration collection.")
@click.option("--type", "dataset_type", help="Only this type.")
@click.option("--detector", type=int, help="Only this detector.")
@click.option("--as-of", help="The ranges in force at this time (ISO 8601).")
@click.option("--history", is_flag=True, help="Every version of every range, oldest first.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_context
def ls_command(
    obj: Context,
    collection: str | None,
    dataset_type: str | None,
    detector: int | None,
    as_of: str | None,
    history: bool,
    fmt: str,
) -> None:
    """List certified validity ranges (or their whole history).

    \b
    Example:
      oods calib ls --collection LSSTCam/calib --type flat
      oods calib ls --history --format csv
    """
    render(
        list_certifications(
            obj.site.snapshot(),
            collection=collection,
            dataset_type=dataset_type,
            detector=detector,
            as_of=_time(as_of, "--as-of"),
            history=history,
        ),
        fmt,
    )


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_data_id_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def put(
    obj: Context,
    path: Path,
    dataset_type: str,
    run: str,
    instrument: str | None,
    detector: int | None,
    physical_filter: str | None,
    inputs: Sequence[str],
    as_json: bool,
) -> None:
    """Register one output file (e.g. a new master bias) with the datasets it came from.

    Prints the dataset id (stdout); re-putting the same file is a no-op. Inputs must
    already be in the catalog.

    \b
    Example:
      oods put bias_R22_S11.fits --type bias --run u/alice/bias --detector 94 \\
          --instrument LSSTCam --inputs ID1,ID2 --inputs flat=ID3
    """
    try:
        result = put_file(
            obj.site,
            path,
            dataset_type,
            run,
            instrument=instrument,
            detector=detector,
            physical_filter=physical_filter,
            inputs=_inputs(inputs),
        )
    except InvalidNameError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2, default=str))
        return
    click.echo(result.dataset_id)
    click.echo(f"{result.status} as {result.key}", err=True)


@click.command()
@click.argument("dataset_id")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_context
def provenance(obj: Context, dataset_id: str, fmt: str) -> None:
    """List every dataset an output was made from, directly (depth 1) or not.

    An id the catalog does not hold is an error (exit 1), not an empty list.

    \b
    Example:
      oods provenance 6b1cbc85-e6ad-5662-bb92-f98cdbe39843 --format csv
    """
    snapshot = obj.site.snapshot()
    condition, params = snapshot.dataset_id_condition(dataset_id)
    known = snapshot.sql(f"SELECT 1 FROM datasets WHERE {condition}", params)
    if not known.fetchall():
        raise UnknownDatasetError(dataset_id)
    render(input_closure(snapshot, dataset_id), fmt)


def _json(dry_run: bool, **parts: object) -> None:
    """A calibration report as JSON: records as objects, times in ISO 8601."""

    def plain(value: object) -> object:
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, CertificationRecord):
            return dataclasses.asdict(value)
        return value

    shown = {"dry_run": dry_run, **{k: plain(v) for k, v in parts.items()}}
    click.echo(json.dumps(shown, indent=2, default=str))
