"""``oods retention``: classes, lifecycle rules, the release gate, pins and eviction."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import ConfigError
from ..eviction import evict
from ..lifecycle import LifecycleReport, apply_lifecycle, describe_rule
from ..retention import RetagReport, pin, release, unpin
from ..retention_classes import fraction, load_retention
from ..retention_status import retention_status
from ..selection import select_files
from ..site import Site
from ..sites import named_site_config
from ._console import EXIT_PARTIAL, Context, human_size, pass_context

_WHERE_HELP = 'SQL predicate over the `files` table, e.g. "day_obs = 20250601".'


@click.group("retention")
def retention_group() -> None:
    """Retention: which files may expire, when, and eviction when the disk fills.

    Raws arrive in class `hold`, which never expires. `release` moves a dataset to an
    expiring class (`cache` by default) only once the archive site holds the same bytes;
    `pin` keeps a dataset whatever its class. Each expiring class of `[retention]` in
    the config becomes a bucket lifecycle rule on the tag `oods-retention=<class>`
    (`apply`). MinIO counts a class's days from the object's upload, not from its
    release: a raw released after 40 days in hold into `cache = 30` expires at once.

    \b
    Example:
      oods retention apply                       # install the rules, print the bucket's
      oods retention status                      # objects, bytes, oldest per class
      oods retention release --verified-at dbb --where "day_obs = 20250601"
      oods retention pin --where "exposure = 2025060100005"
      oods retention evict --to 80% --dry-run
    """


def _json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@retention_group.command("apply")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def apply_command(obj: Context, as_json: bool) -> None:
    """Install one lifecycle rule per expiring class; keep others' rules.

    Idempotent: nothing is written when the rules are already right. Rules whose id
    does not start with `oods-` are left as they are.

    \b
    Example:
      oods retention apply
      oods retention apply --json
    """
    report: LifecycleReport = apply_lifecycle(obj.site, load_retention(obj.config_path))
    if as_json:
        _json(report.to_dict())
        return
    if report.changed:
        click.echo(
            f"installed {', '.join(report.installed) or 'none'}; "
            f"removed {', '.join(report.removed) or 'none'}"
        )
    else:
        click.echo("rules already up to date")
    click.echo(f"lifecycle rules of bucket {obj.site.bucket}:")
    for rule in report.rules:
        click.echo("  " + describe_rule(rule))
    if not report.rules:
        click.echo("  (none)")


@retention_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def status_command(obj: Context, as_json: bool) -> None:
    """Objects and bytes per class, the oldest object of each and when it expires.

    \b
    Example:
      oods retention status
      oods retention status --json
    """
    status = retention_status(obj.site, load_retention(obj.config_path))
    if as_json:
        _json(status.to_dict())
        return
    header = ("class", "objects", "bytes", "expires after", "oldest", "oldest expires")
    rows = [header]
    for entry in status.classes:
        oldest = "-" if entry.oldest_modified is None else f"{entry.oldest_modified:%Y-%m-%d %H:%M}"
        due = "-" if entry.oldest_expires is None else f"{entry.oldest_expires:%Y-%m-%d}"
        rows.append(
            (
                entry.name,
                str(entry.objects),
                human_size(entry.bytes),
                entry.expires_after,
                oldest,
                due,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


def _dataset_ids(site: Site, dataset_ids: Sequence[str], where: str | None) -> list[str]:
    if not dataset_ids and where is None:
        raise click.UsageError("give DATASET_IDS or --where")
    chosen = list(dataset_ids)
    if where is not None:
        chosen += [f.dataset_id for f in select_files(site, where).files]
    return list(dict.fromkeys(chosen))


def _show_retag(report: RetagReport, verb: str, as_json: bool) -> None:
    """The summary, one stderr line per refused dataset; exit 4 if any was refused."""
    if as_json:
        _json(report.to_dict())
    else:
        for dataset_id, reason in report.refused.items():
            click.echo(f"not {verb}: {dataset_id}: {reason}", err=True)
        click.echo(
            f"{verb} {len(report.changed)}, unchanged {len(report.unchanged)}, "
            f"refused {len(report.refused)}"
        )
    if report.refused:
        sys.exit(EXIT_PARTIAL)


@retention_group.command("release")
@click.argument("dataset_ids", nargs=-1)
@click.option("--where", help=_WHERE_HELP)
@click.option(
    "--verified-at",
    "verified_at",
    required=True,
    metavar="SITE",
    help="The archive site, named in [sites.SITE] of the config, that must hold the bytes.",
)
@click.option("--to", "to_class", help="The expiring class to move to. Default: release_to.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def release_command(
    obj: Context,
    dataset_ids: Sequence[str],
    where: str | None,
    verified_at: str,
    to_class: str | None,
    as_json: bool,
) -> None:
    """Move datasets from hold to an expiring class once SITE holds the same bytes.

    Each dataset's copy at SITE must be present in its catalog with the same size and
    SHA-256, and its object must answer with that size. Anything else stays in hold,
    with one line saying why (exit status 4).

    \b
    Example:
      oods retention release --verified-at dbb --where "day_obs = 20250601"
      oods retention release --verified-at dbb 6b1cbc85-e6ad-5662-bb92-f98cdbe39843
    """
    settings = load_retention(obj.config_path)
    chosen = to_class or settings.release_to
    if chosen not in settings.classes:
        known = ", ".join(sorted(settings.classes)) or "none"
        raise click.BadParameter(f"{chosen!r} is not an expiring class (classes: {known})")
    site = obj.site
    ids = _dataset_ids(site, dataset_ids, where)
    with Site.open(named_site_config(verified_at, obj.config_path), create=False) as archive:
        report = release(site, ids, archive, to_class=chosen)
    _show_retag(report, "released", as_json)


@retention_group.command("pin")
@click.argument("dataset_ids", nargs=-1)
@click.option("--where", help=_WHERE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def pin_command(obj: Context, dataset_ids: Sequence[str], where: str | None, as_json: bool) -> None:
    """Keep datasets whatever their class: never expired, never evicted.

    \b
    Example:
      oods retention pin --where "exposure = 2025060100005"
    """
    site = obj.site
    _show_retag(pin(site, _dataset_ids(site, dataset_ids, where)), "pinned", as_json)


@retention_group.command("unpin")
@click.argument("dataset_ids", nargs=-1)
@click.option("--where", help=_WHERE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def unpin_command(
    obj: Context, dataset_ids: Sequence[str], where: str | None, as_json: bool
) -> None:
    """Give pinned datasets back the class they had (hold if unknown).

    Their age counts from their upload: back in an expiring class they may expire soon.

    \b
    Example:
      oods retention unpin --where "exposure = 2025060100005"
    """
    site = obj.site
    _show_retag(unpin(site, _dataset_ids(site, dataset_ids, where)), "unpinned", as_json)


def _mark(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return fraction(value, "--to")
    except ConfigError as exc:
        raise click.BadParameter(str(exc).removeprefix("--to: ")) from None


@retention_group.command("evict")
@click.option("--to", "to", required=True, callback=_mark, help="The usage to get under, e.g. 80%.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@pass_context
def evict_command(obj: Context, to: float, dry_run: bool, as_json: bool) -> None:
    """Remove the oldest objects of expiring classes until usage is under --to.

    Usage is the bucket's bytes against `capacity` of [retention], or without one the
    server's own drives. Hold, pinned and untagged objects are never removed, even if
    the mark cannot be reached (exit status 4 then). Removed datasets stay in the
    catalog, marked expired.

    \b
    Example:
      oods retention evict --to 80%
      oods retention evict --to 80% --dry-run --json
    """
    report = evict(obj.site, load_retention(obj.config_path), to, dry_run=dry_run)
    if as_json:
        _json(report.to_dict())
    else:
        for key, reason in report.failed.items():
            click.echo(f"not removed: {key}: {reason}", err=True)
        verb = "would remove" if dry_run else "removed"
        click.echo(
            f"{verb} {len(report.removed)} objects ({human_size(report.freed)}); usage "
            f"{human_size(report.used_before)} -> {human_size(report.used_after)} of "
            f"{human_size(report.capacity)} (mark {human_size(report.target)})"
        )
        if report.shortfall:
            click.echo(
                f"could not free {human_size(report.shortfall)}: only hold, pinned or "
                "untagged objects are left",
                err=True,
            )
    if report.shortfall or report.failed:
        sys.exit(EXIT_PARTIAL)
