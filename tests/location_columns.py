"""The check that every location row carries its dataset's instrument, night and exposure."""

from __future__ import annotations

from oods import Site

_UNLIKE = """
    SELECT l.dataset_id, l.state, l.instrument, l.day_obs, l.exposure,
           d.instrument, d.day_obs, d.exposure
    FROM locations_history l JOIN datasets d USING (dataset_id)
    WHERE l.instrument IS DISTINCT FROM d.instrument OR l.day_obs IS DISTINCT FROM d.day_obs
       OR l.exposure IS DISTINCT FROM d.exposure
"""


def assert_locations_copy_datasets(site: Site, states: set[str]) -> int:
    """Every location row of ``site`` (history included) has its dataset's values, and
    rows in each of ``states`` exist; returns how many rows were compared."""
    site.refresh()
    assert site.sql(_UNLIKE).fetchall() == []
    found = site.sql(
        "SELECT state, count(*), count(l.exposure) FROM locations_history l "
        "JOIN datasets d USING (dataset_id) GROUP BY 1"
    ).fetchall()
    counts = {state: (rows, with_exposure) for state, rows, with_exposure in found}
    assert states <= set(counts), counts
    assert all(counts[state][1] > 0 for state in states), counts  # raws among them
    return sum(rows for rows, _ in counts.values())
