"""Butler interop benchmark: `oods export` against the Butler's own export, same run.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/butler.py [--repeats 5] [--detectors 205] [--json out.json]

One simulated LSSTCam exposure (205 raws of a few kB) is ingested into a fresh site on a
real MinIO, then, each figure the median of ``--repeats`` runs:

1. ``oods_export_s``: ``export_for_butler`` of that exposure, ``transfer="none"`` (the
   export file only, objects named by S3 URL). Aim < 0.1 s.
2. ``butler_import_s``: ``Butler.import_`` of an OODS export (files copied beforehand)
   into a fresh repository (SQLite registry, local datastore), ``transfer="copy"``.
3. ``butler_export_s``: the Butler's own ``Butler.export`` of the same 205 datasets from
   that repository, file only (``transfer=None``), the baseline for (1).
4. ``oods_import_s``: ``replica.butler_import.import_from_butler`` of that repository's
   raws into a fresh site, metadata only (``oods import butler:REPO``); beside (2).

The Butler needs a FITS storage class and formatter (obs_lsst is not on PyPI): those of
``tests/butler_support.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig, ingest  # noqa: E402
from oods.butler_export import export_for_butler  # noqa: E402
from oods.simulate import simulate_night  # noqa: E402
from replica.butler_import import import_from_butler  # noqa: E402
from tests.butler_support import FORMATTER, STORAGE_CLASS, make_test_repo  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_seconds(run: Callable[[int], object], repeats: int) -> float:
    times = []
    for attempt in range(repeats):
        started = time.perf_counter()
        run(attempt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--detectors", type=int, default=205)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": {
            "nproc": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "python": platform.python_version(),
        },
        "detectors": args.detectors,
        "repeats": args.repeats,
    }
    with tempfile.TemporaryDirectory(prefix="oods-bench-butler-") as work:
        root = Path(work)
        server = MinioServer(root / "minio").start()
        try:
            site = Site.open(
                SiteConfig(
                    endpoint=server.endpoint,
                    access_key=server.access_key,
                    secret_key=server.secret_key,
                    bucket="bench-butler",
                )
            )
            log(f"simulating and ingesting one exposure x {args.detectors} detectors")
            night = simulate_night(root / "night", detectors=args.detectors, exposures=1, size=16)
            assert not ingest(site, night.files).failed
            ((exposure,),) = site.sql("SELECT exposure FROM exposures").fetchall()
            where = f"exposure = {exposure}"
            options = {
                "formatter": FORMATTER,
                "storage_classes": {"raw": STORAGE_CLASS},
            }

            def oods_export(attempt: int) -> None:
                export_for_butler(site, root / f"none{attempt}", where, transfer="none", **options)

            log("oods export (transfer none)")
            figures["oods_export_s"] = median_seconds(oods_export, args.repeats)

            copied = root / "copied"
            export_for_butler(site, copied, where, transfer="copy", **options)

            def butler_import(attempt: int) -> None:
                repo = root / f"repo{attempt}"
                butler = make_test_repo(repo)
                started = time.perf_counter()
                butler.import_(
                    filename=str(copied / "export.yaml"), directory=str(copied), transfer="copy"
                )
                imports.append(time.perf_counter() - started)

            imports: list[float] = []
            log("Butler.import_ of the OODS export (transfer copy)")
            median_seconds(butler_import, args.repeats)  # includes makeRepo: not reported
            figures["butler_import_s"] = statistics.median(imports)

            butler = make_test_repo(root / "repo-export")
            butler.import_(
                filename=str(copied / "export.yaml"), directory=str(copied), transfer="copy"
            )
            refs = list(butler.query_datasets("raw", collections="LSSTCam/raw/all", limit=None))
            assert len(refs) == args.detectors

            def butler_export(attempt: int) -> None:
                target = root / f"butler-export{attempt}.yaml"
                with butler.export(filename=str(target), transfer=None) as export:
                    export.saveDatasets(refs)

            log("Butler.export of the same datasets (file only)")
            figures["butler_export_s"] = median_seconds(butler_export, args.repeats)
            figures["oods_over_butler_export"] = (
                figures["oods_export_s"] / figures["butler_export_s"]  # type: ignore[operator]
            )

            sites = iter(range(args.repeats))

            def oods_import(attempt: int) -> None:
                fresh = Site.open(
                    SiteConfig(
                        endpoint=server.endpoint,
                        access_key=server.access_key,
                        secret_key=server.secret_key,
                        bucket=f"bench-import-{next(sites)}",
                    )
                )
                started = time.perf_counter()
                report = import_from_butler(fresh, str(root / "repo-export"), ["LSSTCam/raw/all"])
                oods_imports.append(time.perf_counter() - started)
                assert report.datasets == args.detectors, report
                fresh.close()

            oods_imports: list[float] = []
            log("oods import butler:REPO of the same datasets (metadata only)")
            median_seconds(oods_import, args.repeats)  # includes opening a site: not reported
            figures["oods_import_s"] = statistics.median(oods_imports)
            site.close()
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    figures["aims"] = {"oods_export_s": "< 0.1"}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
