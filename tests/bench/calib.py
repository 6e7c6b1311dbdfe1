"""Calibration lookup benchmark against a real MinIO-backed catalog.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/calib.py [--repeats 5] [--exposures 200] [--json out.json]

A night of 200 exposures x 205 detectors (41,000 raws, four filters) is written straight
into a fresh site's catalog through ``CatalogStore.append`` (no file uploads), with three
generations of bias, dark and flat per detector (flats per filter: 3,690 calibration
datasets) certified into ``LSSTCam/calib`` with validity boundaries inside the night,
plus candidate flats for every 7th detector in ``u/alice/candidates``. Then, on one
loaded ``Snapshot``, each figure the median of ``--repeats`` runs:

1. Bulk: ``find_calibrations`` for the whole night, collections
   ``[u/alice/candidates, LSSTCam/calib]``, types bias/dark/flat: 123,000 lookups in one
   DuckDB query, every row fetched as Arrow. Aim < 1 s.
2. The same bulk lookup with ``as_of`` (replaying the certification history).
3. Warm single lookup: ``find_calibration`` for one raw by dataset id (3 types), over
   200 random raws. Aim < 5 ms.
4. The same by exposure + detector.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from catalog import (  # noqa: E402
    Snapshot,
    certify,
    find_calibration,
    find_calibrations,
)
from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig  # noqa: E402
from tests.catalog_rows import (  # noqa: E402
    NIGHT_START,
    add_calibrations,
    add_exposures,
    calibration_record,
    raw_id,
)

DAY_OBS = 20250601
DETECTORS = 205
FILTERS = ("u_24", "g_6", "r_57", "i_39")
CALIB = "LSSTCam/calib"
CANDIDATES = "u/alice/candidates"
TYPES = ("bias", "dark", "flat")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_seconds(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def build_night(site: Site, exposures: int) -> list[tuple[int, int]]:
    """Write the night's raws and calibrations; return (exposure, detector) pairs."""
    begins = [NIGHT_START + dt.timedelta(seconds=60 * i) for i in range(exposures)]
    records = add_exposures(site.store, DAY_OBS, begins, DETECTORS, FILTERS)
    # Generation boundaries: before the night, and a third of the way into it.
    cut = begins[len(begins) // 3] + dt.timedelta(seconds=1)
    generations = [(None, NIGHT_START - dt.timedelta(days=1)), (NIGHT_START, cut), (cut, None)]
    for number, (begin, end) in enumerate(generations, start=1):
        run = f"LSSTCam/calib/v{number}"
        datasets = [
            calibration_record(t, run, d) for t in ("bias", "dark") for d in range(DETECTORS)
        ]
        datasets += [
            calibration_record("flat", run, d, f) for f in FILTERS for d in range(DETECTORS)
        ]
        ids = add_calibrations(site.store, datasets)
        certify(site.store, CALIB, ids, begin, end)
    candidates = [
        calibration_record("flat", "u/alice/flats", d, f)
        for f in FILTERS
        for d in range(0, DETECTORS, 7)
    ]
    certify(site.store, CANDIDATES, add_calibrations(site.store, candidates))
    return [(r.exposure, d) for r in records for d in range(DETECTORS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--exposures", type=int, default=200)
    parser.add_argument("--singles", type=int, default=200, help="single lookups timed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    collections = [CANDIDATES, CALIB]
    figures: dict[str, object] = {
        "exposures": args.exposures,
        "detectors": DETECTORS,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    with tempfile.TemporaryDirectory(prefix="oods-bench-calib-") as work:
        server = MinioServer(Path(work) / "minio").start()
        try:
            site = Site.open(
                SiteConfig(
                    endpoint=server.endpoint,
                    access_key=server.access_key,
                    secret_key=server.secret_key,
                    bucket="bench-calib",
                )
            )
            started = time.perf_counter()
            pairs = build_night(site, args.exposures)
            figures["build_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            snap = Snapshot(site.store)
            figures["snapshot_load_s"] = round(time.perf_counter() - started, 3)
            log(
                f"catalog built in {figures['build_s']} s, loaded in {figures['snapshot_load_s']} s"
            )

            def bulk(as_of: dt.datetime | None = None) -> int:
                relation = find_calibrations(snap, collections, TYPES, day_obs=DAY_OBS, as_of=as_of)
                return relation.to_arrow_table().num_rows

            bulk()  # warm
            seconds, found = median_seconds(bulk, args.repeats)
            expected = len(pairs) * len(TYPES)
            assert found == expected, f"bulk lookup found {found} of {expected}"
            figures["bulk_lookups"] = found
            figures["bulk_s"] = round(seconds, 4)
            now = dt.datetime.now(dt.UTC)
            seconds, found = median_seconds(lambda: bulk(now), args.repeats)
            assert found == expected
            figures["bulk_as_of_s"] = round(seconds, 4)

            rng = random.Random(1)
            sample = rng.sample(pairs, min(args.singles, len(pairs)))
            find_calibration(snap, collections, TYPES, raw=raw_id(*sample[0]))  # warm

            def singles_by_id() -> float:
                times = []
                for exposure, detector in sample:
                    raw = raw_id(exposure, detector)
                    started = time.perf_counter()
                    found = find_calibration(snap, collections, TYPES, raw=raw)
                    times.append(time.perf_counter() - started)
                    assert len(found) == len(TYPES)
                return statistics.median(times)

            def singles_by_data_id() -> float:
                times = []
                for exposure, detector in sample:
                    started = time.perf_counter()
                    find_calibration(snap, collections, TYPES, exposure=exposure, detector=detector)
                    times.append(time.perf_counter() - started)
                return statistics.median(times)

            runs = [singles_by_id() for _ in range(args.repeats)]
            figures["single_by_id_ms"] = round(statistics.median(runs) * 1000, 3)
            runs = [singles_by_data_id() for _ in range(args.repeats)]
            figures["single_by_data_id_ms"] = round(statistics.median(runs) * 1000, 3)
        finally:
            server.stop()
    figures["aims"] = {"bulk_s": "< 1", "single_by_id_ms": "< 5"}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
