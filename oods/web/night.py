"""The night view's numbers: exposures, each detector's state, and the ingest timeline.

Everything comes from one catalog snapshot, in a handful of grouped queries, so a
full LSSTCam night (1,000 exposures x 205 detectors) answers in one call fast enough
for the page's first paint. A detector is

- ``arrived``: its raw is catalogued; ``corrected`` if a record correction changed it;
- ``failed``: ``oods serve`` recorded a failure for its file and no raw came later
  (the reason is kept); the file is placed by its name, ``<OBSID>_<RAFT>_<SENSOR>.fits``,
  as the camera names raws (a failed header cannot be read, so the name is all there is);
- ``missing``: in the camera's layout, but neither arrived nor failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from .focal_plane import expected_detectors, grid_layout, layout

#: The camera's raw file name: obs_id, then the detector's full name.
RAW_NAME = r"([A-Za-z0-9]+_[A-Za-z]+_[0-9]{8}_[0-9]{6})_(R[0-9X]{2}_S[0-9A-Z]{2})[^/]*$"
FAILURES = ("metadata_failure", "ingest_failure")

_FAILED_FILES = f"""
    WITH failed AS (
        SELECT regexp_extract(path, '{RAW_NAME}', 1) AS obs_id,
               regexp_extract(path, '{RAW_NAME}', 2) AS detector_name,
               status, reason, path, seq
        FROM arrivals WHERE status IN {FAILURES}
    )
    SELECT e.exposure, f.detector_name, f.status, f.reason, f.path
    FROM failed f JOIN exposures e ON e.obs_id = f.obs_id
    WHERE e.instrument = $instrument AND e.day_obs = $day_obs {{exposure_filter}}
    ORDER BY f.seq
"""

_EXPOSURES = """
    SELECT e.exposure, e.obs_id, e.seq_num, e.observation_type, e.physical_filter,
           e.target_name, e.datetime_begin, e.exposure_time,
           coalesce(r.arrived, 0) AS arrived, coalesce(r.corrected, 0) AS corrected
    FROM exposures e LEFT JOIN (
        SELECT exposure, count(*) AS arrived, count(corrected_fields) AS corrected
        FROM datasets
        WHERE dataset_type = 'raw' AND instrument = $instrument AND day_obs = $day_obs
        GROUP BY exposure
    ) r USING (exposure)
    WHERE e.instrument = $instrument AND e.day_obs = $day_obs
    ORDER BY e.exposure
"""

#: One pass over the night's arrivals: a row per minute, and the whole night (minute
#: NULL, the empty grouping set), so the join with ``datasets`` is made once.
_TIMELINE = """
    WITH night AS (
        SELECT time_bucket(INTERVAL 1 MINUTE, a.arrived_at) AS minute, a.status,
               epoch(a.recorded_at) - epoch(a.arrived_at) AS lag
        FROM arrivals a SEMI JOIN datasets d ON d.dataset_id = a.dataset_id
            AND d.instrument = $instrument AND d.day_obs = $day_obs
    )
    SELECT minute,
           count(*) FILTER (status = 'ingested'),
           count(*) FILTER (status = 'skipped'),
           quantile_cont(lag, [0.5, 0.95]) FILTER (status = 'ingested'),
           max(lag) FILTER (status = 'ingested')
    FROM night GROUP BY GROUPING SETS ((minute), ()) ORDER BY minute NULLS FIRST
"""

_INGEST_TIMES = """
    SELECT time_bucket(INTERVAL 1 MINUTE, ingested_at) AS minute, count(*) AS files
    FROM datasets
    WHERE dataset_type = 'raw' AND instrument = $instrument AND day_obs = $day_obs
    GROUP BY 1 ORDER BY 1
"""


def nights(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every (instrument, day_obs) with exposures, newest first."""
    rows = con.execute(
        "SELECT instrument, day_obs, count(*), max(datetime_begin) FROM exposures "
        "GROUP BY 1, 2 ORDER BY 4 DESC, 1"
    ).fetchall()
    return [{"instrument": i, "day_obs": d, "exposures": n} for i, d, n, _ in rows]


def night_view(
    con: duckdb.DuckDBPyConnection,
    instrument: str | None = None,
    day_obs: int | None = None,
    exposure: int | None = None,
) -> dict[str, Any]:
    """The whole first paint: the nights, one night's exposures, the map of one
    exposure (the given one, else the night's latest) and the night's timeline.

    Raises:
        LookupError: the catalog has no exposure of that instrument and day_obs.
    """
    known = nights(con)
    if not known:
        return {"nights": [], "instrument": None, "day_obs": None, "exposures": []}
    chosen = next(
        (
            n
            for n in known
            if (instrument is None or n["instrument"] == instrument)
            and (day_obs is None or n["day_obs"] == day_obs)
        ),
        None,
    )
    if chosen is None:
        raise LookupError(f"no exposures of {instrument or 'any instrument'} on day_obs {day_obs}")
    instrument, day_obs = chosen["instrument"], chosen["day_obs"]
    params = {"instrument": instrument, "day_obs": day_obs}
    expected = expected_detectors(instrument)
    failed = _failed_counts(con, params)
    exposures = [
        {
            "exposure": row[0],
            "obs_id": row[1],
            "seq_num": row[2],
            "observation_type": row[3],
            "physical_filter": row[4],
            "target_name": row[5],
            "datetime_begin": _iso(row[6]),
            "exposure_time": row[7],
            "arrived": row[8],
            "corrected": row[9],
            "failed": failed.get(row[0], 0),
            "expected": expected,
        }
        for row in con.execute(_EXPOSURES, params).fetchall()
    ]
    numbers = [e["exposure"] for e in exposures]
    selected = exposure if exposure in numbers else (numbers[-1] if numbers else None)
    return {
        "nights": known,
        "instrument": instrument,
        "day_obs": day_obs,
        "expected_detectors": expected,
        "exposures": exposures,
        "selected": selected,
        "focal_plane": None if selected is None else focal_plane(con, instrument, selected),
        "timeline": timeline(con, instrument, day_obs),
    }


def focal_plane(con: duckdb.DuckDBPyConnection, instrument: str, exposure: int) -> dict[str, Any]:
    """Each detector of one exposure with its place and state (and why, if failed).

    Raises:
        LookupError: the catalog has no such exposure.
    """
    if _day_obs(con, instrument, exposure) is None:
        raise LookupError(f"exposure {exposure} of {instrument} is not in the catalog")
    rows = con.execute(
        "SELECT detector, corrected_fields, correction, day_obs FROM datasets "
        "WHERE dataset_type = 'raw' AND instrument = $instrument AND exposure = $exposure",
        {"instrument": instrument, "exposure": exposure},
    ).fetchall()
    arrived = {detector: (fields, why) for detector, fields, why, _ in rows}
    day_obs = rows[0][3] if rows else _day_obs(con, instrument, exposure)
    failures: dict[str, tuple[str, str]] = {}
    if day_obs is not None:
        query = _FAILED_FILES.replace("{exposure_filter}", "AND e.exposure = $exposure")
        params = {"instrument": instrument, "day_obs": day_obs, "exposure": exposure}
        for _, name, status, reason, path in con.execute(query, params).fetchall():
            failures[name] = (status, f"{path}: {reason}" if reason else path)
    placed = layout(instrument) or grid_layout(sorted(arrived))
    detectors = []
    for place in placed:
        entry = place.to_dict()
        if place.detector in arrived:
            fields, why = arrived[place.detector]
            entry["state"] = "corrected" if fields else "arrived"
            if fields:
                entry["reason"] = f"corrected {fields}: {why}" if why else f"corrected {fields}"
        elif place.name in failures:
            status, reason = failures[place.name]
            entry["state"] = "failed"
            entry["reason"] = f"{status.replace('_', ' ')}: {reason}"
        else:
            entry["state"] = "missing"
        detectors.append(entry)
    counts: dict[str, int] = {"arrived": 0, "corrected": 0, "failed": 0, "missing": 0}
    for entry in detectors:
        counts[entry["state"]] += 1
    return {
        "instrument": instrument,
        "exposure": exposure,
        "counts": counts,
        "detectors": detectors,
    }


def timeline(con: duckdb.DuckDBPyConnection, instrument: str, day_obs: int) -> dict[str, Any]:
    """Files ingested per minute as they arrived (and those skipped: already there), and
    arrival -> queryable latency, when ``oods serve`` recorded arrivals; else files per
    minute as catalogued, and no latency."""
    params = {"instrument": instrument, "day_obs": day_obs}
    whole, *rows = con.execute(_TIMELINE, params).fetchall() or [None]
    if whole is not None and rows:
        _, files, _, quantiles, worst = whole
        latency = None
        if files:  # clock steps can make a lag negative: reported as 0
            p50, p95 = (max(0.0, float(q)) for q in quantiles)
            latency = {"files": files, "p50": p50, "p95": p95, "max": max(0.0, float(worst))}
        return {
            "source": "arrivals",
            "minutes": [
                {
                    "minute": _iso(m),
                    "files": n,
                    "skipped": skipped,
                    "latency_p50": q[0] if q else None,
                    "latency_max": top,
                }
                for m, n, skipped, q, top in rows
            ],
            "latency_seconds": latency,
        }
    rows = con.execute(_INGEST_TIMES, params).fetchall()
    return {
        "source": "ingested_at",
        "minutes": [{"minute": _iso(m), "files": n} for m, n in rows],
        "latency_seconds": None,
    }


def _failed_counts(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> dict[int, int]:
    """Failed detectors per exposure: distinct names that never arrived as raws."""
    query = _FAILED_FILES.replace("{exposure_filter}", "")
    failed: dict[int, set[str]] = {}
    for exposure, name, *_ in con.execute(query, params).fetchall():
        failed.setdefault(exposure, set()).add(name)
    if not failed:
        return {}
    arrived = con.execute(
        "SELECT exposure, list(detector) FROM datasets WHERE dataset_type = 'raw' "
        "AND instrument = $instrument AND list_contains($exposures, exposure) GROUP BY 1",
        {"instrument": params["instrument"], "exposures": list(failed)},
    ).fetchall()
    names = {p.detector: p.name for p in layout(str(params["instrument"]))}
    present = {e: {names.get(d) for d in detectors} for e, detectors in arrived}
    return {e: len(n - present.get(e, set())) for e, n in failed.items()}


def _day_obs(con: duckdb.DuckDBPyConnection, instrument: str, exposure: int) -> int | None:
    row = con.execute(
        "SELECT day_obs FROM exposures WHERE instrument = $instrument AND exposure = $exposure",
        {"instrument": instrument, "exposure": exposure},
    ).fetchone()
    return None if row is None else int(row[0])


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else None
