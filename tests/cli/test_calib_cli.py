"""``oods calib``, ``oods put`` and ``oods provenance`` with CliRunner on the live MinIO."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from click.testing import Result

from oods import simulate_night
from tests.cli_invoke import ok, run
from tests.oods.test_calibrations import write_master

CALIB = "LSSTCam/calib"
CANDIDATES = "u/alice/candidates"
RUN = "LSSTCam/calib/v1"


def rows(result: Result) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_calibration_walk_through(config: Path, tmp_path: Path) -> None:
    simulate_night(tmp_path / "night", detectors=3, exposures=10, seed=5, size=16)
    ok(config, "ingest", str(tmp_path / "night"))
    science = rows(
        ok(
            config,
            "query",
            "SELECT DISTINCT exposure FROM exposures WHERE observation_type = 'science' ORDER BY 1",
            "--format",
            "csv",
        )
    )
    exposure = science[0]["exposure"]
    bias_raws = [
        r["dataset_id"]
        for r in rows(
            ok(
                config,
                "query",
                "SELECT d.dataset_id FROM datasets d JOIN exposures e USING (exposure) "
                "WHERE e.observation_type = 'bias'",
                "--format",
                "csv",
            )
        )
    ]

    # Masters: one bias per detector through `calib ingest`, a candidate through `put`.
    ids = {}
    for detector in range(3):
        path = write_master(tmp_path / "bias" / f"d{detector}" / "bias.fits", seed=detector)
        report = json.loads(
            ok(
                config,
                "calib",
                "ingest",
                str(path),
                "--type",
                "bias",
                "--run",
                RUN,
                "--instrument",
                "LSSTCam",
                "--detector",
                str(detector),
                "--json",
            ).stdout
        )
        ids[detector] = report["files"][0]["dataset_id"]
    put = ok(
        config,
        "put",
        str(write_master(tmp_path / "candidate.fits", seed=9)),
        "--type",
        "bias",
        "--run",
        "u/alice/bias",
        "--instrument",
        "LSSTCam",
        "--detector",
        "1",
        "--inputs",
        ",".join(bias_raws[:2]),
        "--inputs",
        f"extra={bias_raws[2]}",
    )
    candidate = put.stdout.strip()
    assert "ingested as LSSTCam/calib/bias/u/alice/bias/001/bias_LSSTCam_001.fits" in put.stderr
    closure = rows(ok(config, "provenance", candidate, "--format", "csv"))
    assert sorted(r["dataset_id"] for r in closure) == sorted(bias_raws[:3])
    assert {r["depth"] for r in closure} == {"1"}

    # Certify, and let the candidate shadow detector 1 through the collection order.
    certified = ok(
        config, "calib", "certify", *ids.values(), "--collection", CALIB, "--begin", "2025-06-01"
    )
    assert certified.stdout.count("certified bias") == 3
    ok(config, "calib", "certify", candidate, "--collection", CANDIDATES)
    refused = run(config, "calib", "certify", candidate, "--collection", CALIB)
    assert refused.exit_code == 1
    assert "overlaps" in refused.stderr and ids[1] in refused.stderr

    search = f"{CANDIDATES},{CALIB}"
    one = rows(
        ok(
            config,
            "calib",
            "find",
            "--exposure",
            exposure,
            "--detector",
            "1",
            "--collections",
            search,
            "--type",
            "bias",
            "--format",
            "csv",
        )
    )
    assert [(r["calibration_id"], r["collection"]) for r in one] == [(candidate, CANDIDATES)]
    bulk = rows(
        ok(
            config,
            "calib",
            "find",
            "--exposure",
            exposure,
            "--collections",
            search,
            "--type",
            "bias",
            "--format",
            "csv",
        )
    )
    assert {r["detector"]: r["calibration_id"] for r in bulk} == {
        "0": ids[0],
        "1": candidate,
        "2": ids[2],
    }
    missing = run(
        config, "calib", "find", "--exposure", exposure, "--detector", "0", "--collections", CALIB
    )
    assert missing.exit_code == 1 and "no dark, flat valid at" in missing.stderr

    # Decertify part of detector 0's range: the lookup falls through, --as-of remembers.
    before = rows(ok(config, "calib", "ls", "--format", "csv"))
    assert len(before) == 4
    moment = dt.datetime.now(dt.UTC).isoformat()
    out = ok(
        config,
        "calib",
        "decertify",
        "--collection",
        CALIB,
        "--type",
        "bias",
        "--detector",
        "0",
        "--begin",
        "2025-06-02",
        "--end",
        "2025-06-03",
    ).stdout
    assert "decertified bias" in out and out.count("kept bias") == 2
    detector_0 = ["calib", "find", "--exposure", exposure, "--detector", "0", "--type", "bias"]
    gone = run(config, *detector_0, "--collections", CALIB)
    assert gone.exit_code == 1
    then = rows(
        ok(config, *detector_0, "--collections", CALIB, "--as-of", moment, "--format", "csv")
    )
    assert [r["calibration_id"] for r in then] == [ids[0]]
    history = rows(ok(config, "calib", "ls", "--history", "--format", "csv"))
    assert len(history) == 4 + 3  # one range ended, two pieces added

    # Import: a good row and a bad one, reported by line; exit status 4.
    path = tmp_path / "validity.csv"
    path.write_text(
        "dataset_id,collection,type,begin,end\n"
        f"{ids[0]},u/bob/calib,bias,2025-06-01,\n"
        f"{ids[1]},u/bob/calib,bias,not-a-time,\n"
    )
    imported = run(config, "calib", "import", str(path))
    assert imported.exit_code == 4, imported.output
    assert f"{path}:line 3: begin 'not-a-time' is not an ISO 8601 time" in imported.stderr
    assert "certified 1, unchanged 0 (already certified), rejected 1" in imported.stdout
    assert (
        len(rows(ok(config, "calib", "ls", "--collection", "u/bob/calib", "--format", "csv"))) == 1
    )


def test_bad_names_and_times_are_usage_errors(config: Path, tmp_path: Path) -> None:
    path = write_master(tmp_path / "m.fits", seed=1)
    result = run(config, "calib", "ingest", str(path), "--type", "bias", "--run", "a/../b")
    assert result.exit_code == 2 and "invalid run" in result.output
    result = run(config, "calib", "certify", "x", "--collection", CALIB, "--begin", "soon")
    assert result.exit_code == 2 and "--begin" in result.output
    result = run(config, "calib", "find", "--collections", CALIB)
    assert result.exit_code == 2
