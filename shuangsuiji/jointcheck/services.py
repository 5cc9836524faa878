"""The joint task (部门联合抽查任务): creation, 发起, 协调, 响应, 确立 and 取消 (DOMAIN.md "The joint
task", seed 000 第十二条, seed 004 第四十条).

Every change of ``JointTask.state`` goes through :func:`transition`, which checks the move, locks
the row and writes the audit entry. The other functions check *who* may act, validate the input,
and call it inside one transaction, so a refused or concurrent action changes nothing.

Rules:

- The lead department's administrator or head creates, edits (while 草稿), initiates and
  establishes the task; the office of the jurisdiction coordinates; each partner department's
  administrator or head responds for it; the lead or the office cancels before 已抽取.
- 发起: with at most three partner departments (配合部门) the lead agrees with them directly
  (→ 待响应); with four or more the office coordinates (→ 协调中) and releases the task to the
  partners (→ 待响应). Seed 000 第十二条 counts the partner departments, not the lead.
- 响应: each partner confirms within 2 working days of receiving the task (seed 004 第四十条; the
  start day is not counted). A late response is accepted and flagged; an overdue non-response is
  shown on the task and to the office.
- A task with only the lead is a 部门内部 task: it has no response step.
- 清单之外无事项: a task's items come from the published item lists of its departments, each
  department's items from its own list.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core import audit, permissions, workdays
from shuangsuiji.core.models import AuditEntry, Department, Jurisdiction, User
from shuangsuiji.draws import population
from shuangsuiji.planning import services as planning_services
from shuangsuiji.planning.models import RISK_CLASSES, AnnualPlan, JointPlanEntry, PlanLine

from .models import JointTask, TaskDepartment

State = JointTask.State
Response = TaskDepartment.Response
Role = TaskDepartment.Role
Action = AuditEntry.Action
MAX_BP = 10000
RESPONSE_WORKDAYS = 2
DIRECT_MAX_PARTNERS = 3

# Allowed moves; cancellation (from JointTask.CANCELLABLE) is added below.
TRANSITIONS: dict[str, set[str]] = {
    State.DRAFT: {State.INITIATED},
    State.INITIATED: {State.COORDINATING, State.AWAITING},
    State.COORDINATING: {State.AWAITING},
    State.AWAITING: {State.ESTABLISHED},
    State.ESTABLISHED: {State.DRAWN},
    State.DRAWN: {State.DISPATCHED},
    State.DISPATCHED: set(),
    State.CANCELLED: set(),
}
for _state in JointTask.CANCELLABLE:
    TRANSITIONS[_state].add(State.CANCELLED)


class TaskError(ValueError):
    """A refused task operation; the message is for the user, in Chinese."""


class TaskInvalid(TaskError):
    """Bad input: ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(errors.values()))


def transition(*, user: User | None, task: JointTask | int, to: str, note: str = "") -> JointTask:
    """Move ``task`` to state ``to`` (row-locked; concurrent moves are serialised), with audit.

    Callers check *who* may do it before calling; this checks only that the move is allowed from
    the state the task is in now (which may differ from what the caller's page showed)."""
    pk = task.pk if isinstance(task, JointTask) else task
    with transaction.atomic():
        locked = JointTask.objects.select_for_update().get(pk=pk)
        if to not in TRANSITIONS[locked.state]:
            raise TaskError(
                f"任务当前状态为「{locked.get_state_display()}」，"
                f"不能变为「{State(to).label}」。请刷新页面查看最新状态。"
            )
        before = audit.snapshot(locked)
        locked.state = to
        locked.state_changed_at = timezone.now()
        locked.save(update_fields=["state", "state_changed_at", "updated_at"])
        audit.record(
            user,
            "update",
            locked,
            before=before,
            after=audit.snapshot(locked),
            note=note or f"任务状态变为「{State(to).label}」",
            department=locked.lead_department,
        )
    return locked


# --- who may do what ------------------------------------------------------------------------------


def user_jurisdiction(user: User) -> Jurisdiction | None:
    if user.jurisdiction_id:
        return user.jurisdiction
    return user.department.jurisdiction if user.department_id else None


def is_dept_manager(user: User, department: Department | None) -> bool:
    """The department's administrator or head (or a superuser)."""
    return permissions.can_edit_department(user, department)


def can_lead(user: User, task: JointTask) -> bool:
    return is_dept_manager(user, task.lead_department)


def is_task_office(user: User, task: JointTask) -> bool:
    return permissions.is_office(user) and permissions.covers(user, task.jurisdiction)


def participant_of(user: User, task: JointTask) -> TaskDepartment | None:
    """The user's department's place in the task, if it takes part."""
    if not user.is_authenticated or not user.department_id:
        return None
    return next((p for p in task.participants.all() if p.department_id == user.department_id), None)


def can_view_task(user: User, task: JointTask) -> bool:
    """The office and auditors: every task of their jurisdiction; department administrators and
    heads: the tasks their department leads, and those it takes part in once initiated.
    Inspectors see the tasks they are on once the staffing app forms teams (none before)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if permissions.sees_all_departments(user):
        return permissions.covers(user, task.jurisdiction)
    if user.role in (User.Role.DEPT_ADMIN, User.Role.DEPT_HEAD):
        mine = participant_of(user, task)
        # A draft is the lead's own until it is initiated (sent to the partners).
        return mine is not None and (mine.is_lead or task.state != State.DRAFT)
    return False


def task_departments(task: JointTask) -> list[Department]:
    """The departments doing the task — the lead and every partner that accepted — sorted by code
    (the draw protocol's ``departments``)."""
    rows = task.participants.select_related("department")
    return sorted(
        (
            r.department
            for r in rows
            if r.role == Role.LEAD or r.response == TaskDepartment.Response.ACCEPTED
        ),
        key=lambda d: d.code,
    )


def is_task_auditor(user: User, task: JointTask) -> bool:
    return (
        user.is_authenticated
        and user.role == User.Role.AUDITOR
        and permissions.covers(user, task.jurisdiction)
    )


def can_read_records(user: User, task: JointTask) -> bool:
    """The draws' locked list before its release, the strata file, the assignment records and
    their files: the staff (not inspectors) of the task's departments, and auditors."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or is_task_auditor(user, task):
        return True
    return user.role in (User.Role.DEPT_ADMIN, User.Role.DEPT_HEAD, User.Role.OFFICE) and any(
        d.pk == user.department_id for d in task_departments(task)
    )


def _require_lead(user: User, task: JointTask, what: str) -> None:
    permissions.require(
        can_lead(user, task),
        f"只有牵头部门（{task.lead_department.name}）的管理员或负责人可以{what}。",
    )


def _require_office(user: User, task: JointTask, what: str) -> None:
    permissions.require(is_task_office(user, task), f"只有本辖区联席会议办公室可以{what}。")


def _lock(task: JointTask | int) -> JointTask:
    pk = task.pk if isinstance(task, JointTask) else task
    locked = JointTask.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise TaskError("该任务已不存在。")
    return (
        JointTask.objects.select_related("lead_department", "jurisdiction")
        .prefetch_related("participants__department", "items")
        .get(pk=locked.pk)
    )


def _require_state(task: JointTask, *states: str, what: str) -> None:
    if task.state not in states:
        raise TaskError(
            f"任务当前状态为「{task.get_state_display()}」，不能{what}。请刷新页面查看最新状态。"
        )


def task_snapshot(task: JointTask) -> dict:
    data = audit.snapshot(task)
    data["items"] = sorted(task.items.values_list("code", flat=True))
    data["departments"] = [
        f"{p.department.code}:{p.get_role_display()}:{p.get_response_display()}"
        for p in task.participants.select_related("department").order_by(
            "-role", "department__code"
        )
    ]
    return data


def _participant_snapshot(p: TaskDepartment) -> dict:
    data = {
        k: v
        for k, v in audit.snapshot(p).items()
        if k
        in (
            "response",
            "response_due",
            "responded_at",
            "response_note",
            "inspectors_per_team",
            "dropped_at",
        )
    }
    data["department"] = p.department.code
    data["items"] = sorted(p.items.values_list("code", flat=True))
    return data


# --- validation -----------------------------------------------------------------------------------

TEXT_FIELDS = (
    ("name", "抽查任务名称", 200, True),
    ("scope_label", "抽查对象范围说明", 300, False),
)


def _bool(value) -> bool:
    return str(value if value is not None else "").strip().lower() in (
        "1",
        "true",
        "on",
        "yes",
        "是",
    )


def _int(value, label: str, errors: dict, key: str, lo: int, hi: int, required=True):
    if value is None or str(value).strip() == "":
        if required:
            errors[key] = f"请填写{label}。"
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,9}", text):
        errors[key] = f"{label}应为 {lo}–{hi} 的整数。"
        return None
    number = int(text)
    if not lo <= number <= hi:
        errors[key] = f"{label}应为 {lo}–{hi} 的整数，“{number}”超出范围。"
        return None
    return number


def _date(value, label: str, errors: dict, key: str, required: bool) -> datetime.date | None:
    if value in (None, ""):
        if required:
            errors[key] = f"请填写{label}。"
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[key] = f"{label}“{str(value)[:20]}”不是有效日期（如 2026-03-01）。"
        return None


def current_published_items(department: Department) -> dict[str, Item]:
    """The department's currently published items by code."""
    lst = ItemList.objects.filter(department=department, status=ItemList.Status.PUBLISHED).first()
    if lst is None:
        return {}
    return {item.code: item for item in lst.items.all()}


def _pick_items(
    wanted: Iterable, departments: list[Department], errors: dict, key: str = "items"
) -> dict[int, list[Item]]:
    """Items (ids or codes) from the departments' published lists, grouped by department id."""
    published: dict[int, Item] = {}
    owner: dict[int, int] = {}
    by_code: dict[str, Item] = {}
    for dept in departments:
        for code, item in current_published_items(dept).items():
            published[item.pk] = item
            owner[item.pk] = dept.pk
            by_code[code] = item
    chosen: dict[int, list[Item]] = {d.pk: [] for d in departments}
    bad = []
    for raw in wanted or []:
        value = str(raw).strip()
        if not value:
            continue
        item = published.get(int(value)) if value.isdigit() else by_code.get(value.upper())
        if item is None:
            bad.append(value[:40])
        elif item not in chosen[owner[item.pk]]:
            chosen[owner[item.pk]].append(item)
    if bad:
        errors[key] = (
            f"事项 {'、'.join(bad)} 不在参与部门已发布的抽查事项清单中（清单之外无事项）。"
        )
    return chosen


def _labels_for(strata_by: str, jurisdiction: Jurisdiction) -> tuple[set[str] | None, str]:
    """The stratum labels allowed for ratios and weights, and how to describe them."""
    if strata_by == JointTask.StrataBy.RISK:
        return set(RISK_CLASSES), "信用风险分类（A、B、C、D、U）"
    if strata_by == JointTask.StrataBy.NONE:
        return {population.ALL}, f"不分层时的“{population.ALL}”"
    if strata_by == JointTask.StrataBy.REGION:
        codes = set(
            Jurisdiction.objects.filter(code__startswith=jurisdiction.code_prefix).values_list(
                "code", flat=True
            )
        )
        return codes | {population.UNKNOWN}, "本辖区的行政区划代码（无区域的对象为 U）"
    return set(population.SECTIONS) | {population.UNKNOWN}, "国民经济行业门类字母（无行业为 U）"


def _clean_bp_map(raw, *, labels: set[str], describe: str, what: str, lo: int, hi: int) -> dict:
    if isinstance(raw, str):
        # "A=300;B=500" or "A:300,B:500"
        pairs = [p for p in re.split(r"[;,，；\s]+", raw.strip()) if p]
        raw = {}
        for pair in pairs:
            key, sep, value = pair.replace(":", "=").partition("=")
            if not sep:
                raise TaskError(f"{what}“{pair[:20]}”应写成“标签=数值”。")
            raw[key] = value
    if not isinstance(raw, Mapping):
        raise TaskError(f"{what}格式不正确。")
    out: dict[str, int] = {}
    for key, value in raw.items():
        label = str(key).strip().upper()
        if value is None or str(value).strip() == "":
            continue
        if label not in labels:
            raise TaskError(f"{what}中的分层“{label[:20]}”无效，应为{describe}。")
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,9}", text):
            raise TaskError(f"{what}中“{label}”的值“{text[:12]}”应为 {lo}–{hi} 的整数。")
        number = int(text)
        if not lo <= number <= hi:
            raise TaskError(f"{what}中“{label}”的值 {number} 超出 {lo}–{hi} 的范围。")
        out[label] = number
    return dict(sorted(out.items()))


def _a_class_check(
    *, lead: Department, scope: dict, items: list[Item], fields: dict, cap_bp: int
) -> str | None:
    """Seed 004 第十四条: a task with A-class items keeps its overall ratio ≤ the cap. Overall =
    expected / population on the lead's directory (credit-linked ratios may raise risky classes);
    for strata other than credit risk, the highest ratio is taken."""
    if not any(item.item_class == Item.ItemClass.A for item in items):
        return None
    if fields["allocation_mode"] == JointTask.AllocationMode.COUNT:
        by_risk = planning_services.count_scope(department=lead, scope=scope)
        population = sum(by_risk.values())
        if not population:
            return None
        overall = min(fields["count_total"] or 0, population) * MAX_BP / population
    elif fields["strata_by"] == JointTask.StrataBy.RISK:
        by_risk = planning_services.count_scope(department=lead, scope=scope)
        counts = planning_services.expected_counts(by_risk, fields["ratios"])
        if counts["population"]:
            overall = counts["total"] * MAX_BP / counts["population"]
        else:
            overall = max(fields["ratios"].values(), default=0)
    else:
        overall = max(fields["ratios"].values(), default=0)
    if overall > cap_bp:
        return (
            f"任务含A类事项，总体抽查比例 {overall / 100:.1f}% 超过 {cap_bp / 100:g}% 的上限"
            "（A类事项年度抽查比例不超过上限），请降低比例或去掉A类事项。"
        )
    return None


def clean_task(*, lead: Department, data: Mapping, year: int | None = None) -> dict:
    """Validate a draft task's fields; :class:`TaskInvalid` lists every problem.

    Returns the model fields plus ``departments`` (partner Department list) and ``items_by_dept``
    (department id → items)."""
    errors: dict[str, str] = {}
    out: dict = {}
    jurisdiction = lead.jurisdiction
    for key, label, limit, required in TEXT_FIELDS:
        text = str(data.get(key) or "").strip()
        if required and not text:
            errors[key] = f"请填写{label}。"
        elif len(text) > limit:
            errors[key] = f"{label}不能超过{limit}个字。"
        out[key] = text
    for key in ("directed", "complaint_driven", "unannounced"):
        out[key] = _bool(data.get(key))

    # year and period (计划时间 within the year)
    if year is None:
        year = _int(data.get("year"), "年度", errors, "year", 2000, 2100)
    out["year"] = year
    start = _date(data.get("period_start"), "计划开始日期", errors, "period_start", True)
    end = _date(data.get("period_end"), "计划结束日期", errors, "period_end", True)
    draw = _date(data.get("draw_date"), "计划抽取日期", errors, "draw_date", False)
    if year:
        for key, day, label in (
            ("period_start", start, "计划开始日期"),
            ("period_end", end, "计划结束日期"),
            ("draw_date", draw, "计划抽取日期"),
        ):
            if day and day.year != year:
                errors[key] = f"{label}应在任务年度 {year} 年内。"
    if start and end and end < start:
        errors["period_end"] = "计划结束日期不能早于开始日期。"
    if draw and end and draw > end:
        errors["draw_date"] = "计划抽取日期不能晚于计划结束日期。"
    out["period_start"], out["period_end"], out["draw_date"] = start, end, draw

    try:
        out["scope"] = planning_services.clean_scope(data.get("scope"), jurisdiction=jurisdiction)
    except planning_services.PlanError as exc:
        errors["scope"] = str(exc)

    strata_by = data.get("strata_by") or JointTask.StrataBy.RISK
    if strata_by not in JointTask.StrataBy.values:
        errors["strata_by"] = "分层方式应为按信用风险分类、按区域、按行业或不分层。"
        strata_by = JointTask.StrataBy.RISK
    out["strata_by"] = strata_by
    mode = data.get("allocation_mode") or JointTask.AllocationMode.RATIO
    if mode not in JointTask.AllocationMode.values:
        errors["allocation_mode"] = "抽取方式应为按比例或按数量。"
        mode = JointTask.AllocationMode.RATIO
    out["allocation_mode"] = mode
    labels, describe = _labels_for(strata_by, jurisdiction)
    out["ratios"], out["weights"], out["count_total"] = {}, {}, None
    try:
        if mode == JointTask.AllocationMode.RATIO:
            out["ratios"] = _clean_bp_map(
                data.get("ratios") or {},
                labels=labels,
                describe=describe,
                what="抽查比例",
                lo=0,
                hi=MAX_BP,
            )
            if not out["ratios"]:
                raise TaskError("按比例抽取时请至少填写一个分层的抽查比例（0–10000 基点）。")
        else:
            out["weights"] = _clean_bp_map(
                data.get("weights") or {},
                labels=labels,
                describe=describe,
                what="分层权重",
                lo=1,
                hi=1000,
            )
    except TaskError as exc:
        errors["ratios" if mode == JointTask.AllocationMode.RATIO else "weights"] = str(exc)
    if mode == JointTask.AllocationMode.COUNT:
        out["count_total"] = _int(
            data.get("count_total"), "抽取总数", errors, "count_total", 1, 10_000_000
        )

    # participants: active departments of the lead's jurisdiction
    siblings = Department.objects.filter(jurisdiction=jurisdiction, active=True)
    ids = {str(v).strip() for v in (data.get("departments") or []) if str(v).strip()}
    codes = {v.upper() for v in ids if not v.isdigit()}
    numbers = {int(v) for v in ids if v.isdigit()}
    found = list(siblings.filter(pk__in=numbers)) + list(siblings.filter(code__in=codes))
    found_keys = {str(d.pk) for d in found} | {d.code for d in found}
    missing = [v for v in ids if v not in found_keys and v.upper() not in found_keys]
    if missing:
        errors["departments"] = (
            f"配合部门 {'、'.join(m[:20] for m in missing)} 不是本辖区在册的成员单位。"
        )
    partners = sorted({d.pk: d for d in found if d.pk != lead.pk}.values(), key=lambda d: d.code)
    out["departments"] = partners
    out["items_by_dept"] = _pick_items(data.get("items") or [], [lead, *partners], errors)

    all_items = [i for items in out["items_by_dept"].values() for i in items]
    if (
        "items" not in errors
        and "scope" in out
        and not any(k in errors for k in ("ratios", "weights", "count_total"))
    ):
        cfg = planning_services.settings_for(jurisdiction, year or timezone.localdate().year)
        problem = _a_class_check(
            lead=lead, scope=out["scope"], items=all_items, fields=out, cap_bp=cfg.a_class_max_bp
        )
        if problem:
            errors["ratios"] = problem
    if errors:
        raise TaskInvalid(errors)
    return out


def _complete_problems(task: JointTask) -> list[str]:
    """What a draft still lacks before it can be initiated."""
    problems = []
    if not task.items.exists():
        problems.append("请至少选择一个抽查事项")
    if task.allocation_mode == JointTask.AllocationMode.RATIO and not task.ratios:
        problems.append("请填写抽查比例")
    if task.allocation_mode == JointTask.AllocationMode.COUNT and not task.count_total:
        problems.append("请填写抽取总数")
    inactive = [p.department.name for p in task.participants.all() if not p.department.active]
    if inactive:
        problems.append(f"参与部门 {'、'.join(inactive)} 已不在册")
    return problems


# --- create and edit ------------------------------------------------------------------------------


def _next_seq(lead: Department, year: int) -> int:
    last = JointTask.objects.filter(lead_department=lead, year=year).aggregate(m=Max("seq"))["m"]
    return (last or 0) + 1


def _save_new_task(*, lead: Department, year: int, fields: dict) -> JointTask:
    """Insert the task with the next sequence number of (lead, year). The lead department's row is
    locked while the number is taken; the unique constraint (task_seq_unique) settles what a lock
    cannot (SQLite), with a few retries."""
    for attempt in range(5):
        try:
            with transaction.atomic():
                Department.objects.select_for_update().filter(pk=lead.pk).first()
                seq = _next_seq(lead, year)
                task = JointTask.objects.create(
                    jurisdiction=lead.jurisdiction,
                    lead_department=lead,
                    year=year,
                    seq=seq,
                    code=f"{year}-{lead.code}-{seq:04d}",
                    **fields,
                )
            return task
        except IntegrityError:
            if attempt == 4:
                raise TaskError("任务编号分配冲突，请稍后重试。") from None
    raise AssertionError("unreachable")


def _set_participants(
    task: JointTask, partners: list[Department], items_by_dept: dict[int, list[Item]]
) -> None:
    """Make the task's departments exactly the lead plus ``partners``, each with its items."""
    keep = {task.lead_department_id, *(d.pk for d in partners)}
    task.participants.exclude(department_id__in=keep).delete()
    existing = {p.department_id: p for p in task.participants.all()}
    for dept_id in [task.lead_department_id, *(d.pk for d in partners)]:
        p = existing.get(dept_id)
        if p is None:
            p = TaskDepartment.objects.create(
                task=task,
                department_id=dept_id,
                role=Role.LEAD if dept_id == task.lead_department_id else Role.PARTNER,
                response=Response.ACCEPTED
                if dept_id == task.lead_department_id
                else Response.PENDING,
            )
        p.items.set(items_by_dept.get(dept_id, []))
    getattr(task, "_prefetched_objects_cache", {}).pop("participants", None)
    _sync_task_items(task)


def _sync_task_items(task: JointTask) -> None:
    """The task's items = the items of its departments that take part (not declined)."""
    items = Item.objects.filter(
        pk__in=TaskDepartment.items.through.objects.filter(taskdepartment__task=task)
        .exclude(taskdepartment__response=Response.DECLINED)
        .values("item_id")
    )
    task.items.set(list(items))


_MODEL_FIELDS = (
    "name",
    "scope_label",
    "directed",
    "complaint_driven",
    "unannounced",
    "period_start",
    "period_end",
    "draw_date",
    "scope",
    "strata_by",
    "allocation_mode",
    "ratios",
    "weights",
    "count_total",
)


def create_task(
    *,
    user: User,
    data: Mapping,
    department: Department | None = None,
    plan_line: PlanLine | None = None,
    joint_entry: JointPlanEntry | None = None,
) -> JointTask:
    """A new draft task led by ``department`` (default: the user's), from ``data`` as edited on the
    task form. Use :func:`create_from_plan_line` / :func:`create_from_joint_entry` to copy a plan."""
    lead = department or (user.department if user.department_id else None)
    permissions.require(
        lead is not None and is_dept_manager(user, lead),
        "只有部门管理员或负责人可以为本部门创建抽查任务。",
    )
    fields = clean_task(lead=lead, data=data)
    year = fields.pop("year")
    partners = fields.pop("departments")
    items_by_dept = fields.pop("items_by_dept")
    with transaction.atomic():
        task = _save_new_task(
            lead=lead,
            year=year,
            fields={k: fields[k] for k in _MODEL_FIELDS}
            | {"created_by": user, "plan_line": plan_line, "joint_entry": joint_entry},
        )
        _set_participants(task, partners, items_by_dept)
        source = (
            f"由计划条目“{plan_line.task_name}”创建"
            if plan_line
            else f"由联合抽查计划“{joint_entry.name}”创建"
            if joint_entry
            else "新建任务"
        )
        audit.record(
            user,
            Action.CREATE,
            task,
            after=task_snapshot(task),
            note=source,
            department=lead,
        )
    return task


def _item_codes_for(department: Department, items: Iterable[Item]) -> list[str]:
    """The codes of ``items`` that the department's current published list still has."""
    current = current_published_items(department)
    return [item.code for item in items if item.code in current]


def plan_line_data(line: PlanLine) -> dict:
    """The task form's data copied from a plan line."""
    departments = {line.plan.department_id: line.plan.department, line.initiator_id: line.initiator}
    for d in line.joint_departments.all():
        departments[d.pk] = d
    items = []
    for d in departments.values():
        items += _item_codes_for(
            d, [i for i in line.items.all() if i.item_list.department_id == d.pk]
        )
    return {
        "name": line.task_name,
        "year": line.plan.year,
        "scope": line.scope,
        "scope_label": line.scope_label,
        "directed": line.directed,
        "items": items,
        "strata_by": JointTask.StrataBy.RISK,
        "allocation_mode": JointTask.AllocationMode.RATIO,
        "ratios": line.ratios,
        "period_start": line.period_start,
        "period_end": line.period_end,
        "draw_date": line.draw_date,
        "departments": [d.pk for d in departments.values() if d.pk != line.initiator_id],
    }


def accepted_line(line_id: int | str) -> PlanLine:
    """A line of a department's current accepted plan, or :class:`TaskError`."""
    from shuangsuiji.planning import selectors as planning_selectors

    line = (
        PlanLine.objects.select_related("plan__department__jurisdiction", "initiator")
        .filter(pk=line_id)
        .first()
        if str(line_id).isdigit()
        else None
    )
    if line is None:
        raise TaskError("没有找到该计划条目。")
    if (
        line.plan.status != AnnualPlan.Status.ACCEPTED
        or not planning_selectors.current_accepted_plans(
            line.plan.department.jurisdiction, line.plan.year
        )
        .filter(pk=line.plan_id)
        .exists()
    ):
        raise TaskError("只能由联席会议办公室已采纳的现行计划中的条目创建任务。")
    return line


def create_from_plan_line(*, user: User, line: PlanLine | int) -> JointTask:
    """发起 from a plan line: the line's initiating department leads."""
    line = accepted_line(line.pk if isinstance(line, PlanLine) else line)
    permissions.require(
        is_dept_manager(user, line.initiator),
        f"只有发起机关（{line.initiator.name}）的管理员或负责人可以由该计划条目创建任务。",
    )
    with transaction.atomic():
        # Locked so that a double click makes one task, not two.
        PlanLine.objects.select_for_update().filter(pk=line.pk).first()
        _refuse_second_task(JointTask.objects.filter(plan_line=line), "该计划条目")
        return create_task(
            user=user, data=plan_line_data(line), department=line.initiator, plan_line=line
        )


def _refuse_second_task(made: QuerySet, source: str) -> None:
    """One live task per plan line or joint entry (batches are the task's own 方案)."""
    existing = made.exclude(state=State.CANCELLED).first()
    if existing is not None:
        raise TaskError(
            f"{source}已创建任务「{existing.name}」（{existing.code}，{existing.get_state_display()}）。"
            "同一条目只创建一个任务；如需重新创建，请先取消该任务。"
        )


def joint_entry_data(entry: JointPlanEntry) -> dict:
    departments = {d.pk: d for d in entry.departments.all()}
    lines = list(
        entry.source_lines.select_related("plan__department").prefetch_related("items__item_list")
    )
    items = []
    for line in lines:
        for d in departments.values():
            items += _item_codes_for(
                d, [i for i in line.items.all() if i.item_list.department_id == d.pk]
            )
    lead_lines = [line for line in lines if line.plan.department_id == entry.lead_department_id]
    ratios = (lead_lines or lines)[0].ratios if lines else {}
    return {
        "name": entry.name,
        "year": entry.year,
        "scope": entry.scope,
        "items": list(dict.fromkeys(items)),
        "strata_by": JointTask.StrataBy.RISK,
        "allocation_mode": JointTask.AllocationMode.RATIO,
        "ratios": ratios,
        "directed": any(line.directed for line in lines),
        "period_start": entry.period_start,
        "period_end": entry.period_end,
        "departments": [pk for pk in departments if pk != entry.lead_department_id],
    }


def create_from_joint_entry(*, user: User, entry: JointPlanEntry | int) -> JointTask:
    """From an entry of the office's joint annual plan: the entry's lead department leads."""
    pk = entry.pk if isinstance(entry, JointPlanEntry) else entry
    entry = (
        JointPlanEntry.objects.select_related("lead_department__jurisdiction").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if entry is None:
        raise TaskError("没有找到该联合抽查计划条目。")
    permissions.require(
        is_dept_manager(user, entry.lead_department),
        f"只有牵头部门（{entry.lead_department.name}）的管理员或负责人可以由该联合抽查计划创建任务。",
    )
    with transaction.atomic():
        JointPlanEntry.objects.select_for_update().filter(pk=entry.pk).first()
        _refuse_second_task(JointTask.objects.filter(joint_entry=entry), "该联合抽查计划条目")
        return create_task(
            user=user,
            data=joint_entry_data(entry),
            department=entry.lead_department,
            joint_entry=entry,
        )


def form_data(task: JointTask) -> dict:
    """The task's current fields in the shape :func:`clean_task` reads."""
    return {
        **{k: getattr(task, k) for k in _MODEL_FIELDS},
        "year": task.year,
        "items": [i.pk for i in task.items.all()],
        "departments": [p.department_id for p in task.participants.all() if p.role == Role.PARTNER],
    }


def update_task(*, user: User, task: JointTask | int, data: Mapping) -> JointTask:
    """Edit a draft (the lead only). The year stays: it is part of the task code."""
    with transaction.atomic():
        locked = _lock(task)
        _require_lead(user, locked, "修改任务")
        _require_state(locked, State.DRAFT, what="修改（只有草稿可以修改）")
        before = task_snapshot(locked)
        fields = clean_task(lead=locked.lead_department, data=data, year=locked.year)
        for key in _MODEL_FIELDS:
            setattr(locked, key, fields[key])
        locked.save()
        _set_participants(locked, fields["departments"], fields["items_by_dept"])
        audit.record(
            user,
            Action.UPDATE,
            locked,
            before=before,
            after=task_snapshot(locked),
            note="修改任务草稿",
            department=locked.lead_department,
        )
    return locked


# --- 发起, 协调 -------------------------------------------------------------------------------------


def response_due(start: datetime.date) -> datetime.date:
    """2 working days after ``start`` (the start day not counted), or a clear Chinese error."""
    try:
        return workdays.add_workdays(start, RESPONSE_WORKDAYS)
    except workdays.NoScheduleError as exc:
        raise TaskError(f"无法计算响应截止日期：{exc}") from exc


def _open_responses(user: User, task: JointTask, today: datetime.date) -> datetime.date | None:
    """Give every pending partner its response date (2 working days from ``today``)."""
    partners = [p for p in task.participants.all() if p.role == Role.PARTNER]
    if not partners:
        return None
    due = response_due(today)
    for p in partners:
        if p.response == Response.PENDING:
            p.response_due = due
            p.save(update_fields=["response_due"])
    return due


def initiate(*, user: User, task: JointTask | int, today: datetime.date | None = None) -> JointTask:
    """发起: the lead sends the task to its partners (≤3 partners → 待响应 directly; ≥4 → the
    office coordinates, 协调中). A task with only the lead goes to 待响应 with nothing to wait for."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = _lock(task)
        _require_lead(user, locked, "发起任务")
        _require_state(locked, State.DRAFT, what="发起")
        problems = _complete_problems(locked)
        if problems:
            raise TaskError("任务还不完整，不能发起：" + "；".join(problems) + "。")
        partners = [p for p in locked.participants.all() if p.role == Role.PARTNER]
        coordinated = len(partners) > DIRECT_MAX_PARTNERS
        due = None if coordinated else _open_responses(user, locked, today)
        JointTask.objects.filter(pk=locked.pk).update(initiated_at=timezone.now())
        transition(user=user, task=locked, to=State.INITIATED, note="牵头部门发起任务")
        if coordinated:
            note = f"配合部门 {len(partners)} 个（4个及以上），由联席会议办公室协调"
            return transition(user=user, task=locked, to=State.COORDINATING, note=note)
        if partners:
            note = f"牵头部门直接与配合部门协商，请于 {due:%Y-%m-%d} 前响应"
        else:
            note = "部门内部抽查，无需其他部门响应"
        return transition(user=user, task=locked, to=State.AWAITING, note=note)


def coordinate(
    *, user: User, task: JointTask | int, departments: Iterable, items: Iterable, note: str = ""
) -> JointTask:
    """协调: the office adjusts the partner departments and the items while coordinating."""
    with transaction.atomic():
        locked = _lock(task)
        _require_office(user, locked, "协调任务")
        _require_state(locked, State.COORDINATING, what="协调")
        before = task_snapshot(locked)
        data = form_data(locked) | {"departments": list(departments), "items": list(items)}
        fields = clean_task(lead=locked.lead_department, data=data, year=locked.year)
        _set_participants(locked, fields["departments"], fields["items_by_dept"])
        if not locked.items.exists():
            raise TaskInvalid({"items": "请至少保留一个抽查事项。"})
        audit.record(
            user,
            Action.UPDATE,
            locked,
            before=before,
            after=task_snapshot(locked),
            note=("联席会议办公室协调：" + note.strip()[:400])
            if note.strip()
            else "联席会议办公室协调",
            department=locked.lead_department,
        )
    return locked


def release(
    *, user: User, task: JointTask | int, note: str = "", today: datetime.date | None = None
) -> JointTask:
    """The office ends coordination and sends the task to the partners (→ 待响应)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = _lock(task)
        _require_office(user, locked, "结束协调")
        _require_state(locked, State.COORDINATING, what="结束协调")
        due = _open_responses(user, locked, today)
        text = "联席会议办公室协调完毕，推送配合部门"
        if due:
            text += f"，请于 {due:%Y-%m-%d} 前响应"
        if note.strip():
            text += "：" + note.strip()[:300]
        return transition(user=user, task=locked, to=State.AWAITING, note=text)


# --- 响应 -------------------------------------------------------------------------------------------


def respond(
    *,
    user: User,
    task: JointTask | int,
    accept: bool,
    items: Iterable = (),
    inspectors_per_team: int | str | None = 1,
    reason: str = "",
    department: Department | None = None,
    now: datetime.datetime | None = None,
) -> TaskDepartment:
    """响应: a partner accepts (with its items from its own published list and how many inspectors
    it sends per team) or declines with a reason. Late responses are accepted and flagged."""
    department = department or (user.department if user.department_id else None)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock(task)
        participant = next(
            (
                p
                for p in locked.participants.all()
                if department and p.department_id == department.pk
            ),
            None,
        )
        permissions.require(
            participant is not None
            and participant.role == Role.PARTNER
            and is_dept_manager(user, department),
            "只有配合部门的管理员或负责人可以响应本部门参加的任务。",
        )
        _require_state(locked, State.AWAITING, what="响应")
        if participant.dropped_at is not None:
            raise TaskError(
                f"{department.name}逾期未响应，已于 "
                f"{timezone.localtime(participant.dropped_at):%Y-%m-%d %H:%M} 被移出任务。"
                "如需参加，请与牵头部门联系。"
            )
        if participant.response != Response.PENDING:
            raise TaskError(
                f"{department.name}已于 {timezone.localtime(participant.responded_at):%Y-%m-%d %H:%M} "
                f"响应（{participant.get_response_display()}），不能重复响应。请刷新页面。"
            )
        before = _participant_snapshot(participant)
        errors: dict[str, str] = {}
        if accept:
            chosen = _pick_items(items, [department], errors)[department.pk]
            if not chosen and "items" not in errors:
                errors["items"] = "确认参加时请至少选择一个本部门已发布清单中的抽查事项。"
            number = _int(inspectors_per_team, "每组派出人数", errors, "inspectors_per_team", 1, 10)
            if errors:
                raise TaskInvalid(errors)
            participant.response = Response.ACCEPTED
            participant.inspectors_per_team = number
            participant.items.set(chosen)
        else:
            if not reason:
                raise TaskInvalid({"reason": "不参加时请填写理由。"})
            if len(reason) > 500:
                raise TaskInvalid({"reason": "理由不能超过500字。"})
            participant.response = Response.DECLINED
        participant.response_note = reason[:500]
        participant.responded_at = now or timezone.now()
        participant.responded_by = user
        participant.save()
        _sync_task_items(locked)
        late = " （逾期响应）" if participant.late else ""
        verb = "确认参加" if accept else f"不参加：{reason}"
        audit.record(
            user,
            Action.UPDATE,
            locked,
            before=before,
            after=_participant_snapshot(participant),
            note=f"{department.name}{verb}{late}"[:500],
            department=department,
        )
    return participant


def drop_overdue(
    *,
    user: User,
    task: JointTask | int,
    department: Department | int,
    reason: str = "",
    today: datetime.date | None = None,
) -> TaskDepartment:
    """A partner that has not responded by its response date is taken off the task by the lead
    or the office, so the task can go on (seed 004 第四十条: the office may then report it). It is
    recorded as an overdue non-response, never as the department's own refusal."""
    today = today or timezone.localdate()
    dept_id = department.pk if isinstance(department, Department) else int(department)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock(task)
        permissions.require(
            can_lead(user, locked) or is_task_office(user, locked),
            "只有牵头部门的管理员或负责人、或本辖区联席会议办公室可以移出逾期未响应的部门。",
        )
        _require_state(locked, State.AWAITING, what="移出配合部门")
        participant = next(
            (p for p in locked.participants.all() if p.department_id == dept_id), None
        )
        if participant is None or participant.role != Role.PARTNER:
            raise TaskError("该部门不是本任务的配合部门。")
        if participant.response != Response.PENDING:
            raise TaskError(f"{participant.department.name}已经响应，不能移出。请刷新页面。")
        if not participant.overdue(today):
            raise TaskError(
                f"{participant.department.name}的响应截止日期是 {participant.response_due:%Y-%m-%d}，"
                "截止日期过后仍未响应的才能移出。"
            )
        if len(reason) > 400:
            raise TaskInvalid({"reason": "说明不能超过400字。"})
        before = _participant_snapshot(participant)
        participant.response = Response.DECLINED
        participant.dropped_at = timezone.now()
        participant.response_note = ("逾期未响应，已移出" + (f"：{reason}" if reason else ""))[:500]
        participant.save(update_fields=["response", "dropped_at", "response_note"])
        _sync_task_items(locked)
        audit.record(
            user,
            Action.UPDATE,
            locked,
            before=before,
            after=_participant_snapshot(participant),
            note=f"{participant.department.name}逾期未响应（截止 {participant.response_due:%Y-%m-%d}），移出任务"
            + (f"：{reason}" if reason else ""),
            department=participant.department,
        )
    return participant


# --- 确立 -------------------------------------------------------------------------------------------


def clean_scheme(task: JointTask, data: Mapping, active: list[TaskDepartment]) -> dict:
    errors: dict[str, str] = {}
    out: dict = {}
    start = _date(data.get("inspect_start"), "检查开始日期", errors, "inspect_start", True)
    end = _date(data.get("inspect_end"), "检查结束日期", errors, "inspect_end", True)
    for key, day, label in (
        ("inspect_start", start, "检查开始日期"),
        ("inspect_end", end, "检查结束日期"),
    ):
        if day and not task.period_start <= day <= task.period_end:
            errors[key] = (
                f"{label}应在计划时间 {task.period_start:%Y-%m-%d} 至 {task.period_end:%Y-%m-%d} 之内。"
            )
    if start and end and end < start:
        errors["inspect_end"] = "检查结束日期不能早于开始日期。"
    out["inspect_start"], out["inspect_end"] = start, end
    out["batches"] = _int(data.get("batches"), "批次数", errors, "batches", 1, 100)
    out["targets_per_team"] = _int(
        data.get("targets_per_team"), "每组检查对象数", errors, "targets_per_team", 1, 50
    )
    out["rotation_rule"] = _bool(data.get("rotation_rule"))
    for key, label, limit in (
        ("required_specialities", "所需业务专长", 300),
        ("scheme_note", "实施方案说明", 5000),
    ):
        text = str(data.get(key) or "").strip()
        if len(text) > limit:
            errors[key] = f"{label}不能超过{limit}个字。"
        out[key] = text
    per_team = data.get("inspectors_per_team") or {}
    numbers: dict[int, int] = {}
    for p in active:
        raw = per_team.get(
            p.department.code, per_team.get(str(p.department_id), per_team.get(p.department_id))
        )
        if raw is None or str(raw).strip() == "":
            raw = p.inspectors_per_team
        n = _int(
            raw,
            f"{p.department.name}每组派出人数",
            errors,
            f"inspectors_{p.department.code}",
            1,
            10,
        )
        if n is not None:
            numbers[p.pk] = n
    if len(numbers) == len(active) and sum(numbers.values()) < 2:
        errors["inspectors_per_team"] = (
            "每个检查组至少应有两名持证执法人员在场，各部门每组派出人数之和应不少于2人。"
        )
    out["numbers"] = numbers
    if errors:
        raise TaskInvalid(errors)
    return out


SCHEME_FIELDS = (
    "inspect_start",
    "inspect_end",
    "batches",
    "targets_per_team",
    "rotation_rule",
    "required_specialities",
    "scheme_note",
)
SCHEME_STATES = (State.INITIATED, State.COORDINATING, State.AWAITING)


def _apply_scheme(user: User, locked: JointTask, data: Mapping, note: str) -> None:
    active = [p for p in locked.participants.all() if p.active]
    scheme = clean_scheme(locked, data, active)
    before = task_snapshot(locked)
    for p in active:
        if p.inspectors_per_team != scheme["numbers"][p.pk]:
            p.inspectors_per_team = scheme["numbers"][p.pk]
            p.save(update_fields=["inspectors_per_team"])
    for key in SCHEME_FIELDS:
        setattr(locked, key, scheme[key])
    locked.save()
    audit.record(
        user,
        Action.UPDATE,
        locked,
        before=before,
        after=task_snapshot(locked)
        | {"inspectors_per_team": {p.department.code: scheme["numbers"][p.pk] for p in active}},
        note=note,
        department=locked.lead_department,
    )


def save_scheme(*, user: User, task: JointTask | int, data: Mapping) -> JointTask:
    """The lead prepares the 方案 while the partners respond (not yet established). A partner's
    own response later sets its number of inspectors per team; the lead confirms at 确立."""
    with transaction.atomic():
        locked = _lock(task)
        _require_lead(user, locked, "编制实施方案")
        _require_state(locked, *SCHEME_STATES, what="修改实施方案")
        _apply_scheme(user, locked, data, "保存实施方案（未确立）")
    return locked


def establish(*, user: User, task: JointTask | int, data: Mapping) -> JointTask:
    """确立: every partner has responded (declined ones drop out); the lead fixes the 方案."""
    with transaction.atomic():
        locked = _lock(task)
        _require_lead(user, locked, "确立任务方案")
        _require_state(locked, State.AWAITING, what="确立")
        pending = [
            p.department.name
            for p in locked.participants.all()
            if p.role == Role.PARTNER and p.response == Response.PENDING
        ]
        if pending:
            raise TaskError(
                f"还有配合部门未响应：{'、'.join(pending)}。所有配合部门响应后才能确立方案。"
            )
        if not locked.items.exists():
            raise TaskError("任务没有抽查事项，不能确立。")
        _apply_scheme(user, locked, data, "确定实施方案")
        return transition(user=user, task=locked, to=State.ESTABLISHED, note="任务确立")


# --- 取消 -------------------------------------------------------------------------------------------


def cancel(*, user: User, task: JointTask | int, reason: str) -> JointTask:
    """取消 with a reason, from any state before 已抽取, by the lead or the office."""
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _lock(task)
        permissions.require(
            can_lead(user, locked) or is_task_office(user, locked),
            "只有牵头部门的管理员或负责人、或本辖区联席会议办公室可以取消任务。",
        )
        if not reason:
            raise TaskInvalid({"reason": "取消任务须填写原因。"})
        if len(reason) > 500:
            raise TaskInvalid({"reason": "取消原因不能超过500字。"})
        if locked.state not in JointTask.CANCELLABLE:
            raise TaskError(
                f"任务当前状态为「{locked.get_state_display()}」，已抽取或已取消的任务不能取消。"
            )
        JointTask.objects.filter(pk=locked.pk).update(cancel_reason=reason)
        return transition(user=user, task=locked, to=State.CANCELLED, note=f"取消：{reason}")


__all__ = [
    "PermissionDenied",
    "TaskError",
    "TaskInvalid",
    "TRANSITIONS",
    "cancel",
    "coordinate",
    "create_from_joint_entry",
    "create_from_plan_line",
    "create_task",
    "drop_overdue",
    "establish",
    "initiate",
    "release",
    "respond",
    "save_scheme",
    "transition",
    "update_task",
]
