"""``oods catalog``: maintaining the catalog tables."""

from __future__ import annotations

import click

from ._console import FORMATS, Context, pass_context, render_rows


@click.group(name="catalog")
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
