"""The status page against a real night: the JSON API's numbers equal SQL on the
catalog, and headless Chromium shows the missing and failed detectors on the map."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from oods.web.focal_plane import layout

from .conftest import CORRECTED, FAILED, LAST, MISSING, Night


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_the_night_api_counts_what_the_catalog_holds(night_site: Night, page: str) -> None:
    time.sleep(0.6)  # past the app's refresh interval (0.5 s): both read the latest commit
    night_site.site.refresh()
    night = get(f"{page}/api/night")
    assert (night["instrument"], night["day_obs"]) == ("LSSTCam", 20250601)
    raws = dict(
        night_site.site.sql(
            "SELECT exposure, count(*) FROM datasets WHERE dataset_type = 'raw' GROUP BY 1"
        ).fetchall()
    )
    assert {e["exposure"]: e["arrived"] for e in night["exposures"]} == raws
    assert raws[LAST] == 205 - len(MISSING) - len(FAILED)
    failures = night_site.site.sql(
        "SELECT path, reason FROM arrivals WHERE status = 'metadata_failure'"
    ).fetchall()
    # a file may be recorded failing more than once (seen again): it is one detector
    assert {Path(p).stem.split("_", 4)[-1] for p, _ in failures} == set(FAILED)
    assert {e["exposure"]: e["failed"] for e in night["exposures"]} == {
        e: (len(FAILED) if e == LAST else 0) for e in raws
    }
    assert {e["exposure"]: e["corrected"] for e in night["exposures"]}[LAST] == 1
    assert night["selected"] == LAST  # the night's latest exposure is drawn first

    fp = night["focal_plane"]
    states = {d["name"]: d["state"] for d in fp["detectors"]}
    assert len(states) == 205
    assert {n for n, s in states.items() if s == "missing"} == set(MISSING)
    assert {n for n, s in states.items() if s == "failed"} == set(FAILED)
    corrected = {d["detector"] for d in fp["detectors"] if d["state"] == "corrected"}
    assert corrected == {CORRECTED}
    reasons = {d["name"]: d.get("reason", "") for d in fp["detectors"]}
    for name in FAILED:
        assert "metadata failure" in reasons[name] and name in reasons[name]
    assert fp["counts"] == {"arrived": 200, "corrected": 1, "failed": 2, "missing": 2}

    timeline = night["timeline"]
    assert timeline["source"] == "arrivals"
    ingested, skipped = night_site.site.sql(
        "SELECT count(*) FILTER (status = 'ingested'), count(*) FILTER (status = 'skipped') "
        "FROM arrivals"
    ).fetchall()[0]
    assert sum(m["files"] for m in timeline["minutes"]) == ingested == sum(raws.values())
    assert sum(m["skipped"] for m in timeline["minutes"]) == skipped
    lags = night_site.site.sql(
        "SELECT max(epoch(recorded_at) - epoch(arrived_at)) FROM arrivals WHERE status = 'ingested'"
    ).fetchall()[0][0]
    assert timeline["latency_seconds"]["max"] == pytest.approx(lags)


def test_an_earlier_exposure_and_a_bad_parameter(page: str) -> None:
    first = get(f"{page}/api/focal-plane?instrument=LSSTCam&exposure=2025060100001")
    assert first["counts"] == {"arrived": 205, "corrected": 0, "failed": 0, "missing": 0}
    with pytest.raises(urllib.error.HTTPError) as error:
        get(f"{page}/api/focal-plane?instrument=LSSTCam&exposure=tonight")
    assert error.value.code == 400
    assert json.load(error.value) == {"error": "exposure: 'tonight' is not an integer"}
    with pytest.raises(urllib.error.HTTPError) as error:
        get(f"{page}/api/night?day_obs=20240101")
    assert (error.value.code, json.load(error.value)) == (
        404,
        {"error": "no exposures of any instrument on day_obs 20240101"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        get(f"{page}/api/calib?instrument=LSSTCam&exposure=2025060199999")
    assert error.value.code == 404
    assert json.load(error.value) == {
        "error": "exposure 2025060199999 of LSSTCam is not in the catalog"
    }


def test_the_site_api_reports_retention_version_and_no_replica(
    night_site: Night, page: str
) -> None:
    site = get(f"{page}/api/site")
    version, committed, _ = night_site.site.store.versions("locations")[0]
    assert site["catalog"] == {"version": version, "committed_at": committed.isoformat()}
    retention = site["retention"]
    assert retention["capacity"] == {"bytes": 2_000_000_000, "source": "configured"}
    stored = night_site.site.sql("SELECT count(*), sum(size) FROM files").fetchall()[0]
    tagged = [c for c in retention["classes"] if c["name"] != "(untagged)"]
    assert (sum(c["objects"] for c in tagged), sum(c["bytes"] for c in tagged)) == stored
    assert site["panels"]["replica"] == {"configured": False, "other": "dbb"}


def test_layouts_match_the_cameras() -> None:
    lsstcam = layout("LSSTCam")
    assert len(lsstcam) == 205 and len({(d.x, d.y) for d in lsstcam}) == 205
    assert sum(d.purpose == "SCIENCE" for d in lsstcam) == 189
    assert {d.raft for d in lsstcam if d.purpose != "SCIENCE"} == {"R00", "R04", "R40", "R44"}
    assert [d.name for d in layout("LSSTComCam")][4] == "R22_S11"
    assert [d.name for d in layout("LATISS")] == ["RXX_S00"]


def test_headless_chromium_shows_missing_and_failed_detectors(
    page: str, chromium: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    browser = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    browser += ["--window-size=1400,950", "--virtual-time-budget=15000"]
    dom = subprocess.run(
        [*browser, "--dump-dom", f"{page}/"], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-ready="night"' in html, html[-3000:]
    for name in MISSING:
        assert re.search(rf'data-name="{name}"[^>]*data-state="missing"', html), name
    for name in FAILED:
        found = re.search(rf'data-name="{name}"[^>]*data-state="failed"[^>]*><title>([^<]*)', html)
        assert found and "metadata failure" in found.group(1), name
    assert len(re.findall(r'data-state="arrived"', html)) == 200
    assert html.count('<tr data-exposure="') == 4

    site = subprocess.run(
        [*browser, "--dump-dom", f"{page}/#site"], capture_output=True, text=True, timeout=120
    )
    assert 'data-ready="site"' in site.stdout, site.stdout[-3000:]
    assert 'id="replica-absent">replica: not configured<' in site.stdout
    assert re.search(r'<tr data-class="[a-z-]+"><td>', site.stdout)
    assert "of 2.0 GB (configured)" in site.stdout

    artifacts = tmp_path_factory.mktemp("web-artifacts")
    shot = artifacts / "night.png"
    taken = subprocess.run(
        [*browser, f"--screenshot={shot}", f"{page}/"], capture_output=True, text=True, timeout=120
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"status page screenshot: {shot}")
