"""``oods catalog``: maintaining the catalog tables."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import click

from ._console import FORMATS, Context, pass_context, progressbar, render_rows


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

    History stays: time travel (--as-of) still reaches every earlier version. The
    dataset-id index (lookups by id in a large catalog) is rebuilt if a tenth of the
    datasets are newer than it, and the current files (one object per night, what a
    large catalog's `files` reads) for every night changed since the last time.

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
    from catalog.dataset_index import refresh_dataset_index

    index = refresh_dataset_index(site.store)
    state = "rebuilt" if index.built else f"up to date, {index.tail_rows:,} rows newer"
    click.echo(f"dataset index: {index.rows:,} ids ({state})")
    from catalog.current_files import refresh_current_files

    with contextlib.ExitStack() as bars:
        advance: Callable[[int], None] | None = None

        def night_built(done: int, total: int) -> None:
            nonlocal advance
            if advance is None:  # the nights to build are known once the first is
                advance = bars.enter_context(progressbar(total, "current files"))
            advance(1)

        current = refresh_current_files(site.store, progress=night_built)
    click.echo(
        f"current files: {current.nights_built} nights rebuilt "
        f"({current.rows_built:,} rows), {current.nights} in all"
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

    rows = obj.site.store.versions(VERSION_TABLE, limit)
    render_rows(["version", "committed_at", "operation"], rows, fmt)


@catalog_group.command()
@click.option("--dry-run", is_flag=True, help="Say what would be migrated; change nothing.")
@pass_context
def migrate(obj: Context, dry_run: bool) -> None:
    """Bring the catalog's tables to this oods's schema versions.

    Each older table is rewritten in one commit by its migrations, in order (see
    catalog/migrations.py), and its new version recorded. History is kept (nothing is
    vacuumed): --as-of still reads the versions from before. Stop the site's writers
    (oods serve, ingests) first. A table newer than this oods is left alone.

    \b
    Example:
      oods catalog migrate --dry-run
      oods catalog migrate
    """
    from catalog.migrations import migrate as run_migrations

    done = run_migrations(obj.site.store, dry_run=dry_run)
    for item in done:
        click.echo(item.line(dry_run))
    if not done:
        click.echo("every catalog table is at this oods's schema version")
