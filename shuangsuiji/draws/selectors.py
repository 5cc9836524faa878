"""Reads of the draws: what the task panel, the draw page and the public pages show."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone

from shuangsuiji.core import permissions
from shuangsuiji.core.models import User
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D

from . import services
from .models import DrawEntropy, Selection, TargetDraw

State = TargetDraw.State


def task_draws(task: JointTask) -> list[TargetDraw]:
    return list(
        TargetDraw.objects.filter(task=task)
        .select_related("freeze_job", "perform_job")
        .order_by("number")
    )


def entropy_rows(draw: TargetDraw, user: User) -> list[dict]:
    """One row per entropy item, with what this user may do with it. Values are never shown
    before the draw (the server's, the parties' reveals)."""
    rows = []
    drawn = draw.state == State.DRAWN
    for item in draw.entropy.select_related("department", "committed_by", "revealed_by"):
        kind = D.entropy_kind(item.name)
        mine = (
            kind == "party"
            and user.is_authenticated
            and not user.is_superuser
            and permissions.can_edit_department(user, item.department)
        )
        beacon = D.BEACON_NAME.fullmatch(item.name) if kind == "beacon" else None
        rows.append(
            {
                "item": item,
                "kind": kind,
                "label": _label(item, beacon),
                "mine": mine,
                "can_commit": mine and draw.state in (State.PREPARING, State.COMMITTING),
                "can_reveal": mine and draw.state == State.ANNOUNCED and not item.value,
                "shown_value": item.value if drawn or kind == "beacon" else "",
                "storage_key": f"ssj:draw:{draw.task.code}:{draw.number}:{item.name}",
                "source": beacon.group(1) if beacon else "",
                "issue": beacon.group(2) if beacon else "",
            }
        )
    return rows


def _label(item: DrawEntropy, beacon) -> str:
    if beacon:
        name = services.BEACON_SOURCES.get(beacon.group(1), (beacon.group(1),))[0]
        return f"公开随机源：{name} 第 {beacon.group(2)} 期"
    if item.name == "server":
        return "服务器随机数"
    return f"{item.department.name}（承诺–揭示）"


def draw_context(draw: TargetDraw, user: User) -> dict:
    """Everything the draw's widgets need (the panel and the draw page share them)."""
    task = draw.task
    lead = services.is_lead(user, task)
    now = services.now()
    ctx = {
        "draw": draw,
        "is_lead": lead,
        "can_see_list": services.can_see_list(user, task),
        "entropy": entropy_rows(draw, user),
        "beacon_sources": [(k, v[0], v[2]) for k, v in services.BEACON_SOURCES.items()],
        "overdue": draw.state == State.ANNOUNCED
        and draw.reveals_due is not None
        and now > draw.reveals_due,
        "reasons": D.REASONS,
    }
    if draw.state == State.PREPARING and lead:
        ctx["review"] = services.review(draw)
    if draw.state == State.COMMITTING:
        ctx["announce_problems"] = services.announcement_problems(draw)
    if draw.state == State.ANNOUNCED:
        ctx["perform_problems"] = services.perform_problems(draw)
        ctx["abandon_problem"] = services.abandon_problem(draw)
    if draw.state in (State.PREPARING, State.COMMITTING):
        ctx["abandon_problem"] = None
    return ctx


def panel_context(task: JointTask, user: User) -> dict:
    draws = task_draws(task)
    current = next((d for d in reversed(draws) if d.state in services.OPEN_STATES), None)
    last = draws[-1] if draws else None
    lead = services.is_lead(user, task)
    ctx = {
        "task": task,
        "draws": draws,
        "current": draws and (current or last),
        "is_lead": lead,
        "can_prepare": lead and task.state == JointTask.State.ESTABLISHED and current is None,
        "can_supplement": lead and task.state == JointTask.State.DRAWN and current is None,
        "today": timezone.localdate(),
    }
    if ctx["current"]:
        ctx.update(draw_context(ctx["current"], user))
    return ctx


def visible_draw(user: User, pk: int) -> TargetDraw:
    """A draw whose page the user may open (the task's departments and auditors), or 404/403."""
    draw = (
        TargetDraw.objects.select_related("task", "task__lead_department", "task__jurisdiction")
        .filter(pk=pk)
        .first()
    )
    if draw is None:
        raise Http404("没有这次抽取。")
    services.require_see_list(user, draw.task)
    return draw


def selections(draw: TargetDraw) -> list[Selection]:
    return list(
        Selection.objects.filter(draw=draw)
        .select_related("target", "target__region")
        .order_by("position")
    )


def stratum_counts(draw: TargetDraw) -> list[dict]:
    """n, k and selected per true stratum (internal when sealed)."""
    chosen: dict[str, int] = {}
    for stratum in Selection.objects.filter(draw=draw).values_list("stratum", flat=True):
        chosen[stratum] = chosen.get(stratum, 0) + 1
    return [
        {"label": s, "n": n, "k": draw.k.get(s, 0), "selected": chosen.get(s, 0)}
        for s, n in sorted((draw.counts or {}).items())
    ]


def public_draw(code: str, number: int) -> TargetDraw:
    """A draw whose announcement is public (the only draws the public pages know)."""
    draw = (
        TargetDraw.objects.select_related("task", "task__lead_department")
        .filter(task__code=code, number=number, announcement__isnull=False)
        .first()
    )
    if draw is None:
        raise Http404("没有找到这次抽取的公告：任务编号或抽取序号有误，或尚未公告。")
    return draw


def public_draws(limit: int = 200) -> list[TargetDraw]:
    return list(
        TargetDraw.objects.filter(announcement__isnull=False)
        .select_related("task", "task__lead_department")
        .order_by("-announced_at")[:limit]
    )


def annual_caps(user: User) -> list[dict]:
    """The cap per item class in the user's jurisdiction (the default where none is set)."""
    from shuangsuiji.catalog.models import Item

    from .models import AnnualCap

    jurisdiction_id = user.jurisdiction_id or (
        user.department.jurisdiction_id if user.department_id else None
    )
    found = dict(
        AnnualCap.objects.filter(jurisdiction_id=jurisdiction_id).values_list(
            "item_class", "max_per_year"
        )
    )
    return [
        {"item_class": value, "label": label, "max": found.get(value), "default": AnnualCap.DEFAULT}
        for value, label in Item.ItemClass.choices
    ]
