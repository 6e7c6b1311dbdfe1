"""Lazy ``files`` with location rows that carry their dataset's night and exposure.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/location_join.py                    # 2 nights, 410,000 raws
    .venv/bin/python tests/bench/location_join.py --size 1e6 --repeats 9 --data /tmp/oods-lj

The catalog is ``scale.py``'s (full LSSTCam nights written straight into a real MinIO,
with certified bias, dark and flat masters), plus a present location for every master,
so that the calibrations' branch of the join has rows. One lazy snapshot then answers
each query through two views over the same tables: the baseline joins locations to
datasets on ``dataset_id`` alone (``files`` before ``locations`` schema version 2), the
other is the snapshot's own ``files``. The two are timed alternately in the same
process; each figure is the median of ``--repeats`` warm runs, as a ratio to the
baseline. The machine is shared: expect noise, and compare ratios rather than times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from catalog import LocationRecord, Snapshot, to_arrow  # noqa: E402
from catalog.lazy_tables import INVARIANT_COLUMNS  # noqa: E402
from oods import Site  # noqa: E402
from tests.bench.kept_server import kept_server  # noqa: E402
from tests.bench.run_info import command_line, finished, header, machine  # noqa: E402
from tests.bench.scale import COLUMNS, prepare  # noqa: E402

#: ``files`` as a lazy snapshot defined it before locations carried the dataset's values.
_BASELINE = (
    "SELECT * EXCLUDE (state) FROM ("
    "SELECT d.*, l.key, l.size, l.checksum, l.file_name, l.state, l.recorded_at AS stored_at "
    "FROM locations_history l JOIN datasets d USING (dataset_id) "
    "QUALIFY row_number() OVER (PARTITION BY d.dataset_id, {invariant} "
    "ORDER BY l.recorded_at DESC) = 1) WHERE state = 'present'"
)


def add_master_locations(site: Site) -> int:
    """A present location row for every master that has none (once per catalog)."""
    site.refresh()
    masters = site.sql(
        "SELECT dataset_id, instrument FROM datasets WHERE exposure IS NULL "
        "AND dataset_id NOT IN (SELECT dataset_id FROM locations_history)"
    ).fetchall()
    now = dt.datetime.now(dt.UTC)
    rows = [
        LocationRecord(
            i, instrument, None, None, f"calib/{i}", 1, "0" * 64, "m.fits", "present", now
        )
        for i, instrument in masters
    ]
    if rows:
        site.store.append("locations", to_arrow(rows, LocationRecord))
    return len(rows)


def measure(site: Site, repeats: int) -> dict[str, dict[str, float]]:
    """Median warm latency (ms) of each query through both views."""
    snapshot = Snapshot(site.store, mode="lazy")
    invariant = ", ".join(f"d.{c}" for c in INVARIANT_COLUMNS["datasets"])
    baseline = _BASELINE.format(invariant=invariant)
    snapshot.connection.execute(f"CREATE VIEW files_baseline AS {baseline}")
    ((night, exposure),) = snapshot.sql(
        "SELECT max(day_obs), max(exposure) FROM datasets WHERE day_obs = "
        "(SELECT max(day_obs) FROM datasets)"
    ).fetchall()
    ((raw,),) = snapshot.sql(
        "SELECT dataset_id FROM datasets WHERE exposure IS NOT NULL ORDER BY hash(dataset_id) "
        "LIMIT 1"  # not the table's first or last id, which file statistics single out
    ).fetchall()
    ((master,),) = snapshot.sql(
        "SELECT min(dataset_id) FROM datasets WHERE exposure IS NULL"
    ).fetchall()
    queries = {
        "one exposure": ("exposure = $1", exposure),
        "one night (Arrow)": ("day_obs = $1", night),
        "one raw by id, no index": ("dataset_id = $1", raw),
        "one master by id, no index": ("dataset_id = $1", master),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (where, value) in queries.items():
        times: dict[str, list[float]] = {"files_baseline": [], "files": []}
        answers = {}
        for _ in range(repeats + 1):  # the first run of each is not counted (cold)
            for view, runs in times.items():
                started = time.perf_counter()
                got = snapshot.sql(f"SELECT {COLUMNS} FROM {view} WHERE {where}", [value])
                answers[view] = got.to_arrow_table().num_rows
                runs.append((time.perf_counter() - started) * 1e3)
        if answers["files"] != answers["files_baseline"] or not answers["files"]:
            raise SystemExit(f"{name}: the views disagree or found nothing: {answers}")
        results[name] = {view: statistics.median(runs[1:]) for view, runs in times.items()}
        results[name]["rows"] = answers["files"]
        print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
    snapshot.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=4.1e5, help="raws in the catalog")
    parser.add_argument("--repeats", type=int, default=7, help="warm runs per query and view")
    parser.add_argument("--data", type=Path, help="keep MinIO's data here (reused next run)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oods-lj-") as tmp:
        server = kept_server(args.data or Path(tmp), keep=args.data is not None)
        info = machine()
        server.start()
        try:
            config, _ = prepare(server, int(args.size))
            site = Site.open(config)
            add_master_locations(site)
            results = measure(site, args.repeats)
            site.close()
        finally:
            server.stop()
    finished(info)
    print("\n".join(header(command_line(), info)))
    print(f"{'query':<28}{'rows':>9}{'baseline':>12}{'files':>12}{'ratio':>8}")
    for name, figures in results.items():
        base, now = figures["files_baseline"], figures["files"]
        print(f"{name:<28}{figures['rows']:>9,.0f}{base:>10.1f}ms{now:>10.1f}ms{now / base:>8.2f}")
    print("(ratio: files / baseline, medians of warm runs in the same process)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
