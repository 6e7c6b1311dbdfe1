"""How much of the bucket is in each retention class, and the oldest object of each.

Read from one listing that carries the tags (see ``oods.minio_extensions``), not from the
catalog: the class lives in the tag, which is what the lifecycle rules obey, so the
listing is the truth. The catalog's own files (untagged) are counted apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from .lifecycle import expected_expiry
from .minio_extensions import list_tagged
from .retention_classes import RetentionSettings
from .retention_tags import retention_class
from .site import Site

#: The row of objects that carry no class: the catalog's files, or foreign objects.
UNTAGGED = "(untagged)"


@dataclasses.dataclass
class ClassUsage:
    """One class: its objects, their bytes, and its oldest object."""

    name: str
    objects: int = 0
    bytes: int = 0
    oldest_key: str | None = None
    oldest_modified: dt.datetime | None = None
    expires_after: str = "never"  # "30 days", "2020-01-01", "never", "unknown class"
    oldest_expires: dt.datetime | None = None


@dataclasses.dataclass
class RetentionStatus:
    """Every class found in the bucket or configured, in a stable order."""

    classes: list[ClassUsage]

    @property
    def total_bytes(self) -> int:
        return sum(c.bytes for c in self.classes)

    def to_dict(self) -> dict[str, Any]:
        return {"classes": [dataclasses.asdict(c) for c in self.classes]}


def retention_status(site: Site, settings: RetentionSettings) -> RetentionStatus:
    """Count the bucket's objects and bytes per class (one tagged listing)."""
    usage: dict[str, ClassUsage] = {}
    for obj in list_tagged(site.config, site.s3):
        name = retention_class(obj.tags) or UNTAGGED
        entry = usage.setdefault(name, ClassUsage(name))
        entry.objects += 1
        entry.bytes += obj.size
        if entry.oldest_modified is None or obj.last_modified < entry.oldest_modified:
            entry.oldest_key, entry.oldest_modified = obj.key, obj.last_modified
    for name in ("hold", "pinned", *settings.classes):
        usage.setdefault(name, ClassUsage(name))
    for entry in usage.values():
        age = settings.classes.get(entry.name)
        if age is None:
            known = entry.name in ("hold", "pinned", UNTAGGED)
            entry.expires_after = "never" if known else "unknown class (no rule)"
            continue
        entry.expires_after = f"{age} days" if isinstance(age, int) else f"{age:%Y-%m-%d}"
        if entry.oldest_modified is not None:
            entry.oldest_expires = expected_expiry(entry.oldest_modified, age)
    order = {"hold": 0, "pinned": 1, UNTAGGED: 3}
    return RetentionStatus(sorted(usage.values(), key=lambda c: (order.get(c.name, 2), c.name)))
