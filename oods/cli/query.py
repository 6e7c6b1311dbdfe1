"""``oods query``, ``oods ls`` and ``oods url``: reading the catalog and the files."""

from __future__ import annotations

import click
import duckdb

from catalog.errors import one_line

from ..datasets import list_datasets, locate
from ._console import FORMATS, Context, DayObs, parse_as_of, pass_context, render


@click.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--as-of", help="A catalog version (integer) or a UTC time (ISO 8601).")
@click.option(
    "--allow-local-files",
    is_flag=True,
    help="Let the query read local files (read_csv, read_parquet). Off: no file access.",
)
@pass_context
def query(obj: Context, sql: str, fmt: str, as_of: str | None, allow_local_files: bool) -> None:
    """Run read-only SQL (DuckDB) over the catalog.

    Tables: datasets, exposures, locations, calibrations, provenance, arrivals
    (current rows), *_history (every row); views files, all_files, obscore. Every
    column, its type and unit (times UTC, angles degrees, pressure hPa):
    docs/data-dictionary.md. Join a dataset to its exposure with
    USING (instrument, exposure). Only queries run (SELECT, SHOW, DESCRIBE,
    SUMMARIZE); local files are out of reach unless --allow-local-files.

    \b
    Example:
      oods query "SELECT day_obs, count(*) FROM datasets GROUP BY 1" --format csv
      oods query "SELECT count(*) FROM datasets" --as-of 3
      oods query "SELECT * FROM files JOIN read_csv('ids.csv') USING (dataset_id)" \\
          --allow-local-files
    """
    site = obj.site
    when = None if as_of is None else parse_as_of(as_of)
    try:
        snapshot = site.snapshot(when, allow_local_files=allow_local_files)
    except LookupError as exc:  # no such version: a usage error, not a traceback
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    try:
        render(snapshot.sql(sql), fmt)
    except duckdb.PermissionException as exc:  # a local file, with access switched off
        raise click.ClickException(
            f"{one_line(exc)} (--allow-local-files lets a query read local files)"
        ) from None


@click.command()
@click.option("--type", "dataset_type", help="Dataset type, e.g. raw.")
@click.option("--instrument", help="e.g. LSSTCam.")
@click.option("--day-obs", type=DayObs(), help="Observing day: 20250415 or 2025-04-15.")
@click.option("--exposure", type=int, help="Exposure id, e.g. 2025041500060.")
@click.option("--detector", type=int, help="Detector number (Butler numbering).")
@click.option("--limit", type=int, help="At most this many rows.")
@click.option(
    "--all",
    "every_state",
    is_flag=True,
    help="Also datasets whose bytes are not here (expired, missing, remote), with state.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_context
def ls(
    obj: Context,
    dataset_type: str | None,
    instrument: str | None,
    day_obs: int | None,
    exposure: int | None,
    detector: int | None,
    limit: int | None,
    every_state: bool,
    fmt: str,
) -> None:
    """List datasets present in the site (--all: every catalogued one, with its state).

    \b
    Example:
      oods ls --day-obs 20250601 --detector 4
      oods ls --all --day-obs 20250601
    """
    render(
        list_datasets(
            obj.site,
            dataset_type=dataset_type,
            instrument=instrument,
            day_obs=day_obs,
            exposure=exposure,
            detector=detector,
            limit=limit,
            every_state=every_state,
        ),
        fmt,
    )


@click.command()
@click.argument("dataset_id", required=False)
@click.option("--exposure", type=int, help="Exposure id (with --detector).")
@click.option("--detector", type=int, help="Detector number (with --exposure).")
@click.option("--instrument", help="Needed only if two instruments share the exposure id.")
@click.option(
    "--expires",
    default=3600,
    show_default=True,
    type=click.IntRange(1, 604800),
    help="Seconds the URL stays valid.",
)
@pass_context
def url(
    obj: Context,
    dataset_id: str | None,
    exposure: int | None,
    detector: int | None,
    instrument: str | None,
    expires: int,
) -> None:
    """Print a presigned S3 URL for one dataset.

    \b
    Example:
      oods url --exposure 2025060100005 --detector 4
      curl -o raw.fits "$(oods url c900ca45-8346-53d7-b43f-af5d7c87bae7)"
    """
    if dataset_id is None and (exposure is None or detector is None):
        raise click.UsageError("give a DATASET_ID, or both --exposure and --detector")
    site = obj.site
    found = locate(site, dataset_id, exposure=exposure, detector=detector, instrument=instrument)
    click.echo(site.presigned_url(found.key, expires))
