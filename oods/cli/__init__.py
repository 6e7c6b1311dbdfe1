"""The ``oods`` command line: thin commands over the library, one place for exit codes.

One module per command group (``calib.py``, ``records.py`` …); this one holds the group.

Exit codes: 0 done, 1 failed, 2 usage, 3 configuration, 4 partial (some files rejected).
Every failure is one line on stderr; ``--verbose`` adds the full error chain (storage and
Delta errors are multi-line Rust chains), ``--debug`` raises it with its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import click
import duckdb

from catalog import CatalogError
from catalog.errors import one_line

from ..errors import ConfigError, InvalidNameError, OodsError, printable
from ._console import EXIT_CONFIG, EXIT_FAILED, EXIT_USAGE, Context, writes_site
from .arrivals import arrivals
from .calib import calib, provenance, put
from .catalog import catalog_group
from .export import export_command
from .files import fsck_command, get, verify_command
from .ingest import ingest, simulate
from .obscore import obscore_command
from .query import ls, query, url
from .reconcile import reconcile_command
from .records import records
from .retention import retention_group
from .serve import serve_command
from .server import down, up
from .status import credentials, status
from .web import web


class OodsGroup(click.Group):
    """Turns package errors into one-line messages and exit codes (tracebacks: --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors and exits: click reports them
        except ConfigError as exc:
            self._fail(ctx, exc, EXIT_CONFIG)
        except InvalidNameError as exc:  # a run or name given on the command line
            self._fail(ctx, exc, EXIT_USAGE)
        except (OodsError, CatalogError, duckdb.Error, OSError) as exc:
            self._fail(ctx, exc, EXIT_FAILED)
        except Exception as exc:  # a bug: still one line, the traceback under --debug
            self._fail(ctx, exc, EXIT_FAILED, f"internal error ({type(exc).__name__}): ")

    @staticmethod
    def _fail(ctx: click.Context, exc: Exception, code: int, prefix: str = "") -> NoReturn:
        obj = ctx.find_object(Context)
        if obj is not None and obj.debug:
            raise exc
        verbose = obj is not None and obj.verbose
        detail = str(getattr(exc, "detail", "") or exc).rstrip()
        line = f"Error: {prefix}{one_line(exc) or type(exc).__name__}"
        if prefix:
            line += " (--debug shows the traceback)"
        elif detail != one_line(exc) and not verbose:
            line += " (--verbose shows the details)"
        click.echo(printable(line), err=True)
        if verbose and detail != one_line(exc):
            click.echo(detail, err=True)
        ctx.exit(code)


@click.group(cls=OodsGroup)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="OODS_CONFIG",
    help="Site config (TOML). Default: ./oods.toml, else the embedded default.",
)
@click.option("--verbose", "-v", is_flag=True, help="Show the full error chain of a failure.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="oods")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool, debug: bool) -> None:
    """OODS: the observatory's on-site file cache and catalog.

    \b
    Example (quick start, the embedded default site on a local MinIO):
      oods up
      oods simulate --out night
      oods ingest night
      oods query "SELECT observation_type, count(*) FROM exposures GROUP BY 1"
    """
    ctx.obj = Context(config, debug, verbose)


def _load_plugins(group: click.Group, load: Callable[..., Any] = entry_points) -> None:
    """Add command groups other packages register under ``oods.commands``."""
    for entry in load(group="oods.commands"):
        group.add_command(entry.load(), entry.name)


_load_plugins(main)

for command in (
    up,
    down,
    simulate,
    ingest,
    query,
    ls,
    url,
    catalog_group,
    calib,
    put,
    provenance,
    records,
    status,
    credentials,
    get,
    verify_command,
    fsck_command,
    reconcile_command,
    serve_command,
    arrivals,
    retention_group,
    export_command,
    obscore_command,
    web,
):
    main.add_command(command)

# Only these create a missing site (bucket and catalog); every other command reads, and
# a missing site is an error for it (a mistyped bucket must not become an empty site).
for writer in (
    ingest,
    put,
    records.commands["update"],
    serve_command,
    *(calib.commands[name] for name in ("ingest", "certify", "decertify", "import")),
):
    writes_site(writer)


def run() -> None:
    """The console entry point: ``main``, then an exit that skips interpreter teardown.

    Every command's work is committed and its output written before ``main`` returns;
    what is left are native thread pools (Arrow, DuckDB, deltalake) whose teardown at
    interpreter exit can abort ("terminate called without an active exception") or
    hang a finished command. So the streams are flushed and the process ends at once.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        click.echo(str(code), err=True)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
