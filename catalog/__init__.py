"""What the data is: records, header translation, the snapshot tables and SQL over them,
calibration certification and lookup, and provenance.

The catalog knows nothing of S3 beyond where its tables live (a URI and deltalake
``storage_options``).
"""

from .calibrations import (
    CertificationRequest,
    CertifyReport,
    DecertifyReport,
    certify,
    decertify,
)
from .certification_files import ImportReport, RejectedRow, import_certifications
from .errors import (
    CalibrationNotFound,
    CatalogCommitError,
    CatalogError,
    CatalogReadError,
    CertificationFileError,
    CorrectionFileError,
    HeaderError,
    IdentityConflict,
    MissingHeaderKeyError,
    NotFitsError,
    UnknownDatasetError,
    UnknownInstrumentError,
    ValidityError,
    ValidityOverlapError,
)
from .headers import read_header, read_primary_header, translate_header
from .ids import FILTER_CALIBRATIONS, calibration_data_id, dataset_id
from .lookup import CalibrationMatch, find_calibration, find_calibrations, list_certifications
from .provenance import input_closure, record_provenance
from .query import Snapshot
from .record_corrections import (
    CORRECTABLE_FIELDS,
    RAW_COLUMNS,
    RAW_FIELDS,
    FieldChange,
    RecordCorrection,
    RecordsReport,
    Rejected,
    correct_records,
    corrections_from_translation,
    read_correction_table,
)
from .records import (
    CertificationRecord,
    DatasetRecord,
    DetectorRecord,
    ExposureRecord,
    LocationRecord,
    ProvenanceRecord,
    Translation,
    arrow_schema,
    to_arrow,
)
from .schema_versions import SchemaVersionError
from .tables import TABLES, CatalogStore, TableSpec
from .translators.corrections import Corrections, load_corrections

__all__ = [
    "CORRECTABLE_FIELDS",
    "FILTER_CALIBRATIONS",
    "RAW_COLUMNS",
    "RAW_FIELDS",
    "TABLES",
    "CalibrationMatch",
    "CalibrationNotFound",
    "CatalogCommitError",
    "CatalogError",
    "CatalogReadError",
    "CatalogStore",
    "CertificationFileError",
    "CertificationRecord",
    "CertificationRequest",
    "CertifyReport",
    "CorrectionFileError",
    "Corrections",
    "DatasetRecord",
    "DecertifyReport",
    "DetectorRecord",
    "ExposureRecord",
    "FieldChange",
    "HeaderError",
    "IdentityConflict",
    "ImportReport",
    "LocationRecord",
    "MissingHeaderKeyError",
    "NotFitsError",
    "ProvenanceRecord",
    "RecordCorrection",
    "RecordsReport",
    "Rejected",
    "RejectedRow",
    "SchemaVersionError",
    "Snapshot",
    "TableSpec",
    "Translation",
    "UnknownDatasetError",
    "UnknownInstrumentError",
    "ValidityError",
    "ValidityOverlapError",
    "arrow_schema",
    "calibration_data_id",
    "certify",
    "correct_records",
    "corrections_from_translation",
    "dataset_id",
    "decertify",
    "find_calibration",
    "find_calibrations",
    "import_certifications",
    "input_closure",
    "list_certifications",
    "load_corrections",
    "read_correction_table",
    "read_header",
    "read_primary_header",
    "record_provenance",
    "to_arrow",
    "translate_header",
]
