"""A site: one bucket on one S3 endpoint, holding both the files and their catalog."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.exceptions
import duckdb

from catalog import CatalogStore, Corrections, Snapshot, load_corrections
from catalog.index import CatalogIndex
from catalog.lazy_tables import SnapshotMode

from . import _s3
from .catalog_objects import BucketObjects
from .config import SERVER_STATE, SiteConfig, load_config
from .errors import ConfigError, SiteNotFound, SiteUnavailable, StorageError


class Site:
    """An open site. Any process given the same config sees the same files and catalog.

    Example:
        >>> site = Site.open(create=False)          # the embedded default, read-only use
        >>> site.sql("SELECT count(*) FROM datasets").fetchall()
    """

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.s3: Any = _s3.make_client(config)
        #: The calls made once per file or commit, signed and sent without boto3.
        self.objects = BucketObjects(config)
        self.store = CatalogStore(
            config.catalog_root, config.storage_options(), objects=self.objects
        )
        #: What ingest looks up before committing, followed from the log (see
        #: ``catalog.index``): keep one Site open to write a stream of files cheaply.
        self.index = CatalogIndex(self.store)
        self._snapshot: Snapshot | None = None
        self._stale = False  # refresh the snapshot before its next query
        self._corrections: Corrections | None = None

    def close(self) -> None:
        """Release the snapshot's DuckDB connection and the kept Delta tables.

        Their native threads (Arrow, DuckDB, deltalake) must stop while the interpreter
        is still whole: left to its final teardown they can abort the process ("terminate
        called without an active exception") after the work is done. The site can be
        used again afterwards; it reopens what it needs.
        """
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None
        self.store.close()
        gc.collect()  # joins scanner threads whose last reference just went

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Site(bucket={self.bucket!r}, endpoint={self.config.endpoint!r})"

    @classmethod
    def open(cls, config: SiteConfig | None = None, create: bool = True) -> Site:
        """Open a site (from ``load_config()`` when no config is given).

        ``create=False`` opens for reading only: the site must exist, so a mistyped
        bucket name is an error rather than a new, empty site answering 0 rows. Every
        reading command (``oods query``, ``ls``, ``url`` …) opens so. The default stays
        ``create=True`` because scripts and notebooks that ingest rely on it; a notebook
        that only reads should pass ``create=False``.

        Args:
            create: create the bucket and the catalog tables if they are missing.

        Raises:
            ConfigError: no usable configuration.
            SiteNotFound: the bucket does not exist and ``create`` is False.
            SiteUnavailable: the endpoint does not answer (the server is stopped?).
            StorageError: the endpoint refuses us (e.g. wrong credentials).
        """
        site = cls(config or load_config())
        exists = site._bucket_exists()
        if create:
            if not exists:
                _s3.ensure_bucket(site.s3, site.bucket)
            site.store.create()
        elif not exists:
            raise SiteNotFound(
                f"site {site.bucket!r} at {site.config.endpoint} does not exist (nothing "
                f"ingested yet? `oods ingest` creates it; or check the bucket named by "
                f"{site.config.source} and $OODS_BUCKET)"
            )
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

    def snapshot(
        self,
        as_of: dt.datetime | int | None = None,
        allow_local_files: bool = False,
        mode: SnapshotMode | None = None,
    ) -> Snapshot:
        """A new, read-only SQL snapshot of the catalog: the latest, or as of a time or
        version. ``allow_local_files`` lets its queries read local files; ``mode`` is
        ``"memory"`` or ``"lazy"`` (by default the catalog's size chooses, see
        ``catalog.Snapshot``)."""
        return Snapshot(self.store, as_of, allow_local_files=allow_local_files, mode=mode)

    def sql(self, query: str, params: object = None) -> duckdb.DuckDBPyRelation:
        """Run SQL on this site's latest catalog, loaded once and kept until ``refresh()``.

        Read-only: SQL that would change the loaded tables raises ReadOnlyQueryError.
        """
        return self._loaded_snapshot().sql(query, params)

    def dataset_id_condition(
        self, dataset_id: str, alias: str = ""
    ) -> tuple[str, dict[str, object]]:
        """A condition selecting one dataset id in ``sql()``'s snapshot, pruned by the
        dataset index when lazy (see ``catalog.Snapshot.dataset_id_condition``)."""
        return self._loaded_snapshot().dataset_id_condition(dataset_id, alias)

    def dataset_ids_condition(
        self, dataset_ids: Sequence[str], alias: str = ""
    ) -> tuple[str, dict[str, object]]:
        """``dataset_id_condition`` for several ids."""
        return self._loaded_snapshot().dataset_ids_condition(dataset_ids, alias)

    def refresh(self, lazily: bool = False) -> None:
        """Make ``sql()`` see the latest commit; ``lazily``: when next queried (for a
        writer that need not read back what it just wrote: it may never be asked)."""
        if self._snapshot is None:
            return
        self._stale = lazily
        if not lazily:
            self._snapshot.refresh()

    def _loaded_snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = self.snapshot()
        elif self._stale:
            self._snapshot.refresh()
        self._stale = False
        return self._snapshot

    def presigned_url(self, key: str, expires: int = 3600) -> str:
        """A plain-HTTP GET URL for ``key``, valid ``expires`` seconds, for any client."""
        return str(
            self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
            )
        )

    def _bucket_exists(self) -> bool:
        """Whether the site's bucket exists; SiteUnavailable if nobody answers."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
            return True
        except botocore.exceptions.ClientError as exc:
            if _s3.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise StorageError(self.bucket, _s3.describe(exc)) from exc
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            embedded = Path(self.config.source).name == SERVER_STATE
            how = (
                "start it with `oods up`"
                if embedded
                else "is its S3 server running? (check the endpoint)"
            )
            raise SiteUnavailable(
                f"site {self.bucket!r} is configured ({self.config.source}) but "
                f"{self.config.endpoint} is not answering: {how}"
            ) from exc
