"""执法人员抽取 pages: thin views that parse the request, call one service or selector, render.

Runs a user may not read answer 404; actions a reader may not take answer 403; refused actions
come back to the page with the service's Chinese message."""

from __future__ import annotations

import datetime
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shuangsuiji.directory.models import Inspector, Target

from . import selectors, services
from .models import AssignmentRun, DeclaredConflict, Replacement


def _back(run: AssignmentRun):
    return redirect("staffing:run", run.draw.task.code, run.draw.number, run.number)


def _attempt(request, fn, success: str) -> bool:
    try:
        fn()
    except services.StaffingError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


@login_required
def task_page(request, code: str):
    """The task's inspector draws: the current run, or the form to start the first one."""
    task = selectors.task_for(request.user, code)
    run = services.current_run(task)
    if run is not None:
        return _back(run)
    return render(request, "staffing/run.html", _context(request, task, None))


@login_required
def run_page(request, code: str, draw: int, number: int):
    task, run = selectors.run_for(request.user, code, draw, number)
    return render(request, "staffing/run.html", _context(request, task, run))


def _context(request, task, run):
    user = request.user
    departments = services.task_departments(task)
    ctx = {
        "task": task,
        "run": run,
        "runs": selectors.runs_of(task),
        "departments": departments,
        "is_lead": services.is_lead(user, task),
        "is_auditor": services.is_auditor(user, task),
        "viewer_department": selectors.viewer_department(user, task),
        "draw": services.drawn_draw(task),
        "beacon_sources": services.BEACON_SOURCES,
        "now": timezone.localtime(),
    }
    if run is not None:
        page, teams = selectors.team_page(
            user, task, run, request.GET.get("page"), request.GET.get("q", "").strip()
        )
        entropy = list(run.entropy.select_related("department").order_by("name"))
        mine = ctx["viewer_department"]
        ctx.update(
            page=page,
            teams=teams,
            q=request.GET.get("q", ""),
            entropy=entropy,
            my_party=next((e for e in entropy if mine and e.department_id == mine.pk), None),
            beacon_items=[e for e in entropy if e.name.startswith("beacon.")],
            replacements=selectors.replacements_of(user, task, run),
            reasons=services.Replacement.Reason.choices,
            is_current=services.current_run(task) == run,
            can_replace=mine is not None
            and user.role in ("dept_admin", "dept_head")
            and run.state == AssignmentRun.State.DONE,
            is_head=user.role == "dept_head",
            history=selectors.run_history(run),
            shortfall_summary=selectors.shortfall_summary(run) if run.shortfall_count else [],
            files=["record.json", "announcement.json", *services.FILES, services.LEFT_OUT],
        )
    return ctx


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


@login_required
@require_POST
def run_create(request, code: str):
    task = selectors.task_for(request.user, code)
    departments = services.task_departments(task)
    need, bad = {}, []
    for d in departments:
        raw = request.POST.get(f"need_{d.code}", "")
        if raw.strip():
            value = _int(raw)
            if value is None:
                bad.append(d.name)
            else:
                need[d.code] = value
    if bad:
        messages.error(request, f"每组派出人数须为整数：{'、'.join(bad)}。")
        return redirect("staffing:task", task.code)
    source = request.POST.get("beacon_source", "").strip()
    issue = request.POST.get("beacon_issue", "").strip()
    if bool(source) != bool(issue) and issue:
        messages.error(request, "请同时选择公开随机源并填写期号。")
        return redirect("staffing:task", task.code)
    reveals_due = None
    if raw := request.POST.get("reveals_due", "").strip():
        try:
            reveals_due = datetime.datetime.fromisoformat(raw)
            if timezone.is_naive(reveals_due):
                reveals_due = timezone.make_aware(reveals_due)
        except ValueError:
            messages.error(request, "揭示截止时间格式不对，请按 年-月-日 时:分 填写。")
            return redirect("staffing:task", task.code)
    inputs = services.RunInputs(
        need=need,
        experts=request.POST.getlist("experts"),
        beacon=f"{source}.{issue}" if issue else "",
        parties=request.POST.get("parties") == "on",
        server=request.POST.get("server") == "on",
        reveals_due=reveals_due,
        note=request.POST.get("note", "").strip(),
    )
    try:
        run = services.create_run(user=request.user, task=task, inputs=inputs)
    except services.StaffingError as exc:
        messages.error(request, str(exc))
        return redirect("staffing:task", task.code)
    messages.success(request, f"已发起第 {run.number} 轮执法人员抽取。")
    return _back(run)


def _run_action(request, code, draw, number, action, success):
    task, run = selectors.run_for(request.user, code, draw, number)
    _attempt(request, lambda: action(task, run), success)
    return _back(run)


@login_required
@require_POST
def commit(request, code: str, draw: int, number: int):
    value = request.POST.get("commitment", "")
    return _run_action(
        request, code, draw, number,
        lambda task, run: services.commit(user=request.user, run=run, commitment=value),
        "已提交本部门的承诺。请妥善保存随机值，公告后再揭示。",
    )  # fmt: skip


@login_required
@require_POST
def reveal(request, code: str, draw: int, number: int):
    value = request.POST.get("value", "")
    return _run_action(
        request, code, draw, number,
        lambda task, run: services.reveal(user=request.user, run=run, value=value),
        "已揭示本部门的随机值。",
    )  # fmt: skip


@login_required
@require_POST
def beacon(request, code: str, draw: int, number: int):
    value, name = request.POST.get("value", ""), request.POST.get("name", "")
    return _run_action(
        request, code, draw, number,
        lambda task, run: services.enter_beacon(user=request.user, run=run, value=value, name=name),
        "已录入公开随机源的开奖值。",
    )  # fmt: skip


@login_required
@require_POST
def perform(request, code: str, draw: int, number: int):
    return _run_action(
        request, code, draw, number,
        lambda task, run: services.perform(user=request.user, run=run),
        "已执行执法人员抽取（大型任务在后台进行，请留意进度）。",
    )  # fmt: skip


@login_required
@require_POST
def dispatch(request, code: str):
    task = selectors.task_for(request.user, code)
    try:
        services.dispatch(user=request.user, task=task)
    except services.StaffingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "任务已派发。")
    return (
        redirect("staffing:task", task.code)
        if not services.current_run(task)
        else _back(services.current_run(task))
    )


@login_required
@require_POST
def replace(request, code: str, draw: int, number: int):
    task, run = selectors.run_for(request.user, code, draw, number)
    inspector = (
        Inspector.objects.select_related("department")
        .filter(pk=_int(request.POST.get("inspector"), 0))
        .first()
    )
    if inspector is None:
        messages.error(request, "请选择要更换的执法人员。")
        return _back(run)
    _attempt(
        request,
        lambda: services.request_replacement(
            user=request.user,
            run=run,
            team=request.POST.get("team", ""),
            inspector=inspector,
            reason=request.POST.get("reason", ""),
            detail=request.POST.get("detail", ""),
        ),
        "已提交更换申请，等待部门负责人审批。",
    )
    return _back(run)


def _replacement(request, pk: int) -> Replacement:
    item = get_object_or_404(
        Replacement.objects.select_related("run__draw__task", "department"), pk=pk
    )
    if not services.can_read_run(request.user, item.run.draw.task):
        raise Http404(selectors.NOT_FOUND)
    return item


@login_required
@require_POST
def approve(request, pk: int):
    item = _replacement(request, pk)
    _attempt(
        request,
        lambda: services.approve_replacement(
            user=request.user, replacement=item, note=request.POST.get("note", "")
        ),
        "已批准更换，替补人员已按本轮顺序确定并记入公开日志。",
    )
    return _back(item.run)


@login_required
@require_POST
def refuse(request, pk: int):
    item = _replacement(request, pk)
    _attempt(
        request,
        lambda: services.refuse_replacement(
            user=request.user, replacement=item, note=request.POST.get("note", "")
        ),
        "已不批准该更换申请。",
    )
    return _back(item.run)


CONTENT_TYPES = {".json": "application/json", ".tsv": "text/tab-separated-values; charset=utf-8"}


@login_required
def download(request, code: str, draw: int, number: int, name: str):
    """The record and its files, byte for byte as hashed: task departments and auditors only."""
    task, run = selectors.run_for(request.user, code, draw, number)
    if name == services.LEFT_OUT and not services.sees_every_department(request.user, task):
        raise PermissionDenied(
            "未入选原因的完整文件只向监督审计人员提供；本部门的原因请在页面上查看。"
        )
    filename = quote(f"{task.code}-{draw}-{number}-{name}")
    content_type = CONTENT_TYPES.get(name[name.rfind(".") :], "application/octet-stream")
    if name in ("record.json", "announcement.json"):
        data = run.record if name == "record.json" else run.announcement
        if not data:
            raise Http404("该文件尚不存在（本轮尚未公告或抽取）。")
        response = HttpResponse(bytes(data), content_type=content_type)
    else:
        if name not in (*services.FILES, services.LEFT_OUT) or not run.teams_sha256:
            raise Http404("没有这个文件，或本轮文件尚未冻结。")
        # Large files (tens of MB for a province) are streamed from disk, byte for byte.
        response = FileResponse(open(services.run_dir(run) / name, "rb"), content_type=content_type)  # noqa: SIM115 - closed by FileResponse
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@login_required
def left_out(request, code: str, draw: int, number: int):
    task, run = selectors.run_for(request.user, code, draw, number)
    if not run.left_out_sha256:
        raise Http404("本轮文件尚未冻结。")
    rows, depts = selectors.left_out_rows(request.user, task, run, request.GET)
    return render(
        request,
        "staffing/left_out.html",
        {
            "task": task,
            "run": run,
            "rows": rows[:2000],
            "total": len(rows),
            "depts": depts,
            "params": request.GET,
            "is_auditor": services.sees_every_department(request.user, task),
        },
    )


@login_required
def mine(request):
    return render(request, "staffing/mine.html", {"items": selectors.my_teams(request.user)})


@login_required
def conflicts(request):
    items = selectors.conflicts_for(request.user)
    inspectors = []
    if request.user.department_id and request.user.role in ("dept_admin", "dept_head"):
        inspectors = Inspector.objects.filter(department_id=request.user.department_id, active=True)
    return render(
        request,
        "staffing/conflicts.html",
        {"items": items.order_by("-active", "-declared_at")[:500], "inspectors": inspectors},
    )


@login_required
@require_POST
def conflict_create(request):
    inspector = (
        Inspector.objects.select_related("department")
        .filter(pk=_int(request.POST.get("inspector"), 0))
        .first()
    )
    code = request.POST.get("target", "").strip()
    target = None
    if inspector is not None:
        target = Target.objects.filter(
            jurisdiction=inspector.department.jurisdiction, code=code
        ).first()
    if inspector is None or target is None:
        messages.error(
            request, "请选择本部门的执法人员，并填写检查对象的统一社会信用代码（或注册号）。"
        )
        return redirect("staffing:conflicts")
    _attempt(
        request,
        lambda: services.declare_conflict(
            user=request.user,
            inspector=inspector,
            target=target,
            reason=request.POST.get("reason", ""),
        ),
        "已登记回避：此后冻结的人员抽取不会将该人员编入检查该对象的检查组。",
    )
    return redirect("staffing:conflicts")


@login_required
@require_POST
def conflict_withdraw(request, pk: int):
    item = get_object_or_404(
        DeclaredConflict.objects.select_related("inspector__department"), pk=pk
    )
    _attempt(
        request,
        lambda: services.withdraw_conflict(user=request.user, conflict=item),
        "已撤销回避登记。",
    )
    return redirect("staffing:conflicts")
