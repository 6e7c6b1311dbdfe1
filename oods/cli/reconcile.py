"""``oods reconcile``: the catalog brought back in step with the bucket."""

from __future__ import annotations

import json
import sys

import click

from ..reconcile import reconcile
from ._console import EXIT_PARTIAL, Context, pass_context, progressbar


@click.command(name="reconcile")
@click.option("--dry-run", is_flag=True, help="Say what would be fixed; commit nothing.")
@click.option(
    "--trust-metadata",
    is_flag=True,
    help="Adopt or restore an object on the sha256 its metadata claims, without reading "
    "its bytes (fast, for a catalog rebuilt from many objects; `oods fsck --full` checks).",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Parallel reads. Default: config.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def reconcile_command(
    obj: Context, dry_run: bool, trust_metadata: bool, workers: int | None, as_json: bool
) -> None:
    """List the bucket and fix the catalog where the two disagree.

    A present dataset whose object is gone is marked missing (expired when a lifecycle
    rule without a tag filter covers its key): `ls`, `url` and `get` stop offering it,
    and ingesting its file again restores it. An object no present dataset claims is
    adopted from its header and the metadata its upload wrote (or restored, when it is
    a known dataset's bytes back); one that cannot be is reported, one line each, and
    left alone (exit status 4).

    \b
    Example:
      oods reconcile --dry-run
      oods reconcile --json
    """
    site = obj.site
    ((estimate,),) = site.sql("SELECT count(*) FROM files").fetchall()
    with progressbar(int(estimate), "listing") as advance:
        report = reconcile(
            site, dry_run=dry_run, verify=not trust_metadata, workers=workers, progress=advance
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for finding in report.findings:
            click.echo(finding.line(), err=finding.kind == "unusable")
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        s = report.summary()
        verb = "would fix" if dry_run else "fixed"
        click.echo(
            f"{s['objects']} objects, {s['present']} present datasets: {verb} {s['missing']} "
            f"missing, {s['expired']} expired, {s['restored']} restored, {s['adopted']} "
            f"adopted; {s['unusable']} unusable in {s['seconds']}s "
            f"(listing {s['listing_seconds']}s)"
        )
    if report.unusable:
        sys.exit(EXIT_PARTIAL)
