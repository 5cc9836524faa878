"""The audit trail: one function writes every entry, so no change goes unrecorded.

Services call :func:`record` (or :func:`record_many` inside bulk writes) in the same transaction as
the change itself: if the change rolls back, so does its audit entry."""

import datetime
import decimal
from collections.abc import Iterable

from django.db import models

from .models import AuditEntry, Department, User

# Fields never copied into the audit trail.
_SKIP_FIELDS = {"password", "last_login"}


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model) -> dict:
    """The record's own fields as JSON-safe values (foreign keys as ids)."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name in _SKIP_FIELDS:
            continue
        data[field.name] = _jsonable(getattr(obj, field.attname))
    return data


def object_type(obj_or_model) -> str:
    meta = obj_or_model._meta
    return f"{meta.app_label}.{meta.model_name}"


def _entry(user, action, obj, before, after, note, department) -> AuditEntry:
    return AuditEntry(
        user=user if isinstance(user, User) else None,
        user_name=str(user) if user else "系统",
        department=department,
        action=action,
        object_type=object_type(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        note=note[:500],
    )


def record(
    user: User | None,
    action: str,
    obj: models.Model,
    *,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    department: Department | None = None,
) -> AuditEntry:
    """Write one audit entry. ``after`` defaults to the object's current snapshot except on delete."""
    if after is None and action != AuditEntry.Action.DELETE:
        after = snapshot(obj)
    if department is None:
        department = getattr(obj, "department", None) if hasattr(obj, "department_id") else None
    entry = _entry(user, action, obj, before, after, note, department)
    entry.save()
    return entry


def record_many(
    user: User | None,
    changes: Iterable[tuple[str, models.Model, dict | None, dict | None]],
    *,
    note: str = "",
    department: Department | None = None,
    batch_size: int = 2000,
) -> int:
    """Bulk form of :func:`record` for imports: ``changes`` yields (action, obj, before, after)."""
    entries = [_entry(user, a, o, b, af, note, department) for a, o, b, af in changes]
    AuditEntry.objects.bulk_create(entries, batch_size=batch_size)
    return len(entries)


def history(obj: models.Model):
    """The audit entries of one record, newest first."""
    return AuditEntry.objects.filter(
        object_type=object_type(obj), object_id=str(obj.pk)
    ).select_related("user")
