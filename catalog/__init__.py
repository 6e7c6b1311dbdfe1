"""What the data is: records, header translation, the snapshot tables and SQL over them.

The catalog knows nothing of S3 beyond where its tables live (a URI and deltalake
``storage_options``).
"""

from .errors import (
    CatalogCommitError,
    CatalogError,
    CatalogReadError,
    HeaderError,
    IdentityConflict,
    MissingHeaderKeyError,
    NotFitsError,
    UnknownInstrumentError,
)
from .headers import read_header, translate_header
from .ids import dataset_id
from .query import Snapshot
from .records import (
    DatasetRecord,
    DetectorRecord,
    ExposureRecord,
    LocationRecord,
    Translation,
    arrow_schema,
    to_arrow,
)
from .tables import TABLES, CatalogStore, TableSpec
from .translators.corrections import Corrections, load_corrections

__all__ = [
    "TABLES",
    "CatalogCommitError",
    "CatalogError",
    "CatalogReadError",
    "CatalogStore",
    "Corrections",
    "DatasetRecord",
    "DetectorRecord",
    "ExposureRecord",
    "HeaderError",
    "IdentityConflict",
    "LocationRecord",
    "MissingHeaderKeyError",
    "NotFitsError",
    "Snapshot",
    "TableSpec",
    "Translation",
    "UnknownInstrumentError",
    "arrow_schema",
    "dataset_id",
    "load_corrections",
    "read_header",
    "to_arrow",
    "translate_header",
]
