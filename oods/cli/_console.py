"""What the command modules share: the context, exit codes, output and progress bars.

Library code never prints; these helpers are where the command line does.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
import duckdb

from catalog.translators import TRANSLATORS

from ..config import check_run_template, load_config
from ..errors import InvalidNameError, printable
from ..ingest import IngestReport
from ..site import Site

EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_PARTIAL = 1, 2, 3, 4
#: ``plain``: for shell use, one row per line, values tab-separated, no header, no quotes.
FORMATS = click.Choice(["table", "csv", "json", "plain"])


#: Commands that may create the site (bucket and catalog tables) when it is missing;
#: every other command only reads, and a missing site is an error for it.
_SITE_WRITERS: set[click.Command] = set()


def writes_site(command: click.Command) -> click.Command:
    """Mark ``command`` as one that creates the site if it is missing (ingest, put …)."""
    _SITE_WRITERS.add(command)
    return command


class Context:
    """What every command receives: the config source, opened into a site on first use."""

    def __init__(self, config: Path | None, debug: bool, verbose: bool = False) -> None:
        self.config_path = config
        self.debug = debug
        self.verbose = verbose
        self._site: Site | None = None

    @property
    def site(self) -> Site:
        """The site, opened on first use: created if missing only for a writing command
        (see ``writes_site``); for a reading one a missing site is SiteNotFound."""
        if self._site is None:
            current = click.get_current_context(silent=True)
            create = current is not None and current.command in _SITE_WRITERS
            self._site = Site.open(load_config(self.config_path), create=create)
        return self._site


pass_context = click.make_pass_decorator(Context)


def show_report(report: IngestReport, as_json: bool) -> None:
    """Print an ingest report (one line per rejected file); exit 4 if any was rejected."""
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        show_notes(report)
        for result in report.failed:
            click.echo(result.line(), err=True)
        for warning in report.warnings:
            click.echo(printable(f"warning: {warning}"), err=True)
        s = report.summary()
        click.echo(
            f"ingested {s['ingested']}, skipped {s['skipped']} (already there), "
            f"failed {s['failed']} ({s['metadata_failures']} metadata, "
            f"{s['ingest_failures']} ingest) in {s['seconds']}s"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)


def show_notes(report: IngestReport) -> None:
    """One line on stderr per path passed over (not FITS by name, a FIFO...) or empty
    folder: not failures, but never silent."""
    for note in report.notes:
        click.echo(printable(f"note: {note.line()}"), err=True)


@contextlib.contextmanager
def progressbar(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; silent in scripts and pipes."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    started = time.monotonic()
    # click's own ETA extrapolates from the first, slowest item (hours at 0 % for a
    # 17 s run); this one waits for some progress and uses the average rate so far.
    with click.progressbar(
        length=length,
        label=label,
        file=sys.stderr,
        show_eta=False,
        item_show_func=lambda text: text,
    ) as bar:

        def advance(n: int) -> None:
            bar.update(n, eta_text(bar.pos + n, length, time.monotonic() - started))

        yield advance


def eta_text(done: int, total: int, elapsed: float) -> str:
    """``eta 0:17`` from the average rate so far; empty until there is one to trust
    (nothing done yet, or under a second) and once everything is done."""
    if done <= 0 or done >= total or elapsed < 1.0:
        return ""
    remaining = round(elapsed / done * (total - done))
    hours, rest = divmod(remaining, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"eta {hours}:{minutes:02}:{seconds:02}" if hours else f"eta {minutes}:{seconds:02}"


def known_instrument(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: the instrument's Butler name (any case), or a usage error that
    lists the instruments OODS can translate."""
    if value is None:
        return None
    names = [translator.instrument for translator in TRANSLATORS]
    match = next((name for name in names if name.lower() == value.strip().lower()), None)
    if match is None:
        raise click.BadParameter(f"unknown instrument {value!r} (known: {', '.join(names)})")
    return match


def run_template(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a safe run name, ``{instrument}`` its only placeholder."""
    if value is None:
        return None
    try:
        return check_run_template(value)
    except InvalidNameError as exc:
        raise click.BadParameter(str(exc)) from None


class DayObs(click.ParamType):
    """An observing day as YYYYMMDD (20250601), also accepted as a date (2025-06-01)."""

    name = "YYYYMMDD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an observing day: give YYYYMMDD (e.g. 20250601) "
                "or a date (2025-06-01)",
                param,
                ctx,
            )
        return int(day.strftime("%Y%m%d"))


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
    elif fmt == "plain":
        for row in rows:
            click.echo("\t".join("" if v is None else printable(str(v)) for v in row))
    elif fmt == "json":
        click.echo(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2, default=str)
        )
    else:
        click.echo(table(columns, rows))


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    # Escaped: a value holding a newline (a file name) must not forge a row.
    cells = [[printable(str(c)) for c in columns]] + [
        ["" if v is None else printable(str(v)) for v in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def human_size(n: int) -> str:
    """Bytes as people read them: 1.2 MB (powers of 1000, as disks and S3 consoles)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"
