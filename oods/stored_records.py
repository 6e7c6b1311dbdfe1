"""What ingest does when a header disagrees with the records already stored.

The rule: a stored exposure record is never rewritten by a header. A later raw whose
header disagrees is still ingested, and the disagreement is reported: the first record
of an exposure stands, or, once the exposure was corrected (``oods records update``),
the corrected record stands and the raw's own fields (``physical_filter``) follow the
correction. A raw catalogued again after its own correction keeps that correction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

from catalog import RAW_COLUMNS, RAW_FIELDS, DatasetRecord, ExposureRecord

from .site import Site


class Warnings(Protocol):
    """Where disagreements are reported (an ``IngestReport``)."""

    warnings: list[str]


def new_exposures(
    site: Site, records: list[ExposureRecord], report: Warnings
) -> tuple[list[ExposureRecord], dict[tuple[str, int], ExposureRecord]]:
    """Exposure records not yet in the catalog, and the stored records of the others.

    A header that disagrees with the stored record (or with the batch's first record
    of a new exposure) is reported and changes nothing: the stored record stands.
    """
    batch: dict[tuple[str, int], ExposureRecord] = {}
    for record in records:
        key = (record.instrument, record.exposure)
        first = batch.setdefault(key, record)
        # Equal records (the usual case: one exposure's files) need no closer look.
        if record != first and header_facts(first) != header_facts(record):
            report.warnings.append(mismatch(first, record))
    rows = site.index.exposures(batch)
    fields = [f.name for f in dataclasses.fields(ExposureRecord)]
    stored = {
        key: ExposureRecord(**{name: row[name] for name in fields}) for key, row in rows.items()
    }
    fresh = []
    for key, record in batch.items():
        if key not in stored:
            fresh.append(record)
        elif header_facts(stored[key]) != header_facts(record):
            report.warnings.append(mismatch(stored[key], record, stored=True))
    return fresh, {key: stored[key] for key in batch if key in stored}


def mismatch(kept: ExposureRecord, other: ExposureRecord, stored: bool = False) -> str:
    kept_facts, other_facts = header_facts(kept), header_facts(other)
    fields = [
        f.name
        for f in dataclasses.fields(ExposureRecord)
        if getattr(kept_facts, f.name) != getattr(other_facts, f.name)
    ]
    shown = ", ".join(
        f"{f}: kept {getattr(kept, f)!r}, header says {getattr(other, f)!r}" for f in fields
    )
    if kept.correction:
        rule = f"the corrected record stands (corrected {kept.corrected_fields}: {kept.correction})"
    else:
        rule = "the stored record stands" if stored else "the first record stands"
    return f"exposure {kept.instrument} {kept.exposure}: headers disagree ({shown}); {rule}"


def header_facts(record: ExposureRecord) -> ExposureRecord:
    """The record without OODS's own notes, to compare what two headers say."""
    return dataclasses.replace(record, corrected_cards=None, corrected_fields=None, correction=None)


def follow_corrections(
    site: Site,
    records: list[DatasetRecord],
    exposures: Mapping[tuple[str, int], ExposureRecord],
    report: Warnings,
) -> list[DatasetRecord]:
    """Raw rows whose header facts follow the corrections stored before them.

    A raw of a corrected exposure takes the corrected values of the fields raws carry
    (``physical_filter``); a raw catalogued again (a retry after a crash) keeps its
    own correction. Headers that disagree are reported in ``report.warnings``.
    """
    ids = [r.dataset_id for r in records if (r.instrument, r.exposure) in exposures]
    own = corrected_datasets(site, ids) if ids else {}
    followed = []
    for record in records:
        exposure = exposures.get((record.instrument, record.exposure or 0))
        values: dict[str, object] = {}
        note = None
        if exposure is not None and exposure.corrected_fields:
            corrected = set(exposure.corrected_fields.split(",")) & set(RAW_FIELDS)
            values = {RAW_COLUMNS[f]: getattr(exposure, f) for f in sorted(corrected)}
            values = {c: v for c, v in values.items() if getattr(record, c) != v}
            note = f"follows exposure {record.exposure}: {exposure.correction}"
        previous = own.get(record.dataset_id)
        if previous is not None:
            corrected = set(str(previous["corrected_fields"]).split(",")) & set(RAW_FIELDS)
            own_values = {RAW_COLUMNS[f]: previous[RAW_COLUMNS[f]] for f in sorted(corrected)}
            values.update(own_values)
            note = str(previous["correction"])
            for f, v in own_values.items():
                if getattr(record, f) != v:
                    report.warnings.append(
                        f"dataset {record.dataset_id} (exposure {record.exposure} detector "
                        f"{record.detector}): header says {f} {getattr(record, f)!r}, its "
                        f"corrected record {v!r}; the correction stands ({note})"
                    )
        if values:
            fields = [f for f in RAW_FIELDS if RAW_COLUMNS[f] in values]
            record = dataclasses.replace(
                record, **values, corrected_fields=",".join(fields), correction=note
            )
        followed.append(record)
    return followed


def corrected_datasets(site: Site, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    """The latest corrected rows among these datasets (most have none)."""
    return site.index.corrected(set(ids))
