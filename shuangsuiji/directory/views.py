"""两库 pages: thin views that parse the request, call a selector or one service, and render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shuangsuiji.core import permissions

from . import forms, selectors, services
from .industry import SECTIONS
from .models import DirectoryEntry, Inspector, Target, unpack


def _querystring(request, *, drop=("page",)) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


def _page(request, queryset, total: int | None):
    paginator = Paginator(queryset, selectors.PAGE_SIZE)
    if total is not None:
        paginator.count = total  # already known from the counts query: no extra COUNT(*)
    return paginator.get_page(request.GET.get("page"))


def _own_department_or_refuse(user):
    department = user.department if user.department_id else None
    permissions.require_edit(user, department)
    return department


# --------------------------------------------------------------------------------------------
# Targets


@login_required
def target_list(request):
    user = request.user
    department = selectors.target_department(user=user, params=request.GET)
    targets = selectors.target_entries(user=user, params=request.GET, department=department)
    counts = selectors.target_counts(user=user, params=request.GET, department=department)
    regions = selectors.region_choices(user)
    region_names = {r.pk: r.name for r in regions}
    by_region = sorted(
        (
            (region_names.get(pk, "未填区域" if pk is None else "其他"), n)
            for pk, n in counts["by_region_id"].items()
        ),
        key=lambda item: -item[1],
    )
    page = _page(request, targets, counts["total"])
    for target in page:
        target.tag_list = unpack(getattr(target, "entry_tags", "") or "")
    return render(
        request,
        "directory/target_list.html",
        {
            "page": page,
            "counts": counts,
            "by_region": by_region,
            "department": department,
            "departments": list(permissions.visible_departments(user))
            if permissions.sees_all_departments(user)
            else [],
            "regions": regions,
            "sections": SECTIONS.items(),
            "risk_choices": Target.RiskClass.choices,
            "kind_choices": Target.ObjectKind.choices,
            "status_choices": Target.RegStatus.choices,
            "params": request.GET,
            "selected_risks": request.GET.getlist("risk"),
            "can_edit": department is not None
            and permissions.can_edit_department(user, department),
            "querystring": _querystring(request),
        },
    )


def _target_detail(request, target: Target, *, tags_form=None, remove_form=None, status=200):
    user = request.user
    entries = selectors.target_entries_for(user=user, target=target)
    own = next((e for e in entries if e.department_id == user.department_id), None)
    can_edit_own = own is not None and permissions.can_edit_department(user, own.department)
    if can_edit_own and own.active:
        version = forms.version_value(own)
        tags_form = tags_form or forms.TagsForm(
            initial={"tags": "、".join(own.tag_list), "version": version}
        )
        remove_form = remove_form or forms.RemoveForm(initial={"version": version})
    fields = [
        (Target._meta.get_field(name).verbose_name, value)
        for name, value in (
            ("code", target.code),
            ("code_kind", target.get_code_kind_display()),
            ("name", target.name),
            ("object_kind", target.get_object_kind_display()),
            ("entity_type", target.entity_type),
            ("registration_authority", target.registration_authority),
            ("legal_rep", target.legal_rep),
            ("address", target.address),
            ("reg_status", target.get_reg_status_display()),
            ("established", target.established),
            ("business_scope", target.business_scope),
            ("region", target.region.name if target.region else ""),
            ("industry", _industry_label(target.industry)),
            ("risk_class", target.get_risk_class_display()),
            ("abnormal", "是" if target.abnormal else "否"),
            ("serious_illegal", "是" if target.serious_illegal else "否"),
            ("complaints", target.complaints),
        )
    ]
    return render(
        request,
        "directory/target_detail.html",
        {
            "target": target,
            "fields": fields,
            "entries": entries,
            "own_entry": own,
            "can_edit_own": can_edit_own,
            "can_edit_target": can_edit_own and own.active or user.is_superuser,
            "tags_form": tags_form,
            "remove_form": remove_form,
            "history": selectors.target_history(user=user, target=target, entries=entries),
        },
        status=status,
    )


def _industry_label(code: str) -> str:
    if not code:
        return ""
    return f"{code}（{SECTIONS.get(code[0], '')}）"


@login_required
def target_detail(request, pk: int):
    return _target_detail(request, selectors.visible_target(user=request.user, pk=pk))


@login_required
def target_add(request):
    """入库 by code: a code already in the master directory is linked at once; a new one asks for
    the registration facts first (second step, same URL)."""
    department = _own_department_or_refuse(request.user)
    regions = selectors.region_choices(request.user)
    form = forms.TargetCodeForm()
    if request.method == "POST":
        creating = request.POST.get("step") == "create"
        form = (
            forms.TargetCreateForm(request.POST, regions=regions)
            if creating
            else forms.TargetCodeForm(request.POST)
        )
        if form.is_valid():
            data = form.target_data() if creating else None
            try:
                target, _entry, outcome = services.add_target(
                    user=request.user,
                    department=department,
                    code=form.cleaned_data["code"],
                    tags=form.cleaned_data.get("tags", ""),
                    data=data,
                )
            except services.TargetNotInMaster:
                kind = services.guess_object_kind(form.code_kind, form.cleaned_data["code"])
                form = forms.TargetCreateForm(
                    initial={
                        **form.cleaned_data,
                        "object_kind": kind,
                        "risk_class": "U",
                        "complaints": 0,
                    },
                    regions=regions,
                )
                creating = True
            except services.DirectoryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    {
                        "created": "已新增到总库并加入本部门名录库。",
                        "linked": "总库中已有该检查对象，已加入本部门名录库。",
                        "readded": "该检查对象已重新入库。",
                        "already": "该检查对象已在本部门名录库中。",
                    }[outcome],
                )
                return redirect("directory:target_detail", pk=target.pk)
        return render(
            request,
            "directory/target_add.html",
            {"form": form, "creating": creating, "department": department},
        )
    return render(
        request,
        "directory/target_add.html",
        {"form": form, "creating": False, "department": department},
    )


@login_required
def target_edit(request, pk: int):
    target = selectors.visible_target(user=request.user, pk=pk)
    permissions.require(
        services.can_edit_target(request.user, target), "只能修改本部门名录库中的检查对象。"
    )
    regions = selectors.region_choices(request.user)
    if request.method == "POST":
        form = forms.TargetEditForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                services.update_target(
                    user=request.user,
                    target=target,
                    data=form.target_data(),
                    expected_updated_at=form.cleaned_data["version"],
                )
            except services.DirectoryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "检查对象信息已保存。")
                return redirect("directory:target_detail", pk=target.pk)
    else:
        form = forms.TargetEditForm.for_target(target, regions=regions)
    return render(request, "directory/target_edit.html", {"form": form, "target": target})


def _own_entry(request, pk: int) -> tuple[Target, DirectoryEntry]:
    target = selectors.visible_target(user=request.user, pk=pk)
    entry = DirectoryEntry.objects.filter(
        target=target, department_id=request.user.department_id
    ).first()
    permissions.require(
        entry is not None and permissions.can_edit_department(request.user, entry.department),
        "只能修改本部门名录库。",
    )
    return target, entry


def _entry_form_action(request, pk, *, form_class, field, form_name, save, done):
    """POST a one-field form about the user's own entry of a target (tags, 出库): on success
    redirect with ``done``; on a form or service error show the detail page with the form."""
    target, entry = _own_entry(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            save(
                user=request.user,
                entry=entry,
                expected_updated_at=form.cleaned_data["version"],
                **{field: form.cleaned_data[field]},
            )
        except services.DirectoryError as exc:
            form.add_error(field if exc.field == field else None, exc.message)
        else:
            messages.success(request, done)
            return redirect("directory:target_detail", pk=target.pk)
    return _target_detail(request, target, status=400, **{form_name: form})


@login_required
@require_POST
def target_tags(request, pk: int):
    return _entry_form_action(
        request,
        pk,
        form_class=forms.TagsForm,
        field="tags",
        form_name="tags_form",
        save=services.set_entry_tags,
        done="标签已保存。",
    )


@login_required
@require_POST
def target_remove(request, pk: int):
    return _entry_form_action(
        request,
        pk,
        form_class=forms.RemoveForm,
        field="reason",
        form_name="remove_form",
        save=services.remove_from_directory,
        done="已出库。记录仍保留，可随时重新入库。",
    )


@login_required
@require_POST
def target_readd(request, pk: int):
    target, entry = _own_entry(request, pk)
    services.readd_to_directory(user=request.user, entry=entry)
    messages.success(request, "已重新入库。")
    return redirect("directory:target_detail", pk=target.pk)


# --------------------------------------------------------------------------------------------
# Inspectors


def _inspector_regions(request, inspector: Inspector | None = None):
    regions = selectors.jurisdictions_under(request.user)
    if inspector is not None:
        # Keep codes that are no longer offered (old 行政区划 codes) so that saving loses nothing.
        known = {r.code for r in regions}
        from shuangsuiji.core.models import Jurisdiction

        for code in unpack(inspector.regions):
            if code not in known:
                regions.append(Jurisdiction(code=code, name="（原代码）"))
    return regions


@login_required
def inspector_list(request):
    user = request.user
    inspectors = selectors.inspector_list(user=user, params=request.GET)
    counts = selectors.inspector_counts(inspectors)
    page = _page(request, inspectors, counts["total"])
    selectors.present_inspectors(user, page.object_list)
    regions = selectors.jurisdictions_under(user)
    region_names = {r.code: r.name for r in regions}
    for inspector in page.object_list:
        inspector.region_names = [region_names.get(c, c) for c in unpack(inspector.regions)]
        inspector.speciality_list = unpack(inspector.specialities)
    kind_tabs = [("", "全部")] + list(Inspector.Kind.choices)
    own = user.department if user.department_id else None
    return render(
        request,
        "directory/inspector_list.html",
        {
            "page": page,
            "counts": counts,
            "regions": regions,
            "departments": list(permissions.visible_departments(user))
            if permissions.sees_all_departments(user)
            else [],
            "params": request.GET,
            "kind": request.GET.get("kind", ""),
            "kind_tabs": [
                (value, label, _querystring(request, drop=("page", "kind")))
                for value, label in kind_tabs
            ],
            "can_edit": own is not None and permissions.can_edit_department(user, own),
            "own_department": own,
            "querystring": _querystring(request),
        },
    )


@login_required
def inspector_detail(request, pk: int):
    user = request.user
    inspector = selectors.visible_inspector(user=user, pk=pk)
    selectors.present_inspectors(user, [inspector])
    can_edit = permissions.can_edit_department(user, inspector.department)
    region_names = {r.code: r.name for r in selectors.jurisdictions_under(user)}
    return render(
        request,
        "directory/inspector_detail.html",
        {
            "inspector": inspector,
            "regions": [region_names.get(c, c) for c in unpack(inspector.regions)],
            "specialities": unpack(inspector.specialities),
            "tags": unpack(inspector.tags),
            "can_edit": can_edit,
            "deactivate_form": forms.DeactivateForm(
                initial={"version": forms.version_value(inspector)}
            )
            if can_edit and inspector.active
            else None,
            "history": selectors.inspector_history(user=user, inspector=inspector),
        },
    )


@login_required
def inspector_add(request):
    department = _own_department_or_refuse(request.user)
    regions = _inspector_regions(request)
    if request.method == "POST":
        form = forms.InspectorForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                inspector = services.create_inspector(
                    user=request.user, department=department, data=form.inspector_data()
                )
            except services.DirectoryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "已加入执法人员名录库。")
                return redirect("directory:inspector_detail", pk=inspector.pk)
    else:
        initial = {
            "kind": request.GET.get("kind") or Inspector.Kind.INSPECTOR,
            "unit": department.name,
        }
        form = forms.InspectorForm(initial=initial, regions=regions)
    return render(
        request,
        "directory/inspector_form.html",
        {"form": form, "department": department, "inspector": None},
    )


@login_required
def inspector_edit(request, pk: int):
    inspector = selectors.visible_inspector(user=request.user, pk=pk)
    permissions.require(
        permissions.can_edit_department(request.user, inspector.department),
        "只能修改本部门的执法人员名录库。",
    )
    regions = _inspector_regions(request, inspector)
    if request.method == "POST":
        form = forms.InspectorEditForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                services.update_inspector(
                    user=request.user,
                    inspector=inspector,
                    data=form.inspector_data(),
                    expected_updated_at=form.cleaned_data["version"],
                )
            except services.DirectoryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "人员信息已保存。")
                return redirect("directory:inspector_detail", pk=inspector.pk)
    else:
        form = forms.InspectorEditForm.for_inspector(inspector, regions=regions)
    return render(
        request,
        "directory/inspector_form.html",
        {"form": form, "department": inspector.department, "inspector": inspector},
    )


@login_required
@require_POST
def inspector_deactivate(request, pk: int):
    inspector = selectors.visible_inspector(user=request.user, pk=pk)
    form = forms.DeactivateForm(request.POST)
    if form.is_valid():
        try:
            services.deactivate_inspector(
                user=request.user,
                inspector=inspector,
                reason=form.cleaned_data["reason"],
                expected_updated_at=form.cleaned_data["version"],
            )
        except services.DirectoryError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "该人员已停用，不再参与抽取。")
    else:
        permissions.require(
            permissions.can_edit_department(request.user, inspector.department),
            "只能修改本部门的执法人员名录库。",
        )
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
    return redirect("directory:inspector_detail", pk=inspector.pk)


@login_required
@require_POST
def inspector_activate(request, pk: int):
    inspector = selectors.visible_inspector(user=request.user, pk=pk)
    services.reactivate_inspector(user=request.user, inspector=inspector)
    messages.success(request, "该人员已重新启用。")
    return redirect(reverse("directory:inspector_detail", kwargs={"pk": inspector.pk}))
