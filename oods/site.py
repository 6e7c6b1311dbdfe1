"""A site: one bucket on one S3 endpoint, holding both the files and their catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from catalog import CatalogStore, Corrections, Snapshot, load_corrections

from . import _s3
from .config import SiteConfig, load_config
from .errors import ConfigError


class Site:
    """An open site. Any process given the same config sees the same files and catalog.

    Example:
        >>> site = Site.open()                      # the embedded default
        >>> site.sql("SELECT count(*) FROM datasets").fetchall()
    """

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.s3: Any = _s3.make_client(config)
        self.store = CatalogStore(config.catalog_root, config.storage_options())
        self._snapshot: Snapshot | None = None
        self._corrections: Corrections | None = None

    @classmethod
    def open(cls, config: SiteConfig | None = None, create: bool = True) -> Site:
        """Open a site (from ``load_config()`` when no config is given).

        Args:
            create: create the bucket and the catalog tables if they are missing.

        Raises:
            ConfigError: no usable configuration.
            StorageError: the endpoint cannot be reached or refuses us.
        """
        site = cls(config or load_config())
        if create:
            _s3.ensure_bucket(site.s3, site.bucket)
            site.store.create()
        return site

    @property
    def bucket(self) -> str:
        return self.config.bucket

    @property
    def corrections(self) -> Corrections | None:
        """The header corrections named in the config (loaded once), or None."""
        if self.config.corrections is None:
            return None
        if self._corrections is None:
            try:
                self._corrections = load_corrections(self.config.corrections)
            except FileNotFoundError as exc:
                raise ConfigError(f"{self.config.source}: {exc}") from None
        return self._corrections

    def snapshot(self, as_of: dt.datetime | int | None = None) -> Snapshot:
        """A new SQL snapshot of the catalog: the latest, or as of a time or version."""
        return Snapshot(self.store, as_of)

    def sql(self, query: str, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run SQL on this site's latest catalog, loaded once and kept until ``refresh()``."""
        if self._snapshot is None:
            self._snapshot = self.snapshot()
        return self._snapshot.sql(query, params)

    def refresh(self) -> None:
        """Make ``sql()`` see the latest commit."""
        if self._snapshot is not None:
            self._snapshot.refresh()

    def presigned_url(self, key: str, expires: int = 3600) -> str:
        """A plain-HTTP GET URL for ``key``, valid ``expires`` seconds, for any client."""
        return str(
            self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
            )
        )
