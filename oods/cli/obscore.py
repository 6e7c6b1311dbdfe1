"""``oods obscore``: the ``obscore`` view's rows as CSV, Parquet or a VOTable."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pyarrow as pa

from catalog.obscore import FORMATS, select_obscore, write_obscore

from ..site import Site
from ._console import Context, pass_context


@click.command(name="obscore")
@click.option("--where", help="SQL predicate over the obscore columns. Default: every row.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (needed for parquet and votable); csv goes to stdout without it.",
)
@click.option(
    "--presign",
    type=click.IntRange(1, 604800),
    metavar="SECONDS",
    help="access_url as a presigned HTTP URL valid this long, instead of s3://bucket/key.",
)
@pass_context
def obscore_command(
    obj: Context, where: str | None, fmt: str, output: Path | None, presign: int | None
) -> None:
    """Export present raws and calibrations as IVOA ObsCore 1.1 rows.

    The same rows are the `obscore` view of `oods query` (times MJD UTC, angles
    degrees, wavelengths metres, access_estsize kB).

    \b
    Example:
      oods obscore --where "dataproduct_type = 'image' AND calib_level = 1" > raws.csv
      oods obscore --where "em_filter_name = 'r'" --format votable -o r.vot --presign 3600
    """
    if fmt != "csv" and output is None:
        raise click.UsageError(f"--format {fmt} writes a binary file: give --output FILE")
    site = obj.site
    table = select_obscore(site.snapshot(), where)
    if presign is not None:
        table = _presigned(site, table, presign)
    if output is None:
        write_obscore(table, sys.stdout.buffer, fmt)
    else:
        write_obscore(table, output, fmt)
        click.echo(f"wrote {table.num_rows} rows to {output}", err=True)


def _presigned(site: Site, table: pa.Table, seconds: int) -> pa.Table:
    urls = [site.presigned_url(key, seconds) for key in table.column("key").to_pylist()]
    index = table.column_names.index("access_url")
    return table.set_column(index, "access_url", pa.array(urls, pa.string()))
