"""``oods replica``: push to and pull from another site named in ``[sites.<name>]``.

Thin over ``replica.push`` / ``replica.pull`` / ``replica.status``; registered as an
``oods.commands`` entry point, so ``oods`` itself knows nothing of replicas.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import click

from oods import Site
from oods.butler_export import CALIBRATION_FORMATTER
from oods.cli._console import (
    EXIT_FAILED,
    EXIT_PARTIAL,
    Context,
    human_size,
    pass_context,
    writes_site,
)
from oods.errors import SiteUnavailable, printable
from oods.sites import named_site_config, standing_subsets

from . import butler_cli
from .butler_push import butler_repo
from .metadata import fetch, sync_metadata
from .plan import Plan
from .pull import CACHE, pull, pull_plan
from .push import push, push_plan
from .replicate import ReplicaReport
from .status import ReplicaStatus, push_backlog_bound, replica_status
from .sync import sync, sync_plans


def _other(obj: Context, name: str) -> Site:
    """The other site ``name`` from ``[sites.<name>]`` of the same config file.

    Never created here: a mistyped bucket must be an error, not an empty archive.
    """
    return Site.open(named_site_config(name, obj.config_path), create=False)


@click.group("replica")
def replica() -> None:
    """Keep this site and another (the DBB) in step: sync, push, pull, fetch, status.

    The other site is named in the config file, secrets in the environment:

    \b
      [sites.dbb]
      endpoint = "https://dbb.example.org:9000"
      bucket = "dbb"
      # $OODS_SITE_DBB_ACCESS_KEY, $OODS_SITE_DBB_SECRET_KEY

    Every command plans from a diff of both catalogs (dataset id and checksum), so
    running it again moves only what is still missing.

    \b
    Example:
      oods replica status --with dbb
      oods replica push --to dbb --dry-run
      oods replica push --to dbb
      oods replica pull --from dbb --where "e.observation_type = 'science'" --closure
      oods replica sync-metadata --from dbb
      oods replica fetch --from dbb --where "d.exposure = 2025060100005"
      oods replica sync --with dbb
    """


@replica.command("status")
@click.option("--with", "name", default="dbb", show_default=True, help="The other site.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_context
def status_command(obj: Context, name: str, as_json: bool) -> None:
    """Show what is pending each way: datasets, bytes and the oldest pending.

    When the other site does not answer, the push backlog is shown as its upper bound
    (everything push would send that this site holds) and the exit status is 1.

    \b
    Example:
      oods replica status --with dbb
      oods replica status --json | jq .push.datasets
    """
    try:
        other = _other(obj, name)
    except SiteUnavailable as exc:
        bound = push_backlog_bound(obj.site, name)
        click.echo(
            f"push  {bound.source} -> {name}: at most {bound.count} datasets pending "
            f"({human_size(bound.bytes)}); {name} is not answering, so no diff was made",
        )
        click.echo(printable(f"Error: {exc}"), err=True)
        sys.exit(EXIT_FAILED)
    report = replica_status(obj.site, other)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo("\n".join(_status_lines(report, name)))


@replica.command("push")
@click.option(
    "--to",
    "name",
    default="dbb",
    show_default=True,
    help="The archive site, or butler:REPO (a Butler repository).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; copy nothing.")
@click.option("--no-release", is_flag=True, help="Keep the local copies on hold after the push.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or report as JSON.")
@click.option("--formatter", help=butler_cli.FORMATTER_HELP)
@click.option(
    "--calibration-formatter",
    default=CALIBRATION_FORMATTER,
    help=butler_cli.CALIBRATION_FORMATTER_HELP,
)
@click.option(
    "--storage-class",
    "storage_classes",
    multiple=True,
    metavar="TYPE=CLASS",
    help=butler_cli.STORAGE_CLASS_HELP,
)
@pass_context
def push_command(
    obj: Context,
    name: str,
    dry_run: bool,
    no_release: bool,
    as_json: bool,
    formatter: str | None,
    calibration_formatter: str,
    storage_classes: tuple[str, ...],
) -> None:
    """Copy to the archive the raws and certified calibrations it lacks.

    Each object streams GET -> PUT (multipart when large), its SHA-256 is checked
    against this site's catalog before the archive's catalog rows are committed, and
    the local copies are then released through the retention gate. Other outputs
    stay local (there is no promotion marker yet). Exit 4 if some datasets failed.

    \b
    Example:
      oods replica push --to dbb --dry-run
      oods replica push --to dbb --json
      oods replica push --to butler:/repo/main   # a Butler repository: ids kept
    """
    if butler_repo(name) is not None:
        butler_cli.push_to_butler_command(
            obj, name, dry_run, formatter, calibration_formatter, storage_classes, as_json
        )
        return
    local = obj.site
    archive = _other(obj, name)
    plan = push_plan(local, archive)
    if dry_run:
        _show_plan(plan, as_json)
        return
    with _bytes_bar(plan.bytes, f"push to {name}") as advance:
        report = push(
            local,
            archive,
            advance,
            release=not no_release,
            plan=plan,
            release_to=_release_to(obj),
        )
    _show_report(report, "pushed", as_json)


@writes_site
@replica.command("pull")
@click.option("--from", "name", default="dbb", show_default=True, help="The site to pull from.")
@click.option(
    "--where",
    required=True,
    help="SQL predicate over the other site's datasets (d) joined with exposures (e).",
)
@click.option(
    "--closure", is_flag=True, help="Add valid calibrations and all inputs, transitively."
)
@click.option(
    "--retention", default=CACHE, show_default=True, help="Retention class of pulled files."
)
@click.option("--dry-run", is_flag=True, help="Print the plan; copy nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or report as JSON.")
@pass_context
def pull_command(
    obj: Context,
    name: str,
    where: str,
    closure: bool,
    retention: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Copy here the other site's datasets matching --where, with their catalog rows.

    Columns shared by both tables need their alias (d.day_obs).
    Exit 4 if some datasets failed.

    \b
    Example:
      oods replica pull --from dbb --where "d.day_obs = 20250601 AND d.detector = 94"
      oods replica pull --from dbb --where "e.observation_type = 'science'" --closure
    """
    remote = _other(obj, name)
    local = obj.site
    plan = pull_plan(local, remote, where, closure)
    if dry_run:
        _show_plan(plan, as_json)
        return
    with _bytes_bar(plan.bytes, f"pull from {name}") as advance:
        report = pull(local, remote, where, closure, retention, advance, plan=plan)
    _show_report(report, "pulled", as_json)


@writes_site
@replica.command("sync-metadata")
@click.option("--from", "name", default="dbb", show_default=True, help="The other site.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def sync_metadata_command(obj: Context, name: str, as_json: bool) -> None:
    """Copy the other site's catalog rows here, without bytes.

    Every dataset it holds becomes known here (location `remote` when this site never
    had it), and its exposure records and corrections arrive. `oods replica fetch`
    brings the bytes of the ones you need.

    \b
    Example:
      oods replica sync-metadata --from dbb
      oods ls --all
    """
    report = sync_metadata(obj.site, _other(obj, name))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _show_notes(report.notes)
        if report.unchanged:
            click.echo(
                f"nothing new at {report.source} since the last sync "
                f"(checked in {report.seconds:.2f}s)"
            )
            return
        click.echo(
            f"copied {report.rows} catalog rows from {report.source}; "
            f"{report.remote} datasets newly known as remote, in {report.seconds:.2f}s"
        )


@writes_site
@replica.command("fetch")
@click.argument("dataset_ids", nargs=-1)
@click.option("--from", "name", default="dbb", show_default=True, help="The other site.")
@click.option("--where", help="Also the other site's datasets (d) / exposures (e) matching.")
@click.option(
    "--retention", default=CACHE, show_default=True, help="Retention class of fetched files."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def fetch_command(
    obj: Context,
    dataset_ids: tuple[str, ...],
    name: str,
    where: str | None,
    retention: str,
    as_json: bool,
) -> None:
    """Bring here the bytes of datasets held at the other site (by id or --where).

    \b
    Example:
      oods replica fetch 6f1c...e2 --from dbb
      oods replica fetch --where "d.exposure = 2025060100005"
    """
    if not dataset_ids and where is None:
        raise click.UsageError("give dataset ids or --where")
    remote = _other(obj, name)
    local = obj.site
    report = fetch(local, remote, dataset_ids, where, retention)
    _show_report(report, "fetched", as_json)


@writes_site
@replica.command("sync")
@click.option("--with", "name", default="dbb", show_default=True, help="The other site.")
@click.option("--dry-run", is_flag=True, help="Print what would be copied; copy nothing.")
@click.option("--no-release", is_flag=True, help="Keep pushed local copies on hold.")
@click.option("--json", "as_json", is_flag=True, help="Print the plans or report as JSON.")
@pass_context
def sync_command(obj: Context, name: str, dry_run: bool, no_release: bool, as_json: bool) -> None:
    """Push what the other site lacks, copy its catalog rows, pull the standing subsets.

    The standing subsets are `standing = ["<predicate>", ...]` in `[sites.<name>]`,
    each pulled with its closure. The one command to schedule; running it again does
    only what is left. Exit 1 if the other site stopped answering, 4 if some failed.

    \b
    Example:
      oods replica sync --with dbb --dry-run
      oods replica sync --with dbb --json
    """
    standing = standing_subsets(name, obj.config_path)
    remote = _other(obj, name)
    local = obj.site
    if dry_run:
        plans = sync_plans(local, remote, standing)
        if as_json:
            click.echo(json.dumps([p.to_dict() for p in plans], indent=2, default=str))
        else:
            for plan in plans:
                _show_plan(plan, False)
        return
    with _bytes_bar(push_plan(local, remote).bytes, f"sync with {name}") as advance:
        report = sync(local, remote, standing, advance, not no_release, _release_to(obj))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _show_notes(report.notes())
        for line in report.lines():
            click.echo(printable(line), err=True)
        pushed = report.push.summary()
        click.echo(
            f"pushed {pushed['copied']} datasets ({human_size(report.push.bytes)}), "
            f"{report.corrections.rows} corrected rows"
        )
        if report.metadata is not None:
            click.echo(
                f"metadata: {report.metadata.rows} rows, {report.metadata.remote} new remote"
            )
        for where, pulled in zip(standing, report.pulls, strict=True):
            click.echo(printable(f"pulled {len(pulled.copied)} datasets for {where}"))
    if not report.ok:
        sys.exit(EXIT_FAILED if report.metadata is None else EXIT_PARTIAL)


def _show_notes(notes: Sequence[str]) -> None:
    """Columns dropped or defaulted between schema versions: said, not failures."""
    for note in notes:
        click.echo(printable(f"note: {note}"), err=True)


def _release_to(obj: Context) -> str | None:
    """The ``[retention] release_to`` class of the config, when retention is installed."""
    try:
        classes = importlib.import_module("oods.retention_classes")
    except ImportError:
        return None
    return str(classes.load_retention(obj.config_path).release_to)


def _status_lines(report: ReplicaStatus, name: str) -> list[str]:
    lines = []
    for direction, plan in (("push", report.push), ("pull", report.pull)):
        oldest = plan.oldest.isoformat(timespec="seconds") if plan.oldest else "-"
        arrow = f"{plan.source} -> {plan.destination}"
        lines.append(
            f"{direction:<5} {arrow}: {plan.count} datasets pending "
            f"({human_size(plan.bytes)}), oldest {oldest}"
        )
    lines.append(f"(pull counts everything {name} holds that this site does not)")
    return lines


def _show_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2, default=str))
        return
    for item in plan.transfers:
        click.echo(printable(f"{item.key}\t{human_size(item.size)}"))
    click.echo(
        f"would copy {plan.count} datasets ({human_size(plan.bytes)}) "
        f"from {plan.source} to {plan.destination}"
    )


def _show_report(report: ReplicaReport, verb: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _show_notes(report.notes)
        for line in report.lines():
            click.echo(printable(line), err=True)
        s = report.summary()
        rate = report.bytes / report.seconds if report.seconds else 0.0
        click.echo(
            f"{verb} {s['copied']} datasets ({human_size(report.bytes)}, "
            f"{human_size(int(rate))}/s) from {s['source']} to {s['destination']}, "
            f"failed {s['failed']}, in {s['seconds']}s"
        )
        if report.release_note:
            click.echo(report.release_note)
    if not report.ok:
        sys.exit(EXIT_PARTIAL if report.copied else EXIT_FAILED)


@contextlib.contextmanager
def _bytes_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar of bytes with the rate so far, on stderr when it is a terminal."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda n: None
        return
    started = time.monotonic()
    with click.progressbar(
        length=total, label=label, file=sys.stderr, show_eta=False, item_show_func=lambda t: t
    ) as bar:

        def advance(n: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            done = bar.pos + n
            bar.update(n, f"{human_size(done)} at {human_size(int(done / elapsed))}/s")

        yield advance
