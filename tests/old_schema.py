"""A site's catalog put back to schema version 1, as OODS wrote it before versions.

A real Delta rewrite of the tables that changed (datasets: ``physical_filter``;
exposures: no ``band``; locations: no ``instrument``, ``day_obs``, ``exposure``),
recorded as version 1: what a site not yet migrated holds.
"""

from __future__ import annotations

from deltalake import DeltaTable, write_deltalake

from catalog.schema_versions import SCHEMA_VERSION_KEY
from oods import Site


def set_version(site: Site, table: str, version: int) -> None:
    """Record ``version`` as ``table``'s schema version (its rows unchanged)."""
    delta = DeltaTable(site.store.uri(table), storage_options=dict(site.store.storage_options))
    delta.alter.set_table_properties({SCHEMA_VERSION_KEY: str(version)}, raise_if_not_exists=False)


def make_version_1(site: Site) -> None:
    """Rewrite ``site``'s datasets, exposures and locations in their version 1 schema."""
    options = dict(site.store.storage_options)
    datasets = site.store.load("datasets")
    datasets = datasets.rename_columns(
        ["physical_filter" if n == "dataset_filter" else n for n in datasets.column_names]
    )
    exposures = site.store.load("exposures").drop_columns(["band"])
    locations = site.store.load("locations").drop_columns(["instrument", "day_obs", "exposure"])
    site.store.close()
    for table, rows in (("datasets", datasets), ("exposures", exposures), ("locations", locations)):
        uri = site.store.uri(table)
        write_deltalake(
            uri, rows, mode="overwrite", schema_mode="overwrite", storage_options=options
        )
        set_version(site, table, 1)
    site.refresh()
