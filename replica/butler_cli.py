"""The Butler forms of the replica commands: ``oods replica push --to butler:REPO`` and
``oods import butler:REPO``. Kept apart from ``replica.cli`` so that the site-to-site
commands never import the Butler."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence

import click

from oods.cli._console import (
    EXIT_FAILED,
    EXIT_PARTIAL,
    Context,
    human_size,
    pass_context,
    writes_site,
)
from oods.errors import printable

from .butler_import import import_from_butler
from .butler_push import butler_push_plan, butler_repo, open_butler, push_to_butler

#: The options ``push`` takes for a Butler target (ignored for a site).
FORMATTER_HELP = "butler: targets: the raws' formatter class (default obs_lsst's)."
CALIBRATION_FORMATTER_HELP = "butler: targets: the other types' formatter class."
STORAGE_CLASS_HELP = "butler: targets: TYPE=CLASS storage class of a dataset type (repeatable)."


def _progress() -> Callable[[str], None] | None:
    """Stage lines on stderr when it is a terminal (never in a pipe or a log)."""
    if not sys.stderr.isatty():
        return None
    return lambda line: click.echo(printable(line), err=True)


def storage_class_map(items: Sequence[str]) -> dict[str, str]:
    """``TYPE=CLASS`` options as a mapping; a malformed one is a usage error."""
    classes: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"{item!r} is not TYPE=CLASS", param_hint="--storage-class")
        classes[name.strip()] = value.strip()
    return classes


def push_to_butler_command(
    obj: Context,
    target: str,
    dry_run: bool,
    formatter: str | None,
    calibration_formatter: str,
    storage_classes: Sequence[str],
    as_json: bool,
) -> None:
    """``oods replica push --to butler:REPO``: report in one summary line (or JSON)."""
    repo = butler_repo(target)
    assert repo is not None
    if dry_run:
        chosen, missing = butler_push_plan(obj.site, open_butler(repo), None)
        if as_json:
            click.echo(json.dumps({"repo": repo, "candidates": len(chosen), "missing": missing}))
        else:
            click.echo(
                printable(f"would register {len(missing)} of {len(chosen)} datasets in {repo}")
            )
        return
    report = push_to_butler(
        obj.site,
        repo,
        formatter=formatter,
        calibration_formatter=calibration_formatter,
        storage_classes=storage_class_map(storage_classes),
        progress=_progress(),
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(printable(line), err=True)
        s = report.summary()
        click.echo(
            printable(
                f"pushed {s['pushed']} datasets ({human_size(report.bytes)}) to Butler {repo}; "
                f"{s['already']} already registered, failed {s['failed']}, in {s['seconds']}s"
            )
        )
    if not report.ok:
        sys.exit(EXIT_PARTIAL if report.pushed else EXIT_FAILED)


@writes_site
@click.command("import")
@click.argument("source")
@click.option(
    "--collections",
    "collections",
    required=True,
    multiple=True,
    help="Collection name or pattern (repeatable; chains followed).",
)
@click.option("--where", help='A Butler query expression, e.g. "exposure.day_obs = 20250601".')
@click.option("--with-bytes", is_flag=True, help="Also copy the files here (present).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def import_command(
    obj: Context,
    source: str,
    collections: tuple[str, ...],
    where: str | None,
    with_bytes: bool,
    as_json: bool,
) -> None:
    """Catalog here what a Butler repository holds (SOURCE is butler:REPO).

    Datasets keep the Butler's ids and are located `remote` (their key is the Butler's
    URI); certified calibrations arrive certified, with their validity ranges, and
    the exposure records they need. --with-bytes also copies the files into this
    site's bucket (verified, at the keys an ingest would use): they become present.
    Running it again writes only what is new. Exit 4 if some dataset failed.

    \b
    Example:
      oods import butler:/repo/main --collections LSSTCam/raw/all --collections LSSTCam/calib
      oods import butler:REPO --collections LSSTCam/raw/all \\
        --where "instrument = 'LSSTCam' AND day_obs = 20250601"
    """
    repo = butler_repo(source)
    if repo is None:
        raise click.BadParameter(f"{source!r} is not butler:REPO", param_hint="SOURCE")
    report = import_from_butler(
        obj.site, repo, collections, where, with_bytes=with_bytes, progress=_progress()
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            click.echo(printable(line), err=True)
        click.echo(
            printable(
                f"imported {report.datasets} datasets of {report.found} found in {repo} "
                f"({report.exposures} exposures, {report.certifications} certifications, "
                f"{report.remote} newly remote, {report.copied} copied "
                f"({human_size(report.bytes)})), failed {len(report.failed)}, "
                f"in {report.seconds:.2f}s"
            )
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)
