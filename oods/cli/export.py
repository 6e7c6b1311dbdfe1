"""``oods export``: datasets out as a Butler export, for ``butler import``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..butler_export import CALIBRATION_FORMATTER, TRANSFERS, export_for_butler
from ..errors import printable
from ._console import EXIT_PARTIAL, Context, pass_context


@click.command(name="export")
@click.option(
    "--where",
    help="SQL predicate over the datasets and their exposures' columns. Default: all.",
)
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Export directory: export.yaml, and the files with --transfer copy.",
)
@click.option(
    "--transfer",
    type=click.Choice(TRANSFERS),
    default="copy",
    show_default=True,
    help="copy: download and verify the files; none: name them by s3:// URL.",
)
@click.option(
    "--formatter",
    help="The raws' formatter class. Default: obs_lsst's raw formatter for the camera.",
)
@click.option(
    "--calibration-formatter",
    default=CALIBRATION_FORMATTER,
    show_default=True,
    help="The formatter class of every other dataset type.",
)
@click.option(
    "--storage-class",
    "storage_classes",
    multiple=True,
    metavar="TYPE=CLASS",
    help="Storage class of a dataset type (repeatable). Default: Exposure for raw, "
    "ExposureF for the rest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def export_command(
    obj: Context,
    where: str | None,
    to: Path,
    transfer: str,
    formatter: str | None,
    calibration_formatter: str,
    storage_classes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Export present datasets for the LSST Data Butler (`butler import`).

    Writes DIR/export.yaml with the dimension records, RUN collections and, for
    certified calibrations, their CALIBRATION collections and validity ranges. Dataset
    ids stay OODS's, which are the Butler's. Exit 4 if some file could not be copied
    (each named on stderr; the others are exported).

    \b
    Example:
      oods export --where "exposure = 2025060100005" --to out
      butler import REPO out --export-file out/export.yaml --transfer copy
      oods export --where "dataset_type = 'bias'" --to biases --transfer none
    """
    classes: dict[str, str] = {}
    for item in storage_classes:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"{item!r} is not TYPE=CLASS", param_hint="--storage-class")
        classes[name.strip()] = value.strip()
    report = export_for_butler(
        obj.site,
        to,
        where,
        transfer=transfer,
        formatter=formatter,
        calibration_formatter=calibration_formatter,
        storage_classes=classes,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            click.echo(printable(line), err=True)
        s = report.summary()
        click.echo(
            f"exported {s['datasets']} datasets ({s['exposures']} exposures, "
            f"{s['certifications']} certifications) to {report.export_file}; "
            f"copied {s['files_copied']}, skipped {s['files_skipped']} (already there), "
            f"failed {s['failed']} in {s['seconds']}s"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)
