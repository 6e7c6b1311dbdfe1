"""The ``obscore`` view: the present raws and calibrations as IVOA ObsCore 1.1 rows.

Image services (TAP, SIA) and VO tools query ObsCore, so every snapshot carries it
beside ``files``. Values follow lsst-dax-obscore's choices for Rubin's cameras where it
makes one: ``dataproduct_type`` image, ``calib_level`` 1 for raws (2 for master
calibrations), ``em_filter_name`` the band, ``facility_name`` ``Rubin:Simonyi`` for
LSSTCam and LSSTComCam (``Rubin:1.2m`` for LATISS), ``obs_publisher_did`` an IVOA
identifier holding the dataset id. Times are MJD (UTC), wavelengths metres, angles
degrees, sizes kB. ``s_region`` and ``s_fov`` need each detector's WCS, which OODS does
not keep: they are NULL, and ``s_ra``/``s_dec`` are the telescope's tracking position.

``access_url`` is the object's plain ``s3://bucket/key`` URL (``oods obscore --presign``
turns it into a presigned HTTP URL).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from .query import Snapshot

#: ObsCore 1.1's mandatory columns, in the standard's order, then OODS's own.
OBSCORE_COLUMNS = (
    "dataproduct_type",
    "calib_level",
    "obs_collection",
    "obs_id",
    "obs_publisher_did",
    "access_url",
    "access_format",
    "access_estsize",
    "target_name",
    "s_ra",
    "s_dec",
    "s_fov",
    "s_region",
    "s_resolution",
    "s_xel1",
    "s_xel2",
    "t_min",
    "t_max",
    "t_exptime",
    "t_resolution",
    "t_xel",
    "em_min",
    "em_max",
    "em_res_power",
    "em_xel",
    "o_ucd",
    "pol_states",
    "pol_xel",
    "facility_name",
    "instrument_name",
    "em_filter_name",
    "dataset_id",
    "dataset_type",
    "exposure",
    "detector",
    "day_obs",
    "physical_filter",
    "band",
    "key",
)

#: The publisher part of ``obs_publisher_did``.
PUBLISHER = "ivo://org.rubinobs/oods"

#: The band of a physical filter, as obs_lsst names them (``r_57``, ``SDSSr_65mm~empty``).
BAND_SQL = """CASE
    WHEN {f} IS NULL THEN NULL
    WHEN regexp_matches({f}, '^(SDSS)?[ugrizy](_|~|$)')
        THEN regexp_extract({f}, '^(?:SDSS)?([ugrizy])', 1)
    WHEN regexp_matches({f}, '^(empty|none)~(SDSS)?[ugrizy](_|~|$)')
        THEN regexp_extract({f}, '^(?:empty|none)~(?:SDSS)?([ugrizy])', 1)
    WHEN {f} IN ('empty', 'none', 'empty~empty') THEN 'white'
    ELSE {f} END"""

#: Each band's wavelength range in metres (LSST filter curves at half maximum).
_BAND_RANGES = {
    "u": (320e-9, 400e-9),
    "g": (400e-9, 552e-9),
    "r": (552e-9, 691e-9),
    "i": (691e-9, 818e-9),
    "z": (818e-9, 922e-9),
    "y": (948e-9, 1060e-9),
}


def _band_range(column: str, index: int) -> str:
    cases = " ".join(f"WHEN '{b}' THEN {r[index]!r}" for b, r in _BAND_RANGES.items())
    return f"CASE {column} {cases} ELSE NULL END"


def objects_url(catalog_root: str) -> str:
    """Where the objects are, from the catalog's root: ``s3://bucket`` for a catalog in a
    bucket, else the folder the catalog sits in."""
    parsed = urllib.parse.urlparse(catalog_root)
    if parsed.scheme in ("s3", "s3a", "gs", "az"):
        return f"{parsed.scheme}://{parsed.netloc}"
    return catalog_root.rstrip("/").rsplit("/", 1)[0]


def obscore_view_sql(catalog_root: str) -> str:
    """``CREATE OR REPLACE VIEW obscore`` over the snapshot's ``files`` and ``exposures``."""
    base = objects_url(catalog_root).replace("'", "''")
    band = BAND_SQL.format(f="f.dataset_filter")
    return f"""CREATE OR REPLACE VIEW obscore AS
SELECT
    'image' AS dataproduct_type,
    CASE WHEN f.dataset_type = 'raw' THEN 1 ELSE 2 END AS calib_level,
    f.run AS obs_collection,
    coalesce(e.obs_id, f.dataset_id) AS obs_id,
    '{PUBLISHER}?id=' || f.dataset_id AS obs_publisher_did,
    '{base}/' || f.key AS access_url,
    'image/fits' AS access_format,
    CAST(ceil(f.size / 1024.0) AS BIGINT) AS access_estsize,
    e.target_name AS target_name,
    e.tracking_ra AS s_ra,
    e.tracking_dec AS s_dec,
    CAST(NULL AS DOUBLE) AS s_fov,
    CAST(NULL AS VARCHAR) AS s_region,
    CAST(NULL AS DOUBLE) AS s_resolution,
    CAST(NULL AS BIGINT) AS s_xel1,
    CAST(NULL AS BIGINT) AS s_xel2,
    epoch_us(e.datetime_begin) / 86400e6 + 40587.0 AS t_min,
    epoch_us(e.datetime_end) / 86400e6 + 40587.0 AS t_max,
    e.exposure_time AS t_exptime,
    e.exposure_time AS t_resolution,
    CAST(NULL AS BIGINT) AS t_xel,
    {_band_range("f.band", 0)} AS em_min,
    {_band_range("f.band", 1)} AS em_max,
    CAST(NULL AS DOUBLE) AS em_res_power,
    CAST(NULL AS BIGINT) AS em_xel,
    'phot.count' AS o_ucd,
    CAST(NULL AS VARCHAR) AS pol_states,
    CAST(NULL AS BIGINT) AS pol_xel,
    CASE f.instrument WHEN 'LATISS' THEN 'Rubin:1.2m' ELSE 'Rubin:Simonyi' END
        AS facility_name,
    f.instrument AS instrument_name,
    f.band AS em_filter_name,
    f.dataset_id,
    f.dataset_type,
    f.exposure,
    f.detector,
    f.day_obs,
    f.dataset_filter AS physical_filter,
    f.band,
    f.key
FROM (SELECT *, {band} AS band FROM files f) f
LEFT JOIN exposures e ON e.instrument = f.instrument AND e.exposure = f.exposure"""


#: Formats ``write_obscore`` writes.
FORMATS = ("csv", "parquet", "votable")


def select_obscore(snapshot: Snapshot, where: str | None = None) -> pa.Table:
    """The ``obscore`` rows ``where`` selects (a SQL predicate over its columns), as Arrow.

    Raises:
        ReadOnlyQueryError, duckdb.Error: ``where`` is not a valid read-only predicate.
    """
    predicate = f" WHERE ({where})" if where and where.strip() else ""
    query = f"SELECT * FROM obscore{predicate} ORDER BY obs_collection, obs_id, detector"
    return snapshot.sql(query).to_arrow_table()


def write_obscore(table: pa.Table, destination: BinaryIO | Path, fmt: str) -> None:
    """Write ObsCore rows as CSV, Parquet or a VOTable (astropy writes it, with the
    ObsCore UCDs and units a VO client reads)."""
    if fmt == "csv":
        pa_csv.write_csv(table, destination)
    elif fmt == "parquet":
        pq.write_table(table, destination)
    elif fmt == "votable":
        _votable(table).write(destination, format="votable")
    else:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


#: Units and UCDs of the ObsCore columns that have them (ObsCore 1.1, table 6).
_UNITS = {
    "access_estsize": "kbyte",
    "s_ra": "deg",
    "s_dec": "deg",
    "s_fov": "deg",
    "s_resolution": "arcsec",
    "t_min": "d",
    "t_max": "d",
    "t_exptime": "s",
    "t_resolution": "s",
    "em_min": "m",
    "em_max": "m",
}
_UCDS = {
    "dataproduct_type": "meta.code.class",
    "calib_level": "meta.code;obs.calib",
    "obs_collection": "meta.id",
    "obs_id": "meta.id",
    "obs_publisher_did": "meta.ref.ivoid",
    "access_url": "meta.ref.url",
    "access_format": "meta.code.mime",
    "s_ra": "pos.eq.ra",
    "s_dec": "pos.eq.dec",
    "t_min": "time.start;obs.exposure",
    "t_max": "time.end;obs.exposure",
    "t_exptime": "time.duration;obs.exposure",
    "em_min": "em.wl;stat.min",
    "em_max": "em.wl;stat.max",
    "facility_name": "meta.id;instr.tel",
    "instrument_name": "meta.id;instr",
    "em_filter_name": "meta.id;instr.filter",
}


def _votable(table: pa.Table) -> Any:
    from astropy.table import MaskedColumn, Table

    columns = []
    for name in table.column_names:
        values = table.column(name).to_pylist()
        mask = [v is None for v in values]
        kind = table.schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_null(kind):
            filled: list[Any] = ["" if v is None else v for v in values]
        elif pa.types.is_floating(kind):
            filled = [float("nan") if v is None else v for v in values]
        else:
            filled = [0 if v is None else v for v in values]
        column = MaskedColumn(filled, name=name, mask=mask, unit=_UNITS.get(name))
        if name in _UCDS:
            column.meta["ucd"] = _UCDS[name]
        columns.append(column)
    return Table(columns)
