"""Organisation services: what the home page counts, the calendar editor, jurisdictions."""

import datetime

from django.db import transaction

from . import audit, permissions
from .models import AuditEntry, CalendarDay, CalendarYear, User


class CalendarInputError(ValueError):
    pass


def home_summary(user: User) -> dict:
    from shuangsuiji.catalog.models import ItemList
    from shuangsuiji.directory.models import DirectoryEntry, Inspector
    from shuangsuiji.directory.selectors import master_targets

    departments = permissions.visible_departments(user)
    entries = DirectoryEntry.objects.filter(active=True, department__in=departments)
    return {
        "departments": departments.count(),
        "targets": master_targets(user).count()
        if permissions.sees_all_departments(user)
        else entries.count(),
        "entries": entries.count(),
        "inspectors": Inspector.objects.filter(department__in=departments, active=True).count(),
        "published_lists": ItemList.objects.filter(
            status=ItemList.Status.PUBLISHED, department__in=departments
        ).count(),
    }


@transaction.atomic
def save_calendar_change(user: User, data) -> int:
    """Add a year, or add/change/remove one day of the holiday table (office only).
    Returns the year changed."""
    permissions.require_office(user)
    action = data.get("action")
    try:
        if action == "add_year":
            year = int(data.get("year", ""))
            if not 2000 <= year <= 2100:
                raise ValueError
            obj, created = CalendarYear.objects.get_or_create(
                year=year, defaults={"source": (data.get("source") or "管理员录入")[:200]}
            )
            if created:
                audit.record(user, AuditEntry.Action.CREATE, obj)
            return year
        day = datetime.date.fromisoformat(data.get("date", ""))
    except ValueError as exc:
        raise CalendarInputError("请填写正确的年份（2000–2100）或日期（如 2027-01-01）。") from exc
    if not CalendarYear.objects.filter(year=day.year).exists():
        raise CalendarInputError(f"请先添加{day.year}年，再录入该年的放假和调休日期。")
    existing = CalendarDay.objects.filter(date=day).first()
    before = audit.snapshot(existing) if existing else None
    if action == "delete":
        if existing:
            existing.delete()
            audit.record(user, AuditEntry.Action.DELETE, existing, before=before)
        return day.year
    kind = data.get("kind")
    if kind not in CalendarDay.Kind.values:
        raise CalendarInputError("请选择“法定节假日（休）”或“调休上班”。")
    if kind == CalendarDay.Kind.HOLIDAY and day.weekday() >= 5:
        raise CalendarInputError(f"{day} 是周末，本来就休息，无需录入为节假日。")
    if kind == CalendarDay.Kind.WORKDAY and day.weekday() < 5:
        raise CalendarInputError(f"{day} 是工作日，无需录入为调休上班。")
    name = (data.get("name") or "").strip()[:40]
    obj, _ = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name})
    audit.record(
        user, AuditEntry.Action.UPDATE if existing else AuditEntry.Action.CREATE, obj, before=before
    )
    return day.year
