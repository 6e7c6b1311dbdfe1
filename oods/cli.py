"""The ``oods`` command line: thin commands over the library, one place for exit codes.

Exit codes: 0 done, 1 failed, 2 usage, 3 configuration, 4 partial (some files rejected).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import click
import duckdb

from catalog import CatalogError

from . import embedded
from ._console import (
    EXIT_CONFIG,
    EXIT_FAILED,
    FORMATS,
    Context,
    parse_as_of,
    pass_context,
    progressbar,
    render,
    render_rows,
    show_report,
)
from .calib_cli import calib, provenance, put
from .datasets import list_datasets, locate
from .errors import ConfigError, OodsError
from .ingest import find_files
from .ingest import ingest as ingest_files
from .records_cli import records
from .simulate import DEFAULT_DAY_OBS, simulate_night


class OodsGroup(click.Group):
    """Turns package errors into one-line messages and exit codes (tracebacks: --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            self._fail(ctx, exc, EXIT_CONFIG)
        except (OodsError, CatalogError, duckdb.Error) as exc:
            self._fail(ctx, exc, EXIT_FAILED)

    @staticmethod
    def _fail(ctx: click.Context, exc: Exception, code: int) -> NoReturn:
        obj = ctx.find_object(Context)
        if obj is not None and obj.debug:
            raise exc
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(code)


@click.group(cls=OodsGroup)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="OODS_CONFIG",
    help="Site config (TOML). Default: ./oods.toml, else the embedded default.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="oods")
@click.pass_context
def main(ctx: click.Context, config: Path | None, debug: bool) -> None:
    """OODS: the observatory's on-site file cache and catalog.

    \b
    Example (quick start, the embedded default site on a local MinIO):
      oods up
      oods simulate --out night
      oods ingest night
      oods query "SELECT observation_type, count(*) FROM exposures GROUP BY 1"
    """
    ctx.obj = Context(config, debug)


@main.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where MinIO keeps its data. Default: $OODS_HOME/data (./.oods/data).",
)
@click.option("--port", type=int, default=0, help="Port on 127.0.0.1. Default: a free one.")
def up(data: Path | None, port: int) -> None:
    """Start the embedded MinIO server in the background.

    Builds MinIO with `go install` the first time. Later commands with no config
    use this server's site.

    \b
    Example:
      oods up && oods ingest night/
    """
    server, started = embedded.start(data, port)
    shown = embedded.state(server)
    verb = "started" if started else "already running"
    click.echo(f"MinIO {verb} at {shown['endpoint']} (data {shown['data']}, pid {shown['pid']})")


@main.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only stop the server if it serves this folder.",
)
def down(data: Path | None) -> None:
    """Stop the embedded MinIO server (its data stays).

    \b
    Example:
      oods down
    """
    server = embedded.stop(data)
    click.echo(
        "no embedded server running" if server is None else f"stopped MinIO at {server.endpoint}"
    )


@main.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the night into.",
)
@click.option(
    "--detectors",
    default=9,
    show_default=True,
    type=click.IntRange(1, 205),
    help="Detectors per exposure (of LSSTCam's 205, in Butler order).",
)
@click.option(
    "--exposures",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    help="Exposures in the night (biases, darks, flats, then science).",
)
@click.option("--seed", default=1, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--size",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Image side in pixels (int32; 2900 gives ~32 MB files).",
)
@click.option("--day-obs", default=DEFAULT_DAY_OBS, show_default=True, help="Observing day.")
def simulate(out: Path, detectors: int, exposures: int, seed: int, size: int, day_obs: int) -> None:
    """Write a synthetic LSSTCam night of raw FITS files.

    \b
    Example:
      oods simulate --out night --detectors 205 --exposures 10
    """
    with progressbar(detectors * exposures, "simulating") as advance:
        night = simulate_night(out, detectors, exposures, seed, size, day_obs, advance)
    counts = ", ".join(f"{len(v)} {k.lower()}" for k, v in night.exposures.items())
    click.echo(f"wrote {len(night.files)} files to {out} ({counts})")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--run", help="Run collection. Default: {instrument}/raw/all.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def ingest(obj: Context, paths: Sequence[Path], run: str | None, as_json: bool) -> None:
    """Ingest raw FITS files (or folders of them) into the site.

    Re-ingesting a file is a no-op; a different file claiming the same dataset id is a
    conflict and nothing is overwritten. Each rejected file gets one line naming it and
    the reason (a metadata failure: the header is unusable; an ingest failure: storage,
    catalog or identity). Exit status 4 when some files were rejected.

    \b
    Example:
      oods ingest night/20250601 --json
    """
    site = obj.site
    files = list(find_files(paths))  # walked once: counted here, then ingested
    with progressbar(len(files), "ingesting") as advance:
        report = ingest_files(site, files, run=run, progress=advance)
    show_report(report, as_json)


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--as-of", help="A catalog version (integer) or a UTC time (ISO 8601).")
@pass_context
def query(obj: Context, sql: str, fmt: str, as_of: str | None) -> None:
    """Run SQL (DuckDB) over the catalog.

    Tables: datasets, exposures, locations (current rows), and *_history (every row).

    \b
    Example:
      oods query "SELECT day_obs, count(*) FROM datasets GROUP BY 1" --format csv
      oods query "SELECT count(*) FROM datasets" --as-of 3
    """
    site = obj.site
    if as_of is None:
        relation = site.sql(sql)
    else:
        try:
            snapshot = site.snapshot(parse_as_of(as_of))
        except LookupError as exc:  # no such version: a usage error, not a traceback
            raise click.BadParameter(str(exc), param_hint="--as-of") from None
        relation = snapshot.sql(sql)
    render(relation, fmt)


@main.command()
@click.option("--type", "dataset_type", help="Dataset type, e.g. raw.")
@click.option("--instrument", help="e.g. LSSTCam.")
@click.option("--day-obs", type=int, help="Observing day, e.g. 20250415.")
@click.option("--exposure", type=int, help="Exposure id, e.g. 2025041500060.")
@click.option("--detector", type=int, help="Detector number (Butler numbering).")
@click.option("--limit", type=int, help="At most this many rows.")
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
    fmt: str,
) -> None:
    """List datasets present in the site.

    \b
    Example:
      oods ls --day-obs 20250601 --detector 4
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
        ),
        fmt,
    )


@main.command()
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


@main.group(name="catalog")
def catalog_group() -> None:
    """Maintain the catalog tables.

    \b
    Example:
      oods catalog compact
    """


@catalog_group.command()
@pass_context
def compact(obj: Context) -> None:
    """Merge the catalog's small commit files and write checkpoints.

    History stays: time travel (--as-of) still reaches every earlier version.

    \b
    Example:
      oods catalog compact
    """
    from catalog import TABLES

    site = obj.site
    for name in TABLES:
        metrics = site.store.compact(name)
        click.echo(
            f"{name}: {metrics.get('numFilesRemoved', 0)} files merged into "
            f"{metrics.get('numFilesAdded', 0)}"
        )


@catalog_group.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_context
def versions(obj: Context, limit: int, fmt: str) -> None:
    """List catalog versions, newest first, for `oods query --as-of VERSION`.

    A catalog version is a version of the locations table, which every ingest batch
    commits last; its time is when that batch became visible.

    \b
    Example:
      oods catalog versions --limit 5
      oods query "SELECT count(*) FROM datasets" --as-of 3
    """
    from catalog.query import VERSION_TABLE

    rows = obj.site.store.versions(VERSION_TABLE)[:limit]
    render_rows(["version", "committed_at", "operation"], rows, fmt)


def _load_plugins(group: click.Group, load: Callable[..., Any] = entry_points) -> None:
    """Add command groups other packages register under ``oods.commands``."""
    for entry in load(group="oods.commands"):
        group.add_command(entry.load(), entry.name)


_load_plugins(main)

main.add_command(calib)
main.add_command(put)
main.add_command(provenance)
main.add_command(records)
