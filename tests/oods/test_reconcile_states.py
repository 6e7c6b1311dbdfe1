"""record_location_states: new location rows that keep the dataset known, on real MinIO."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oods import Site, ingest
from oods.location_states import latest_locations, record_location_states


def test_states_are_appended_once_and_keep_the_location(site: Site, night: Path) -> None:
    ingest(site, [night])
    ids = sorted(i for (i,) in site.sql("SELECT dataset_id FROM files").fetchall())
    before = {r["dataset_id"]: r for r in latest_locations(site, ids[:2]).to_pylist()}

    written = record_location_states(
        site, {ids[0]: "expired", ids[1]: "missing", "no-such-dataset": "missing"}
    )
    assert written == 2
    # Repeating a change writes nothing: the dataset is already in that state.
    assert record_location_states(site, {ids[0]: "expired", ids[1]: "present"}) == 1

    after = {r["dataset_id"]: r for r in latest_locations(site, ids[:2]).to_pylist()}
    assert after[ids[0]]["state"] == "expired"
    assert after[ids[1]]["state"] == "present"
    for dataset_id in ids[:2]:
        assert before[dataset_id]["exposure"] is not None  # a raw: its values are copied
        for column in ("instrument", "day_obs", "exposure", "key", "size", "checksum", "file_name"):
            assert after[dataset_id][column] == before[dataset_id][column]
        assert after[dataset_id]["recorded_at"] > before[dataset_id]["recorded_at"]
    site.refresh()
    ((count,),) = site.sql("SELECT count(*) FROM files").fetchall()
    assert count == len(ids) - 1
    ((history,),) = site.sql(
        "SELECT count(*) FROM locations_history WHERE dataset_id = $id", {"id": ids[1]}
    ).fetchall()
    assert history == 3  # present, missing, present again


def test_an_unknown_state_writes_nothing(site: Site, night: Path) -> None:
    ingest(site, [night])
    ((dataset_id,),) = site.sql("SELECT dataset_id FROM files LIMIT 1").fetchall()
    with pytest.raises(ValueError, match="gone"):
        record_location_states(site, {dataset_id: "gone"})
    assert latest_locations(site, [dataset_id]).column("state").to_pylist() == ["present"]


def test_a_row_newer_than_what_was_seen_is_left_alone(site: Site, night: Path) -> None:
    """A reconcile or event that saw the bucket before a re-ingest must not undo it."""
    before = dt.datetime.now(dt.UTC)
    ingest(site, [night])
    ((dataset_id,),) = site.sql("SELECT dataset_id FROM files LIMIT 1").fetchall()
    assert record_location_states(site, {dataset_id: "missing"}, recorded_before=before) == 0
    assert latest_locations(site, [dataset_id]).column("state").to_pylist() == ["present"]
    now = dt.datetime.now(dt.UTC)
    assert record_location_states(site, {dataset_id: "missing"}, recorded_before=now) == 1
