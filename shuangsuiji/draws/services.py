"""Target draws (ssj-draw/1): every rule and every state change, checked, locked and audited.

The life of a draw (``TargetDraw.State``), DRAW-PROTOCOL.md §1 and DOMAIN.md "The joint task" 5:

1. :func:`prepare` (待冻结) — the lead department of a task in 已确立 opens draw 1 (or, with a
   reason, a supplementary draw on a locked list). The candidates are the task's scope on the lead
   department's directory. The platform pre-excludes what the rules exclude — targets at the
   jurisdiction's annual cap (``annual-limit``), deregistered or revoked entities
   (``deregistered``), earlier selections of the same task (``earlier-draw``) — and suggests
   merges with other departments' pending tasks (``merged``, "进一次门、查多项事"). The lead
   decides on each suggestion with :func:`decide` (an exclusion the platform did not suggest is
   refused: the lead cannot leave out a target of their choosing).
2. :func:`configure_entropy` — beacon (福彩3D/双色球 issue), the departments' commit–reveal,
   server entropy (a department's own task only), in any mix the protocol allows.
3. :func:`request_freeze` (→ 待承诺) — a background job (``draws.freeze``) writes the canonical
   files (engine.py) and keeps their hashes.
4. :func:`commit` per department, then :func:`announce` (→ 已公告): the announcement is appended to
   the public log in the same transaction.
5. :func:`reveal` per department (only after the announcement, before ``reveals_due``), and
   :func:`enter_beacon` once the issue is drawn.
6. :func:`perform` (→ 已抽取): the selection is stored as the locked list, the release built, the
   task moved to 已抽取; the release is appended at once (``immediate``) or by
   :func:`publish_release` after the on-site checks (``after-inspection``).
7. :func:`abandon` (→ 已作废): before the announcement quietly (nothing was published), after it
   only when ``reveals_due`` passed with reveals missing, publishing the ``abandoned`` document.
   Abandonment is always the lead's action (nothing happens by itself when a page is opened); the
   page warns once the due time has passed.

A done draw is never edited: no function here changes a draw in 已抽取 except to publish its held
release. Times: ``now()`` is the single clock (tests move it).
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from shuangsuiji.catalog.models import Item
from shuangsuiji.core import audit, jobs, permissions
from shuangsuiji.core.models import AuditEntry, Department, Job, User
from shuangsuiji.directory.models import Target
from shuangsuiji.directory.selectors import scope_targets
from shuangsuiji.jointcheck import services as tasks
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.jointcheck.services import task_departments
from shuangsuiji.protocol import draw as D
from shuangsuiji.publication import services as publication

from . import engine, signals
from .entropy import (
    ANNOUNCE_MARGIN,
    BEACON_SOURCES,
    beacon_problem,
    beacon_time,
    open_commitment,
)
from .models import AnnualCap, DrawEntropy, Exclusion, Selection, TargetDraw

State = TargetDraw.State
TaskState = JointTask.State
Action = AuditEntry.Action

DEREGISTERED = (
    Target.RegStatus.DEREGISTERED,
    Target.RegStatus.REVOKED,
    Target.RegStatus.CANCELLED,
)
# Reasons the platform pre-excludes (the lead may take them back in) and may suggest.
AUTO_REASONS = ("earlier-draw", "annual-limit", "deregistered")  # in order of precedence
OPEN_STATES = (State.PREPARING, State.COMMITTING, State.ANNOUNCED)
# Tasks whose selected targets count as "a pending task" for the merge suggestion: drawn, not
# yet finished (the inspection app adds its own states later).
PENDING_TASK_STATES = (TaskState.DRAWN, TaskState.DISPATCHED)
# Above this many candidates a draw is performed by the job worker, not in the request.
PERFORM_INLINE_LIMIT = 200_000


class DrawError(ValueError):
    """A refused draw operation; the message is for the user, in Chinese."""


def now() -> datetime.datetime:
    return timezone.now()


def today() -> datetime.date:
    return timezone.localdate(now())


# --- who may do what -----------------------------------------------------------------------------


def is_lead(user: User, task: JointTask) -> bool:
    """The lead department's administrator or head (the only ones who run the draw)."""
    return tasks.can_lead(user, task)


def require_lead(user: User, task: JointTask) -> None:
    permissions.require(
        is_lead(user, task),
        "只有牵头部门的管理员或负责人可以操作检查对象抽取。",
    )


def can_see_list(user: User, task: JointTask) -> bool:
    """The locked list before its release, the strata file, the classes."""
    return tasks.can_read_records(user, task)


def require_see_list(user: User, task: JointTask) -> None:
    permissions.require(
        can_see_list(user, task), "只有本任务的参与部门和监督审计人员可以查看抽取名单。"
    )


# --- candidates, strata, allocation --------------------------------------------------------------


def candidates(task: JointTask) -> QuerySet:
    """The task's scope on the lead department's directory (active entries matching the filter)."""
    return scope_targets(task.lead_department, task.scope or {})


def allocation_of(task: JointTask) -> D.Allocation:
    """The task's allocation (§1.3), or :class:`DrawError` with what is wrong in Chinese."""
    try:
        if task.allocation_mode == JointTask.AllocationMode.COUNT:
            if not task.count_total:
                raise DrawError("抽取总数为 0：请在任务方案中填写大于 0 的抽取数量。")
            return D.Allocation.count(task.count_total, _int_values(task.weights, "权重"))
        ratios = _int_values(task.ratios, "抽查比例")
        for label, bp in ratios.items():
            if not 0 <= bp <= 10000:
                raise DrawError(
                    f"分层 {label} 的抽查比例 {bp / 100:g}% 超出 0–100% 的范围，请修改任务方案。"
                )
        if not ratios:
            raise DrawError("任务没有填写抽查比例，请在任务方案中填写。")
        return D.Allocation.ratio(ratios)
    except D.ProtocolError as exc:
        raise DrawError(f"任务的抽取方式无效：{exc}") from exc


def _int_values(raw, what: str) -> dict[str, int]:
    out = {}
    for label, value in (raw or {}).items():
        if value is None or value == "":
            continue
        try:
            out[str(label)] = int(value)
        except (TypeError, ValueError) as exc:
            raise DrawError(f"分层 {label} 的{what}“{value}”不是整数。") from exc
    return out


# --- the lead's review before freezing -----------------------------------------------------------


def annual_cap(task: JointTask) -> int | None:
    """The cap that applies to the task's targets, or None when the task is exempt (complaint
    driven, or only key items). With several item classes, the strictest cap applies."""
    if task.complaint_driven:
        return None
    items = list(task.items.all())
    general = [i for i in items if i.item_type != Item.ItemType.KEY]
    if items and not general:
        return None
    classes = {i.item_class for i in general} or {Item.ItemClass.A}
    caps = dict(
        AnnualCap.objects.filter(
            jurisdiction=task.jurisdiction, item_class__in=classes
        ).values_list("item_class", "max_per_year")
    )
    return min(caps.get(c, AnnualCap.DEFAULT) for c in classes)


def _year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime(year, 1, 1, tzinfo=tz)
    return start, datetime.datetime(year + 1, 1, 1, tzinfo=tz)


def inspections_this_year(target_ids: QuerySet | Iterable[int], year: int, *, exclude_task=None):
    """Times each target was selected this year, counted from the selections of done draws.

    For now a selection counts as an inspection; the inspection app will count the checks
    actually carried out (and drop cancelled ones)."""
    start, end = _year_bounds(year)
    qs = Selection.objects.filter(
        draw__state=State.DRAWN, draw__drawn_at__gte=start, draw__drawn_at__lt=end
    ).filter(target_id__in=target_ids)
    if exclude_task is not None:
        qs = qs.exclude(draw__task=exclude_task)
    return dict(qs.values_list("target_id").annotate(n=Count("id")).values_list("target_id", "n"))


@dataclass
class Review:
    """What the lead sees before freezing."""

    total: int = 0  # candidates in scope
    by_stratum: dict[str, int] = field(default_factory=dict)  # after exclusions
    cap: int | None = None
    suggestions: dict[int, dict[str, str]] = field(default_factory=dict)  # target -> reason -> note
    excluded: dict[int, Exclusion] = field(default_factory=dict)
    targets: dict[int, Target] = field(default_factory=dict)
    k: dict[str, int] = field(default_factory=dict)
    allocation: str = ""
    allocation_error: str = ""

    @property
    def population(self) -> int:
        return sum(self.by_stratum.values())

    @property
    def selected(self) -> int:
        return sum(self.k.values())

    @property
    def decision_count(self) -> int:
        return len(set(self.suggestions) | set(self.excluded))

    def page_rows(self, limit: int = 300) -> list[dict]:
        """The first ``limit`` rows, for the page (a province may have thousands of deregistered
        entities in scope; the excluded file lists them all)."""
        return list(itertools.islice(self.rows(), limit))

    def rows(self):
        """One row per target with a suggestion or a decision, for the page."""
        ids = sorted(set(self.suggestions) | set(self.excluded), key=lambda i: self.targets[i].code)
        for pk in ids:
            exclusion = self.excluded.get(pk)
            yield {
                "target": self.targets[pk],
                "suggestions": self.suggestions.get(pk, {}),
                "exclusion": exclusion,
                "reason_label": D.REASONS.get(exclusion.reason, exclusion.reason)
                if exclusion
                else "",
            }


def suggestions(task: JointTask, draw: TargetDraw | None = None) -> dict[int, dict[str, str]]:
    """target id -> {reason code: note} for every candidate a rule says to exclude or merge."""
    scope = candidates(task)
    found: dict[int, dict[str, str]] = defaultdict(dict)
    cap = annual_cap(task)
    year = task.year
    if cap is not None:
        counts = inspections_this_year(scope.values("id"), year, exclude_task=task)
        for pk, n in counts.items():
            if n >= cap:
                found[pk]["annual-limit"] = f"今年已被抽中 {n} 次，上限 {cap} 次"
    for pk, status in scope.filter(reg_status__in=DEREGISTERED).values_list("id", "reg_status"):
        found[pk]["deregistered"] = Target.RegStatus(status).label
    earlier = Selection.objects.filter(draw__task=task, draw__state=State.DRAWN)
    if draw is not None:
        earlier = earlier.exclude(draw=draw)
    for pk, number in earlier.filter(target_id__in=scope.values("id")).values_list(
        "target_id", "draw__number"
    ):
        found[pk]["earlier-draw"] = f"本任务第 {number} 次抽取已选中"
    pending = (
        Selection.objects.filter(
            draw__state=State.DRAWN,
            draw__task__state__in=PENDING_TASK_STATES,
            draw__task__year=year,
            target_id__in=scope.values("id"),
        )
        .exclude(draw__task=task)
        .exclude(draw__task__lead_department=task.lead_department)
        .values_list("target_id", "draw__task__code", "draw__task__name")
    )
    for pk, code, name in pending:
        found[pk]["merged"] = f"已在{name}（{code}）中待检查，可并入该任务一次上门"
    return dict(found)


def review(draw: TargetDraw) -> Review:
    """The candidates, the rules' suggestions and the lead's decisions, with the allocation."""
    task = draw.task
    result = Review(cap=annual_cap(task))
    scope = candidates(task)
    excluded = {e.target_id: e for e in draw.exclusions.select_related("decided_by")}
    result.excluded = excluded
    result.suggestions = suggestions(task, draw) if draw.state == State.PREPARING else {}
    result.total = scope.count()
    result.by_stratum = engine.stratum_counts(
        scope.exclude(id__in=draw.exclusions.values("target_id")), draw.strata_by
    )
    wanted = set(result.suggestions) | set(excluded)
    result.targets = Target.objects.in_bulk(wanted)
    # Exclusions of targets that have since left the scope still show (they left the directory).
    try:
        allocation = allocation_of(task)
        result.allocation = str(allocation)
        result.k = allocation.k(result.by_stratum)
    except DrawError as exc:
        result.allocation_error = str(exc)
    return result


# --- 1. prepare ----------------------------------------------------------------------------------


def _lock_task(task: JointTask | int) -> JointTask:
    pk = task.pk if isinstance(task, JointTask) else task
    return JointTask.objects.select_for_update().select_related("lead_department").get(pk=pk)


def _lock_draw(draw: TargetDraw | int) -> TargetDraw:
    pk = draw.pk if isinstance(draw, TargetDraw) else draw
    return TargetDraw.objects.select_for_update().get(pk=pk)


def _fresh(draw: TargetDraw) -> TargetDraw:
    """The draw as it is now (a page or a second user may have moved it on)."""
    return TargetDraw.objects.select_related("task", "task__lead_department").get(pk=draw.pk)


def prepare(*, user: User, task: JointTask, supplementary_reason: str = "") -> TargetDraw:
    """Open the task's next draw with the rules' exclusions pre-decided (state 待冻结)."""
    require_lead(user, task)
    supplementary_reason = (supplementary_reason or "").strip()
    with transaction.atomic():
        task = _lock_task(task)
        if task.state == TaskState.DRAWN:
            if not supplementary_reason:
                raise DrawError(
                    "本任务的抽取名单已锁定，不能再次抽取。确需补充抽取的，请选择“补充抽取”并说明原因。"
                )
        elif task.state != TaskState.ESTABLISHED:
            raise DrawError(
                f"任务当前状态为「{task.get_state_display()}」，只有已确立的任务才能抽取检查对象。"
            )
        elif supplementary_reason:
            raise DrawError("任务尚未抽取，不需要补充抽取。")
        if len(supplementary_reason) > 500:
            raise DrawError("补充抽取原因不能超过 500 个字。")
        open_draw = task.draws.filter(state__in=OPEN_STATES).first()
        if open_draw is not None:
            raise DrawError(
                f"第 {open_draw.number} 次抽取尚未完成（{open_draw.get_state_display()}），"
                "请先完成或作废它。"
            )
        allocation = allocation_of(task)
        number = (task.draws.aggregate(n=Max("number"))["n"] or 0) + 1
        draw = TargetDraw.objects.create(
            task=task,
            number=number,
            sealed=task.sealed,
            strata_by=task.strata_by,
            allocation=str(allocation),
            release_mode=task.release_mode,
            supplementary_reason=supplementary_reason,
            created_by=user,
        )
        auto = []
        for pk, reasons in suggestions(task, draw).items():
            for reason in AUTO_REASONS:  # one reason per excluded ID (§1.2): the first that applies
                if reason in reasons:
                    auto.append(
                        Exclusion(
                            draw=draw, target_id=pk, reason=reason, note=reasons[reason][:300]
                        )
                    )
                    break
        Exclusion.objects.bulk_create(auto, batch_size=2000)
        audit.record(
            user,
            Action.CREATE,
            draw,
            note=f"准备第 {number} 次抽取，按规则预先排除 {len(auto)} 个对象"
            + (f"；补充抽取原因：{supplementary_reason}" if supplementary_reason else ""),
            department=task.lead_department,
        )
    return draw


def decide(
    *, user: User, draw: TargetDraw, target: Target | int, reason: str | None, note: str = ""
) -> Exclusion | None:
    """Exclude a candidate with a reason the rules suggest for it, or take it back in
    (``reason=None``). Earlier selections of the same task always stay out."""
    require_lead(user, draw.task)
    target_id = target.pk if isinstance(target, Target) else int(target)
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state != State.PREPARING:
            raise DrawError("总体已冻结，不能再更改排除的对象。")
        current = Exclusion.objects.filter(draw=draw, target_id=target_id).first()
        allowed = suggestions(draw.task, draw).get(target_id, {})
        if "earlier-draw" in allowed or (current is not None and current.reason == "earlier-draw"):
            raise DrawError("本任务此前抽取已选中的对象不能再次抽取，不能取消排除或更改原因。")
        if reason is None:
            if current is None:
                return None
            before = audit.snapshot(current)
            audit.record(
                user,
                Action.DELETE,
                current,
                before=before,
                note=f"取消排除（{D.REASONS.get(current.reason, current.reason)}）"
                + (f"：{note}" if note else ""),
                department=draw.task.lead_department,
            )
            current.delete()
            return None
        if reason not in allowed:
            raise DrawError(
                "只能按平台提示的原因排除对象（已达年度上限、已注销或吊销、并入其他部门任务、"
                "本任务此前已选中）；该对象没有“"
                f"{D.REASONS.get(reason, reason)}”的提示。"
            )
        if current is not None:
            before = audit.snapshot(current)
            current.reason, current.note, current.decided_by = reason, note[:300], user
            current.save()
            audit.record(
                user, Action.UPDATE, current, before=before, department=draw.task.lead_department
            )
            return current
        exclusion = Exclusion.objects.create(
            draw=draw,
            target_id=target_id,
            reason=reason,
            note=(note or allowed[reason])[:300],
            decided_by=user,
        )
        audit.record(
            user,
            Action.CREATE,
            exclusion,
            note=f"排除：{D.REASONS.get(reason, reason)}",
            department=draw.task.lead_department,
        )
        return exclusion


# --- 2. entropy ----------------------------------------------------------------------------------


@dataclass
class EntropyPlan:
    parties: bool = False
    server: bool = False
    beacon_source: str = ""
    beacon_issue: str = ""
    beacon_date: datetime.date | None = None
    reveals_due: datetime.datetime | None = None


def configure_entropy(*, user: User, draw: TargetDraw, plan: EntropyPlan) -> list[DrawEntropy]:
    """Choose the draw's entropy items (§1.4) before any commitment is made."""
    task = draw.task
    require_lead(user, task)
    if _fresh(draw).state not in (State.PREPARING, State.COMMITTING):
        raise DrawError("已公告的抽取不能更改随机数来源。")
    departments = task_departments(task)
    if not (plan.parties or plan.server or plan.beacon_source):
        raise DrawError("请至少选择一种随机数来源：公开随机源、各部门承诺–揭示或服务器随机数。")
    if plan.server and len(departments) > 1:
        raise DrawError(
            "服务器随机数只能用于部门内部的抽查任务；联合任务请用各部门承诺–揭示和公开随机源。"
        )
    if plan.parties:
        if plan.reveals_due is None:
            raise DrawError("使用各部门承诺–揭示时，请填写揭示截止时间。")
        if plan.reveals_due <= now():
            raise DrawError("揭示截止时间必须在现在之后。")
    if task.unannounced and not (plan.parties or plan.server):
        raise DrawError(
            "不预先告知的检查不能只用公开随机源：否则任何人都能在名单公开前算出结果。"
            "请加上各部门承诺–揭示（或部门内部任务的服务器随机数）。"
        )
    beacon_name = None
    if plan.beacon_source:
        if plan.beacon_source not in BEACON_SOURCES:
            raise DrawError("公开随机源只能是福彩3D（fc3d）或双色球（ssq）。")
        issue = (plan.beacon_issue or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9-]{1,40}", issue):
            raise DrawError("请填写开奖期号（字母、数字或连字符），如 2026321。")
        if plan.beacon_date is None:
            raise DrawError("请填写该期的开奖日期。")
        drawn_at = beacon_time(plan.beacon_date)
        if drawn_at - ANNOUNCE_MARGIN <= now():
            raise DrawError(
                f"该期开奖时间（{plan.beacon_date:%Y-%m-%d} 21:15）已过或不到 30 分钟："
                "公告必须在开奖号码产生之前发布，请选择以后的一期。"
            )
        if plan.parties and drawn_at <= plan.reveals_due:
            raise DrawError(
                "同时使用承诺–揭示时，公开随机源必须在揭示截止时间之后开奖，"
                "这样看到揭示值的人无法再影响结果。请选择更晚的一期或提前揭示截止时间。"
            )
        beacon_name = f"beacon.{plan.beacon_source}.{issue}"
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state not in (State.PREPARING, State.COMMITTING):
            raise DrawError("已公告的抽取不能更改随机数来源。")
        if draw.entropy.exclude(commitment="").filter(name__startswith="party.").exists():
            raise DrawError("已有部门提交承诺，不能再更改随机数来源；如需更改请作废本次抽取。")
        before = [e.name for e in draw.entropy.all()]
        draw.entropy.all().delete()
        items = []
        if beacon_name:
            items.append(DrawEntropy(draw=draw, name=beacon_name, issue_date=plan.beacon_date))
        if plan.parties:
            for dept in departments:
                items.append(DrawEntropy(draw=draw, name=f"party.{dept.code}", department=dept))
        if plan.server:
            value = secrets.token_hex(32)
            items.append(
                DrawEntropy(
                    draw=draw,
                    name="server",
                    value=value,
                    commitment=D.commitment(value),
                    committed_at=now(),
                )
            )
        DrawEntropy.objects.bulk_create(items)
        draw.reveals_due = plan.reveals_due if plan.parties else None
        draw.save(update_fields=["reveals_due", "updated_at"])
        audit.record(
            user,
            Action.UPDATE,
            draw,
            before={"entropy": before},
            after={
                "entropy": [i.name for i in items],
                "reveals_due": draw.reveals_due.isoformat() if draw.reveals_due else None,
            },
            note="设置随机数来源",
            department=task.lead_department,
        )
    return items


# --- 3. freeze -----------------------------------------------------------------------------------


def request_freeze(*, user: User, draw: TargetDraw) -> Job:
    """Check the population and the allocation, then queue the freeze job (``draws.freeze``)."""
    task = draw.task
    require_lead(user, task)
    draw = _fresh(draw)
    info = review(draw)
    if info.allocation_error:
        raise DrawError(info.allocation_error)
    if info.population == 0:
        raise DrawError(
            "抽查对象总体为空：任务的对象范围在牵头部门名录库中没有匹配的对象（或都已排除）。"
            "请检查名录库或任务的对象范围。"
        )
    if info.selected == 0:
        raise DrawError("按任务的抽取比例或数量，本次一个对象也抽不到。请检查任务方案。")
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state != State.PREPARING:
            raise DrawError("总体已冻结。")
        if draw.freeze_job_id and draw.freeze_job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
            raise DrawError("总体正在冻结中，请稍候。")
        job = jobs.enqueue(
            "draws.freeze",
            {"draw": draw.pk, "user": user.pk},
            user=user,
            department=task.lead_department,
            total=info.total,
        )
        draw.freeze_job = job
        draw.save(update_fields=["freeze_job", "updated_at"])
        audit.record(
            user,
            Action.UPDATE,
            draw,
            note=f"开始冻结抽查对象总体（{info.population} 个对象）",
            department=task.lead_department,
        )
    return job


def run_freeze(draw_id: int, *, user: User | None, report: Callable | None = None) -> TargetDraw:
    """The freeze job: write the canonical files, keep their hashes, → 待承诺. Safe to re-run."""
    report = report or (lambda *a, **k: None)
    draw = TargetDraw.objects.select_related("task", "task__lead_department").get(pk=draw_id)
    if draw.state != State.PREPARING:
        return draw
    task = draw.task
    scope = candidates(task)
    excluded_ids = draw.exclusions.values("target_id")
    reasons = dict(draw.exclusions.values_list("target__code", "reason"))
    excluded = [
        (code, label, reasons[code])
        for code, label in engine.labelled_codes(scope.filter(id__in=excluded_ids), draw.strata_by)
    ]
    population = scope.exclude(id__in=excluded_ids)
    total = population.count()
    report(0, total, "读取名录库并写入规范文件", force=True)
    relative = engine.relative_folder(task.code, draw.number)
    try:
        info = engine.freeze(
            task_code=task.code,
            draw_number=draw.number,
            candidates=population,
            excluded=excluded,
            allocation=draw.allocation,
            sealed=draw.sealed,
            salt=secrets.token_hex(32) if draw.sealed else None,
            strata_by=draw.strata_by,
            relative=relative,
            progress=report,
            total=total,
        )
    except D.ProtocolError as exc:
        raise DrawError(f"冻结失败：{exc}") from exc
    if info.size == 0:
        raise DrawError("抽查对象总体为空，不能冻结。")
    with transaction.atomic():
        draw = _lock_draw(draw_id)
        if draw.state != State.PREPARING:
            return draw
        before = audit.snapshot(draw)
        draw.files_dir = relative
        draw.population_sha256 = info.population_sha256
        draw.excluded_sha256 = info.excluded_sha256
        draw.strata_sha256 = info.strata_sha256 or ""
        draw.population_size = info.size
        draw.counts = info.counts
        draw.k = info.k
        draw.excluded_counts = info.excluded_counts
        draw.frozen_at = now()
        draw.state = State.COMMITTING
        draw.save()
        audit.record(
            user,
            Action.UPDATE,
            draw,
            before=before,
            note=f"冻结抽查对象总体：{info.size} 个对象，"
            f"排除 {sum(info.excluded_counts.values())} 个",
            department=task.lead_department,
        )
    return draw


@jobs.handler("draws.freeze")
def _freeze_job(job: Job, report) -> dict:
    user = User.objects.filter(pk=job.params.get("user")).first()
    draw = run_freeze(job.params["draw"], user=user, report=report)
    return {"draw": draw.pk, "state": draw.state, "redirect": f"/draws/{draw.pk}/"}


# --- 4. commit and announce ----------------------------------------------------------------------


def _party_item(draw: TargetDraw, department: Department) -> DrawEntropy:
    item = DrawEntropy.objects.filter(draw=draw, name=f"party.{department.code}").first()
    if item is None:
        raise DrawError(f"本次抽取没有{department.name}的承诺–揭示项。")
    return item


def _require_party(user: User, department: Department) -> None:
    permissions.require(
        permissions.can_edit_department(user, department) and not user.is_superuser,
        f"只有{department.name}的管理员或负责人可以提交本部门的承诺和揭示值。",
    )


def commit(*, user: User, draw: TargetDraw, department: Department, commitment: str) -> DrawEntropy:
    """Record a department's commitment ``sha256_hex(reveal)`` (made in its browser), before the
    announcement. A department may replace its commitment until the draw is announced."""
    _require_party(user, department)
    value = (commitment or "").strip()
    if not D.HEX64.fullmatch(value):
        raise DrawError("承诺值必须是 64 个小写十六进制字符（SHA-256）。请用页面上的按钮生成。")
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state not in (State.PREPARING, State.COMMITTING):
            raise DrawError("本次抽取已公告，不能再提交或更改承诺。")
        item = _party_item(draw, department)
        before = audit.snapshot(item)
        item.commitment, item.committed_by, item.committed_at = value, user, now()
        item.save()
        audit.record(
            user,
            Action.UPDATE if before["commitment"] else Action.CREATE,
            item,
            before=before,
            note=f"{department.name}提交承诺",
            department=department,
        )
    return item


def announcement_problems(draw: TargetDraw) -> list[str]:
    """Why the draw cannot be announced yet (empty when it can)."""
    problems = []
    if draw.state == State.PREPARING:
        problems.append("总体尚未冻结。")
    items = list(draw.entropy.select_related("department"))
    if not items:
        problems.append("尚未设置随机数来源。")
    for item in items:
        if item.name.startswith("party.") and not item.commitment:
            problems.append(f"{item.department.name}尚未提交承诺。")
        if (
            item.name.startswith("beacon.")
            and item.issue_date
            and beacon_time(item.issue_date) - ANNOUNCE_MARGIN <= now()
        ):
            problems.append("公开随机源的开奖时间已过或不到 30 分钟，请重新设置随机数来源。")
    if draw.reveals_due is not None and draw.reveals_due <= now():
        problems.append("揭示截止时间已过，请重新设置。")
    return problems


def _iso(value: datetime.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def announce(*, user: User, draw: TargetDraw) -> TargetDraw:
    """Publish the announcement (§1.6) in the public log, in the same transaction (→ 已公告)."""
    task = draw.task
    require_lead(user, task)
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state != State.COMMITTING:
            raise DrawError(
                "只有总体已冻结、尚未公告的抽取才能公告。"
                if draw.state != State.ANNOUNCED
                else "本次抽取已经公告。"
            )
        problems = announcement_problems(draw)
        if problems:
            raise DrawError("还不能公告：" + "".join(problems))
        at = now()
        departments = [d.code for d in task_departments(task)]
        entropy = {
            item.name: (None if item.name.startswith("beacon.") else item.commitment)
            for item in draw.entropy.all()
        }
        try:
            document = D.announcement(
                engine.frozen(draw),
                task_name=task.name,
                announced_at=_iso(at),
                lead_department=task.lead_department.code,
                departments=departments,
                entropy=entropy,
                reveals_due=_iso(draw.reveals_due) if draw.reveals_due else None,
                release=draw.release_mode,
            )
        except D.ProtocolError as exc:
            raise DrawError(f"公告不符合抽取协议：{exc}") from exc
        data = D.dumps(document)
        entry = publication.append(data)
        before = audit.snapshot(draw)
        draw.announcement = data
        draw.announcement_index = entry.index
        draw.announced_at = at
        draw.state = State.ANNOUNCED
        draw.save()
        audit.record(
            user,
            Action.UPDATE,
            draw,
            before=_without_bytes(before),
            after=_without_bytes(audit.snapshot(draw)),
            note=f"公告第 {draw.number} 次抽取（公开日志第 {entry.index} 条）",
            department=task.lead_department,
        )
    return draw


def _without_bytes(snap: dict) -> dict:
    """Audit snapshots keep hashes and indexes, not the published documents' bytes."""
    return {k: (None if isinstance(v, bytes | memoryview) else v) for k, v in snap.items()}


# --- 5. reveals and the beacon -------------------------------------------------------------------


def reveal(*, user: User, draw: TargetDraw, department: Department, value: str) -> DrawEntropy:
    """A department's reveal: only after the announcement, before ``reveals_due``, and only if it
    opens the commitment (otherwise nothing is stored)."""
    _require_party(user, department)
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state in (State.PREPARING, State.COMMITTING):
            raise DrawError("抽取尚未公告：公告之前不能揭示。请等待牵头部门公告。")
        if draw.state != State.ANNOUNCED:
            raise DrawError("本次抽取已经结束，不再接受揭示值。")
        if draw.reveals_due is not None and now() > draw.reveals_due:
            raise DrawError(
                "已超过揭示截止时间，不再接受揭示值。牵头部门可以作废本次抽取后重新抽取。"
            )
        item = _party_item(draw, department)
        if item.value:
            raise DrawError(f"{department.name}已经揭示过。")
        problem, value = open_commitment(item.commitment, value)
        if problem:
            raise DrawError(problem)
        item.value, item.revealed_by, item.revealed_at = value, user, now()
        item.save()
        # The value itself stays out of the audit trail until the draw publishes it.
        audit.record(
            user,
            Action.UPDATE,
            item,
            after={"name": item.name, "revealed": True},
            note=f"{department.name}揭示",
            department=department,
        )
    return item


def enter_beacon(*, user: User, draw: TargetDraw, value: str) -> DrawEntropy:
    """The beacon's value as its source published it (docs/draws.md), once the issue is drawn."""
    require_lead(user, draw.task)
    value = (value or "").strip(" ")
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state != State.ANNOUNCED:
            raise DrawError("只有已公告、尚未抽取的抽取才能填写开奖号码。")
        item = draw.entropy.filter(name__startswith="beacon.").first()
        if item is None:
            raise DrawError("本次抽取没有使用公开随机源。")
        source = D.BEACON_NAME.fullmatch(item.name).group(1)
        if item.issue_date and now() < beacon_time(item.issue_date):
            raise DrawError(f"该期将于 {item.issue_date:%Y-%m-%d} 21:15 开奖，开奖后才能填写号码。")
        problem = beacon_problem(source, value) or D.entropy_value_problem(item.name, value)
        if problem:
            raise DrawError(problem)
        before = audit.snapshot(item)
        item.value, item.revealed_by, item.revealed_at = value, user, now()
        item.save()
        audit.record(
            user,
            Action.UPDATE,
            item,
            before=before,
            note="填写开奖号码",
            department=draw.task.lead_department,
        )
    return item


# --- 6. perform and release ----------------------------------------------------------------------


def perform_problems(draw: TargetDraw) -> list[str]:
    problems = []
    if draw.state != State.ANNOUNCED:
        problems.append("本次抽取不在“已公告”状态。")
    for item in draw.entropy.select_related("department"):
        if item.value:
            continue
        if item.name.startswith("party."):
            problems.append(f"{item.department.name}尚未揭示。")
        elif item.name.startswith("beacon."):
            problems.append("尚未填写公开随机源的开奖号码。")
    return problems


def perform(*, user: User, draw: TargetDraw) -> TargetDraw | Job:
    """Run the draw once every value is in. Big populations go to the job worker (the Job is
    returned); otherwise the draw is done in this request and returned."""
    require_lead(user, draw.task)
    draw = _fresh(draw)
    _check_can_perform(draw)
    if draw.population_size > PERFORM_INLINE_LIMIT:
        with transaction.atomic():
            locked = _lock_draw(draw)
            if locked.perform_job_id and locked.perform_job.status in (
                Job.Status.QUEUED,
                Job.Status.RUNNING,
            ):
                raise DrawError("抽取正在进行中，请稍候。")
            job = jobs.enqueue(
                "draws.perform",
                {"draw": draw.pk, "user": user.pk},
                user=user,
                department=draw.task.lead_department,
                total=draw.population_size,
            )
            locked.perform_job = job
            locked.save(update_fields=["perform_job", "updated_at"])
        return job
    return run_perform(draw.pk, user=user)


def _check_can_perform(draw: TargetDraw) -> None:
    if draw.state == State.DRAWN or (
        draw.task.state == TaskState.DRAWN and not draw.supplementary_reason
    ):
        raise DrawError("本次抽取已经完成，名单已锁定，不能再次抽取。")
    if draw.task.state not in (TaskState.ESTABLISHED, TaskState.DRAWN):
        raise DrawError(f"任务当前状态为「{draw.task.get_state_display()}」，不能抽取。")
    problems = perform_problems(draw)
    if problems:
        raise DrawError("还不能抽取：" + "".join(problems))


def run_perform(draw_id: int, *, user: User | None, report: Callable | None = None) -> TargetDraw:
    """Compute the selection outside any transaction, then store it under row locks: of two
    simultaneous attempts only the first writes; the second is refused."""
    report = report or (lambda *a, **k: None)
    draw = TargetDraw.objects.select_related("task", "task__lead_department").get(pk=draw_id)
    _check_can_perform(draw)
    task = draw.task
    entropy = {item.name: item.value for item in draw.entropy.all()}
    report(0, draw.population_size, "读取规范文件", force=True)
    try:
        result = engine.perform(draw, entropy)
    except (D.ProtocolError, OSError) as exc:
        raise DrawError(
            f"冻结的文件与公告的哈希值不符或无法读取，不能抽取：{exc}。请联系系统管理员。"
        ) from exc
    ids = [s.id for s in result.selected]
    targets = {
        code: (pk, name)
        for pk, code, name in Target.objects.filter(
            entries__department=task.lead_department, code__in=ids
        ).values_list("id", "code", "name")
    }
    missing = [i for i in ids if i not in targets]
    if missing:
        raise DrawError(f"抽中的对象 {missing[0]} 已不在名录库中，无法锁定名单。请联系系统管理员。")
    with transaction.atomic():
        task = _lock_task(task)
        draw = _lock_draw(draw_id)
        if draw.state != State.ANNOUNCED:
            raise DrawError("本次抽取已由他人完成，名单已锁定，不能再次抽取。")
        at = now()
        announced = json.loads(bytes(draw.announcement))
        record = D.release(
            result,
            task_name=task.name,
            drawn_at=_iso(at),
            # As announced: the release must name the announcement's departments and lead.
            lead_department=announced["lead_department"],
            departments=announced["departments"],
            announcement_sha256=D.sha256_hex(bytes(draw.announcement)),
            names={code: name for code, (pk, name) in targets.items()},
        )
        data = D.dumps(record)
        _insert_selections(
            draw.pk,
            (
                (n, targets[sel.id][0], sel.stratum, sel.score.hex())
                for n, sel in enumerate(result.selected, 1)
            ),
        )
        before = _without_bytes(audit.snapshot(draw))
        draw.seed = result.seed.hex()
        draw.record = data
        draw.drawn_at = at
        draw.state = State.DRAWN
        if draw.release_mode == "immediate":
            entry = publication.append(data)
            draw.release_index, draw.released_at = entry.index, at
        draw.save()
        audit.record(
            user,
            Action.UPDATE,
            draw,
            before=before,
            after=_without_bytes(audit.snapshot(draw)),
            note=f"完成第 {draw.number} 次抽取，抽中 {len(ids)} 个对象，名单锁定"
            + ("，抽取结果已公开" if draw.released_at else "，结果待现场检查结束后公开"),
            department=task.lead_department,
        )
        if task.state == TaskState.ESTABLISHED:
            from shuangsuiji.jointcheck import services as jointcheck

            jointcheck.transition(
                user=user,
                task=task,
                to=TaskState.DRAWN,
                note=f"第 {draw.number} 次抽取完成，名单锁定",
            )
    return draw


def _insert_selections(draw_id: int, rows: Iterable[tuple[int, int, str, str]]) -> None:
    """The locked list in one statement per 5,000 rows: a province's draw selects tens of
    thousands of targets, and building a model instance per row took most of the draw's time
    (measured: 3 s of 7 s for 30,000 rows on SQLite)."""
    table = connection.ops.quote_name(Selection._meta.db_table)
    sql = (
        f"INSERT INTO {table} (draw_id, position, target_id, stratum, score) "
        "VALUES (%s, %s, %s, %s, %s)"
    )
    with connection.cursor() as cursor:
        for batch in (
            itertools.batched(rows, 5000) if hasattr(itertools, "batched") else _chunks(rows, 5000)
        ):
            cursor.executemany(sql, [(draw_id, *row) for row in batch])


def _chunks(rows, size):
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


@jobs.handler("draws.perform")
def _perform_job(job: Job, report) -> dict:
    user = User.objects.filter(pk=job.params.get("user")).first()
    draw = run_perform(job.params["draw"], user=user, report=report)
    return {"draw": draw.pk, "state": draw.state, "redirect": f"/draws/{draw.pk}/"}


def publish_release(*, user: User, draw: TargetDraw) -> TargetDraw:
    """Publish a held release (unannounced checks) once the on-site checks are finished. For now
    the lead does this; the inspection app will call it when the task's checks end."""
    require_lead(user, draw.task)
    with transaction.atomic():
        draw = _lock_draw(draw)
        if draw.state != State.DRAWN:
            raise DrawError("只有已完成的抽取才能公开结果。")
        if draw.released_at is not None:
            raise DrawError("抽取结果已经公开。")
        entry = publication.append(bytes(draw.record))
        draw.release_index, draw.released_at = entry.index, now()
        draw.save(update_fields=["release_index", "released_at", "updated_at"])
        signals.release_published.send(sender=TargetDraw, draw=draw)
        audit.record(
            user,
            Action.UPDATE,
            draw,
            after={"release_index": entry.index, "released_at": draw.released_at.isoformat()},
            note=f"现场检查结束，公开第 {draw.number} 次抽取结果（公开日志第 {entry.index} 条）",
            department=draw.task.lead_department,
        )
    return draw


# --- 7. abandon ----------------------------------------------------------------------------------


def abandon_problem(draw: TargetDraw) -> str | None:
    if draw.state in (State.PREPARING, State.COMMITTING):
        return None
    if draw.state != State.ANNOUNCED:
        return "已完成或已作废的抽取不能作废。"
    if draw.reveals_due is None or now() <= draw.reveals_due:
        return (
            "已公告的抽取只有在揭示截止时间已过、仍有部门未揭示时才能作废"
            "（否则看到部分结果的人可以借作废重抽来挑选结果）。"
        )
    if not draw.entropy.filter(name__startswith="party.", value="").exists():
        return "所有部门都已按时揭示，请直接抽取。"
    return None


def abandon(*, user: User, draw: TargetDraw, reason: str) -> TargetDraw:
    """Give up a draw. Announced: publish the ``abandoned`` document (§1.4 aborts)."""
    require_lead(user, draw.task)
    reason = (reason or "").strip()
    if not reason:
        raise DrawError("请填写作废原因。")
    if len(reason) > 500:
        raise DrawError("作废原因不能超过 500 个字。")
    with transaction.atomic():
        draw = _lock_draw(draw)
        problem = abandon_problem(draw)
        if problem:
            raise DrawError(problem)
        before = _without_bytes(audit.snapshot(draw))
        at = now()
        if draw.state == State.ANNOUNCED:
            document = D.abandoned(
                task=draw.task.code,
                draw=draw.number,
                announcement_sha256=D.sha256_hex(bytes(draw.announcement)),
                abandoned_at=_iso(at),
                reason=reason,
            )
            draw.abandoned = D.dumps(document)
            publication.append(bytes(draw.abandoned))
        draw.state = State.ABANDONED
        draw.abandoned_at = at
        draw.abandon_reason = reason
        draw.save()
        audit.record(
            user,
            Action.UPDATE,
            draw,
            before=before,
            after=_without_bytes(audit.snapshot(draw)),
            note=f"作废第 {draw.number} 次抽取：{reason}",
            department=draw.task.lead_department,
        )
    return draw


# --- settings ------------------------------------------------------------------------------------


def set_annual_cap(*, user: User, item_class: str, max_per_year: int) -> AnnualCap:
    """The office sets its jurisdiction's cap for one item class."""
    permissions.require_office(user)
    jurisdiction = user.jurisdiction or (
        user.department.jurisdiction if user.department_id else None
    )
    if jurisdiction is None:
        raise DrawError("您的账号未关联行政区划。")
    if item_class not in Item.ItemClass.values:
        raise DrawError("事项分类只能是 A、B 或 C。")
    if type(max_per_year) is not int or not 1 <= max_per_year <= 99:
        raise DrawError("每年最多抽中次数应为 1–99 的整数。")
    with transaction.atomic():
        cap = (
            AnnualCap.objects.select_for_update()
            .filter(jurisdiction=jurisdiction, item_class=item_class)
            .first()
        )
        before = audit.snapshot(cap) if cap else None
        cap = cap or AnnualCap(jurisdiction=jurisdiction, item_class=item_class)
        cap.max_per_year = max_per_year
        cap.save()
        audit.record(user, Action.UPDATE if before else Action.CREATE, cap, before=before)
    return cap


def set_annual_caps(*, user: User, caps: dict[str, str]) -> None:
    """Several classes at once from a form (blank: left as it is); all or nothing."""
    with transaction.atomic():
        for item_class, raw in sorted(caps.items()):
            raw = (raw or "").strip()
            if not raw:
                continue
            if not raw.isdigit():
                raise DrawError(f"{item_class}类事项的上限应为 1–99 的整数。")
            set_annual_cap(user=user, item_class=item_class, max_per_year=int(raw))
