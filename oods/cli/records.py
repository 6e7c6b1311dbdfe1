"""The ``oods records`` commands: correcting exposure and raw records after ingest.

Registered on the ``oods`` group by ``oods/cli/__init__.py`` (import that, not this module:
this one uses its helpers); errors go through its one mapping to exit codes.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import click

from catalog import FieldChange, RecordsReport

from ..records import update_records
from ._console import EXIT_PARTIAL, Context, pass_context, run_template


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
@click.option(
    "--run", callback=run_template, help="Run of the raws of FILES. Default: {instrument}/raw/all."
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--dry-run", is_flag=True, help="Check and show the changes; commit nothing.")
@pass_context
def update(
    obj: Context,
    files: Sequence[Path],
    corrections: Path | None,
    table: Path | None,
    reason: str | None,
    run: str | None,
    as_json: bool,
    dry_run: bool,
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
      oods records update --table fixes.csv --dry-run      # what would change
      oods records update fixed/MC_O_20250601_000001_R22_S1*.fits
      oods records update --corrections /opt/obs_lsst/corrections
    """
    if not files and corrections is None and table is None:
        raise click.UsageError("give corrected FILES, --corrections or --table")
    report = update_records(
        obj.site,
        files,
        corrections=corrections,
        table=table,
        reason=reason,
        run=run,
        dry_run=dry_run,
    )
    _show(report, as_json, obj.verbose)


def _show(report: RecordsReport, as_json: bool, every_change: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            click.echo(line, err=True)
        if every_change:
            for change in report.changes:
                click.echo(_describe(change))
        else:
            for line in summarise(report.changes):
                click.echo(line)
        s = report.summary()
        when = f" at {report.recorded_at.isoformat()}" if report.recorded_at else ""
        dry_run = bool(report.changes) and report.recorded_at is None  # nothing committed
        click.echo(
            ("dry run: would supersede" if dry_run else "superseded")
            + f" {s['exposures']} exposure and {s['datasets']} dataset records "
            f"({s['fields']} fields){when}; rejected {s['rejected']}"
        )
    if report.rejected:
        sys.exit(EXIT_PARTIAL)


def summarise(changes: Sequence[FieldChange]) -> list[str]:
    """One line per exposure and field change, not per raw (a whole-exposure filter fix
    of LSSTCam is 205 raws alike); ``--verbose`` lists every record."""
    groups: dict[tuple[str, int, str, str, str, bool], list[FieldChange]] = defaultdict(list)
    for c in changes:
        raw = c.dataset_id is not None
        groups[(c.instrument, c.exposure, c.field, repr(c.old), repr(c.new), raw)].append(c)
    lines = []
    for (instrument, exposure, field, old, new, raw), group in groups.items():
        if not raw:
            target = f"exposure {instrument} {exposure}"
        elif len(group) == 1:
            target = _describe(group[0]).split(": ", 1)[0]
        else:
            detectors = sorted(c.detector for c in group if c.detector is not None)
            target = (
                f"{len(group)} raws of exposure {instrument} {exposure} "
                f"(detectors {_ranges(detectors)})"
            )
        lines.append(f"{target}: {field} {old} -> {new}")
    return lines


def _ranges(numbers: Sequence[int]) -> str:
    """``0-3, 7, 9-10`` for [0, 1, 2, 3, 7, 9, 10]."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _describe(change: FieldChange) -> str:
    target = f"exposure {change.instrument} {change.exposure}"
    if change.dataset_id is not None:
        target = f"raw {change.dataset_id} ({target} detector {change.detector})"
    return f"{target}: {change.field} {change.old!r} -> {change.new!r}"
