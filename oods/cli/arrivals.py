"""``oods arrivals``: how live arrival went, from the catalog's ``arrivals`` table."""

from __future__ import annotations

import datetime as dt
import json

import click

from ..arrivals import ArrivalSummary, summarize_arrivals
from ._console import Context, pass_context


@click.command("arrivals")
@click.option(
    "--since",
    metavar="TIME",
    help="Only files complete in landing at or after this ISO time (UTC if no zone).",
)
@click.option(
    "--after-seq",
    type=click.IntRange(0),
    help="Only rows numbered above this seq (the last one a client saw).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def arrivals(obj: Context, since: str | None, after_seq: int | None, as_json: bool) -> None:
    """Summarise what `oods serve` recorded: files by status, the arrival-to-queryable
    latency of the ingested ones (p50, p95, p99, max) and the rate.

    Latency is a row's recorded_at (its dataset queryable) minus its arrived_at (the
    file complete in landing), read from the catalog: any past run, not only this one.

    \b
    Example:
      oods arrivals
      oods arrivals --since 2025-06-02T00:00 --json
      oods query "SELECT status, reason, path FROM arrivals WHERE status LIKE '%failure'"
    """
    summary = summarize_arrivals(obj.site, since=_moment(since), after_seq=after_seq)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        click.echo("\n".join(summary_lines(summary)))


def summary_lines(summary: ArrivalSummary) -> list[str]:
    """The summary as people read it: counts, latency, rate (one line each)."""
    if not summary.files:
        return ["no arrivals recorded"]
    counts = ", ".join(f"{n} {status}" for status, n in summary.by_status.items())
    lines = [f"arrivals: {summary.files} files ({counts})"]
    latency = summary.latency
    if latency is None:
        lines.append("arrival -> queryable: no file was ingested")
    else:
        lines.append(
            f"arrival -> queryable ({latency.files} ingested): p50 {latency.p50:.3f}s, "
            f"p95 {latency.p95:.3f}s, p99 {latency.p99:.3f}s, max {latency.max:.3f}s"
        )
    lines.append(
        f"rate: {summary.files} files in {summary.seconds:.1f}s "
        f"({summary.files_per_second:.1f} files/s), from {_utc(summary.first_arrived)} "
        f"to {_utc(summary.last_recorded)}"
    )
    return lines


def _moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO time (e.g. 2025-06-02T00:00)", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
