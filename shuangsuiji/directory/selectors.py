"""Reads of the 两库: the filtered target and inspector lists, their counts, single records.

The list pages and the Excel export (``/transfer/export/...``) call the same functions with the same
GET parameters, so an export is exactly the list on screen. Parameter names are part of that
contract: keep them stable (they are listed in each function's docstring).

Visibility: the office and auditors see the jurisdiction's master directory (总库, every target)
and every department's inspectors; any other user sees their own department's directory only.
"""

import datetime
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from shuangsuiji.core import permissions
from shuangsuiji.core.models import Department, Jurisdiction, User

from .industry import SECTIONS, section_of
from .models import DirectoryEntry, Inspector, Target, has_value

PAGE_SIZE = 50

# The code alphabet in collation order; codes made only of these characters sort the same way
# under C and under the usual locale collations, which is what makes the prefix range below safe.
_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def param(params: Mapping, key: str) -> str:
    """One parameter, stripped, from a QueryDict or a plain dict (whose values may be lists)."""
    value = params.get(key, "")
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return str(value if value is not None else "").strip()


def param_list(params: Mapping, key: str) -> list[str]:
    """A repeatable parameter (``risk=C&risk=D``); a plain string is also split on commas."""
    if hasattr(params, "getlist"):
        values = params.getlist(key)
    else:
        value = params.get(key, [])
        values = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in str(value or "").split(",") if v.strip())
    return out


def _flag(params: Mapping, key: str) -> bool:
    return param(params, key).lower() in ("1", "true", "on", "yes", "是")


def code_prefix_q(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix``, written so that the (jurisdiction, code) index is used.

    ``LIKE 'x%'`` cannot use a plain index on SQLite (case-insensitive LIKE) nor on PostgreSQL
    with a non-C collation, but a range ``prefix <= code < next(prefix)`` can on both. The
    ``startswith`` stays in the condition so the result is exact whatever the collation."""
    condition = Q(**{f"{field}__startswith": prefix})
    if not prefix or any(ch not in _CODE_ALPHABET for ch in prefix):
        return condition
    chars = list(prefix)
    while chars:
        position = _CODE_ALPHABET.index(chars[-1])
        if position + 1 < len(_CODE_ALPHABET):
            chars[-1] = _CODE_ALPHABET[position + 1]
            return condition & Q(**{f"{field}__gte": prefix, f"{field}__lt": "".join(chars)})
        chars.pop()
    return condition & Q(**{f"{field}__gte": prefix})


# --------------------------------------------------------------------------------------------
# Targets


def target_department(*, user: User, params: Mapping, department: Department | None = None):
    """The department whose directory is in scope, or None for the master directory (总库).

    A department user always works in their own directory; asking for another department's is
    refused. The office and auditors see the master unless they pick a department."""
    if department is not None:
        permissions.require_view(user, department)
        return department
    code = param(params, "department").upper()
    if permissions.sees_all_departments(user):
        if not code:
            return None
        found = permissions.visible_departments(user).filter(code=code).first()
        if found is None:
            raise Http404("没有这个部门。")
        return found
    if not user.is_authenticated or not user.department_id:
        raise PermissionDenied("您的账号未关联部门，无法查看名录库。")
    if code and code != user.department.code:
        raise PermissionDenied("只能查看本部门的名录库。")
    return user.department


def master_targets(user: User, *, for_scan: bool = False) -> QuerySet:
    """Every target of the user's jurisdiction (the 总库).

    ``for_scan``: the query will read every matching row anyway (counts), so on SQLite the
    jurisdiction test is written as ``jurisdiction_id + 0 = ?``. Otherwise SQLite walks the (jurisdiction, …)
    index, which holds every row of a one-jurisdiction deployment, and fetches each row by id:
    measured 5–8 times slower than a plain table scan on 100,000 rows."""
    qs = Target.objects.all()
    jurisdiction_id = None
    if not user.is_superuser:
        jurisdiction_id = user.jurisdiction_id or (
            user.department.jurisdiction_id if user.department_id else None
        )
    if jurisdiction_id is None:
        return qs
    if for_scan and connection.vendor == "sqlite":
        # PostgreSQL chooses a sequential scan from its statistics by itself, and the "+ 0"
        # would only spoil its row estimate.
        return qs.alias(jurisdiction_scan=F("jurisdiction_id") + 0).filter(
            jurisdiction_scan=jurisdiction_id
        )
    return qs.filter(jurisdiction_id=jurisdiction_id)


def _targets(
    *, user: User, params: Mapping, department: Department | None, for_scan: bool
) -> QuerySet:
    tag = param(params, "tag")
    if department is None:
        qs = master_targets(user, for_scan=for_scan)
        if tag:
            tagged = DirectoryEntry.objects.filter(active=True).filter(has_value("tags", tag))
            qs = qs.filter(id__in=tagged.values("target_id"))
    else:
        # "id IN (the department's entries)": SQLite and PostgreSQL build the set once; measured
        # faster than a join for both the page and the counts.
        entries = DirectoryEntry.objects.filter(
            department=department, active=not _flag(params, "removed")
        )
        if tag:
            entries = entries.filter(has_value("tags", tag))
        qs = Target.objects.filter(id__in=entries.values("target_id"))
    return _filter_targets(qs, params)


def target_entries(
    *, user: User, params: Mapping, department: Department | None = None
) -> QuerySet:
    """The targets the user's list shows for these GET parameters, ordered by code.

    Returns a ``Target`` queryset. With a department in scope (``department`` argument, the
    ``department`` parameter, or the user's own department) only that department's directory
    (its active entries) is listed and each row carries ``entry_id`` and ``entry_tags`` (the
    department's tags as ``|a|b|``); without one, the master directory (总库).

    Parameters (all optional; empty means "any"):

    ``q``            name (contains) or code (prefix); a query of letters and digits with a digit
                     in it is taken as a code prefix only (index range)
    ``department``   department code whose directory to list (office and auditors only)
    ``region``       行政区划 code of the county (its townships included)
    ``section``      GB/T 4754 门类 letter A–T
    ``industry``     GB/T 4754 code prefix, with or without the letter (``F52``, ``52``, ``5211``)
    ``risk``         credit-risk class A/B/C/D/U, repeatable (``risk=C&risk=D``)
    ``kind``         object kind (``Target.ObjectKind``), repeatable
    ``status``       registration status (``Target.RegStatus``), repeatable
    ``abnormal=1``   listed in 经营异常名录
    ``serious=1``    listed as 严重违法失信
    ``complaints``   at least this many complaints
    ``tag``          sub-directory (子库) tag; without a department, any department's tag
    ``removed=1``    with a department: its removed (出库) entries instead of its active ones
    """
    department = target_department(user=user, params=params, department=department)
    qs = _targets(user=user, params=params, department=department, for_scan=False)
    if department is not None:
        entry = DirectoryEntry.objects.filter(department=department, target=OuterRef("pk"))
        qs = qs.annotate(
            entry_id=Subquery(entry.values("id")[:1]), entry_tags=Subquery(entry.values("tags")[:1])
        )
    return qs.select_related("region").order_by("code")


def target_counts(*, user: User, params: Mapping, department: Department | None = None) -> dict:
    """The counts for the list of :func:`target_entries` (same arguments): total, by credit-risk
    class and by region, from one GROUP BY query (class × region)."""
    department = target_department(user=user, params=params, department=department)
    qs = _targets(user=user, params=params, department=department, for_scan=True)
    rows = qs.order_by().values_list("risk_class", "region_id").annotate(n=Count("pk"))
    by_risk: dict[str, int] = {}
    by_region: dict[int | None, int] = {}
    for risk, region_id, n in rows.values_list("risk_class", "region_id", "n"):
        by_risk[risk] = by_risk.get(risk, 0) + n
        by_region[region_id] = by_region.get(region_id, 0) + n
    return {
        "total": sum(by_risk.values()),
        "by_risk": [
            (value, label, by_risk.get(value, 0)) for value, label in Target.RiskClass.choices
        ],
        "by_region_id": by_region,
    }


def _filter_targets(qs: QuerySet, params: Mapping) -> QuerySet:
    if q := param(params, "q"):
        code = q.upper()
        if code.isascii() and code.isalnum():
            by_code = code_prefix_q("code", code)
            qs = qs.filter(
                by_code if any(c.isdigit() for c in code) else by_code | Q(name__icontains=q)
            )
        else:
            qs = qs.filter(name__icontains=q)
    if region := param(params, "region"):
        qs = qs.filter(
            region_id__in=Jurisdiction.objects.filter(
                Q(code=region) | Q(parent__code=region)
            ).values("id")
        )
    if (section := param(params, "section").upper()) and section in SECTIONS:
        qs = qs.filter(industry__startswith=section)
    if industry := param(params, "industry").upper():
        if industry[0].isalpha():
            qs = qs.filter(industry__startswith=industry)
        else:
            # A bare "52" matches codes stored with their letter ("F52…"), and any stored without.
            with_letter = (section_of(industry) or "") + industry
            qs = qs.filter(Q(industry__startswith=with_letter) | Q(industry__startswith=industry))
    if risks := [r.upper() for r in param_list(params, "risk")]:
        qs = qs.filter(risk_class__in=risks)
    if kinds := param_list(params, "kind"):
        qs = qs.filter(object_kind__in=kinds)
    if statuses := param_list(params, "status"):
        qs = qs.filter(reg_status__in=statuses)
    if _flag(params, "abnormal"):
        qs = qs.filter(abnormal=True)
    if _flag(params, "serious"):
        qs = qs.filter(serious_illegal=True)
    if (complaints := param(params, "complaints")).isdigit() and int(complaints) > 0:
        qs = qs.filter(complaints__gte=int(complaints))
    return qs


def visible_target(*, user: User, pk: int) -> Target:
    """One target the user may see, or 404: the office and auditors see the whole master, a
    department sees the targets it holds or held (出库 entries stay visible so they can be re-added)."""
    qs = Target.objects.select_related("region", "jurisdiction")
    if permissions.sees_all_departments(user):
        qs = master_targets(user).select_related("region", "jurisdiction")
    elif user.is_authenticated and user.department_id:
        qs = qs.filter(entries__department_id=user.department_id)
    else:
        raise Http404
    target = qs.filter(pk=pk).first()
    if target is None:
        raise Http404("没有这个检查对象，或它不在您可查看的名录库中。")
    return target


def target_entries_for(*, user: User, target: Target) -> list[DirectoryEntry]:
    """The directory entries of a target the user may see: all of them for the office and
    auditors, the user's own department's for anyone else."""
    qs = DirectoryEntry.objects.filter(target=target).select_related("department")
    if not permissions.sees_all_departments(user):
        qs = qs.filter(department_id=user.department_id)
    return list(qs.order_by("department__sort_order", "department__code"))


def jurisdictions_under(user: User) -> list[Jurisdiction]:
    """The user's jurisdiction and everything up to three levels under it, in one query."""
    root = user.jurisdiction_id or (user.department.jurisdiction_id if user.department_id else None)
    qs = Jurisdiction.objects.all()
    if root is not None and not user.is_superuser:
        qs = qs.filter(
            Q(pk=root)
            | Q(parent_id=root)
            | Q(parent__parent_id=root)
            | Q(parent__parent__parent_id=root)
        )
    return list(qs.order_by("code"))


def region_choices(user: User) -> list[Jurisdiction]:
    """The counties (and any deeper level) of the user's jurisdiction, for filters and forms."""
    return [j for j in jurisdictions_under(user) if j.level not in ("province", "prefecture")]


# --------------------------------------------------------------------------------------------
# Inspectors


def _certificate_q(day: datetime.date) -> tuple[Q, Q, Q]:
    has = ~Q(certificate_no="") & Q(certificate_valid_to__isnull=False)
    valid = (
        has
        & Q(certificate_valid_to__gte=day)
        & (Q(certificate_valid_from__isnull=True) | Q(certificate_valid_from__lte=day))
    )
    expired = has & Q(certificate_valid_to__lt=day)
    return valid, expired, ~has


def inspector_list(*, user: User, params: Mapping, today: datetime.date | None = None) -> QuerySet:
    """The inspectors and experts the user's list shows for these GET parameters.

    Parameters (all optional):

    ``q``            name (contains) or 执法证号 (prefix); the administrators of a department can
                     also find their own people by the full 身份证号
    ``department``   department code (office and auditors; others see their own department only)
    ``kind``         ``inspector`` (执法检查人员) or ``expert`` (专家库)
    ``region``       enforcement region (执法区域) code
    ``speciality``   业务专长 (exact value)
    ``tag``          tag (exact value)
    ``cert``         ``valid`` (valid today), ``expired`` or ``missing``
    ``available``    ``1`` available for draws, ``0`` not
    ``active``       ``1`` (default) in the directory, ``0`` deactivated, ``all`` both
    """
    today = today or timezone.localdate()
    qs = Inspector.objects.select_related("department")
    if permissions.sees_all_departments(user):
        qs = qs.filter(department__in=permissions.visible_departments(user))
        if code := param(params, "department").upper():
            qs = qs.filter(department__code=code)
    elif user.is_authenticated and user.department_id:
        code = param(params, "department").upper()
        if code and code != user.department.code:
            raise PermissionDenied("只能查看本部门的执法人员名录库。")
        qs = qs.filter(department_id=user.department_id)
    else:
        raise PermissionDenied("您的账号未关联部门，无法查看名录库。")

    if q := param(params, "q"):
        condition = Q(name__icontains=q) | Q(certificate_no__startswith=q)
        if user.department_id and permissions.can_edit_department(user, user.department):
            # Only the owning department may look people up by ID number (others see it masked).
            condition |= Q(id_number=q.upper(), department_id=user.department_id)
        qs = qs.filter(condition)
    if (kind := param(params, "kind")) in Inspector.Kind.values:
        qs = qs.filter(kind=kind)
    if region := param(params, "region"):
        qs = qs.filter(has_value("regions", region))
    if speciality := param(params, "speciality"):
        qs = qs.filter(has_value("specialities", speciality))
    if tag := param(params, "tag"):
        qs = qs.filter(has_value("tags", tag))
    valid, expired, missing = _certificate_q(today)
    cert = param(params, "cert")
    if cert in ("valid", "expired", "missing"):
        qs = qs.filter({"valid": valid, "expired": expired, "missing": missing}[cert])
    available = param(params, "available")
    if available in ("0", "1"):
        qs = qs.filter(available=available == "1")
    active = param(params, "active") or "1"
    if active in ("0", "1"):
        qs = qs.filter(active=active == "1")
    return qs.order_by("department__sort_order", "department__code", "name", "pk")


def inspector_counts(qs: QuerySet, today: datetime.date | None = None) -> dict:
    """Total, certificate valid today and expired, in one aggregate query."""
    valid, expired, _ = _certificate_q(today or timezone.localdate())
    return qs.order_by().aggregate(
        total=Count("pk"), valid=Count("pk", filter=valid), expired=Count("pk", filter=expired)
    )


def visible_inspector(*, user: User, pk: int) -> Inspector:
    inspector = Inspector.objects.select_related("department", "user").filter(pk=pk).first()
    visible = inspector is not None and permissions.can_view_department(user, inspector.department)
    if (
        visible
        and permissions.sees_all_departments(user)
        and not user.is_superuser
        and user.jurisdiction_id
    ):
        # The office sees every department, but only of its own jurisdiction.
        visible = inspector.department.jurisdiction_id == user.jurisdiction_id
    if not visible:
        raise Http404("没有这个人员，或其不在您可查看的名录库中。")
    return inspector


def certificate_state(inspector: Inspector, today: datetime.date) -> str:
    if not inspector.certificate_no or not inspector.certificate_valid_to:
        return "missing"
    if inspector.certificate_valid_to < today:
        return "expired"
    return "valid" if inspector.certificate_valid_on(today) else "pending"


CERTIFICATE_LABELS = {
    "valid": "有效",
    "expired": "已过期",
    "missing": "无执法证",
    "pending": "未到有效期",
}


def present_inspectors(user: User, inspectors, today: datetime.date | None = None):
    """Set the display attributes the templates use: personal data masked unless the user is an
    administrator or head of the inspector's own department (DOMAIN.md personal data)."""
    today = today or timezone.localdate()
    for inspector in inspectors:
        if permissions.can_see_personal_data(user, inspector.department):
            inspector.shown_id_number, inspector.shown_phone = inspector.id_number, inspector.phone
            inspector.personal_visible = True
        else:
            inspector.shown_id_number = permissions.mask_id_number(inspector.id_number)
            inspector.shown_phone = permissions.mask_phone(inspector.phone)
            inspector.personal_visible = False
        inspector.cert_state = certificate_state(inspector, today)
        inspector.cert_label = CERTIFICATE_LABELS[inspector.cert_state]
    return inspectors


# Fields of an inspector's audit snapshots that hold personal data.
PERSONAL_FIELDS = {"id_number": permissions.mask_id_number, "phone": permissions.mask_phone}


def mask_audit_entries(user: User, entries) -> list:
    """Mask ID numbers and phones in the before/after of inspector audit entries the user may not
    read in clear (the entries are changed in memory only, never saved). For any page that shows
    audit entries of inspectors: the record's history here, the jurisdiction's audit log."""
    entries = list(entries)
    inspector_type = "directory.inspector"
    for entry in entries:
        if entry.object_type != inspector_type:
            continue
        if entry.department_id is not None and permissions.can_see_personal_data(
            user, entry.department
        ):
            continue
        for snapshot in (entry.before, entry.after):
            if isinstance(snapshot, dict):
                for field, mask in PERSONAL_FIELDS.items():
                    if snapshot.get(field):
                        snapshot[field] = mask(str(snapshot[field]))
    return entries


def inspector_history(*, user: User, inspector: Inspector) -> list:
    """The inspector's audit entries, personal data masked unless the user may see it."""
    from shuangsuiji.core import audit

    entries = list(audit.history(inspector))
    if permissions.can_see_personal_data(user, inspector.department):
        return entries
    for entry in entries:
        entry.department = inspector.department  # no query per entry for the check below
    return mask_audit_entries(user, entries)


def target_history(*, user: User, target: Target, entries: list[DirectoryEntry]) -> list:
    """The target's audit entries merged with those of the directory entries the user may see,
    including the changes that imports recorded on their batch entry (transfer.changelog)."""
    from shuangsuiji.core import audit
    from shuangsuiji.transfer import changelog

    limit = 200
    qs = audit.history(target)
    for entry in entries:
        qs = qs | audit.history(entry)
    found = list(qs.order_by("-at", "-id")[:limit])
    imported = changelog.history([target, *entries])
    if not imported:
        return found
    merged = found + imported
    # Newest first; an import's records sort with their batch entry's id.
    merged.sort(key=lambda e: (e.at, e.id or getattr(e, "batch_entry_id", 0)), reverse=True)
    return merged[:limit]


def scope_targets(department: Department, params: Mapping) -> QuerySet:
    """The targets of a department's directory scope: its active entries matching the filter
    ``params`` (the parameters of :func:`target_entries`, as a task or plan line saves them).

    No user is involved: a task's scope is always evaluated on its lead department's directory,
    whoever asks (the draw freezes it; the plan counts it). Unordered; callers order."""
    entries = DirectoryEntry.objects.filter(department=department, active=True)
    if tag := param(params, "tag"):
        entries = entries.filter(has_value("tags", tag))
    # The jurisdiction filter lets the draw's freeze read the code-ordered index (migration 0005).
    targets = Target.objects.filter(
        jurisdiction_id=department.jurisdiction_id, id__in=entries.values("target_id")
    )
    return _filter_targets(targets, params)
