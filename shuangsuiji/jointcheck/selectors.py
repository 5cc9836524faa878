"""Reads of joint tasks: who sees which task, the filtered list, one task with its participants,
the actions the viewing user may take, and the office's list of overdue responses.

Visibility (services.can_view_task): the office and auditors see every task of their jurisdiction;
department administrators and heads the tasks their department leads, and those it takes part
in once initiated (a draft is the lead's own); inspectors
(until the staffing app forms teams) none; nobody sees another jurisdiction's tasks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from shuangsuiji.catalog.models import Item
from shuangsuiji.core import permissions
from shuangsuiji.core.models import Department, User

from . import services
from .models import JointTask, TaskDepartment

State = JointTask.State
# The lead department first, then the partners in the roster's order.
LEAD_FIRST = ("role", "department__sort_order", "department__code")


def visible_tasks(user: User) -> QuerySet:
    qs = JointTask.objects.select_related("lead_department", "jurisdiction")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    if permissions.sees_all_departments(user):
        return qs.filter(jurisdiction__in=permissions.user_jurisdictions(user))
    if user.role in (User.Role.DEPT_ADMIN, User.Role.DEPT_HEAD) and user.department_id:
        return qs.filter(
            Q(lead_department_id=user.department_id)
            | (
                ~Q(state=State.DRAFT)
                & Exists(
                    TaskDepartment.objects.filter(
                        task=OuterRef("pk"), department_id=user.department_id
                    )
                )
            )
        )
    return qs.none()


@dataclass
class Filters:
    year: int | None = None
    state: str = ""
    lead: int | None = None
    department: int | None = None
    q: str = ""

    @classmethod
    def from_params(cls, params) -> Filters:
        def number(key, lo=1, hi=10**12):
            value = (params.get(key) or "").strip()
            return int(value) if value.isdigit() and lo <= int(value) <= hi else None

        state = (params.get("state") or "").strip()
        return cls(
            year=number("year", 2000, 2100),
            state=state if state in State.values else "",
            lead=number("lead"),
            department=number("department"),
            q=(params.get("q") or "").strip()[:100],
        )


def task_list(user: User, filters: Filters) -> QuerySet:
    qs = visible_tasks(user)
    if filters.year:
        qs = qs.filter(year=filters.year)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.lead:
        qs = qs.filter(lead_department_id=filters.lead)
    if filters.department:
        qs = qs.filter(
            Exists(
                TaskDepartment.objects.filter(task=OuterRef("pk"), department_id=filters.department)
            )
        )
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(code__icontains=filters.q))
    return qs.prefetch_related(
        Prefetch(
            "participants",
            queryset=TaskDepartment.objects.select_related("department").order_by(*LEAD_FIRST),
        )
    ).order_by("-year", "lead_department__code", "-seq")


def filter_departments(user: User) -> QuerySet:
    return (
        permissions.visible_departments(user)
        if permissions.sees_all_departments(user)
        else Department.objects.filter(
            jurisdiction_id=(
                services.user_jurisdiction(user).pk if services.user_jurisdiction(user) else None
            )
        )
    )


def get_task(pk) -> JointTask | None:
    if not str(pk).isdigit():
        return None
    return (
        JointTask.objects.select_related(
            "lead_department__jurisdiction",
            "jurisdiction",
            "created_by",
            "plan_line",
            "joint_entry",
        )
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=TaskDepartment.objects.select_related("department", "responded_by")
                .order_by(*LEAD_FIRST)
                .prefetch_related(Prefetch("items", queryset=Item.objects.order_by("code"))),
            ),
            Prefetch("items", queryset=Item.objects.select_related("item_list").order_by("code")),
        )
        .filter(pk=pk)
        .first()
    )


def get_visible_task(user: User, pk) -> JointTask | None:
    """The task if ``user`` may see it (else None: the views answer 404)."""
    task = get_task(pk)
    if task is None or not services.can_view_task(user, task):
        return None
    return task


@dataclass
class Actions:
    edit: bool = False
    initiate: bool = False
    coordinate: bool = False
    respond: bool = False
    establish: bool = False
    scheme: bool = False
    drop: bool = False
    cancel: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())


def actions_for(user: User, task: JointTask, participant: TaskDepartment | None) -> Actions:
    """The buttons and forms to show this user now (the services check again on submit)."""
    lead = services.can_lead(user, task)
    office = services.is_task_office(user, task)
    return Actions(
        edit=lead and task.state == State.DRAFT,
        initiate=lead and task.state == State.DRAFT,
        coordinate=office and task.state == State.COORDINATING,
        respond=(
            participant is not None
            and participant.role == TaskDepartment.Role.PARTNER
            and participant.response == TaskDepartment.Response.PENDING
            and task.state == State.AWAITING
            and services.is_dept_manager(user, participant.department)
        ),
        establish=lead
        and task.state == State.AWAITING
        and not any(
            p.role == TaskDepartment.Role.PARTNER and p.response == TaskDepartment.Response.PENDING
            for p in task.participants.all()
        ),
        scheme=lead and task.state in services.SCHEME_STATES,
        drop=(lead or office) and task.state == State.AWAITING,
        cancel=(lead or office) and task.state in JointTask.CANCELLABLE,
    )


def overdue_responses(user: User, today: datetime.date | None = None) -> QuerySet:
    """Partners of tasks awaiting responses whose response date has passed without a response,
    across the tasks the user sees (for the office: its whole jurisdiction), oldest date first."""
    today = today or timezone.localdate()
    return (
        TaskDepartment.objects.filter(
            task__in=visible_tasks(user),
            task__state=State.AWAITING,
            role=TaskDepartment.Role.PARTNER,
            response=TaskDepartment.Response.PENDING,
            response_due__lt=today,
        )
        .select_related("task__lead_department", "department")
        .order_by("response_due", "task__code", "department__code")
    )


def dropped_responses(user: User) -> list[TaskDepartment]:
    """Partners taken off a task for never responding (for the office's 通报), newest first."""
    return list(
        TaskDepartment.objects.filter(task__in=visible_tasks(user), dropped_at__isnull=False)
        .select_related("task__lead_department", "department")
        .order_by("-dropped_at")[:200]
    )


def published_items_by_department(task: JointTask) -> dict[int, list[Item]]:
    """Each active department's current published items (to choose from on the forms)."""
    return {
        p.department_id: sorted(
            services.current_published_items(p.department).values(), key=lambda i: (i.seq, i.code)
        )
        for p in task.participants.all()
    }


def open_joint_entries(user: User) -> list:
    """Entries of the office's joint annual plan that the user's department leads and that have
    no task yet (live ones: cancelled tasks do not count), for the "create from" buttons."""
    from shuangsuiji.planning.models import JointPlanEntry

    if not user.department_id or not services.is_dept_manager(user, user.department):
        return []
    return list(
        JointPlanEntry.objects.filter(lead_department_id=user.department_id)
        .exclude(tasks__in=JointTask.objects.exclude(state=State.CANCELLED))
        .order_by("-year", "id")[:20]
    )
