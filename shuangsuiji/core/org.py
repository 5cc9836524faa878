"""Organisation services: the member-unit roster (成员单位) and user accounts.

- The office keeps the roster and may create any account in its jurisdiction.
- A department administrator manages the accounts of its own department, for the department roles
  only (administrator, head, inspector); office and auditor accounts are the office's to give.
"""

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import audit, permissions
from .models import AuditEntry, Department, User

DEPARTMENT_ROLES = {User.Role.DEPT_ADMIN, User.Role.DEPT_HEAD, User.Role.INSPECTOR}


class OrgInputError(ValueError):
    """A form error: ``errors`` maps field names to Chinese messages."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(errors.values()))


def can_manage_users(user: User, department: Department | None) -> bool:
    if permissions.is_office(user):
        return True
    return (
        user.is_authenticated
        and user.role == User.Role.DEPT_ADMIN
        and department is not None
        and department.pk == user.department_id
    )


def manageable_users(user: User):
    qs = User.objects.select_related("department").order_by("department__sort_order", "username")
    if permissions.is_office(user):
        return qs.filter(jurisdiction_id=user.jurisdiction_id) if user.jurisdiction_id else qs
    if user.role == User.Role.DEPT_ADMIN:
        return qs.filter(department_id=user.department_id)
    return qs.none()


@transaction.atomic
def save_department(*, user: User, department: Department | None, data: dict) -> Department:
    permissions.require_office(user)
    if department is None and user.jurisdiction_id is None:
        raise OrgInputError({"code": "账号未关联行政区划，不能新建成员单位。"})
    code = (data.get("code") or "").strip().upper()
    name = (data.get("name") or "").strip()
    errors = {}
    if not re.fullmatch(r"[A-Z0-9]{2,20}", code):
        errors["code"] = "部门代码须为2–20位大写字母或数字（如 SCJGJ）。"
    if not name:
        errors["name"] = "请填写部门名称。"
    try:
        sort_order = int(data.get("sort_order") or 0)
        if sort_order < 0:
            raise ValueError
    except ValueError:
        errors["sort_order"] = "排序须为非负整数。"
        sort_order = 0
    if errors:
        raise OrgInputError(errors)
    before = audit.snapshot(department) if department else None
    if department is None:
        department = Department(jurisdiction=user.jurisdiction)
    department.code, department.name, department.sort_order = code, name, sort_order
    department.short_name = (data.get("short_name") or "").strip()[:40]
    department.active = bool(data.get("active", True))
    try:
        with transaction.atomic():
            department.save()
    except IntegrityError as exc:
        raise OrgInputError({"code": f"部门代码 {code} 已被使用。"}) from exc
    audit.record(
        user,
        AuditEntry.Action.UPDATE if before else AuditEntry.Action.CREATE,
        department,
        before=before,
        department=department,
    )
    return department


@transaction.atomic
def save_user(*, actor: User, account: User | None, data: dict) -> User:
    """Create or change an account. ``data``: username, full_name, role, department (id), password,
    is_active. The password is required for a new account and optional when editing."""
    errors = {}
    role = data.get("role")
    if role not in User.Role.values:
        errors["role"] = "请选择角色。"
    department = None
    if data.get("department"):
        department_id = str(data["department"])
        if department_id.isdigit():
            department = permissions.visible_departments(actor).filter(pk=department_id).first()
        if department is None:
            errors["department"] = "所选部门不存在。"
    if role in DEPARTMENT_ROLES and department is None and "department" not in errors:
        errors["department"] = "部门管理员、部门负责人和执法检查人员必须属于一个部门。"
    if not permissions.is_office(actor):
        if role not in DEPARTMENT_ROLES:
            errors["role"] = "部门管理员只能设置本部门的管理员、负责人或执法检查人员账号。"
        if account is not None and account.department_id != actor.department_id:
            permissions.require(False, "只能管理本部门的账号。")
    permissions.require(
        can_manage_users(actor, department or actor.department), "只能管理本部门的账号。"
    )
    username = (data.get("username") or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{3,150}", username):
        errors["username"] = "用户名须为3位以上字母、数字或 _ . @ -。"
    elif (
        User.objects.filter(username=username).exclude(pk=account.pk if account else None).exists()
    ):
        errors["username"] = f"用户名 {username} 已被使用。"
    password = data.get("password") or ""
    if account is None and not password:
        errors["password"] = "请为新账号设置初始密码。"
    if password:
        try:
            validate_password(password)
        except ValidationError as exc:
            errors["password"] = "；".join(exc.messages)
    if errors:
        raise OrgInputError(errors)
    before = audit.snapshot(account) if account else None
    account = account or User()
    account.jurisdiction_id = department.jurisdiction_id if department else actor.jurisdiction_id
    if account.pk == actor.pk and not data.get("is_active", True):
        raise OrgInputError({"is_active": "不能停用自己的账号。"})
    account.username = username
    account.full_name = (data.get("full_name") or "").strip()[:50]
    account.role = role
    account.department = department
    account.is_active = bool(data.get("is_active", True))
    if password:
        account.set_password(password)
    account.save()
    audit.record(
        actor,
        AuditEntry.Action.UPDATE if before else AuditEntry.Action.CREATE,
        account,
        before=before,
        department=department,
        note="已重设密码" if password and before else "",
    )
    return account
