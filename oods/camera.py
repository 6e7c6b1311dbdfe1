"""The simulated camera at a pace: a night written into a landing folder as it is taken.

A real camera writes one exposure's detector files within a second or two of each other,
one exposure every ~17 s (LSSTCam), each file under a temporary name renamed once whole.
``write_paced`` does the same with the bytes of ``oods.simulate`` (so a paced night is
byte-identical to ``simulate_night``'s with the same options, and ingesting both is no
conflict). Bytes are rendered before the slots (the whole night first when it fits in
memory: ``prepare_night``), so rendering neither stretches an exposure's spread nor
takes CPU from the service being watched; a camera that still falls behind its schedule
says by how much (``CameraReport.behind``) rather than silently slowing the pace.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from catalog.translators.focalplane import LSSTCAM_DETECTORS

from .simulate import DEFAULT_DAY_OBS, PlannedExposure, plan_night, raw_file_name, raw_hdus

#: LSSTCam takes an exposure about every 17 s (15 s open shutter, readout, slew).
LSSTCAM_PACE = 17.0
#: A writer's temporary suffix, ignored by ``oods serve`` until the rename.
PART_SUFFIX = ".part"
#: A night up to this size is best rendered whole before the camera starts (see
#: ``oods simulate --pace``): then writing it costs the service being watched no CPU.
PRERENDER_BYTES = 512 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class RenderedExposure:
    """One exposure's files, ready to write: (path relative to the output, bytes)."""

    exposure: int
    files: list[tuple[Path, bytes]]


@dataclasses.dataclass
class CameraReport:
    """What ``write_paced`` wrote, and how well it kept to its schedule."""

    files: list[Path] = dataclasses.field(default_factory=list)
    exposures: list[int] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    #: The most an exposure started after its slot (the camera could not keep up).
    behind: float = 0.0
    stopped: bool = False


def render_exposures(
    detectors: int = 9,
    exposures: int = 10,
    seed: int = 1,
    size: int = 64,
    day_obs: int = DEFAULT_DAY_OBS,
    first: int = 0,
    count: int | None = None,
) -> Iterator[RenderedExposure]:
    """The night's exposures ``first`` .. ``first + count`` as bytes, one at a time.

    Same arguments, same bytes as ``simulate_night`` (whose files live under
    ``<day_obs>/<obs_id>/``); ``first``/``count`` take a slice of the night, so one
    long night can be fed to a benchmark in steps without repeating a dataset id.
    """
    if not 1 <= detectors <= len(LSSTCAM_DETECTORS):
        raise ValueError(f"detectors must be 1 to {len(LSSTCAM_DETECTORS)}, got {detectors}")
    if exposures < 1 or size < 1:
        raise ValueError("exposures and size must be at least 1")
    planned = plan_night(exposures, seed, day_obs)
    chosen = planned[first:] if count is None else planned[first : first + count]
    for exposure in chosen:
        yield _render(exposure, detectors, size, seed, day_obs)


def prepare_night(
    detectors: int = 9,
    exposures: int = 10,
    seed: int = 1,
    size: int = 64,
    day_obs: int = DEFAULT_DAY_OBS,
    progress: Callable[[int], None] | None = None,
    budget: int = PRERENDER_BYTES,
) -> Iterable[RenderedExposure]:
    """The night for ``write_paced``: rendered whole now if it takes at most ``budget``
    bytes (``progress`` called with 1 per exposure), else exposure by exposure later.

    Rendering first keeps the camera's CPU off the service being watched, and the
    slots on time however slow the rendering is.
    """
    rendered = render_exposures(detectors, exposures, seed, size, day_obs)
    first = next(rendered)
    if sum(len(data) for _, data in first.files) * exposures > budget:
        return itertools.chain([first], rendered)
    night = []
    for exposure in itertools.chain([first], rendered):
        night.append(exposure)
        if progress is not None:
            progress(1)
    return night


def _render(
    planned: PlannedExposure, detectors: int, size: int, seed: int, day_obs: int
) -> RenderedExposure:
    folder = Path(str(day_obs)) / planned.header["OBSID"]
    files = []
    for detector in LSSTCAM_DETECTORS[:detectors]:
        buffer = io.BytesIO()
        # The headers are ours and valid: astropy's output check would only cost time
        # (a fifth of it); the bytes are the same (tests compare them).
        raw_hdus(planned, detector, size, seed, day_obs).writeto(
            buffer, checksum=False, output_verify="ignore"
        )
        files.append((folder / raw_file_name(planned, detector), buffer.getvalue()))
    return RenderedExposure(planned.exposure, files)


def write_paced(
    out: Path,
    exposures: Iterable[RenderedExposure],
    pace: float = LSSTCAM_PACE,
    spread: float = 1.0,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> CameraReport:
    """Write one exposure every ``pace`` seconds under ``out``, as a camera does.

    An exposure's files are spaced evenly over ``spread`` seconds (at most the pace),
    each written as ``<name>.part`` and renamed when complete, so a watcher never takes
    a half-written file. The first exposure starts at once. ``stop`` ends the night
    after the exposure being written.
    """
    if pace < 0 or spread < 0:
        raise ValueError("pace and spread must be at least 0 seconds")
    spread = min(spread, pace)
    report = CameraReport()
    upcoming = iter(exposures)  # each rendered here, before its slot
    first = next(upcoming, None)
    started = time.monotonic()
    for index, exposure in enumerate(itertools.chain([first] if first else [], upcoming)):
        slot = started + index * pace
        wait = slot - time.monotonic()
        if stop is not None and stop.wait(max(0.0, wait)):
            report.stopped = True
            break
        if stop is None and wait > 0:
            time.sleep(wait)
        begin = time.monotonic()
        report.behind = max(report.behind, begin - slot)
        gap = spread / len(exposure.files) if exposure.files else 0.0
        for n, (relative, data) in enumerate(exposure.files):
            due = begin + n * gap
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            report.files.append(_write_whole(out / relative, data))
            if progress is not None:
                progress(1)
        report.exposures.append(exposure.exposure)
    report.seconds = time.monotonic() - started
    return report


def _write_whole(path: Path, data: bytes) -> Path:
    """Write ``data`` under a temporary name, then rename it into place once closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + PART_SUFFIX)
    part.write_bytes(data)
    os.replace(part, path)
    return path
