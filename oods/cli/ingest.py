"""``oods simulate`` and ``oods ingest``: writing a night and taking it in."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..camera import prepare_night, write_paced
from ..config import load_config
from ..ingest import IngestReport
from ..ingest import ingest as ingest_files
from ..ingest_plan import plan_ingest
from ..simulate import DEFAULT_DAY_OBS, simulate_night
from ..simulate_calibs import simulate_calibs
from ..site import Site
from ..sources import scan_sources
from ._console import (
    EXIT_PARTIAL,
    Context,
    human_size,
    pass_context,
    progressbar,
    show_notes,
    show_report,
)


@click.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the night into.",
)
@click.option(
    "--detectors",
    default=9,
    show_default=True,
    type=click.IntRange(1, 205),
    help="Detectors per exposure (of LSSTCam's 205, in Butler order).",
)
@click.option(
    "--exposures",
    default=10,
    show_default=True,
    type=click.IntRange(1),
    help="Exposures in the night (biases, darks, flats, then science).",
)
@click.option("--seed", default=1, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--size",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Image side in pixels (int32; 2900 gives ~32 MB files).",
)
@click.option("--day-obs", default=DEFAULT_DAY_OBS, show_default=True, help="Observing day.")
@click.option(
    "--pace",
    type=click.FloatRange(0),
    help="Write as a camera does: one exposure every PACE seconds (LSSTCam: 17), each "
    "file under a .part name renamed once whole, for `oods serve` to take as it lands.",
)
@click.option(
    "--spread",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="With --pace: seconds over which one exposure's files are written.",
)
@click.option(
    "--calibs",
    is_flag=True,
    help="Instead of raws, write the calibration walk-through's inputs for this night: "
    "masters, a candidate bias, dbb_validity.csv, fixed/ raws, fixes.csv, corrections/.",
)
def simulate(
    out: Path,
    detectors: int,
    exposures: int,
    seed: int,
    size: int,
    day_obs: int,
    pace: float | None,
    spread: float,
    calibs: bool,
) -> None:
    """Write a synthetic LSSTCam night of raw FITS files.

    A file's bytes depend on the seed, day, exposure count and size, not on the number
    of detectors: a smaller night of the same options is part of a bigger one. With
    --pace the same files are written over time into a landing folder, as the camera
    writes them, for `oods serve` to take as they land.

    \b
    Example:
      oods simulate --out night --detectors 205 --exposures 10
      oods simulate --out landing --pace 17 --detectors 205   # LSSTCam's pace
      oods simulate --out inputs --calibs      # the same night's masters and fixes
    """
    if calibs and pace is not None:
        raise click.UsageError("--pace writes raws: it does not go with --calibs")
    if pace is not None:
        simulate_paced(out, detectors, exposures, seed, size, day_obs, pace, spread)
        return
    if calibs:
        try:
            written = simulate_calibs(out, detectors, exposures, seed, size, day_obs)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        featured = written.featured
        click.echo(
            f"wrote {len(written.files)} files to {out}: masters/ (dark, flat per band), "
            f"bias_{featured.name}.fits and bias_try.fits (detector {featured.detector}), "
            "dbb_validity.csv, fixed/, fixes.csv, corrections/"
        )
        return
    with progressbar(detectors * exposures, "simulating") as advance:
        night = simulate_night(out, detectors, exposures, seed, size, day_obs, advance)
    counts = ", ".join(f"{n} {kind}" for kind, n in night.observation_types().items())
    click.echo(f"wrote {len(night.files)} files to {out} ({counts})")


def simulate_paced(
    out: Path,
    detectors: int,
    exposures: int,
    seed: int,
    size: int,
    day_obs: int,
    pace: float,
    spread: float,
) -> None:
    """``oods simulate --pace``: the night written exposure by exposure, as it is taken."""
    with progressbar(exposures, "rendering") as advance:
        night = prepare_night(detectors, exposures, seed, size, day_obs, progress=advance)
    with progressbar(detectors * exposures, "camera") as advance:
        report = write_paced(out, night, pace, spread, progress=advance)
    late = f"; at most {report.behind:.1f}s behind its pace" if report.behind >= 0.1 else ""
    click.echo(
        f"wrote {len(report.files)} files to {out}: {len(report.exposures)} exposures, "
        f"one every {pace:g}s, in {report.seconds:.1f}s{late}"
    )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--run", help="Run collection. Default: {instrument}/raw/all.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Parallel uploads. Default: [ingest] workers of the config (8).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be ingested, skipped or rejected; upload and commit nothing.",
)
@pass_context
def ingest(
    obj: Context,
    paths: Sequence[Path],
    run: str | None,
    as_json: bool,
    workers: int | None,
    dry_run: bool,
) -> None:
    """Ingest raw FITS files (or folders of them) into the site.

    Re-ingesting a file is a no-op; a different file claiming the same dataset id is a
    conflict and nothing is overwritten. Each rejected file gets one line naming it and
    the reason (a metadata failure: the header is unusable; an ingest failure: storage,
    catalog or identity). Exit status 4 when some files were rejected (or, with
    --dry-run, would be).

    \b
    Example:
      oods ingest night/20250601 --json
      oods ingest night/ --dry-run          # what would happen; nothing uploaded
      oods ingest night/ --workers 16
    """
    sources = scan_sources(paths)  # walked once: counted here, then ingested
    if dry_run:  # a site that does not exist yet is not created by a dry run
        site = Site(load_config(obj.config_path, workers=workers))
        with progressbar(len(sources), "checking") as advance:
            report = plan_ingest(site, sources, run=run, progress=advance)
        report.notes.extend(sources.notes)
        show_plan(report, as_json)
        return
    site = obj.site if workers is None else Site.open(load_config(obj.config_path, workers=workers))
    with progressbar(len(sources), "ingesting") as advance:
        report = ingest_files(site, sources, run=run, progress=advance)
    show_report(report, as_json)


def show_plan(report: IngestReport, as_json: bool) -> None:
    """Print a dry run's report; exit 4 if some files would be rejected."""
    if as_json:
        click.echo(json.dumps({"dry_run": True, **report.to_dict()}, indent=2, default=str))
    else:
        show_notes(report)
        for result in report.failed:
            click.echo(result.line(), err=True)
        s = report.summary()
        click.echo(
            f"dry run: would ingest {s['ingested']} ({human_size(report.bytes_ingested)}), "
            f"skip {s['skipped']} (already there), reject {s['failed']} "
            f"({s['metadata_failures']} metadata, {s['ingest_failures']} ingest); "
            "nothing was uploaded or committed"
        )
    if report.failed:
        sys.exit(EXIT_PARTIAL)
