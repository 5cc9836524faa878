"""Read queries for inspector draws: which runs a user may see, and what of them."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404

from shuangsuiji.core import permissions
from shuangsuiji.core.models import User
from shuangsuiji.directory.models import Inspector
from shuangsuiji.draws.models import Selection
from shuangsuiji.jointcheck.models import JointTask

from . import eligibility as E
from . import services
from .models import AssignmentRun, DeclaredConflict, Replacement, Team, TeamMember

NOT_FOUND = (
    "没有找到该任务的执法人员抽取，或您无权查看（抽取记录只向任务的参与部门和监督审计人员开放）。"
)


def task_for(user: User, code: str) -> JointTask:
    """The task, if the user may read its inspector draws (its departments and auditors)."""
    task = (
        JointTask.objects.select_related("lead_department", "jurisdiction")
        .filter(code=code)
        .first()
    )
    if task is None or not services.can_read_run(user, task):
        raise Http404(NOT_FOUND)
    return task


def runs_of(task: JointTask) -> list[AssignmentRun]:
    return list(
        AssignmentRun.objects.filter(draw__task=task)
        .select_related("draw", "job")
        .order_by("-draw__number", "-number")
    )


def run_for(user: User, code: str, draw: int, number: int) -> tuple[JointTask, AssignmentRun]:
    task = task_for(user, code)
    run = (
        AssignmentRun.objects.select_related("draw__task__lead_department", "job")
        .filter(draw__task=task, draw__number=draw, number=number)
        .first()
    )
    if run is None:
        raise Http404(NOT_FOUND)
    return task, run


def viewer_department(user: User, task: JointTask):
    """The task department the user acts for (None for auditors and superusers)."""
    if user.department_id and any(
        d.pk == user.department_id for d in services.task_departments(task)
    ):
        return user.department
    return None


def present_member(user: User, inspector: Inspector, own: bool) -> dict:
    """What a page shows of a member: the user's own department's members in full (personal data
    masked unless the user may see it), other departments' members by name only."""
    data = {
        "name": inspector.name,
        "code": E.inspector_code(inspector.department.code, inspector.pk),
    }
    if own:
        clear = permissions.can_see_personal_data(user, inspector.department)
        data["certificate_no"] = inspector.certificate_no
        data["phone"] = inspector.phone if clear else permissions.mask_phone(inspector.phone)
        data["pk"] = inspector.pk
    return data


def team_page(user: User, task: JointTask, run: AssignmentRun, page: str | int | None, q: str = ""):
    """One page of the run's teams with targets, members per department and shortfalls."""
    teams = Team.objects.filter(run=run).order_by("code")
    if q:
        teams = (
            teams.filter(code__icontains=q)
            | teams.filter(targets__code=q)
            | teams.filter(targets__name__icontains=q)
        )
        teams = teams.distinct()
    paginator = Paginator(teams, 50)
    current = paginator.get_page(page)
    pks = [t.pk for t in current.object_list]
    rows = (
        Team.objects.filter(pk__in=pks)
        .order_by("code")
        .prefetch_related(
            "targets",
            Prefetch(
                "members",
                queryset=TeamMember.objects.select_related(
                    "inspector__department", "department"
                ).order_by("department__code", "position"),
            ),
            "shortfalls__department",
        )
    )
    mine = viewer_department(user, task)
    sees_all = services.sees_every_department(user, task)
    departments = services.task_departments(task)
    result = []
    for team in rows:
        by_dept = {d.code: [] for d in departments}
        for m in team.members.all():
            own = sees_all or (mine is not None and m.department_id == mine.pk)
            entry = present_member(user, m.inspector, own)
            entry["leader"] = m.inspector_id == team.leader_id
            by_dept.setdefault(m.department.code, []).append(entry)
        result.append(
            {
                "team": team,
                "targets": sorted(team.targets.all(), key=lambda t: t.code),
                "members": [(d, by_dept.get(d.code, [])) for d in departments],
                "shortfalls": list(team.shortfalls.all()),
            }
        )
    return current, result


def replacements_of(user: User, task: JointTask, run: AssignmentRun) -> list[Replacement]:
    """The run's replacement requests: auditors and the lead see all, a department its own."""
    qs = run.replacements.select_related(
        "team", "department", "out", "substitute", "requested_by", "decided_by"
    ).order_by("requested_at")
    if not (services.sees_every_department(user, task) or services.is_lead(user, task)):
        qs = qs.filter(department_id=user.department_id)
    return list(qs)


def left_out_rows(user: User, task: JointTask, run: AssignmentRun, params) -> tuple[list, list]:
    """The left-out reasons the user may read (auditors: all; a department: its own people),
    filtered by department, team/region and inspector code; with names for the viewer's own."""
    rows = E.parse_left_out(services.read_file(run, services.LEFT_OUT))
    mine = viewer_department(user, task)
    sees_all = services.sees_every_department(user, task)
    if not sees_all:
        rows = [r for r in rows if mine is not None and r["dept"] == mine.code]
    dept = (params.get("dept") or "").strip().upper()
    where = (params.get("where") or "").strip()
    code = (params.get("code") or "").strip()
    if dept:
        rows = [r for r in rows if r["dept"] == dept]
    if where:
        # A team code shows everything that kept people out of that team: the reasons for every
        # team, its targets' regions, and its own recusals and rotations.
        places = {where}
        prefix = f"{where}\t".encode()
        codes = [
            line[len(prefix) :].decode()
            for line in services.read_file(run, "teams.tsv").splitlines()
            if line.startswith(prefix)
        ]
        if codes:  # the teams file, so this works before the run is performed
            places |= {
                region or task.jurisdiction.code
                for region in Selection.objects.filter(
                    draw=run.draw, target__code__in=codes
                ).values_list("target__region__code", flat=True)
            }
        rows = [r for r in rows if r["where"] == "" or r["where"] in places]
    if code:
        rows = [r for r in rows if r["code"] == code]
    pks = {E.inspector_pk(r["code"]) for r in rows[:2000]}
    names = dict(Inspector.objects.filter(pk__in=pks).values_list("pk", "name"))
    for r in rows:
        r["name"] = names.get(E.inspector_pk(r["code"]), "")
        r["labels"] = [E.REASONS.get(x, x) for x in r["reasons"]]
    return rows, sorted({r["dept"] for r in rows})


def my_teams(user: User) -> list[dict]:
    """我的检查组: the user's seats in the teams of dispatched tasks (current members only)."""
    inspector = Inspector.objects.filter(user=user).first() if user.is_authenticated else None
    if inspector is None:
        return []
    seats = (
        TeamMember.objects.filter(inspector=inspector, team__run__state=AssignmentRun.State.DONE)
        # Teams reach their inspectors with 派发 (a run before it may still be redone).
        .exclude(team__run__draw__task__state__in=services.BEFORE_DISPATCH)
        .select_related("team__run__draw__task__lead_department", "department", "team__leader")
        .prefetch_related(
            "team__targets",
            Prefetch(
                "team__members",
                queryset=TeamMember.objects.select_related("inspector", "department"),
            ),
        )
        .order_by("-team__run__performed_at", "team__code")
    )
    result = []
    for seat in seats:
        team = seat.team
        result.append(
            {
                "task": team.run.draw.task,
                "run": team.run,
                "team": team,
                "leader": team.leader_id == inspector.pk,
                "targets": list(team.targets.all()),
                "members": [
                    {
                        "name": m.inspector.name,
                        "department": m.department.name,
                        "leader": m.inspector_id == team.leader_id,
                    }
                    for m in sorted(
                        team.members.all(), key=lambda m: (m.department.code, m.position)
                    )
                ],
            }
        )
    return result


def conflicts_for(user: User):
    qs = DeclaredConflict.objects.select_related("inspector__department", "target", "declared_by")
    if user.is_superuser or user.role == User.Role.AUDITOR:
        return qs.filter(inspector__department__in=permissions.visible_departments(user))
    if user.department_id and user.role in (User.Role.DEPT_ADMIN, User.Role.DEPT_HEAD):
        return qs.filter(inspector__department_id=user.department_id)
    raise Http404("只有部门管理员、负责人和监督审计人员可以查看回避登记。")


def run_history(run: AssignmentRun):
    """The audit entries of the run and of its replacement requests, newest first."""
    from django.db.models import Q

    from shuangsuiji.core.models import AuditEntry

    ids = [str(pk) for pk in run.replacements.values_list("pk", flat=True)]
    return (
        AuditEntry.objects.filter(
            Q(object_type="staffing.assignmentrun", object_id=str(run.pk))
            | Q(object_type="staffing.replacement", object_id__in=ids)
        )
        .select_related("user")
        .order_by("-at", "-pk")[:200]
    )


def shortfall_summary(run: AssignmentRun) -> list[dict]:
    """Per department: how many teams are short and by how many inspectors in all."""
    from django.db.models import Count, Sum

    from .models import Shortfall

    return list(
        Shortfall.objects.filter(team__run=run)
        .values("department__code", "department__name")
        .annotate(teams=Count("pk"), missing=Sum("missing"))
        .order_by("department__code")
    )
