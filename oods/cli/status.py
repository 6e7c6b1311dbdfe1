"""``oods status`` and ``oods credentials``: where the site is, how it is, how to reach it."""

from __future__ import annotations

import json
import sys

import click

from ..config import load_config
from ..credentials import client_settings
from ..status import SiteStatus, site_status
from ._console import EXIT_FAILED, Context, human_size, pass_context


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_context
def status(obj: Context, as_json: bool) -> None:
    """Show the site: config, endpoint, bucket, server health and what the catalog holds.

    The server is asked once with a short timeout; if it does not answer, what is known
    is still shown and the exit status is 1. Never creates the bucket or the catalog.

    \b
    Example:
      oods status
      oods status --json | jq .datasets
    """
    report = site_status(load_config(obj.config_path))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo("\n".join(_lines(report)))
    if not report.ok:
        sys.exit(EXIT_FAILED)


def _lines(s: SiteStatus) -> list[str]:
    kind = "embedded default (oods up)" if s.embedded else "configured"
    server = "answering" if s.answering else "not answering"
    if s.live is not None:
        server += ", live" if s.live else ", health probe failed"
    lines = [
        f"site      {s.source} ({kind})",
        f"endpoint  {s.endpoint}",
        f"bucket    {s.bucket}",
        f"server    {server}",
    ]
    if s.problem:
        lines.append(f"problem   {s.problem}")
    if s.note:
        lines.append(f"note      {s.note}")
    if s.datasets is not None:
        lines.append(
            f"datasets  {s.datasets} present ({human_size(s.bytes or 0)}), {s.exposures} exposures"
        )
        width = max((len(name) for name in s.by_type), default=0)
        for name, counts in s.by_type.items():
            lines.append(
                f"  {name.ljust(width)}  {counts['datasets']:>8}  {human_size(counts['bytes'])}"
            )
    if s.catalog_version is not None:
        when = s.last_commit.isoformat(timespec="seconds") if s.last_commit else "?"
        lines.append(f"catalog   version {s.catalog_version}, last commit {when}")
    return lines


@click.command()
@click.option("--mc", "client", flag_value="mc", help="An `mc alias set` command.")
@click.option("--rclone", "client", flag_value="rclone", help="An rclone.conf remote stanza.")
@click.option("--env", "client", flag_value="env", help="`export AWS_...` variables.")
@click.option("--alias", default="oods", show_default=True, help="mc alias / rclone remote name.")
@pass_context
def credentials(obj: Context, client: str | None, alias: str) -> None:
    """Print the endpoint and keys for other S3 clients (mc, rclone, boto3, aws).

    Without an option: the endpoint, bucket and access key only. With --mc, --rclone or
    --env the secret key is printed too, since that is what was asked for; nothing
    else ever prints it. Reads the config only: the server need not be running.

    \b
    Example:
      oods credentials                       # endpoint, bucket, access key
      eval "$(oods credentials --mc)"        # then: mc ls oods/BUCKET
      oods credentials --rclone >> ~/.config/rclone/rclone.conf
      eval "$(oods credentials --env)"       # then: aws s3 ls s3://BUCKET
    """
    config = load_config(obj.config_path)
    if client is None:
        click.echo(f"endpoint    {config.endpoint}")
        click.echo(f"bucket      {config.bucket}")
        click.echo(f"access key  {config.access_key}")
        click.echo("secret key  (shown only with --mc, --rclone or --env)")
        return
    click.echo(client_settings(config, client, alias))
