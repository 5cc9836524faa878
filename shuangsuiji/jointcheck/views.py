"""Joint-task pages: thin views that parse the request, call one service or selector, and render.

Tasks a user may not see answer 404; actions a user may not take answer 403 (PermissionDenied from
the services); refused actions (wrong state, bad input) come back as a Chinese message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import Department

from . import selectors, services
from .forms import SchemeForm, TaskForm, put_errors
from .models import JointTask

PAGE_SIZE = 50


def _task(request, pk: int) -> JointTask:
    task = selectors.get_visible_task(request.user, pk)
    if task is None:
        raise Http404("没有找到该任务，或您无权查看。")
    return task


def _detail(task: JointTask):
    return redirect("jointcheck:detail", pk=task.pk)


@login_required
def task_list(request):
    filters = selectors.Filters.from_params(request.GET)
    page = Paginator(selectors.task_list(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    own = request.user.department if request.user.department_id else None
    today = timezone.localdate()
    for task in page.object_list:
        task.overdue_count = sum(1 for p in task.participants.all() if p.overdue(today))
    return render(
        request,
        "jointcheck/list.html",
        {
            "page": page,
            "tasks": page.object_list,
            "filters": filters,
            "states": JointTask.State.choices,
            "departments": selectors.filter_departments(request.user),
            "can_create": own is not None and services.is_dept_manager(request.user, own),
            "sees_overdue": permissions.sees_all_departments(request.user),
            "joint_entries": selectors.open_joint_entries(request.user),
            "querystring_without_page": params.urlencode() + "&" if params else "",
        },
    )


@login_required
def overdue(request):
    permissions.require(
        permissions.sees_all_departments(request.user),
        "只有联席会议办公室和监督审计人员可以查看全辖区的逾期未响应情况。",
    )
    page = Paginator(selectors.overdue_responses(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "jointcheck/overdue.html",
        {
            "page": page,
            "rows": page.object_list,
            "dropped": selectors.dropped_responses(request.user),
            "today": timezone.localdate(),
        },
    )


def _form_choices(lead: Department):
    departments = list(
        Department.objects.filter(jurisdiction_id=lead.jurisdiction_id, active=True).exclude(
            pk=lead.pk
        )
    )
    items = []
    for dept in [lead, *departments]:
        for item in sorted(
            services.current_published_items(dept).values(), key=lambda i: (i.seq, i.code)
        ):
            items.append((dept.short_name or dept.name, item))
    return departments, items


def _task_form(request, *, lead: Department, task: JointTask | None):
    departments, items = _form_choices(lead)
    kwargs = {
        "departments": departments,
        "items": items,
        "fixed_year": task.year if task else None,
    }
    if request.method == "POST":
        form = TaskForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.service_data()
            try:
                if task is None:
                    task = services.create_task(user=request.user, data=data, department=lead)
                    messages.success(request, f"已创建任务草稿 {task.code}。")
                else:
                    services.update_task(user=request.user, task=task, data=data)
                    messages.success(request, "已保存任务草稿。")
            except services.TaskInvalid as exc:
                put_errors(form, exc.errors)
            except services.TaskError as exc:
                form.add_error(None, str(exc))
            else:
                return _detail(task)
        status = 400
    else:
        if task is not None:
            initial = TaskForm.initial_for(task)
        else:
            initial = {"year": timezone.localdate().year, "strata_by": "risk"}
        form = TaskForm(initial=initial, **kwargs)
        status = 200
    return render(
        request,
        "jointcheck/form.html",
        {"form": form, "task": task, "lead": lead, "no_items": not items},
        status=status,
    )


@login_required
def task_create(request):
    lead = request.user.department if request.user.department_id else None
    permissions.require(
        lead is not None and services.is_dept_manager(request.user, lead),
        "只有部门管理员或负责人可以为本部门创建抽查任务。",
    )
    return _task_form(request, lead=lead, task=None)


@login_required
def task_edit(request, pk: int):
    task = _task(request, pk)
    permissions.require(
        services.can_lead(request.user, task), "只有牵头部门的管理员或负责人可以修改任务。"
    )
    if task.state != JointTask.State.DRAFT:
        messages.error(request, f"任务{task.get_state_display()}，只有草稿可以修改。")
        return _detail(task)
    return _task_form(request, lead=task.lead_department, task=task)


@login_required
@require_POST
def from_plan_line(request, pk: int):
    try:
        task = services.create_from_plan_line(user=request.user, line=pk)
    except services.TaskError as exc:
        messages.error(request, str(exc))
        return redirect("planning:index")
    messages.success(request, f"已由计划条目创建任务草稿 {task.code}，请核对后发起。")
    return _detail(task)


@login_required
@require_POST
def from_joint_entry(request, pk: int):
    try:
        task = services.create_from_joint_entry(user=request.user, entry=pk)
    except services.TaskError as exc:
        messages.error(request, str(exc))
        return redirect("jointcheck:list")
    messages.success(request, f"已由联合抽查计划创建任务草稿 {task.code}，请核对后发起。")
    return _detail(task)


@login_required
def task_detail(request, pk: int):
    task = _task(request, pk)
    participant = services.participant_of(request.user, task)
    today = timezone.localdate()
    participants = list(task.participants.all())
    for p in participants:
        p.is_overdue = p.overdue(today)
    actions = selectors.actions_for(request.user, task, participant)
    context = {
        "task": task,
        "participant": participant,
        "participants": participants,
        "overdue_count": sum(1 for p in participants if p.is_overdue),
        "pending_count": sum(
            1 for p in participants if p.role == "partner" and p.response == "pending"
        ),
        "actions": actions,
        "scope_text": _scope_text(task),
        "history": audit.history(task)[:100],
        "today": today,
    }
    if actions.respond:
        context["own_items"] = sorted(
            services.current_published_items(participant.department).values(),
            key=lambda i: (i.seq, i.code),
        )
        context["own_chosen"] = {i.pk for i in participant.items.all()}
    if actions.coordinate:
        departments, items = _form_choices(task.lead_department)
        context["coord_departments"] = departments
        context["coord_items"] = items
        context["coord_chosen_departments"] = {
            p.department_id for p in participants if p.role == "partner"
        }
        context["coord_chosen_items"] = {i.pk for i in task.items.all()}
    return render(request, "jointcheck/detail.html", context)


def _scope_text(task: JointTask) -> str:
    from shuangsuiji.planning.selectors import scope_text

    return scope_text(task.scope, task.scope_label)


def _act(request, pk: int, action):
    task = _task(request, pk)
    try:
        done = action(task)
    except services.TaskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _detail(task)


@login_required
@require_POST
def task_initiate(request, pk: int):
    def act(task):
        task = services.initiate(user=request.user, task=task)
        if task.state == JointTask.State.COORDINATING:
            return "已发起。配合部门有4个及以上，已提交联席会议办公室协调。"
        if task.is_internal:
            return "已发起。部门内部任务无需其他部门响应，可以确立方案。"
        return "已发起，已推送配合部门，请其在2个工作日内响应。"

    return _act(request, pk, act)


@login_required
@require_POST
def task_coordinate(request, pk: int):
    def act(task):
        services.coordinate(
            user=request.user,
            task=task,
            departments=request.POST.getlist("departments"),
            items=request.POST.getlist("items"),
            note=request.POST.get("note", ""),
        )
        return "已保存协调结果。"

    return _act(request, pk, act)


@login_required
@require_POST
def task_release(request, pk: int):
    def act(task):
        services.release(user=request.user, task=task, note=request.POST.get("note", ""))
        return "协调完毕，已推送配合部门响应。"

    return _act(request, pk, act)


@login_required
@require_POST
def task_respond(request, pk: int):
    def act(task):
        accept = request.POST.get("decision") == "accept"
        p = services.respond(
            user=request.user,
            task=task,
            accept=accept,
            items=request.POST.getlist("items"),
            inspectors_per_team=request.POST.get("inspectors_per_team"),
            reason=request.POST.get("reason", ""),
        )
        text = "已确认参加。" if accept else "已回复不参加。"
        return text + ("（已超过响应截止日期，记为逾期响应）" if p.late else "")

    return _act(request, pk, act)


@login_required
def task_establish(request, pk: int):
    """The 方案 page: save it while the partners respond, or 确立 once they all have."""
    task = _task(request, pk)
    permissions.require(
        services.can_lead(request.user, task),
        "只有牵头部门的管理员或负责人可以编制和确立任务方案。",
    )
    active = [p for p in task.participants.all() if p.active]
    actions = selectors.actions_for(request.user, task, None)
    if request.method == "POST":
        form = SchemeForm(request.POST, active=active)
        establish = request.POST.get("establish") == "1"
        if form.is_valid():
            try:
                if establish:
                    services.establish(user=request.user, task=task, data=form.service_data())
                else:
                    services.save_scheme(user=request.user, task=task, data=form.service_data())
            except services.TaskInvalid as exc:
                put_errors(form, exc.errors)
            except services.TaskError as exc:
                form.add_error(None, str(exc))
            else:
                done = (
                    "方案已确立，可以抽取检查对象。"
                    if establish
                    else "已保存实施方案（尚未确立）。"
                )
                messages.success(request, done)
                return _detail(task)
        status = 400
    else:
        if not actions.scheme:
            messages.error(
                request, f"任务当前状态为「{task.get_state_display()}」，不能修改实施方案。"
            )
            return _detail(task)
        form = SchemeForm(initial=SchemeForm.initial_for(task), active=active)
        status = 200
    return render(
        request,
        "jointcheck/establish.html",
        {"task": task, "form": form, "actions": actions},
        status=status,
    )


@login_required
@require_POST
def task_drop(request, pk: int):
    def act(task):
        raw = request.POST.get("department", "")
        p = services.drop_overdue(
            user=request.user,
            task=task,
            department=int(raw) if raw.isdigit() else 0,
            reason=request.POST.get("reason", ""),
        )
        return f"已将逾期未响应的{p.department.name}移出任务。"

    return _act(request, pk, act)


@login_required
@require_POST
def task_cancel(request, pk: int):
    def act(task):
        services.cancel(user=request.user, task=task, reason=request.POST.get("reason", ""))
        return "任务已取消。"

    return _act(request, pk, act)
