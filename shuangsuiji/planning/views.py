"""一计划 pages: thin views that parse the request, call one service or selector, and render.

Plans a user may not see answer 404; plans a user may see but not change answer 403 on any write;
office-only pages answer 403 to everyone else."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shuangsuiji.core import audit, permissions

from . import export, selectors, services
from .forms import PlanLineForm, SettingsForm
from .models import AnnualPlan, JointPlanEntry, PlanLine, PublishedPlan


def _year(request) -> int:
    value = (request.GET.get("year") or request.POST.get("year") or "").strip()
    if value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    return timezone.localdate().year


def _visible_plan(request, pk: int) -> AnnualPlan:
    plan = selectors.get_plan(pk)
    if plan is None or not selectors.can_view_plan(request.user, plan):
        raise Http404("没有找到该计划，或您无权查看。")
    return plan


def _office_jurisdiction(request):
    try:
        return services.office_jurisdiction(request.user)
    except services.PlanError as exc:
        raise Http404(str(exc)) from exc


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


# --- departments' plans --------------------------------------------------------------------------


@login_required
def plan_index(request):
    year = _year(request)
    rows = selectors.index_rows(request.user, year)
    own = request.user.department if request.user.department_id else None
    return render(
        request,
        "planning/index.html",
        {
            "year": year,
            "rows": rows,
            "can_create": own is not None and permissions.can_edit_department(request.user, own),
            "is_office": permissions.is_office(request.user),
            "settings": selectors.plan_settings(selectors.user_jurisdiction(request.user), year)
            if selectors.user_jurisdiction(request.user)
            else None,
        },
    )


@login_required
@require_POST
def plan_create(request):
    department = request.user.department
    permissions.require(
        department is not None and permissions.can_edit_department(request.user, department),
        "只能编制本部门的抽查工作计划。",
    )
    try:
        plan = services.create_plan(user=request.user, department=department, year=_year(request))
    except services.PlanError as exc:
        messages.error(request, str(exc))
        return redirect(f"/planning/?year={_year(request)}")
    messages.success(request, f"已创建{plan}。")
    return redirect("planning:detail", pk=plan.pk)


@login_required
def plan_detail(request, pk: int):
    plan = _visible_plan(request, pk)
    lines = selectors.plan_lines(plan)
    selectors.live_counts(request.user, plan, lines)
    cfg = selectors.plan_settings(plan.department.jurisdiction, plan.year)
    for line in lines:
        line.warnings = selectors.line_warnings(line, cfg.a_class_max_bp)
        line.scope_text = selectors.scope_text(line.scope)
    return render(
        request,
        "planning/detail.html",
        {
            "plan": plan,
            "lines": lines,
            "settings": cfg,
            "can_edit": selectors.can_edit_plan(request.user, plan),
            "can_review": permissions.is_office(request.user)
            and plan.status == AnnualPlan.Status.SUBMITTED,
            "history": audit.history(plan)[:50],
        },
    )


@login_required
def plan_export(request, pk: int):
    plan = _visible_plan(request, pk)
    lines = selectors.plan_lines(plan)
    rows = [{**selectors._public_line(line), "seq": n} for n, line in enumerate(lines, 1)]
    title = str(plan)
    return _xlsx(export.workbook(title, rows), f"{title}.xlsx")


def _plan_action(request, pk: int, action):
    plan = _visible_plan(request, pk)
    try:
        done = action(plan)
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("planning:detail", pk=plan.pk)


@login_required
@require_POST
def plan_submit(request, pk: int):
    def act(plan):
        plan = services.submit_plan(user=request.user, plan=plan)
        return "已报送联席会议办公室。" + ("（已逾期，已标记为逾期报送）" if plan.late else "")

    return _plan_action(request, pk, act)


@login_required
@require_POST
def plan_return(request, pk: int):
    def act(plan):
        services.return_plan(
            user=request.user, plan=plan, comments=request.POST.get("comments", "")
        )
        return "已退回，并附意见。"

    return _plan_action(request, pk, act)


@login_required
@require_POST
def plan_accept(request, pk: int):
    def act(plan):
        services.accept_plan(
            user=request.user, plan=plan, comments=request.POST.get("comments", "")
        )
        return "已采纳。"

    return _plan_action(request, pk, act)


def _line_form(request, plan: AnnualPlan, line: PlanLine | None):
    permissions.require(
        permissions.can_edit_department(request.user, plan.department),
        "只能修改本部门的抽查工作计划。",
    )
    if not plan.editable:
        messages.error(request, f"{plan}{plan.get_status_display()}，不能修改。")
        return redirect("planning:detail", pk=plan.pk)
    items = services.published_items(plan.department)
    if request.method == "POST":
        form = PlanLineForm(request.POST, plan=plan, items=items)
        if form.is_valid():
            try:
                if line is None:
                    services.create_line(user=request.user, plan=plan, data=form.service_data())
                else:
                    services.update_line(user=request.user, line=line, data=form.service_data())
            except services.LineInvalid as exc:
                for key, message in exc.errors.items():
                    form.add_error(key if key in form.fields else None, message)
            except services.PlanError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "已保存计划条目。")
                return redirect("planning:detail", pk=plan.pk)
        status = 400
    else:
        initial = PlanLineForm.initial_for(line) if line else {"initiator": plan.department.pk}
        form = PlanLineForm(initial=initial, plan=plan, items=items)
        status = 200
    return render(
        request,
        "planning/line_form.html",
        {"plan": plan, "line": line, "form": form, "no_items": not items},
        status=status,
    )


@login_required
def line_create(request, pk: int):
    plan = _visible_plan(request, pk)
    return _line_form(request, plan, None)


def _visible_line(request, pk: int) -> PlanLine:
    line = PlanLine.objects.select_related("plan__department__jurisdiction").filter(pk=pk).first()
    if line is None or not selectors.can_view_plan(request.user, line.plan):
        raise Http404("没有找到该计划条目，或您无权查看。")
    return line


@login_required
def line_edit(request, pk: int):
    line = _visible_line(request, pk)
    return _line_form(request, line.plan, line)


@login_required
@require_POST
def line_delete(request, pk: int):
    line = _visible_line(request, pk)
    permissions.require(
        permissions.can_edit_department(request.user, line.plan.department),
        "只能修改本部门的抽查工作计划。",
    )
    try:
        services.delete_line(user=request.user, line=line)
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "已删除计划条目。")
    return redirect("planning:detail", pk=line.plan_id)


# --- the office ----------------------------------------------------------------------------------


@login_required
def plan_settings(request):
    permissions.require_office(request.user)
    jurisdiction = _office_jurisdiction(request)
    year = _year(request)
    cfg = services.settings_for(jurisdiction, year)
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.save_settings(user=request.user, **form.cleaned_data)
            except services.PlanError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "已保存设置。")
                return redirect(f"/planning/settings/?year={form.cleaned_data['year']}")
        status = 400
    else:
        form = SettingsForm(
            initial={
                "year": year,
                "department_deadline": cfg.department_deadline,
                "office_deadline": cfg.office_deadline,
                "credit_linked_min_percent": cfg.credit_linked_min_percent,
                "a_class_max_bp": cfg.a_class_max_bp,
            }
        )
        status = 200
    history = audit.history(cfg)[:20] if cfg.pk else []
    return render(
        request,
        "planning/settings.html",
        {"form": form, "year": year, "history": history},
        status=status,
    )


@login_required
def merge(request):
    permissions.require_office(request.user)
    jurisdiction = _office_jurisdiction(request)
    year = _year(request)
    lines = selectors.accepted_lines(jurisdiction, year)
    return render(
        request,
        "planning/merge.html",
        {
            "year": year,
            "proposals": selectors.merge_proposals(lines),
            "entries": selectors.entries(jurisdiction, year),
            "checks": selectors.merge_checks(jurisdiction, year, lines),
            "lines": lines,
            "submitted": AnnualPlan.objects.filter(
                department__jurisdiction=jurisdiction, year=year, status=AnnualPlan.Status.SUBMITTED
            ).select_related("department"),
            "versions": selectors.published_versions(jurisdiction, year),
        },
    )


@login_required
@require_POST
def merge_confirm(request):
    permissions.require_office(request.user)
    year = _year(request)
    ids = [v for v in request.POST.getlist("lines") if v.isdigit()]
    lead = request.POST.get("lead", "")
    try:
        entry = services.confirm_merge(
            user=request.user,
            year=year,
            line_ids=ids,
            lead_department_id=int(lead) if lead.isdigit() else None,
            name=request.POST.get("name", ""),
        )
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已确认合并为联合抽查：{entry.name}。")
    return redirect(f"/planning/merge/?year={year}")


@login_required
@require_POST
def merge_undo(request, pk: int):
    permissions.require_office(request.user)
    entry = get_object_or_404(JointPlanEntry, pk=pk)
    services.undo_merge(user=request.user, entry=entry)
    messages.success(request, "已撤销合并。")
    return redirect(f"/planning/merge/?year={entry.year}")


@login_required
@require_POST
def publish(request):
    permissions.require_office(request.user)
    year = _year(request)
    try:
        published = services.publish_joint_plan(
            user=request.user, year=year, reason=request.POST.get("reason", "")
        )
    except services.PlanError as exc:
        messages.error(request, str(exc))
        return redirect(f"/planning/merge/?year={year}")
    messages.success(request, f"已发布{published}。")
    return redirect("planning:public_detail", pk=published.pk)


# --- the public ----------------------------------------------------------------------------------


def public_index(request):
    """Every jurisdiction's current published plan per year, with its history of versions."""
    versions = list(
        PublishedPlan.objects.select_related("jurisdiction")
        .order_by("jurisdiction__code", "-year", "-version")
        .defer("rows")
    )
    groups: dict[tuple, list[PublishedPlan]] = {}
    for version in versions:
        groups.setdefault((version.jurisdiction_id, version.year), []).append(version)
    return render(request, "planning/public_index.html", {"groups": list(groups.values())})


def public_detail(request, pk: int):
    published = get_object_or_404(PublishedPlan.objects.select_related("jurisdiction"), pk=pk)
    history = list(
        PublishedPlan.objects.filter(jurisdiction=published.jurisdiction_id, year=published.year)
        .order_by("-version")
        .defer("rows")
    )
    return render(
        request,
        "planning/public_detail.html",
        {"published": published, "history": history, "current": history[0]},
    )


def public_export(request, pk: int):
    published = get_object_or_404(PublishedPlan.objects.select_related("jurisdiction"), pk=pk)
    title = str(published)
    return _xlsx(export.workbook(title, published.rows), f"{title}.xlsx")
