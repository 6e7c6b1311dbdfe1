"""`oods arrivals`: the arrivals table summed up - counts by status, arrival-to-queryable
latency of the ingested files, the rate - over rows committed to a real catalog."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from catalog.records import ArrivalRecord, to_arrow
from oods import Site
from oods.arrivals import summarize_arrivals
from tests.cli_invoke import run, site_config_file

T0 = dt.datetime(2025, 6, 2, 0, 0, tzinfo=dt.UTC)


def arrival(seq: int, status: str, arrived: float, lag: float) -> ArrivalRecord:
    arrived_at = T0 + dt.timedelta(seconds=arrived)
    return ArrivalRecord(
        seq=seq,
        path=f"/landing/{seq}.fits",
        status=status,
        arrived_at=arrived_at,
        recorded_at=arrived_at + dt.timedelta(seconds=lag),
    )


@pytest.fixture
def recorded(site: Site) -> Site:
    """101 ingested files with lags 0.00 .. 1.00 s (in steps of 10 ms), arriving one a
    tenth of a second apart; one skipped and one metadata failure, much later."""
    rows = [arrival(n + 1, "ingested", n * 0.1, n / 100) for n in range(101)]
    rows += [arrival(200, "skipped", 60.0, 5.0), arrival(201, "metadata_failure", 61.0, 9.0)]
    site.store.append("arrivals", to_arrow(rows, ArrivalRecord))
    site.refresh()
    return site


def test_latency_percentiles_count_only_ingested_files(recorded: Site) -> None:
    summary = summarize_arrivals(recorded)
    assert summary.by_status == {"ingested": 101, "metadata_failure": 1, "skipped": 1}
    assert summary.files == 103
    latency = summary.latency
    assert latency is not None and latency.files == 101
    assert latency.p50 == pytest.approx(0.50, abs=1e-6)
    assert latency.p95 == pytest.approx(0.95, abs=1e-6)
    assert latency.p99 == pytest.approx(0.99, abs=1e-6)
    assert latency.max == pytest.approx(1.00, abs=1e-6)  # not the failure's 9 s
    assert summary.first_arrived == T0
    assert summary.last_recorded == T0 + dt.timedelta(seconds=70)
    assert summary.files_per_second == pytest.approx(103 / 70)


def test_since_and_after_seq_select_rows(recorded: Site) -> None:
    later = summarize_arrivals(recorded, since=T0 + dt.timedelta(seconds=5))
    assert later.by_status == {"ingested": 51, "metadata_failure": 1, "skipped": 1}
    assert later.latency is not None and later.latency.p50 == pytest.approx(0.75, abs=1e-6)
    naive = summarize_arrivals(recorded, since=dt.datetime(2025, 6, 2, 0, 0, 5))  # UTC
    assert naive.by_status == later.by_status
    tail = summarize_arrivals(recorded, after_seq=101)
    assert tail.by_status == {"metadata_failure": 1, "skipped": 1}
    assert tail.latency is None
    assert summarize_arrivals(recorded, path_prefix="/elsewhere/").files == 0


def test_no_arrivals_is_an_empty_summary(site: Site) -> None:
    summary = summarize_arrivals(site)
    assert summary.files == 0 and summary.latency is None
    assert summary.files_per_second == 0.0


def test_the_command_prints_counts_latency_and_rate(recorded: Site, tmp_path: Path) -> None:
    config = site_config_file(recorded, tmp_path)
    result = run(config, "arrivals")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "arrivals: 103 files (101 ingested, 1 metadata_failure, 1 skipped)"
    assert lines[1] == (
        "arrival -> queryable (101 ingested): p50 0.500s, p95 0.950s, p99 0.990s, max 1.000s"
    )
    assert lines[2].startswith("rate: 103 files in 70.0s (1.5 files/s), from 2025-06-02T00:00:00")
    data = json.loads(run(config, "arrivals", "--since", "2025-06-02T00:01", "--json").output)
    assert data["files"] == 2 and data["by_status"] == {"skipped": 1, "metadata_failure": 1}
    assert data["latency_seconds"] is None
    assert run(config, "arrivals", "--after-seq", "500").output == "no arrivals recorded\n"


def test_a_bad_since_is_one_line_naming_the_option(recorded: Site, tmp_path: Path) -> None:
    result = run(site_config_file(recorded, tmp_path), "arrivals", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in result.output and "'yesterday' is not an ISO time" in result.output
    assert "Traceback" not in result.output
