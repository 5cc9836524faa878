"""Who may see and change what. Every view and service asks here, so the rules live in one place.

- The office (联席会议办公室) sees everything of its jurisdiction and manages organisation data.
- A department administrator changes the department's own data; a department head also approves.
- An inspector sees the department's directories read-only, and (later) only their teams.
- An auditor reads everything, changes nothing.
- Personal data of inspectors (ID number, phone) is shown unmasked only to the administrators
  (and heads) of the inspector's own department.
"""

from django.core.exceptions import PermissionDenied

from .models import Department, Jurisdiction, User

Role = User.Role


def is_office(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role == Role.OFFICE)


def sees_all_departments(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in (Role.OFFICE, Role.AUDITOR))


def _jurisdiction_prefix(user) -> str | None:
    """The GB/T 2260 code prefix of what the user's jurisdiction covers (a prefecture covers its
    counties); ``""`` for a superuser (everything), ``None`` for a user without a jurisdiction."""
    if user.is_superuser:
        return ""
    root = user.jurisdiction
    if root is None:
        return None
    return root.code_prefix


def user_jurisdictions(user):
    """The user's jurisdiction and everything under it."""
    prefix = _jurisdiction_prefix(user)
    if prefix is None:
        return Jurisdiction.objects.none()
    return Jurisdiction.objects.filter(code__startswith=prefix)


def covers(user, jurisdiction: Jurisdiction | None) -> bool:
    prefix = _jurisdiction_prefix(user)
    return prefix is not None and jurisdiction is not None and jurisdiction.code.startswith(prefix)


def can_view_department(user, department: Department | None) -> bool:
    if not user.is_authenticated or department is None:
        return False
    if sees_all_departments(user):
        return covers(user, department.jurisdiction)
    return user.department_id == department.pk


def can_edit_department(user, department: Department | None) -> bool:
    """May change the department's own 一单两库 (import, edit, publish)."""
    if not user.is_authenticated or department is None:
        return False
    if user.is_superuser:
        return True
    return user.role in (Role.DEPT_ADMIN, Role.DEPT_HEAD) and user.department_id == department.pk


def can_see_personal_data(user, department: Department | None) -> bool:
    return can_edit_department(user, department)


def visible_departments(user):
    """The departments whose private data the user may read."""
    qs = Department.objects.select_related("jurisdiction")
    if sees_all_departments(user):
        return qs.filter(jurisdiction__in=user_jurisdictions(user))
    if user.is_authenticated and user.department_id:
        return qs.filter(pk=user.department_id)
    return qs.none()


def require(allowed: bool, message: str = "您没有权限执行此操作。") -> None:
    if not allowed:
        raise PermissionDenied(message)


def require_office(user) -> None:
    require(is_office(user), "只有联席会议办公室可以执行此操作。")


def require_edit(user, department) -> None:
    require(can_edit_department(user, department), "只能修改本部门的数据。")


def require_view(user, department) -> None:
    require(can_view_department(user, department), "只能查看本部门的数据。")


def mask_id_number(value: str) -> str:
    """``652801199001011234`` → ``652801********1234`` (DOMAIN.md "Publication and personal data")."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * (len(value) - 2)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
