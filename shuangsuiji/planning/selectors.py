"""一计划 reads: who may see which plan, the index, live expected counts, merge proposals and
checks, and the rows of the published joint plan.

Visibility: a department's draft and returned versions are seen by that department, the office and
auditors; submitted and accepted versions by every user of the jurisdiction ("others read"). The
public sees only the published joint plan."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Prefetch, QuerySet

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core import permissions
from shuangsuiji.core.models import Department, Jurisdiction, User

from . import services
from .models import RISK_CLASSES, AnnualPlan, JointPlanEntry, PlanLine, PlanSettings, PublishedPlan

Status = AnnualPlan.Status


def user_jurisdiction(user: User) -> Jurisdiction | None:
    if user.jurisdiction_id:
        return user.jurisdiction
    return user.department.jurisdiction if user.department_id else None


def can_view_plan(user: User, plan: AnnualPlan) -> bool:
    if not user.is_authenticated:
        return False
    if permissions.can_view_department(user, plan.department):
        own = user_jurisdiction(user)
        return user.is_superuser or own is None or own.pk == plan.department.jurisdiction_id
    if plan.status in (Status.SUBMITTED, Status.ACCEPTED):
        own = user_jurisdiction(user)
        return own is not None and own.pk == plan.department.jurisdiction_id
    return False


def can_edit_plan(user: User, plan: AnnualPlan) -> bool:
    return plan.editable and permissions.can_edit_department(user, plan.department)


def get_plan(pk: int) -> AnnualPlan | None:
    return (
        AnnualPlan.objects.select_related("department__jurisdiction", "created_by")
        .filter(pk=pk)
        .first()
    )


def plan_lines(plan: AnnualPlan) -> list[PlanLine]:
    return list(
        plan.lines.select_related("initiator").prefetch_related(
            Prefetch("items", queryset=Item.objects.order_by("seq", "code")),
            "joint_departments",
        )
    )


def live_counts(user: User, plan: AnnualPlan, lines: list[PlanLine]) -> None:
    """Set ``line.live`` (expected numbers now) on each line for users who may read the
    department's directory; others see the numbers saved at the last edit (``line.live = None``)."""
    may_count = permissions.can_view_department(user, plan.department)
    for line in lines:
        line.live = None
        if may_count:
            by_risk = services.count_scope(department=plan.department, scope=line.scope)
            line.live = services.expected_counts(by_risk, line.ratios)


def line_warnings(line: PlanLine, a_class_max_bp: int) -> list[str]:
    """A line with A-class items (seed 004 第十四条: annual ratio ≤ 10%) whose overall ratio is
    above the cap. Overall = expected / population, so credit-linked lines may still raise the
    ratio for high-risk classes; without a population, the highest class ratio is taken."""
    has_a = any(item.item_class == Item.ItemClass.A for item in line.items.all())
    if not has_a:
        return []
    if line.population_total:
        overall = line.expected_total * 10000 / line.population_total
    else:
        overall = max(line.ratios.values(), default=0)
    if overall > a_class_max_bp:
        return [f"含A类事项，总体抽查比例{overall / 100:.1f}%超过{a_class_max_bp / 100:g}%的上限"]
    return []


@dataclass
class IndexRow:
    department: Department
    plans: list[AnnualPlan] = field(default_factory=list)

    @property
    def latest(self) -> AnnualPlan | None:
        return self.plans[0] if self.plans else None


def index_rows(user: User, year: int) -> list[IndexRow]:
    """One row per department of the user's jurisdiction with its plan versions for the year
    that the user may see. Two queries."""
    jurisdiction = user_jurisdiction(user)
    departments = Department.objects.filter(active=True)
    if jurisdiction is not None and not user.is_superuser:
        departments = departments.filter(jurisdiction=jurisdiction)
    rows = {d.pk: IndexRow(department=d) for d in departments.select_related("jurisdiction")}
    plans = AnnualPlan.objects.filter(department_id__in=rows, year=year).order_by(
        "department_id", "-version"
    )
    for plan in plans:
        plan.department = rows[plan.department_id].department
        if can_view_plan(user, plan):
            rows[plan.department_id].plans.append(plan)
    return list(rows.values())


def current_accepted_plans(jurisdiction: Jurisdiction, year: int) -> QuerySet:
    """Each department's latest accepted version for the year."""
    latest = (
        AnnualPlan.objects.filter(
            department__jurisdiction=jurisdiction, year=year, status=Status.ACCEPTED
        )
        .values("department_id")
        .annotate(v=Max("version"))
    )
    pairs = [(row["department_id"], row["v"]) for row in latest]
    qs = AnnualPlan.objects.none()
    for dept_id, version in pairs:
        qs |= AnnualPlan.objects.filter(department_id=dept_id, year=year, version=version)
    return qs


def accepted_lines(jurisdiction: Jurisdiction, year: int) -> list[PlanLine]:
    return list(
        PlanLine.objects.filter(plan__in=current_accepted_plans(jurisdiction, year))
        .select_related("plan__department", "initiator")
        .prefetch_related("items", "joint_departments", "joint_entries")
        .order_by("plan__department__sort_order", "plan__department__code", "seq")
    )


@dataclass
class Proposal:
    lines: list[PlanLine]

    @property
    def departments(self) -> list[Department]:
        found: dict[int, Department] = {}
        for line in self.lines:
            for dept in [line.plan.department, line.initiator, *line.joint_departments.all()]:
                found.setdefault(dept.pk, dept)
        return list(found.values())

    @property
    def first(self) -> PlanLine:
        return self.lines[0]


def entries(jurisdiction: Jurisdiction, year: int) -> list[JointPlanEntry]:
    return list(
        JointPlanEntry.objects.filter(jurisdiction=jurisdiction, year=year)
        .select_related("lead_department")
        .prefetch_related("departments", "source_lines__plan__department")
    )


def merge_proposals(lines: list[PlanLine]) -> list[Proposal]:
    """Unmerged accepted lines grouped by (scope, period): groups spanning two or more departments,
    and single 部门联合 lines (already joint by themselves)."""
    groups: dict[tuple, list[PlanLine]] = defaultdict(list)
    for line in lines:
        if line.joint_entries.all():
            continue
        key = (services.scope_key(line.scope), line.period_start, line.period_end)
        groups[key].append(line)
    proposals = []
    for group in groups.values():
        proposal = Proposal(lines=group)
        if len(proposal.departments) >= 2:
            proposals.append(proposal)
    return proposals


@dataclass
class Checks:
    no_joint: list[Department]
    uncovered: dict[
        str, list[str]
    ]  # department name → item codes of its published list not planned
    no_plan: list[Department]
    credit_linked: int
    total_lines: int
    credit_min_percent: int
    a_class_over: list[PlanLine]

    @property
    def credit_percent(self) -> float:
        return self.credit_linked * 100 / self.total_lines if self.total_lines else 0.0

    @property
    def credit_ok(self) -> bool:
        return self.total_lines > 0 and self.credit_percent >= self.credit_min_percent

    @property
    def all_ok(self) -> bool:
        return (
            not self.no_joint
            and not self.uncovered
            and not self.no_plan
            and self.credit_ok
            and not self.a_class_over
        )


def merge_checks(
    jurisdiction: Jurisdiction, year: int, lines: list[PlanLine] | None = None
) -> Checks:
    """The checks the office sees while merging (ISSUE 4; seed 003 credit-linked ≥ 50%; seed 004
    第十四条 A-class ≤ 10%; every department initiates or joins a joint task; full coverage)."""
    lines = accepted_lines(jurisdiction, year) if lines is None else lines
    cfg = services.settings_for(jurisdiction, year)
    departments = list(Department.objects.filter(jurisdiction=jurisdiction, active=True))
    in_joint: set[int] = set()
    for entry in JointPlanEntry.objects.filter(
        jurisdiction=jurisdiction, year=year
    ).prefetch_related("departments"):
        in_joint.add(entry.lead_department_id)
        in_joint.update(d.pk for d in entry.departments.all())
    planned: dict[int, set[str]] = defaultdict(set)
    for line in lines:
        planned[line.plan.department_id].update(item.code for item in line.items.all())
    has_plan = {line.plan.department_id for line in lines}
    published: dict[int, list[str]] = defaultdict(list)
    for dept_id, code in Item.objects.filter(
        item_list__department__in=departments, item_list__status=ItemList.Status.PUBLISHED
    ).values_list("item_list__department_id", "code"):
        published[dept_id].append(code)
    uncovered = {}
    for dept in departments:
        missing = sorted(set(published.get(dept.pk, [])) - planned.get(dept.pk, set()))
        if missing and dept.pk in has_plan:
            uncovered[dept.name] = missing
    return Checks(
        no_joint=[d for d in departments if d.pk not in in_joint],
        uncovered=uncovered,
        no_plan=[d for d in departments if d.pk not in has_plan],
        credit_linked=sum(1 for line in lines if line.credit_linked),
        total_lines=len(lines),
        credit_min_percent=cfg.credit_linked_min_percent,
        a_class_over=[line for line in lines if line_warnings(line, cfg.a_class_max_bp)],
    )


def _public_line(line: PlanLine) -> dict:
    return {
        "plan_name": line.plan_name,
        "task_name": line.task_name,
        "type": line.type_label,
        "population": line.population_total,
        "expected": line.expected_total,
        "ratios": {c: line.ratios[c] for c in RISK_CLASSES if c in line.ratios},
        "ratio_text": line.ratio_label,
        "credit_linked": line.credit_linked,
        "items": [f"{item.code} {item.name}" for item in line.items.all()],
        "scope": scope_text(line.scope, line.scope_label),
        "initiator": line.initiator.name,
        "joint": [d.name for d in line.joint_departments.all()],
        "draw_date": line.draw_date.isoformat() if line.draw_date else "",
        "lead_division": line.lead_division,
        "support_divisions": line.support_divisions,
        "period": line.period_label,
    }


def public_rows(jurisdiction: Jurisdiction, year: int) -> list[dict]:
    """The published plan's rows: each confirmed joint entry (its source lines merged), then each
    unmerged accepted line. Only public facts: no user names, no entity data."""
    lines = accepted_lines(jurisdiction, year)
    rows = []
    merged: set[int] = set()
    for entry in entries(jurisdiction, year):
        sources = sorted(entry.source_lines.all(), key=lambda line: line.pk)
        merged.update(line.pk for line in sources)
        by_pk = {line.pk: line for line in lines}
        parts = [_public_line(by_pk[s.pk]) for s in sources if s.pk in by_pk]
        if not parts:
            continue
        others = [d.name for d in entry.departments.all() if d.pk != entry.lead_department_id]
        rows.append(
            {
                **parts[0],
                "task_name": entry.name,
                "type": "部门联合抽查",
                "population": max(p["population"] for p in parts),
                "expected": max(p["expected"] for p in parts),
                "credit_linked": any(p["credit_linked"] for p in parts),
                "items": [i for p in parts for i in p["items"]],
                "initiator": entry.lead_department.name,
                "joint": others,
                "plan_name": "；".join(dict.fromkeys(p["plan_name"] for p in parts)),
                "sources": len(parts),
            }
        )
    for line in lines:
        if line.pk not in merged:
            rows.append({**_public_line(line), "sources": 1})
    for n, row in enumerate(rows, 1):
        row["seq"] = n
    return rows


def scope_text(scope: dict, label: str = "") -> str:
    if label:
        return label
    if not scope:
        return "本部门名录库全部对象"
    parts = []
    for key, value in scope.items():
        text = "、".join(value) if isinstance(value, list) else value
        parts.append(f"{services.SCOPE_LABELS.get(key, key)}：{text}")
    return "；".join(parts)


def published_versions(jurisdiction: Jurisdiction, year: int | None = None) -> QuerySet:
    qs = PublishedPlan.objects.filter(jurisdiction=jurisdiction).select_related("jurisdiction")
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "-version")


def plan_settings(jurisdiction: Jurisdiction, year: int) -> PlanSettings:
    return services.settings_for(jurisdiction, year)
