"""The ``oods records`` commands: correcting exposure and raw records after ingest.

Registered on the ``oods`` group by ``oods/cli.py`` (import that module, not this one:
this one uses its helpers); errors go through its one mapping to exit codes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from catalog import FieldChange, RecordsReport

from ._console import EXIT_PARTIAL, Context, pass_context
from .records import update_records


@click.group()
def records() -> None:
    """Exposure and raw records: correct what the headers got wrong.

    \b
    Example:
      oods records update --table fixes.csv --reason "filter wheel log"
    """


@records.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--corrections",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of <instrument>-<obs_id>.yaml header corrections: re-read the stored "
    "raws of the exposures they name and translate them again.",
)
@click.option(
    "--table",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV: instrument, exposure, [detector], field, value, [reason].",
)
@click.option("--reason", help="Why, kept with every corrected record.")
@click.option("--run", help="Run of the raws of FILES. Default: {instrument}/raw/all.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def update(
    obj: Context,
    files: Sequence[Path],
    corrections: Path | None,
    table: Path | None,
    reason: str | None,
    run: str | None,
    as_json: bool,
) -> None:
    """Supersede exposure and raw records with corrected values; history is kept.

    Corrections come from corrected FILES (matched by the dataset id their header
    gives), from the stored raws re-translated with --corrections, or from a --table
    whose rows set one field of an exposure, or of one detector's raw (an empty
    detector means the whole exposure). Old rows stay: `oods query --as-of` before the
    update shows them. Good corrections are committed together; each rejected one gets
    a line with its file or table line. Exit status 4 when some were rejected.

    Later ingests of the exposure keep the corrected record (a disagreeing header is
    reported as a warning) and their raws follow a whole-exposure correction.

    \b
    Example:
      oods records update --table fixes.csv --reason "filter wheel log"
      oods records update fixed/MC_O_20250601_000001_R22_S1*.fits
      oods records update --corrections /opt/obs_lsst/corrections
    """
    if not files and corrections is None and table is None:
        raise click.UsageError("give corrected FILES, --corrections or --table")
    report = update_records(
        obj.site, files, corrections=corrections, table=table, reason=reason, run=run
    )
    _show(report, as_json)


def _show(report: RecordsReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            click.echo(line, err=True)
        for change in report.changes:
            click.echo(_describe(change))
        s = report.summary()
        when = f" at {report.recorded_at.isoformat()}" if report.recorded_at else ""
        click.echo(
            f"superseded {s['exposures']} exposure and {s['datasets']} dataset records "
            f"({s['fields']} fields){when}; rejected {s['rejected']}"
        )
    if report.rejected:
        sys.exit(EXIT_PARTIAL)


def _describe(change: FieldChange) -> str:
    target = f"exposure {change.instrument} {change.exposure}"
    if change.dataset_id is not None:
        target = f"raw {change.dataset_id} ({target} detector {change.detector})"
    return f"{target}: {change.field} {change.old!r} -> {change.new!r}"
