"""What the command modules share: the context, exit codes, output and progress bars.

Library code never prints; these helpers are where the command line does.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
import duckdb

from .config import load_config
from .ingest import IngestReport
from .site import Site

EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_PARTIAL = 1, 2, 3, 4
FORMATS = click.Choice(["table", "csv", "json"])


class Context:
    """What every command receives: the config source, opened into a site on first use."""

    def __init__(self, config: Path | None, debug: bool) -> None:
        self.config_path = config
        self.debug = debug
        self._site: Site | None = None

    @property
    def site(self) -> Site:
        if self._site is None:
            self._site = Site.open(load_config(self.config_path))
        return self._site


pass_context = click.make_pass_decorator(Context)


def show_report(report: IngestReport, as_json: bool) -> None:
    """Print an ingest report (one line per rejected file); exit 4 if any was rejected."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for result in report.failed:
            click.echo(result.line(), err=True)
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        s = report.summary()
        click.echo(
            f"ingested {s['ingested']}, skipped {s['skipped']} (already there), "
            f"failed {s['failed']} ({s['metadata_failures']} metadata, "
            f"{s['ingest_failures']} ingest) in {s['seconds']}s"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)


@contextlib.contextmanager
def progressbar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; silent in scripts and pipes."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def parse_as_of(text: str) -> int | dt.datetime:
    if text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a version nor an ISO time", param_hint="--as-of"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def render(relation: duckdb.DuckDBPyRelation | None, fmt: str) -> None:
    if relation is not None:
        render_rows(relation.columns, relation.fetchall(), fmt)


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[object]], fmt: str) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        click.echo(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2, default=str)
        )
    else:
        click.echo(table(columns, rows))


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
