"""Writes to the 两库: adding targets to a department's directory (入库), editing the master record
and the department's tags, removal (出库) and re-adding, and the inspector directory.

Every function checks the permission itself (views and the import call the same code), runs in
one transaction, and writes an audit entry with the record before and after. Edits made from a
form carry the ``updated_at`` the form was rendered with; if the record changed since, the edit
is refused (:class:`StaleEdit`) instead of silently overwriting someone else's change.
"""

import datetime
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import AuditEntry, Department, User

from . import identifiers
from .industry import normalize_industry
from .models import DirectoryEntry, Inspector, Target, pack, unpack

STALE_MESSAGE = "该记录已被他人修改，请刷新后重试"
TAG_MAX_LENGTH = 40

# Master fields a department may edit (the code is the key and is not edited).
TARGET_FIELDS = (
    "name",
    "object_kind",
    "entity_type",
    "registration_authority",
    "legal_rep",
    "address",
    "reg_status",
    "established",
    "business_scope",
    "region",
    "industry",
    "risk_class",
    "abnormal",
    "serious_illegal",
    "complaints",
)

INSPECTOR_FIELDS = (
    "kind",
    "id_number",
    "name",
    "gender",
    "phone",
    "unit",
    "division",
    "level",
    "certificate_no",
    "certificate_authority",
    "certificate_valid_from",
    "certificate_valid_to",
    "regions",
    "specialities",
    "tags",
    "available",
    "availability_note",
)


class DirectoryError(ValueError):
    """A refused write; ``message`` is shown to the user, ``field`` names the form field if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleEdit(DirectoryError):
    def __init__(self):
        super().__init__(STALE_MESSAGE)


class TargetNotInMaster(DirectoryError):
    """The code is not in the master directory yet: the caller must supply the master fields."""


def split_values(text) -> list[str]:
    """ "食品, 药品、特种设备；食品" → ["食品", "药品", "特种设备"] (order kept, duplicates dropped)."""
    if isinstance(text, list | tuple):
        parts = [str(v) for v in text]
    else:
        parts = re.split(r"[,，、;；|\s]+", str(text or ""))
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def pack_values(text, *, label: str, field: str, max_length: int = 500) -> str:
    values = split_values(text)
    for value in values:
        if len(value) > TAG_MAX_LENGTH:
            raise DirectoryError(f"{label}“{value[:20]}…”过长：每项最多{TAG_MAX_LENGTH}个字", field)
    packed = pack(values)
    if len(packed) > max_length:
        raise DirectoryError(f"{label}过多：合计不能超过{max_length}个字符", field)
    return packed


def _check_fresh(current: datetime.datetime, expected: datetime.datetime | None) -> None:
    if expected is not None and current != expected:
        raise StaleEdit()


def guess_object_kind(code_kind: str, code: str) -> str:
    """A sensible default object kind from the code's registration authority and type (GB 32100
    positions 1–2); the user can change it."""
    kinds = Target.ObjectKind
    if code_kind == "regno":
        return kinds.COMPANY
    if code_kind == "other":
        return kinds.NON_MARKET
    return {
        "91": kinds.COMPANY,
        "92": kinds.INDIVIDUAL,
        "93": kinds.COOPERATIVE,
        "12": kinds.INSTITUTION,
        "51": kinds.SOCIAL,
        "52": kinds.SOCIAL,
        "53": kinds.SOCIAL,
    }.get(code[:2], kinds.OTHER_ORG)


# --------------------------------------------------------------------------------------------
# Targets


def _clean_target_data(data: dict) -> dict:
    """Normalise the master fields a caller supplies (forms have validated types already)."""
    clean = {k: data[k] for k in TARGET_FIELDS if k in data}
    if "name" in clean:
        clean["name"] = (clean["name"] or "").strip()
        if not clean["name"]:
            raise DirectoryError("名称不能为空", "name")
    if "industry" in clean:
        try:
            clean["industry"] = normalize_industry(clean["industry"] or "")
        except ValueError as exc:
            raise DirectoryError(
                "国民经济行业代码不正确：应为门类字母（A–T）或行业代码，如 F、F52、5211", "industry"
            ) from exc
    for key in ("entity_type", "registration_authority", "legal_rep", "address", "business_scope"):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
    if clean.get("complaints") is None and "complaints" in clean:
        clean["complaints"] = 0
    return clean


def _editable_entry(user: User, target: Target) -> DirectoryEntry | None:
    """The user's department's active entry for the target, if the user may edit through it."""
    if not user.is_authenticated or not user.department_id:
        return None
    entry = DirectoryEntry.objects.filter(
        target=target, department_id=user.department_id, active=True
    ).first()
    if entry is None or not permissions.can_edit_department(user, user.department):
        return None
    return entry


def can_edit_target(user: User, target: Target) -> bool:
    """May change the master record: an administrator or head of a department holding it."""
    if user.is_superuser:
        return True
    return _editable_entry(user, target) is not None


def find_master_target(*, department: Department, code: str) -> Target | None:
    return Target.objects.filter(jurisdiction_id=department.jurisdiction_id, code=code).first()


@transaction.atomic
def add_target(
    *, user: User, department: Department, code: str, tags="", data: dict | None = None
) -> tuple[Target, DirectoryEntry, str]:
    """Put the target with this code into the department's directory (入库).

    If the master directory holds the code, the target is linked (its master fields are left as
    they are); otherwise ``data`` must carry the master fields and the target is created
    (without it, :class:`TargetNotInMaster`). Returns (target, entry, outcome) with outcome
    ``created`` / ``linked`` / ``readded`` / ``already``."""
    permissions.require_edit(user, department)
    try:
        code_kind, code = identifiers.classify_target_code(code)
    except identifiers.InvalidCode as exc:
        raise DirectoryError(exc.message, "code") from exc
    packed_tags = pack_values(tags, label="标签", field="tags")
    target = find_master_target(department=department, code=code)
    outcome = "linked"
    if target is None:
        if data is None:
            raise TargetNotInMaster("总库中还没有这个编码的检查对象，请填写其登记信息。", "code")
        clean = _clean_target_data(data)
        clean.setdefault("object_kind", guess_object_kind(code_kind, code))
        target = Target(
            jurisdiction_id=department.jurisdiction_id, code=code, code_kind=code_kind, **clean
        )
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError as exc:  # someone created the same code a moment ago
            raise DirectoryError(
                "该编码刚被他人加入总库，请重新提交以加入本部门名录库。", "code"
            ) from exc
        audit.record(
            user, AuditEntry.Action.CREATE, target, department=department, note="新增到总库"
        )
        outcome = "created"
    entry = (
        DirectoryEntry.objects.select_for_update()
        .filter(department=department, target=target)
        .first()
    )
    if entry is None:
        entry = DirectoryEntry.objects.create(
            department=department, target=target, tags=packed_tags
        )
        audit.record(user, AuditEntry.Action.CREATE, entry, note="入库")
    elif not entry.active:
        before = audit.snapshot(entry)
        entry.active, entry.removed_at, entry.removed_reason = True, None, ""
        if packed_tags:
            entry.tags = packed_tags
        entry.save()
        audit.record(user, AuditEntry.Action.UPDATE, entry, before=before, note="重新入库")
        outcome = "readded"
    else:
        outcome = "already"
        if packed_tags and packed_tags != entry.tags:
            before = audit.snapshot(entry)
            entry.tags = pack(unpack(entry.tags) + unpack(packed_tags))
            entry.save()
            audit.record(user, AuditEntry.Action.UPDATE, entry, before=before, note="补充标签")
    return target, entry, outcome


@transaction.atomic
def update_target(
    *, user: User, target: Target, data: dict, expected_updated_at: datetime.datetime | None
) -> Target:
    """Change the master fields of a target held by the user's department."""
    current = Target.objects.select_for_update().get(pk=target.pk)
    entry = _editable_entry(user, current)
    permissions.require(
        user.is_superuser or entry is not None, "只能修改本部门名录库中的检查对象。"
    )
    _check_fresh(current.updated_at, expected_updated_at)
    clean = _clean_target_data(data)
    before = audit.snapshot(current)
    for key, value in clean.items():
        setattr(current, key, value)
    after = audit.snapshot(current)
    if {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }:
        return current  # nothing changed: no write, no audit noise
    current.save()
    audit.record(user, AuditEntry.Action.UPDATE, current, before=before, department=user.department)
    return current


def _locked_entry(user: User, entry: DirectoryEntry) -> DirectoryEntry:
    current = (
        DirectoryEntry.objects.select_for_update()
        .select_related("department", "target")
        .get(pk=entry.pk)
    )
    permissions.require_edit(user, current.department)
    return current


@transaction.atomic
def set_entry_tags(
    *, user: User, entry: DirectoryEntry, tags, expected_updated_at: datetime.datetime | None
) -> DirectoryEntry:
    """Replace the department's tags (子库) on its entry."""
    current = _locked_entry(user, entry)
    if not current.active:
        raise DirectoryError("该检查对象已出库，请先重新入库再修改标签。")
    _check_fresh(current.updated_at, expected_updated_at)
    packed = pack_values(tags, label="标签", field="tags")
    if packed == current.tags:
        return current
    before = audit.snapshot(current)
    current.tags = packed
    current.save()
    audit.record(user, AuditEntry.Action.UPDATE, current, before=before, note="修改标签")
    return current


@transaction.atomic
def remove_from_directory(
    *,
    user: User,
    entry: DirectoryEntry,
    reason: str,
    expected_updated_at: datetime.datetime | None = None,
) -> DirectoryEntry:
    """出库: the entry is kept, inactive, with the time and the reason (also the audit note)."""
    current = _locked_entry(user, entry)
    reason = (reason or "").strip()
    if not reason:
        raise DirectoryError("请填写出库原因。", "reason")
    if len(reason) > 200:
        raise DirectoryError("出库原因最多200个字。", "reason")
    if not current.active:
        raise DirectoryError("该检查对象已经出库。")
    _check_fresh(current.updated_at, expected_updated_at)
    before = audit.snapshot(current)
    current.active, current.removed_at, current.removed_reason = False, timezone.now(), reason
    current.save()
    audit.record(user, AuditEntry.Action.REMOVE, current, before=before, note=reason)
    return current


@transaction.atomic
def readd_to_directory(*, user: User, entry: DirectoryEntry) -> DirectoryEntry:
    """Undo a removal: the entry is active again with its old tags."""
    current = _locked_entry(user, entry)
    if current.active:
        return current
    before = audit.snapshot(current)
    current.active, current.removed_at, current.removed_reason = True, None, ""
    current.save()
    audit.record(user, AuditEntry.Action.UPDATE, current, before=before, note="重新入库")
    return current


# --------------------------------------------------------------------------------------------
# Inspectors


def duplicate_id_message(existing: Inspector) -> str:
    """Says where the person is, and nothing more (no name, no link) — the other department
    may not see that department's personal data."""
    message = f"该身份证号已在执法人员名录库中（所在部门：{existing.department.name}）"
    if not existing.active:
        message += "，该人员已停用"
    return message


def _clean_inspector_data(data: dict) -> dict:
    clean = {k: data[k] for k in INSPECTOR_FIELDS if k in data}
    try:
        if "id_number" in clean:
            clean["id_number"] = identifiers.validate_id_number(clean["id_number"])
    except identifiers.InvalidCode as exc:
        raise DirectoryError(exc.message, "id_number") from exc
    try:
        if clean.get("phone"):
            clean["phone"] = identifiers.validate_phone(clean["phone"])
    except identifiers.InvalidCode as exc:
        raise DirectoryError(exc.message, "phone") from exc
    if "name" in clean:
        clean["name"] = (clean["name"] or "").strip()
        if not clean["name"]:
            raise DirectoryError("姓名不能为空", "name")
    if clean.get("kind", Inspector.Kind.INSPECTOR) not in Inspector.Kind.values:
        raise DirectoryError("人员类别不正确", "kind")
    if not clean.get("gender") and clean.get("id_number"):
        # GB 11643: the 17th digit is odd for men.
        clean["gender"] = (
            Inspector.Gender.MALE if int(clean["id_number"][16]) % 2 else Inspector.Gender.FEMALE
        )
    start, end = clean.get("certificate_valid_from"), clean.get("certificate_valid_to")
    if start and end and end < start:
        raise DirectoryError("执法证有效期止不能早于有效期起", "certificate_valid_to")
    for key, label in (("regions", "执法区域"), ("specialities", "业务专长"), ("tags", "标签")):
        if key in clean:
            clean[key] = pack_values(clean[key], label=label, field=key)
    for key in (
        "unit",
        "division",
        "level",
        "certificate_no",
        "certificate_authority",
        "availability_note",
    ):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
    return clean


def _check_unique_id(id_number: str, exclude_pk: int | None = None) -> None:
    existing = Inspector.objects.select_related("department").filter(id_number=id_number)
    if exclude_pk:
        existing = existing.exclude(pk=exclude_pk)
    if found := existing.first():
        raise DirectoryError(duplicate_id_message(found), "id_number")


@transaction.atomic
def create_inspector(*, user: User, department: Department, data: dict) -> Inspector:
    """Add a person to the department's inspector directory (or its expert library)."""
    permissions.require_edit(user, department)
    clean = _clean_inspector_data(data)
    if "id_number" not in clean:
        raise DirectoryError("身份证号不能为空", "id_number")
    _check_unique_id(clean["id_number"])
    inspector = Inspector(department=department, **clean)
    try:
        with transaction.atomic():
            inspector.save()
    except IntegrityError as exc:  # the same person added by someone else a moment ago
        found = Inspector.objects.select_related("department").get(id_number=clean["id_number"])
        raise DirectoryError(duplicate_id_message(found), "id_number") from exc
    audit.record(user, AuditEntry.Action.CREATE, inspector)
    return inspector


def _locked_inspector(user: User, inspector: Inspector) -> Inspector:
    current = (
        Inspector.objects.select_for_update().select_related("department").get(pk=inspector.pk)
    )
    permissions.require(
        permissions.can_edit_department(user, current.department),
        "只能修改本部门的执法人员名录库。",
    )
    return current


@transaction.atomic
def update_inspector(
    *, user: User, inspector: Inspector, data: dict, expected_updated_at: datetime.datetime | None
) -> Inspector:
    current = _locked_inspector(user, inspector)
    _check_fresh(current.updated_at, expected_updated_at)
    clean = _clean_inspector_data(data)
    if "id_number" in clean and clean["id_number"] != current.id_number:
        _check_unique_id(clean["id_number"], exclude_pk=current.pk)
    before = audit.snapshot(current)
    for key, value in clean.items():
        setattr(current, key, value)
    if {k: v for k, v in audit.snapshot(current).items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }:
        return current
    try:
        with transaction.atomic():
            current.save()
    except IntegrityError as exc:
        found = Inspector.objects.select_related("department").get(id_number=current.id_number)
        raise DirectoryError(duplicate_id_message(found), "id_number") from exc
    audit.record(user, AuditEntry.Action.UPDATE, current, before=before)
    return current


@transaction.atomic
def deactivate_inspector(
    *,
    user: User,
    inspector: Inspector,
    reason: str,
    expected_updated_at: datetime.datetime | None = None,
) -> Inspector:
    """停用: the person stays on record (their past inspections refer to them) but leaves the
    directory and can no longer be drawn."""
    current = _locked_inspector(user, inspector)
    reason = (reason or "").strip()
    if not reason:
        raise DirectoryError("请填写停用原因。", "reason")
    if len(reason) > 200:
        raise DirectoryError("停用原因最多200个字。", "reason")
    if not current.active:
        raise DirectoryError("该人员已经停用。")
    _check_fresh(current.updated_at, expected_updated_at)
    before = audit.snapshot(current)
    current.active = False
    current.save()
    audit.record(user, AuditEntry.Action.REMOVE, current, before=before, note=reason)
    return current


@transaction.atomic
def reactivate_inspector(*, user: User, inspector: Inspector) -> Inspector:
    current = _locked_inspector(user, inspector)
    if current.active:
        return current
    before = audit.snapshot(current)
    current.active = True
    current.save()
    audit.record(user, AuditEntry.Action.UPDATE, current, before=before, note="重新启用")
    return current
