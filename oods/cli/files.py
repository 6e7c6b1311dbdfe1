"""``oods get``, ``oods verify`` and ``oods fsck``: the files' bytes, fetched and checked."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..download import get as get_files
from ..fsck import FsckReport, fsck, verify
from ..retention_classes import load_retention
from ..selection import select_files
from ..site import Site
from ._console import (
    EXIT_FAILED,
    EXIT_PARTIAL,
    Context,
    human_size,
    pass_context,
    progressbar,
)

_WHERE_HELP = 'SQL predicate over the `files` table, e.g. "exposure = 2025060100005".'


def _selected(site: Site, where: str | None, dataset_ids: Sequence[str]) -> int:
    """How many files the progress bar will count (only worth asking on a terminal)."""
    if not sys.stderr.isatty():
        return 0
    return len(select_files(site, where, dataset_ids or None).files)


@click.command()
@click.argument("dataset_ids", nargs=-1)
@click.option("--where", help=_WHERE_HELP)
@click.option("--all", "everything", is_flag=True, help="Every present file.")
@click.option(
    "--to",
    "to",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Destination folder; files go to TO/<object key>.",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel downloads. Default: config.")
@click.option("--force", is_flag=True, help="Replace a different file already at a destination.")
@click.option("--dry-run", is_flag=True, help="Say what would be downloaded; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def get(
    obj: Context,
    dataset_ids: Sequence[str],
    where: str | None,
    everything: bool,
    to: Path,
    workers: int | None,
    force: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Download present files, each checked against the catalog's SHA-256.

    Select by dataset ids, by --where (SQL over the `files` table, as `oods query`), or
    --all. A file is renamed into place only once its checksum matches, so nothing
    partial is ever left under its name; a file already there with the same bytes is
    skipped (re-running resumes), a different one is kept unless --force. Exit status
    4 when some files failed (one line each).

    \b
    Example:
      oods get --where "exposure = 2025060100005" --to raws/
      oods get --where "day_obs = 20250601 AND detector = 94" --to raws/ --dry-run
      oods get 6b1cbc85-e6ad-5662-bb92-f98cdbe39843 --to .
    """
    if not dataset_ids and where is None and not everything:
        raise click.UsageError("give DATASET_IDS, --where, or --all for every present file")
    site = obj.site
    with progressbar(_selected(site, where, dataset_ids), "downloading") as advance:
        report = get_files(
            site,
            to,
            where,
            dataset_ids or None,
            workers=workers,
            force=force,
            dry_run=dry_run,
            progress=advance,
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for result in report.failed:
            click.echo(result.line(), err=True)
        if dry_run:
            for result in report.planned:
                click.echo(result.line())
        s = report.summary()
        verb = f"would download {s['planned']}" if dry_run else f"downloaded {s['downloaded']}"
        click.echo(
            f"{verb} ({human_size(report.bytes)}), skipped {s['skipped']} (same bytes "
            f"already there), failed {s['failed']} in {s['seconds']}s"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)


@click.command(name="verify")
@click.argument("dataset_ids", nargs=-1)
@click.option("--where", help=_WHERE_HELP + " Default: every present file.")
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel reads. Default: config.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def verify_command(
    obj: Context, dataset_ids: Sequence[str], where: str | None, workers: int | None, as_json: bool
) -> None:
    """Read stored objects again and check their SHA-256 against the catalog.

    Every present file, or those DATASET_IDS or --where select. One line per problem
    (missing, size, corrupt, unreadable, unknown id); exit status 1 if any.

    \b
    Example:
      oods verify --where "day_obs = 20250601"
      oods verify 6b1cbc85-e6ad-5662-bb92-f98cdbe39843
    """
    site = obj.site
    with progressbar(_selected(site, where, dataset_ids), "verifying") as advance:
        report = verify(site, where, dataset_ids or None, workers=workers, progress=advance)
    _show(report, as_json, f"verified {report.verified} objects")


@click.command(name="fsck")
@click.option("--full", is_flag=True, help="Also read every object and check its SHA-256.")
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel reads. Default: config.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def fsck_command(obj: Context, full: bool, workers: int | None, as_json: bool) -> None:
    """Check that the catalog and the bucket agree; changes nothing.

    Every present dataset must have its object, of the recorded size (missing, size),
    and every object of the data layout a present dataset (orphan); a present object must
    carry a retention class of the site's config (tag). --full also reads
    every object and compares its SHA-256 (corrupt, unreadable). One line per problem;
    exit status 1 if any.

    \b
    Example:
      oods fsck
      oods fsck --full --json
    """
    site = obj.site
    if full:
        ((count,),) = site.sql("SELECT count(*) FROM files").fetchall()
        with progressbar(int(count), "verifying") as advance:
            report = fsck(site, True, workers, advance, load_retention(obj.config_path))
    else:
        report = fsck(site, retention=load_retention(obj.config_path))
    checked = f"{report.datasets} datasets, {report.objects} objects"
    if full:
        checked += f", {report.verified} verified"
    _show(report, as_json, f"checked {checked}")


def _show(report: FsckReport, as_json: bool, checked: str) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for problem in report.problems:
            click.echo(problem.line())
        found = {k: v for k, v in report.summary().items() if k not in _COUNTS and v}
        detail = ", ".join(f"{v} {k}" for k, v in found.items())
        outcome = f"{len(report.problems)} problems ({detail})" if found else "no problems"
        click.echo(f"{checked}: {outcome}")
    if not report.ok:
        sys.exit(EXIT_FAILED)


_COUNTS = ("datasets", "objects", "verified")
