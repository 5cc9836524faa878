from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from shuangsuiji.directory.selectors import mask_audit_entries

from . import audit, org, permissions, services
from .models import AuditEntry, CalendarDay, CalendarYear, Department, Job, User


@login_required
def home(request):
    return render(request, "core/home.html", {"summary": services.home_summary(request.user)})


@login_required
def department_list(request):
    departments = Department.objects.select_related("jurisdiction").filter(
        jurisdiction__in=permissions.user_jurisdictions(request.user)
    )
    return render(request, "core/departments.html", {"departments": departments})


@login_required
def department_edit(request, pk: int | None = None):
    permissions.require_office(request.user)
    department = (
        get_object_or_404(permissions.visible_departments(request.user), pk=pk) if pk else None
    )
    errors = {}
    if request.method == "POST":
        try:
            org.save_department(
                user=request.user, department=department, data=_form_data(request, "active")
            )
            messages.success(request, "成员单位已保存。")
            return redirect("core:departments")
        except org.OrgInputError as exc:
            errors = exc.errors
    history = audit.history(department) if department else []
    return render(
        request,
        "core/department_form.html",
        {
            "department": department,
            "errors": errors,
            "data": request.POST or None,
            "history": history,
        },
    )


@login_required
def user_list(request):
    permissions.require(
        org.can_manage_users(request.user, request.user.department), "只有管理员可以管理账号。"
    )
    return render(request, "core/users.html", {"accounts": org.manageable_users(request.user)})


@login_required
def user_edit(request, pk: int | None = None):
    account = get_object_or_404(org.manageable_users(request.user), pk=pk) if pk else None
    permissions.require(
        org.can_manage_users(request.user, request.user.department), "只有管理员可以管理账号。"
    )
    errors = {}
    if request.method == "POST":
        try:
            org.save_user(
                actor=request.user, account=account, data=_form_data(request, "is_active")
            )
            messages.success(request, "账号已保存。")
            return redirect("core:users")
        except org.OrgInputError as exc:
            errors = exc.errors
    departments = permissions.visible_departments(request.user)
    roles = (
        User.Role.choices
        if permissions.is_office(request.user)
        else [(value, label) for value, label in User.Role.choices if value in org.DEPARTMENT_ROLES]
    )
    return render(
        request,
        "core/user_form.html",
        {
            "account": account,
            "errors": errors,
            "data": request.POST or None,
            "departments": departments,
            "roles": roles,
            "history": audit.history(account) if account else [],
        },
    )


def _form_data(request, checkbox: str) -> dict:
    data = request.POST.dict()
    data[checkbox] = checkbox in request.POST
    return data


@login_required
def calendar(request, year: int | None = None):
    if year is not None and not 2000 <= year <= 2100:
        raise Http404("没有该年份的工作日历。")
    years = list(CalendarYear.objects.values_list("year", flat=True))
    year = year or (years[-1] if years else None)
    can_edit = permissions.is_office(request.user)
    if request.method == "POST":
        try:
            year = services.save_calendar_change(request.user, request.POST)
            messages.success(request, "工作日历已保存。")
        except services.CalendarInputError as exc:
            messages.error(request, str(exc))
        return redirect("core:calendar_year", year=year) if year else redirect("core:calendar")
    days = CalendarDay.objects.filter(date__year=year) if year else []
    return render(
        request,
        "core/calendar.html",
        {
            "years": years,
            "year": year,
            "days": days,
            "can_edit": can_edit,
            "has_year": year in years,
        },
    )


@login_required
def audit_list(request):
    entries = AuditEntry.objects.select_related("user", "department")
    if permissions.sees_all_departments(request.user):
        entries = entries.filter(
            Q(department__in=permissions.visible_departments(request.user))
            | Q(
                department__isnull=True,
                user__jurisdiction__in=permissions.user_jurisdictions(request.user),
            )
        )
    else:
        entries = entries.filter(department_id=request.user.department_id)
    if q := request.GET.get("q", "").strip():
        entries = entries.filter(object_repr__icontains=q)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    # Inspectors' ID numbers and phones stay masked for those who may not read them.
    page.object_list = mask_audit_entries(request.user, page.object_list)
    return render(request, "core/audit.html", {"page": page, "q": q})


@login_required
def job_status(request, pk: int):
    job = get_object_or_404(Job, pk=pk)
    # Jobs carry the department's data (import messages, errors): its editors, the office and
    # auditors of the jurisdiction, and whoever started it may follow one; inspectors may not.
    user = request.user
    may_follow = (
        job.created_by_id == user.pk
        or permissions.can_edit_department(user, job.department)
        or (
            permissions.sees_all_departments(user)
            and permissions.can_view_department(user, job.department)
        )
    )
    permissions.require(may_follow, "只能查看本部门的后台任务。")
    template = "core/_job.html" if request.headers.get("HX-Request") else "core/job.html"
    return render(request, template, {"job": job})
