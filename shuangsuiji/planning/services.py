"""一计划 services: every change to plans, merges and the published joint plan, validated and audited.

Rules (ISSUE 4 "Annual plans", DOMAIN.md 抽查计划, seeds 003 and 004 第二十五条–第二十八条):

- A department edits only its own plan, and only while it is a draft or returned. Submitting
  sends it to the office; after the year's department deadline (``PlanSettings``) it is flagged
  late, not refused. The office returns a plan with comments, or accepts it.
- 抽查事项 come from the department's *published* item list only ("清单之外无事项").
- 抽查比例 are basis points 0–10000 per credit-risk class A/B/C/D/U (DRAW-PROTOCOL.md §1.3).
- 抽查对象范围 is a saved filter on the department's directory: the GET parameters that
  ``directory.selectors.target_entries`` understands; anything else is refused.
- A credit-linked line (关联信用规则) has ratios that differ by class.
- Every write locks the plan row and re-checks its state in the same transaction.
"""

import datetime
import json
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import AuditEntry, Department, Jurisdiction, User
from shuangsuiji.directory.industry import SECTIONS
from shuangsuiji.directory.models import Target
from shuangsuiji.directory.selectors import scope_targets

from .models import (
    RISK_CLASSES,
    AnnualPlan,
    JointPlanEntry,
    PlanLine,
    PlanSettings,
    PublishedPlan,
)

Action = AuditEntry.Action
Status = AnnualPlan.Status
MAX_BP = 10000


class PlanError(ValueError):
    """A refused change, with a message for the user."""


class LineInvalid(PlanError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(errors.values()))


# --- settings -----------------------------------------------------------------------------------


def office_jurisdiction(user: User) -> Jurisdiction:
    permissions.require_office(user)
    jurisdiction = user.jurisdiction or (
        user.department.jurisdiction if user.department_id else None
    )
    if jurisdiction is None:
        raise PlanError("您的账号未关联行政区划。")
    return jurisdiction


def settings_for(jurisdiction: Jurisdiction, year: int) -> PlanSettings:
    """The year's settings, or unsaved defaults (Jan 20 / Mar 30, 50 %, A ≤ 10 %)."""
    found = PlanSettings.objects.filter(jurisdiction=jurisdiction, year=year).first()
    if found:
        return found
    dept, office = PlanSettings.default_deadlines(year)
    return PlanSettings(
        jurisdiction=jurisdiction, year=year, department_deadline=dept, office_deadline=office
    )


def save_settings(
    *,
    user: User,
    year: int,
    department_deadline: datetime.date,
    office_deadline: datetime.date,
    credit_linked_min_percent: int = 50,
    a_class_max_bp: int = 1000,
) -> PlanSettings:
    jurisdiction = office_jurisdiction(user)
    if not 2000 <= year <= 2100:
        raise PlanError("年度应在 2000–2100 之间。")
    if not 0 <= credit_linked_min_percent <= 100:
        raise PlanError("关联信用规则任务最低占比应在 0–100 之间。")
    if not 0 <= a_class_max_bp <= MAX_BP:
        raise PlanError("A类事项抽查比例上限应在 0–10000 基点之间。")
    for day in (department_deadline, office_deadline):
        if day.year != year:
            raise PlanError(f"截止日期 {day} 不在 {year} 年内。")
    if office_deadline < department_deadline:
        raise PlanError("联席办公布截止日期不能早于部门报送截止日期。")
    with transaction.atomic():
        obj = (
            PlanSettings.objects.select_for_update()
            .filter(jurisdiction=jurisdiction, year=year)
            .first()
        )
        before = audit.snapshot(obj) if obj else None
        obj = obj or PlanSettings(jurisdiction=jurisdiction, year=year)
        obj.department_deadline = department_deadline
        obj.office_deadline = office_deadline
        obj.credit_linked_min_percent = credit_linked_min_percent
        obj.a_class_max_bp = a_class_max_bp
        obj.save()
        audit.record(user, Action.UPDATE if before else Action.CREATE, obj, before=before)
    return obj


# --- scope filters and ratios -------------------------------------------------------------------

_SINGLE_KEYS = {"q", "region", "section", "industry", "complaints", "tag", "abnormal", "serious"}
_MULTI_KEYS = {
    "risk": set(Target.RiskClass.values),
    "kind": set(Target.ObjectKind.values),
    "status": set(Target.RegStatus.values),
}
SCOPE_LABELS = {
    "q": "名称/代码",
    "region": "区域",
    "section": "行业门类",
    "industry": "行业代码",
    "risk": "信用风险分类",
    "kind": "对象类别",
    "status": "登记状态",
    "abnormal": "经营异常名录",
    "serious": "严重违法失信",
    "complaints": "投诉举报次数≥",
    "tag": "子库标签",
}


def _pairs(raw) -> list[tuple[str, str]]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip().lstrip("?")
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise PlanError("抽查对象范围不是有效的筛选条件。") from exc
        else:
            # Accept a pasted directory list address, e.g. "/directory/targets/?risk=C&region=…".
            if "?" in text:
                text = text.split("?", 1)[1]
            return parse_qsl(text, keep_blank_values=False)
    if not isinstance(raw, Mapping):
        raise PlanError("抽查对象范围不是有效的筛选条件。")
    pairs = []
    for key, value in raw.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(key), "" if v is None else str(v)) for v in values)
    return pairs


def clean_scope(raw, *, jurisdiction: Jurisdiction) -> dict:
    """A saved directory filter in canonical form, or :class:`PlanError` naming what is wrong.

    Only the parameters of ``target_entries`` that select targets are kept; ``department`` and
    ``removed`` are refused, since a plan line is always counted on its department's directory."""
    scope: dict = {}
    for key, value in _pairs(raw):
        key, value = key.strip(), value.strip()
        if not value or key == "page":
            continue
        if key in ("department", "removed"):
            raise PlanError(f"抽查对象范围不能包含“{key}”：计划条目总是在本部门名录库中筛选。")
        if key in _MULTI_KEYS:
            for v in (p.strip() for p in value.split(",")):
                v = v.upper() if key == "risk" else v
                if v not in _MULTI_KEYS[key]:
                    raise PlanError(f"抽查对象范围中{SCOPE_LABELS[key]}“{v}”无效。")
                scope.setdefault(key, set()).add(v)
            continue
        if key not in _SINGLE_KEYS:
            raise PlanError(f"抽查对象范围中有不支持的筛选条件“{key[:30]}”。")
        if len(value) > 100:
            raise PlanError(f"抽查对象范围中{SCOPE_LABELS[key]}过长。")
        if key == "region":
            under = Jurisdiction.objects.filter(code=value).first()
            if under is None or not (
                under.pk == jurisdiction.pk
                or under.parent_id == jurisdiction.pk
                or (under.parent and under.parent.parent_id == jurisdiction.pk)
            ):
                raise PlanError(f"抽查对象范围中区域“{value}”不在本辖区内。")
        elif key == "section":
            value = value.upper()
            if value not in SECTIONS:
                raise PlanError(f"抽查对象范围中行业门类“{value}”无效。")
        elif key == "industry":
            value = value.upper()
            if not (value.isascii() and value.isalnum() and len(value) <= 5):
                raise PlanError(f"抽查对象范围中行业代码“{value}”无效。")
        elif key == "complaints":
            if not value.isdigit() or int(value) < 1:
                raise PlanError("抽查对象范围中投诉举报次数应为正整数。")
            value = str(int(value))
        elif key in ("abnormal", "serious"):
            if value.lower() not in ("1", "true", "on", "yes", "是"):
                raise PlanError(f"抽查对象范围中“{SCOPE_LABELS[key]}”只能为 1。")
            value = "1"
        scope[key] = value
    return {k: sorted(v) if isinstance(v, set) else v for k, v in sorted(scope.items())}


def scope_key(scope: Mapping) -> str:
    """A stable text key for "the same target scope"."""
    return json.dumps(scope, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def clean_ratios(raw: Mapping) -> dict[str, int]:
    """Basis points per class, integers 0–10000; a class left blank has no ratio (= 0)."""
    ratios: dict[str, int] = {}
    for key, value in (raw or {}).items():
        cls = str(key).strip().upper()
        if cls not in RISK_CLASSES:
            raise PlanError(f"信用风险分类“{cls}”无效，应为 A、B、C、D 或 U。")
        if value is None or value == "":
            continue
        try:
            bp = int(str(value).strip())
        except ValueError as exc:
            raise PlanError(f"{cls}类抽查比例应为 0–10000 的整数基点。") from exc
        if str(value).strip() != str(bp) and not isinstance(value, int):
            raise PlanError(f"{cls}类抽查比例应为 0–10000 的整数基点。")
        if not 0 <= bp <= MAX_BP:
            raise PlanError(f"{cls}类抽查比例 {bp / 100:g}% 超出 0–100% 的范围。")
        ratios[cls] = bp
    if not ratios:
        raise PlanError("请至少填写一个信用风险分类的抽查比例。")
    return dict(sorted(ratios.items()))


def expected_counts(by_risk: Mapping[str, int], ratios: Mapping[str, int]) -> dict:
    """k_s = ceil(n_s * r_s / 10000) per class (DRAW-PROTOCOL.md §1.3 ratio mode)."""
    by_class = {
        cls: (by_risk.get(cls, 0) * ratios.get(cls, 0) + MAX_BP - 1) // MAX_BP
        for cls in RISK_CLASSES
    }
    return {
        "by_class": by_class,
        "total": sum(by_class.values()),
        "population": sum(by_risk.get(cls, 0) for cls in RISK_CLASSES),
    }


def count_scope(*, department: Department, scope: Mapping) -> dict[str, int]:
    """The candidates per credit-risk class of a scope on the department's directory — the same
    selector the draw freezes, so the plan's expected numbers and the draw agree."""
    rows = (
        scope_targets(department, scope)
        .order_by()
        .values_list("risk_class")
        .annotate(n=Count("pk"))
    )
    found = dict(rows)
    return {value: found.get(value, 0) for value in Target.RiskClass.values}


# --- plans --------------------------------------------------------------------------------------


def _require_edit(user: User, plan: AnnualPlan) -> None:
    permissions.require(
        permissions.can_edit_department(user, plan.department), "只能修改本部门的抽查工作计划。"
    )


def _lock(plan: AnnualPlan | int) -> AnnualPlan:
    pk = plan.pk if isinstance(plan, AnnualPlan) else plan
    locked = AnnualPlan.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise PlanError("该计划已不存在。")
    return AnnualPlan.objects.select_related("department__jurisdiction").get(pk=locked.pk)


def _lock_editable(user: User, plan: AnnualPlan | int) -> AnnualPlan:
    locked = _lock(plan)
    _require_edit(user, locked)
    if not locked.editable:
        raise PlanError(f"{locked}{locked.get_status_display()}，不能修改。")
    return locked


def create_plan(*, user: User, department: Department, year: int) -> AnnualPlan:
    """Start the department's plan for a year, or the next version after the accepted one
    (an adjustment, copied from it). Refused while an open version exists."""
    permissions.require(
        permissions.can_edit_department(user, department), "只能编制本部门的抽查工作计划。"
    )
    if not 2000 <= year <= 2100:
        raise PlanError("年度应在 2000–2100 之间。")
    try:
        with transaction.atomic():
            existing = list(
                AnnualPlan.objects.select_for_update()
                .filter(department=department, year=year)
                .order_by("-version")
            )
            if any(p.status in AnnualPlan.OPEN_STATUSES for p in existing):
                raise PlanError(f"{department.name}{year}年已有未采纳的计划版本，请在其上修改。")
            previous = existing[0] if existing else None
            plan = AnnualPlan.objects.create(
                department=department,
                year=year,
                version=previous.version + 1 if previous else 1,
                created_by=user,
            )
            audit.record(
                user, Action.CREATE, plan, note=f"由第{previous.version}版调整" if previous else ""
            )
            if previous:
                _copy_lines(user=user, source=previous, target=plan)
    except IntegrityError as exc:
        raise PlanError("该计划刚被他人创建，请刷新页面。") from exc
    return plan


def _copy_lines(*, user: User, source: AnnualPlan, target: AnnualPlan) -> None:
    for line in source.lines.prefetch_related("items", "joint_departments"):
        items = list(line.items.all())
        joint = list(line.joint_departments.all())
        # A fresh instance: reusing the fetched one would carry its prefetch cache into set().
        fields = {
            f.attname: getattr(line, f.attname)
            for f in PlanLine._meta.concrete_fields
            if f.attname not in ("id", "plan_id")
        }
        copy = PlanLine.objects.create(plan=target, **fields)
        copy.items.set(items)
        copy.joint_departments.set(joint)
        audit.record(
            user, Action.CREATE, copy, after=line_snapshot(copy), department=target.department
        )


def line_snapshot(line: PlanLine) -> dict:
    data = audit.snapshot(line)
    data["items"] = sorted(line.items.values_list("code", flat=True))
    data["joint_departments"] = sorted(line.joint_departments.values_list("code", flat=True))
    return data


def published_items(department: Department) -> list[Item]:
    lst = ItemList.objects.filter(department=department, status=ItemList.Status.PUBLISHED).first()
    return list(lst.items.all()) if lst else []


def _date(value, label: str, errors: dict, key: str, year: int, required: bool):
    if value in (None, ""):
        if required:
            errors[key] = f"请填写{label}。"
        return None
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            errors[key] = f"{label}“{value[:20]}”不是有效日期（如 {year}-03-01）。"
            return None
    if value.year != year:
        errors[key] = f"{label}应在计划年度 {year} 年内（计划应在年内完成）。"
        return None
    return value


def clean_line(*, plan: AnnualPlan, data: Mapping) -> tuple[dict, list[Item], list[Department]]:
    """Validate one line's fields against the plan; :class:`LineInvalid` lists every problem."""
    errors: dict[str, str] = {}
    department = plan.department
    jurisdiction = department.jurisdiction
    out: dict = {}
    for key, label, limit, required in (
        ("plan_name", "抽查计划名称", 200, True),
        ("task_name", "抽查任务名称", 200, True),
        ("lead_division", "牵头处室", 100, False),
        ("support_divisions", "配合处室", 200, False),
        ("scope_label", "抽查对象范围说明", 300, False),
    ):
        text = str(data.get(key) or "").strip()
        if required and not text:
            errors[key] = f"请填写{label}。"
        elif len(text) > limit:
            errors[key] = f"{label}不能超过{limit}个字。"
        out[key] = text
    kind = data.get("kind") or PlanLine.Kind.INTERNAL
    if kind not in PlanLine.Kind.values:
        errors["kind"] = "抽查类型应为部门内部或部门联合。"
    out["kind"] = kind
    out["directed"] = str(data.get("directed", "")).lower() in ("1", "true", "on", "yes", "定向")
    out["credit_linked"] = str(data.get("credit_linked", "")).lower() in ("1", "true", "on", "yes")
    try:
        out["scope"] = clean_scope(data.get("scope"), jurisdiction=jurisdiction)
    except PlanError as exc:
        errors["scope"] = str(exc)
    try:
        out["ratios"] = clean_ratios(data.get("ratios") or {})
    except PlanError as exc:
        errors["ratios"] = str(exc)
    if "ratios" in out and out["credit_linked"]:
        values = {out["ratios"].get(c, 0) for c in RISK_CLASSES}
        if len(values) < 2:
            errors["credit_linked"] = "关联信用风险分类的任务，不同风险等级的抽查比例应有差别。"

    # 抽查事项: the department's published list only ("清单之外无事项").
    published = {item.pk: item for item in published_items(department)}
    wanted = [str(v) for v in (data.get("items") or [])]
    items: list[Item] = []
    if not published:
        errors["items"] = "本部门还没有已发布的抽查事项清单，请先发布清单再编制计划。"
    elif not wanted:
        errors["items"] = "请至少选择一个抽查事项。"
    else:
        by_code = {item.code: item for item in published.values()}
        bad = []
        for value in wanted:
            item = published.get(int(value)) if value.isdigit() else by_code.get(value)
            if item is None:
                bad.append(value[:40])
            elif item not in items:
                items.append(item)
        if bad:
            errors["items"] = (
                f"事项 {'、'.join(bad)} 不在本部门已发布的抽查事项清单中（清单之外无事项）。"
            )

    year = plan.year
    out["period_start"] = _date(
        data.get("period_start"), "计划开始日期", errors, "period_start", year, True
    )
    out["period_end"] = _date(
        data.get("period_end"), "计划结束日期", errors, "period_end", year, True
    )
    out["draw_date"] = _date(data.get("draw_date"), "抽取日期", errors, "draw_date", year, False)
    if out["period_start"] and out["period_end"] and out["period_end"] < out["period_start"]:
        errors["period_end"] = "计划结束日期不能早于开始日期。"
    if out["draw_date"] and out["period_end"] and out["draw_date"] > out["period_end"]:
        errors["draw_date"] = "抽取日期不能晚于计划结束日期。"

    siblings = Department.objects.filter(jurisdiction=jurisdiction, active=True)
    initiator_id = data.get("initiator") or department.pk
    initiator = siblings.filter(pk=initiator_id).first() if str(initiator_id).isdigit() else None
    if initiator is None:
        errors["initiator"] = "检查发起机关应为本辖区的成员单位。"
    out["initiator"] = initiator
    joint_ids = [str(v) for v in (data.get("joint_departments") or [])]
    joint = list(siblings.filter(pk__in=[int(v) for v in joint_ids if v.isdigit()]))
    if len(joint) != len(set(joint_ids)):
        errors["joint_departments"] = "联合机关应为本辖区的成员单位。"
    if kind == PlanLine.Kind.JOINT:
        if initiator and initiator != department and department not in joint:
            errors["joint_departments"] = "本部门应为发起机关或联合机关之一。"
        others = {d.pk for d in joint} | ({initiator.pk} if initiator else set())
        if len(others | {department.pk}) < 2:
            errors["joint_departments"] = "部门联合抽查应至少选择一个其他部门作为联合机关。"
    elif joint or (initiator and initiator != department):
        errors["joint_departments"] = "部门内部抽查由本部门发起，不填联合机关。"
    if errors:
        raise LineInvalid(errors)
    return out, items, joint


def _apply_counts(line: PlanLine) -> None:
    counts = expected_counts(
        count_scope(department=line.plan.department, scope=line.scope), line.ratios
    )
    line.expected_total = counts["total"]
    line.expected_by_class = counts["by_class"]
    line.population_total = counts["population"]


def create_line(*, user: User, plan: AnnualPlan, data: Mapping) -> PlanLine:
    with transaction.atomic():
        locked = _lock_editable(user, plan)
        fields, items, joint = clean_line(plan=locked, data=data)
        seq = (locked.lines.aggregate(m=Max("seq"))["m"] or 0) + 1
        line = PlanLine(plan=locked, seq=seq, **fields)
        _apply_counts(line)
        line.save()
        line.items.set(items)
        line.joint_departments.set(joint)
        audit.record(
            user, Action.CREATE, line, after=line_snapshot(line), department=locked.department
        )
    return line


def update_line(*, user: User, line: PlanLine, data: Mapping) -> PlanLine:
    with transaction.atomic():
        locked = _lock_editable(user, line.plan_id)
        line = PlanLine.objects.filter(pk=line.pk, plan=locked).first()
        if line is None:
            raise PlanError("该计划条目已不存在。")
        before = line_snapshot(line)
        fields, items, joint = clean_line(plan=locked, data=data)
        for key, value in fields.items():
            setattr(line, key, value)
        line.plan = locked
        _apply_counts(line)
        line.save()
        line.items.set(items)
        line.joint_departments.set(joint)
        audit.record(
            user,
            Action.UPDATE,
            line,
            before=before,
            after=line_snapshot(line),
            department=locked.department,
        )
    return line


def delete_line(*, user: User, line: PlanLine) -> None:
    with transaction.atomic():
        locked = _lock_editable(user, line.plan_id)
        line = PlanLine.objects.filter(pk=line.pk, plan=locked).first()
        if line is None:
            return
        before = line_snapshot(line)
        line.delete()
        line.pk = before["id"]
        audit.record(user, Action.DELETE, line, before=before, department=locked.department)


def _deadline_passed(deadline: datetime.date, at: datetime.datetime) -> bool:
    return timezone.localtime(at).date() > deadline


def submit_plan(
    *, user: User, plan: AnnualPlan, now: datetime.datetime | None = None
) -> AnnualPlan:
    """Send the plan to the office; after the department deadline it is flagged late."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_editable(user, plan)
        if not locked.lines.exists():
            raise PlanError("计划中还没有条目，不能报送。")
        before = audit.snapshot(locked)
        cfg = settings_for(locked.department.jurisdiction, locked.year)
        locked.status = Status.SUBMITTED
        locked.submitted_at = now
        locked.late = _deadline_passed(cfg.department_deadline, now)
        locked.save(update_fields=["status", "submitted_at", "late", "updated_at"])
        note = (
            f"逾期报送（截止日期 {cfg.department_deadline}）"
            if locked.late
            else "报送联席会议办公室"
        )
        audit.record(user, Action.UPDATE, locked, before=before, note=note)
    return locked


def _lock_submitted_for_office(user: User, plan: AnnualPlan) -> AnnualPlan:
    jurisdiction = office_jurisdiction(user)
    locked = _lock(plan)
    if locked.department.jurisdiction_id != jurisdiction.pk:
        raise permissions.PermissionDenied("只能处理本辖区成员单位的计划。")
    if locked.status != Status.SUBMITTED:
        raise PlanError(f"{locked}{locked.get_status_display()}，只能处理已报送的计划。")
    return locked


def return_plan(*, user: User, plan: AnnualPlan, comments: str) -> AnnualPlan:
    comments = (comments or "").strip()
    if not comments:
        raise PlanError("退回计划须填写意见，说明需要修改的地方。")
    if len(comments) > 2000:
        raise PlanError("意见不能超过2000字。")
    with transaction.atomic():
        locked = _lock_submitted_for_office(user, plan)
        before = audit.snapshot(locked)
        locked.status = Status.RETURNED
        locked.office_comments = comments
        locked.save(update_fields=["status", "office_comments", "updated_at"])
        audit.record(user, Action.UPDATE, locked, before=before, note=f"退回：{comments}")
    return locked


def accept_plan(*, user: User, plan: AnnualPlan, comments: str = "") -> AnnualPlan:
    with transaction.atomic():
        locked = _lock_submitted_for_office(user, plan)
        before = audit.snapshot(locked)
        locked.status = Status.ACCEPTED
        locked.office_comments = (comments or "").strip()[:2000]
        locked.save(update_fields=["status", "office_comments", "updated_at"])
        audit.record(user, Action.UPDATE, locked, before=before, note="采纳")
    return locked


# --- merging and publishing (office) -------------------------------------------------------------


def confirm_merge(
    *,
    user: User,
    year: int,
    line_ids: Iterable[int],
    lead_department_id: int | None = None,
    name: str = "",
) -> JointPlanEntry:
    """Make one joint plan entry from lines of accepted plans sharing scope and period."""
    from . import selectors

    jurisdiction = office_jurisdiction(user)
    ids = sorted({int(i) for i in line_ids})
    if not ids:
        raise PlanError("请选择要合并的计划条目。")
    with transaction.atomic():
        lines = list(
            PlanLine.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .select_related("plan__department")
            .order_by("pk")
        )
        if len(lines) != len(ids):
            raise PlanError("所选条目中有已不存在的条目。")
        current = set(
            selectors.current_accepted_plans(jurisdiction, year).values_list("pk", flat=True)
        )
        if any(line.plan_id not in current for line in lines):
            raise PlanError("只能合并本辖区本年度已采纳计划中的条目。")
        if JointPlanEntry.objects.filter(source_lines__in=lines).exists():
            raise PlanError("所选条目中有已合并的条目。")
        keys = {(scope_key(line.scope), line.period_start, line.period_end) for line in lines}
        if len(keys) != 1:
            raise PlanError("只有抽查对象范围和计划时间相同的条目才能合并为一次联合抽查。")
        departments: dict[int, Department] = {}
        for line in lines:
            for dept in [line.plan.department, line.initiator, *line.joint_departments.all()]:
                departments[dept.pk] = dept
        if len(departments) < 2:
            raise PlanError("联合抽查至少需要两个部门参与。")
        lead_id = int(lead_department_id) if lead_department_id else lines[0].initiator_id
        if lead_id not in departments:
            raise PlanError("牵头部门应为参与部门之一。")
        first = lines[0]
        entry = JointPlanEntry.objects.create(
            jurisdiction=jurisdiction,
            year=year,
            name=(name or "").strip()[:200] or first.task_name,
            lead_department=departments[lead_id],
            scope=first.scope,
            period_start=first.period_start,
            period_end=first.period_end,
            created_by=user,
        )
        entry.departments.set(departments.values())
        entry.source_lines.set(lines)
        audit.record(
            user,
            Action.CREATE,
            entry,
            after={
                **audit.snapshot(entry),
                "departments": sorted(d.code for d in departments.values()),
                "source_lines": ids,
            },
            note="确认合并",
        )
    return entry


def undo_merge(*, user: User, entry: JointPlanEntry) -> None:
    jurisdiction = office_jurisdiction(user)
    with transaction.atomic():
        locked = JointPlanEntry.objects.select_for_update().filter(pk=entry.pk).first()
        if locked is None:
            return
        if locked.jurisdiction_id != jurisdiction.pk:
            raise permissions.PermissionDenied("只能处理本辖区的联合抽查计划。")
        before = {
            **audit.snapshot(locked),
            "source_lines": sorted(locked.source_lines.values_list("pk", flat=True)),
        }
        locked.delete()
        locked.pk = before["id"]
        audit.record(user, Action.DELETE, locked, before=before, note="撤销合并")


def publish_joint_plan(
    *, user: User, year: int, reason: str = "", now: datetime.datetime | None = None
) -> PublishedPlan:
    """Publish the jurisdiction's joint annual plan as a new version (a frozen public snapshot).
    From version 2 on a reason (调整原因) is required."""
    from . import selectors

    jurisdiction = office_jurisdiction(user)
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise PlanError("调整原因不能超过500字。")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the settings row (created if missing) so two publishes get different versions in turn.
        cfg, _ = PlanSettings.objects.select_for_update().get_or_create(
            jurisdiction=jurisdiction,
            year=year,
            defaults={
                "department_deadline": PlanSettings.default_deadlines(year)[0],
                "office_deadline": PlanSettings.default_deadlines(year)[1],
            },
        )
        cfg = PlanSettings.objects.select_for_update().get(pk=cfg.pk)
        last = (
            PublishedPlan.objects.filter(jurisdiction=jurisdiction, year=year)
            .order_by("-version")
            .first()
        )
        if last and not reason:
            raise PlanError("发布调整后的新版本须填写调整原因。")
        rows = selectors.public_rows(jurisdiction, year)
        if not rows:
            raise PlanError("还没有已采纳的计划条目，不能发布。")
        published = PublishedPlan.objects.create(
            jurisdiction=jurisdiction,
            year=year,
            version=last.version + 1 if last else 1,
            reason=reason,
            rows=rows,
            late=last is None and _deadline_passed(cfg.office_deadline, now),
            published_by=user,
        )
        audit.record(
            user,
            Action.PUBLISH,
            published,
            after={k: v for k, v in audit.snapshot(published).items() if k != "rows"}
            | {"rows": len(rows)},
            note=reason or "首次发布",
        )
    return published
