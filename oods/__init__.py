"""The site: bucket I/O, ingest, and the ``oods`` command line."""

from .config import SiteConfig, load_config
from .errors import ConfigError, IngestRejected, OodsError, StorageError
from .ingest import FileResult, IngestReport, find_files, ingest
from .simulate import Night, simulate_night
from .site import Site

__all__ = [
    "ConfigError",
    "FileResult",
    "IngestRejected",
    "IngestReport",
    "Night",
    "OodsError",
    "Site",
    "SiteConfig",
    "StorageError",
    "find_files",
    "ingest",
    "load_config",
    "simulate_night",
]
