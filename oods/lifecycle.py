"""The bucket's lifecycle rules that expire each retention class, installed idempotently.

Each expiring class becomes one rule, ``oods-<class>``, filtered on the tag
``oods-retention=<class>``: a rule always requires the tag, so an untagged object (the
catalog's own files) or one in ``hold`` / ``pinned`` never matches. Rules whose id does
not start with ``oods-`` belong to someone else and are kept as they are.

MinIO counts a rule's days from the object's modification time (its upload), rounded up
to the next midnight UTC; re-tagging an object does not change that time. So an object
released into ``cache = 30`` after 40 days in ``hold`` is overdue at once and goes at
the scanner's next pass. A rule with a date expires every object of its class from that
midnight on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ._s3 import RETENTION_TAG, TRANSPORT_ERRORS, describe, error_code
from .errors import StorageError
from .retention_classes import RetentionSettings
from .site import Site

RULE_PREFIX = "oods-"
_NO_RULES = ("NoSuchLifecycleConfiguration",)


@dataclasses.dataclass
class LifecycleReport:
    """What ``apply_lifecycle`` did, and the bucket's rules afterwards."""

    changed: bool
    installed: list[str]
    removed: list[str]
    kept: list[str]  # others' rules, left as they were
    rules: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def class_rule(name: str, age: int | dt.date) -> dict[str, Any]:
    """The lifecycle rule that expires class ``name`` after ``age`` days, or on a date."""
    if isinstance(age, dt.date):
        midnight = dt.datetime.combine(age, dt.time(), tzinfo=dt.UTC)
        expiration: dict[str, Any] = {"Date": midnight}
    else:
        expiration = {"Days": age}
    return {
        "ID": RULE_PREFIX + name,
        "Status": "Enabled",
        "Filter": {"Tag": {"Key": RETENTION_TAG, "Value": name}},
        "Expiration": expiration,
    }


def expected_expiry(modified: dt.datetime, age: int | dt.date) -> dt.datetime:
    """When MinIO expires an object modified at ``modified`` under a rule of ``age``:
    the midnight UTC after ``modified`` + days (MinIO's ``ExpectedExpiryTime``), or the
    rule's date."""
    if isinstance(age, dt.date):
        return dt.datetime.combine(age, dt.time(), tzinfo=dt.UTC)
    due = modified.astimezone(dt.UTC) + dt.timedelta(days=age + 1)
    return due.replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_rules(site: Site) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules ([] when it has none)."""
    try:
        answer = site.s3.get_bucket_lifecycle_configuration(Bucket=site.bucket)
    except TRANSPORT_ERRORS as exc:
        if error_code(exc) in _NO_RULES:
            return []
        raise StorageError(site.bucket, f"cannot read lifecycle rules: {describe(exc)}") from exc
    return list(answer.get("Rules", []))


def apply_lifecycle(site: Site, settings: RetentionSettings) -> LifecycleReport:
    """Make the bucket's ``oods-`` rules exactly one per expiring class of ``settings``.

    Others' rules are kept; nothing is written when the rules are already right.

    Raises:
        StorageError: the rules cannot be read or written (e.g. no lifecycle right).
    """
    current = bucket_rules(site)
    ours = [class_rule(name, age) for name, age in sorted(settings.classes.items())]
    others = [rule for rule in current if not str(rule.get("ID", "")).startswith(RULE_PREFIX)]
    mine_now = [rule for rule in current if str(rule.get("ID", "")).startswith(RULE_PREFIX)]
    wanted_ids = {rule["ID"] for rule in ours}
    report = LifecycleReport(
        changed=False,
        installed=[],
        removed=sorted(str(r["ID"]) for r in mine_now if r["ID"] not in wanted_ids),
        kept=[str(rule.get("ID", "")) for rule in others],
        rules=current,
    )
    now_by_id = {rule["ID"]: _comparable(rule) for rule in mine_now}
    report.installed = [r["ID"] for r in ours if now_by_id.get(r["ID"]) != _comparable(r)]
    if not report.installed and not report.removed:
        return report
    rules = others + ours
    try:
        if rules:
            site.s3.put_bucket_lifecycle_configuration(
                Bucket=site.bucket, LifecycleConfiguration={"Rules": rules}
            )
        else:
            site.s3.delete_bucket_lifecycle(Bucket=site.bucket)
    except TRANSPORT_ERRORS as exc:
        raise StorageError(site.bucket, f"cannot set lifecycle rules: {describe(exc)}") from exc
    report.changed = True
    report.rules = bucket_rules(site)
    return report


def _comparable(rule: dict[str, Any]) -> tuple[object, ...]:
    """What makes two rules the same, whatever the server adds or reformats."""
    expiration = rule.get("Expiration", {})
    date = expiration.get("Date")
    if isinstance(date, dt.datetime):
        date = date.astimezone(dt.UTC).date()
    tag = rule.get("Filter", {}).get("Tag", {})
    return (
        rule.get("Status"),
        tag.get("Key"),
        tag.get("Value"),
        expiration.get("Days"),
        date,
    )


def describe_rule(rule: dict[str, Any]) -> str:
    """One line: ``oods-cache  tag oods-retention=cache  expire after 30 days``."""
    expiration = rule.get("Expiration", {})
    if "Days" in expiration:
        when = f"expire after {expiration['Days']} days"
    elif "Date" in expiration:
        when = f"expire from {expiration['Date']:%Y-%m-%d}"
    else:
        when = "no expiration"
    found = rule.get("Filter", {})
    tag = found.get("Tag") or {}
    condition = (
        f"tag {tag['Key']}={tag['Value']}"
        if tag
        else f"filter {found}"
        if found
        else "every object"
    )
    status = "" if rule.get("Status") == "Enabled" else " (disabled)"
    return f"{rule.get('ID', '(no id)')}  {condition}  {when}{status}"
