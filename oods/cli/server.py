"""``oods up`` and ``oods down``: the embedded MinIO server of the default site."""

from __future__ import annotations

from pathlib import Path

import click

from .. import embedded
from ..site import Site


@click.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where MinIO keeps its data. Default: the folder of the last `oods up`, "
    "else $OODS_HOME/data (~/.local/state/oods/data).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port on 127.0.0.1. Default: the data folder's previous port if free, else any.",
)
def up(data: Path | None, port: int) -> None:
    """Start the embedded MinIO server in the background, with the default site.

    Builds MinIO with `go install` the first time. Later commands with no config, and
    notebooks (`Site.open()`), use this server's site from any directory: it is
    recorded in $OODS_HOME (default ~/.local/state/oods). Restarting the same data
    folder keeps its port and credentials, so earlier presigned URLs keep working.

    \b
    Example:
      oods up && oods ingest night/
    """
    server, started = embedded.start(data, port)
    Site.open(embedded.site_config(server), create=True)  # the default site, empty
    shown = embedded.state(server)
    verb = "started" if started else "already running"
    click.echo(f"MinIO {verb} at {shown['endpoint']} (data {shown['data']}, pid {shown['pid']})")


@click.command()
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
