"""Draw pages and actions: thin views that parse the request, call one service, and render.

Every action is a POST from the task panel or the draw page; a refused one comes back as a
Chinese message on the page it was sent from (``next``), and changes nothing."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import Department, Job
from shuangsuiji.jointcheck.models import JointTask

from . import engine, selectors, services
from .files import file_response
from .models import TargetDraw


def _back(request, draw: TargetDraw | None = None, task: JointTask | None = None):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    if draw is not None:
        return redirect("draws:detail", pk=draw.pk)
    return redirect("draws:task", task_id=task.pk)


def _draw(pk: int) -> TargetDraw:
    return get_object_or_404(
        TargetDraw.objects.select_related("task", "task__lead_department", "task__jurisdiction"),
        pk=pk,
    )


def _visible_task(request, task_id: int) -> JointTask:
    task = get_object_or_404(
        JointTask.objects.select_related("lead_department", "jurisdiction"), pk=task_id
    )
    permissions.require(
        services.can_see_list(request.user, task)
        or (
            permissions.sees_all_departments(request.user)
            and permissions.covers(request.user, task.jurisdiction)
        ),
        "只有本任务的参与部门和监督审计人员可以查看抽取。",
    )
    return task


def _run(request, fn, success: str, *, draw=None, task=None):
    try:
        result = fn()
    except services.DrawError as exc:
        messages.error(request, str(exc))
        return _back(request, draw, task)
    if isinstance(result, Job):
        messages.info(request, "已在后台开始处理，页面会显示进度。")
    else:
        messages.success(request, success)
    return _back(request, draw, task)


# --- pages ---------------------------------------------------------------------------------------


@login_required
def task_page(request, task_id: int):
    """The task's draws on a page of their own (the task page shows the same panel)."""
    task = _visible_task(request, task_id)
    return render(request, "draws/task.html", {"task": task})


@login_required
def detail(request, pk: int):
    draw = selectors.visible_draw(request.user, pk)
    ctx = selectors.draw_context(draw, request.user)
    ctx.update(
        {
            "task": draw.task,
            "selections": selectors.selections(draw)
            if draw.state == TargetDraw.State.DRAWN
            else [],
            "strata": selectors.stratum_counts(draw),
            "exclusions": draw.exclusions.select_related("target").order_by("target__code")[:500],
            "history": audit.history(draw)[:50],
        }
    )
    return render(request, "draws/detail.html", ctx)


@login_required
def strata_file(request, pk: int):
    """The sealed strata file: the task's departments and auditors only (never public)."""
    draw = selectors.visible_draw(request.user, pk)
    if not draw.sealed or not draw.files_dir:
        raise Http404("本次抽取没有密封分层文件。")
    return file_response(draw, engine.STRATA, public=False)


@login_required
def private_file(request, pk: int, name: str):
    """The population or excluded file before its release, for the task's departments."""
    draw = selectors.visible_draw(request.user, pk)
    if not draw.files_dir:
        raise Http404("总体尚未冻结。")
    return file_response(
        draw, {"population": engine.POPULATION, "excluded": engine.EXCLUDED}[name], public=False
    )


# --- actions -------------------------------------------------------------------------------------


@login_required
@require_POST
def prepare(request, task_id: int):
    task = get_object_or_404(JointTask, pk=task_id)
    reason = request.POST.get("supplementary_reason", "")
    return _run(
        request,
        lambda: services.prepare(user=request.user, task=task, supplementary_reason=reason),
        "已准备抽取：请核对候选对象和排除建议，设置随机数来源后冻结总体。",
        task=task,
    )


@login_required
@require_POST
def decide(request, pk: int):
    draw = _draw(pk)
    reason = request.POST.get("reason") or None
    try:
        target_id = int(request.POST.get("target", ""))
    except ValueError:
        messages.error(request, "请选择检查对象。")
        return _back(request, draw)
    return _run(
        request,
        lambda: services.decide(
            user=request.user,
            draw=draw,
            target=target_id,
            reason=reason,
            note=request.POST.get("note", "")[:300],
        ),
        "已排除该对象。" if reason else "已取消排除。",
        draw=draw,
    )


def _parse_datetime(value: str) -> datetime.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError as exc:
        raise services.DrawError(f"时间“{value[:30]}”的格式不对，应为 年-月-日 时:分。") from exc
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _parse_date(value: str) -> datetime.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise services.DrawError(f"日期“{value[:30]}”的格式不对，应为 年-月-日。") from exc


@login_required
@require_POST
def entropy(request, pk: int):
    draw = _draw(pk)

    def go():
        plan = services.EntropyPlan(
            parties=bool(request.POST.get("parties")),
            server=bool(request.POST.get("server")),
            beacon_source=request.POST.get("beacon_source", "").strip(),
            beacon_issue=request.POST.get("beacon_issue", "").strip(),
            beacon_date=_parse_date(request.POST.get("beacon_date", "")),
            reveals_due=_parse_datetime(request.POST.get("reveals_due", "")),
        )
        return services.configure_entropy(user=request.user, draw=draw, plan=plan)

    return _run(request, go, "已设置随机数来源。", draw=draw)


@login_required
@require_POST
def freeze(request, pk: int):
    draw = _draw(pk)
    return _run(
        request, lambda: services.request_freeze(user=request.user, draw=draw), "", draw=draw
    )


def _department(request, draw: TargetDraw) -> Department:
    by_code = {d.code: d for d in services.task_departments(draw.task)}
    department = by_code.get(request.POST.get("department", ""))
    if department is None:
        raise services.DrawError("该部门不是本任务的参与部门。")
    return department


@login_required
@require_POST
def commit(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.commit(
            user=request.user,
            draw=draw,
            department=_department(request, draw),
            commitment=request.POST.get("commitment", ""),
        ),
        "已提交承诺。请妥善保存随机数备份：公告后要用它揭示。",
        draw=draw,
    )


@login_required
@require_POST
def reveal(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.reveal(
            user=request.user,
            draw=draw,
            department=_department(request, draw),
            value=request.POST.get("value", ""),
        ),
        "已揭示：揭示值与承诺相符，已保存。",
        draw=draw,
    )


@login_required
@require_POST
def beacon(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.enter_beacon(
            user=request.user, draw=draw, value=request.POST.get("value", "")
        ),
        "已填写开奖号码。",
        draw=draw,
    )


@login_required
@require_POST
def announce(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.announce(user=request.user, draw=draw),
        "已公告：公告已写入公开日志。各部门现在可以揭示。",
        draw=draw,
    )


@login_required
@require_POST
def perform(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.perform(user=request.user, draw=draw),
        "抽取完成，名单已锁定。",
        draw=draw,
    )


@login_required
@require_POST
def publish(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.publish_release(user=request.user, draw=draw),
        "抽取结果已公开。",
        draw=draw,
    )


@login_required
@require_POST
def abandon(request, pk: int):
    draw = _draw(pk)
    return _run(
        request,
        lambda: services.abandon(
            user=request.user, draw=draw, reason=request.POST.get("reason", "")
        ),
        "已作废本次抽取。可以重新准备新的一次抽取。",
        draw=draw,
    )


# --- settings (the office) -----------------------------------------------------------------------


@login_required
def caps(request):
    """The jurisdiction's annual cap per item class (office only)."""
    permissions.require_office(request.user)
    if request.method == "POST":
        try:
            services.set_annual_caps(
                user=request.user,
                caps={c: request.POST.get(f"cap_{c}", "") for c in ("A", "B", "C")},
            )
        except services.DrawError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "已保存年度抽查次数上限。")
        return redirect("draws:caps")
    return render(request, "draws/caps.html", {"caps": selectors.annual_caps(request.user)})
