"""Import and export pages: upload → background preview → apply, and the downloads.

Views stay thin: they resolve the department and the user's rights, then call the engine in
:mod:`shuangsuiji.transfer.services`. Who may do what:

- see a batch: the administrators/heads of its department, and the office and auditors (read-only);
  anyone else is refused (403; 404 for a batch of another jurisdiction);
- upload and apply: :func:`permissions.can_edit_department` of the target department only (the
  office does not write a department's private data);
- export: whoever may view the department's directories (personal data masked by the engine).
"""

import io
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from shuangsuiji.core import permissions
from shuangsuiji.core.models import Department, Job

from . import services
from .forms import ApplyForm, ImportForm, UploadLimit, max_upload_bytes
from .models import ImportBatch

Kind = ImportBatch.Kind
Status = ImportBatch.Status

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"

# Where the imported rows can be seen afterwards.
LIST_URLS = {
    Kind.TARGETS: "directory:targets",
    Kind.INSPECTORS: "directory:inspectors",
    Kind.ITEMS: "catalog:lists",
}
# Columns whose values are personal data (shown masked to whoever may not see them).
PERSONAL_COLUMNS = {"身份证号": permissions.mask_id_number, "手机号码": permissions.mask_phone}
ERRORS_ON_PAGE = 50


# --- permissions -------------------------------------------------------------------------------


def _may_see_batches(user, department: Department) -> bool:
    return permissions.sees_all_departments(user) or permissions.can_edit_department(
        user, department
    )


def _editable_departments(user):
    """The departments the user may import into (normally just their own)."""
    visible = permissions.visible_departments(user)
    return visible.filter(
        pk__in=[d.pk for d in visible if permissions.can_edit_department(user, d)]
    )


def _department_from_code(user, code: str) -> Department:
    qs = Department.objects.filter(code=code.strip().upper())
    if user.jurisdiction_id:
        qs = qs.filter(jurisdiction_id=user.jurisdiction_id)
    department = qs.first()
    if department is None:
        raise Http404("没有这个部门。")
    return department


def _get_batch(user, pk: int) -> ImportBatch:
    """The batch if the user may see it: 404 outside the user's jurisdiction; within it, 403
    (the Chinese refusal page) for another department's batch or an inspector."""
    batch = get_object_or_404(
        ImportBatch.objects.select_related("department", "job", "user"), pk=pk
    )
    if (
        not user.is_superuser
        and user.jurisdiction_id
        and batch.department.jurisdiction_id != user.jurisdiction_id
    ):
        raise Http404("没有这个导入批次。")
    if not _may_see_batches(user, batch.department):
        if user.department_id != batch.department_id:
            raise PermissionDenied("这是其他部门的导入批次，只能查看本部门的导入批次。")
        raise PermissionDenied("只有本部门管理员、负责人和联席会议办公室可以查看导入批次。")
    return batch


def _kind(kind: str) -> Kind:
    if kind not in Kind.values:
        raise Http404("没有这种导入类型。")
    return Kind(kind)


# --- pages -------------------------------------------------------------------------------------


@login_required
def import_index(request):
    user = request.user
    visible = list(permissions.visible_departments(user))
    departments = [d for d in visible if _may_see_batches(user, d)]
    batches = ImportBatch.objects.filter(department__in=departments).select_related(
        "department", "job", "user"
    )
    page = Paginator(batches, 30).get_page(request.GET.get("page"))
    editable = [d for d in visible if permissions.can_edit_department(user, d)]
    own = next((d for d in visible if d.pk == user.department_id), None)
    return render(
        request,
        "transfer/index.html",
        {
            "page": page,
            "kinds": Kind.choices,
            "import_department": editable[0] if editable else None,
            "export_departments": visible,
            "export_department": own,
        },
    )


@csrf_exempt  # checked by csrf_protect below, once the upload limit is in place
@login_required
def import_upload(request, kind: str):
    # The limit must be installed before anything reads the body (the CSRF check does).
    limit = UploadLimit(request)
    request.upload_handlers.insert(0, limit)
    return _import_upload(request, kind, limit)


@csrf_protect
def _import_upload(request, kind: str, limit: UploadLimit):
    user = request.user
    kind = _kind(kind)
    editable = _editable_departments(user)
    if code := request.GET.get("department", "").strip():
        department = _department_from_code(user, code)
        permissions.require(
            permissions.can_edit_department(user, department),
            f"只能导入到本部门的名录库或清单，您不能向“{department.name}”导入数据。",
        )
    else:
        department = editable.first()
        permissions.require(
            department is not None, "只有部门管理员或部门负责人可以导入本部门的数据。"
        )

    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, departments=editable)
        if limit.exceeded:
            form.refuse_too_large()
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.start_import(
                    user=user,
                    department=form.cleaned_data["department"],
                    kind=kind.value,
                    filename=upload.name,
                    fileobj_or_path=upload,
                )
            except services.TransferError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("transfer:batch", pk=batch.pk)
    else:
        form = ImportForm(departments=editable, initial={"department": department})
    return render(
        request,
        "transfer/upload.html",
        {"form": form, "kind": kind, "department": department, "max_bytes": max_upload_bytes()},
    )


def _batch_context(user, batch: ImportBatch, apply_form: ApplyForm | None = None) -> dict:
    errors = list(batch.sample_errors or [])[:ERRORS_ON_PAGE]
    if not permissions.can_see_personal_data(user, batch.department):
        errors = [_mask_error(e) for e in errors]
    may_apply = permissions.can_edit_department(user, batch.department)
    may_download_report = batch.kind != Kind.INSPECTORS or permissions.can_see_personal_data(
        user, batch.department
    )
    return {
        "batch": batch,
        "job": batch.job,
        "in_progress": _in_progress(batch),
        "errors": errors,
        "more_errors": max(0, batch.error_count - len(errors)),
        "may_apply": may_apply and batch.status == Status.PREVIEWED,
        "may_download_report": may_download_report and bool(batch.report_path),
        "apply_form": apply_form or ApplyForm(invalid=batch.invalid),
        "list_url": reverse(LIST_URLS[batch.kind]),
    }


def _mask_error(error: dict) -> dict:
    mask = PERSONAL_COLUMNS.get(str(error.get("column", "")))
    if mask and error.get("value"):
        return {**error, "value": mask(str(error["value"]))}
    return error


def _in_progress(batch: ImportBatch) -> bool:
    """Work is queued or running: the batch's latest job (preview or apply) has not finished.
    (After "导入" the batch stays ``previewed`` until the worker takes the apply job.)"""
    return batch.job is not None and not batch.job.finished


@login_required
def batch_detail(request, pk: int):
    batch = _get_batch(request.user, pk)
    return render(request, "transfer/batch.html", _batch_context(request.user, batch))


@login_required
def batch_progress(request, pk: int):
    """The polled progress bar; once the work is done, htmx reloads the whole batch page."""
    batch = _get_batch(request.user, pk)
    if not request.headers.get("HX-Request"):
        return redirect("transfer:batch", pk=pk)
    if not _in_progress(batch):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "transfer/_progress.html", {"batch": batch, "job": batch.job})


@login_required
@require_POST
def batch_apply(request, pk: int):
    user = request.user
    batch = _get_batch(user, pk)
    permissions.require_edit(user, batch.department)
    with transaction.atomic():
        # Locked so that two clicks (or two users) cannot both start an apply.
        batch = (
            ImportBatch.objects.select_for_update(of=("self",))
            .select_related("job")
            .get(pk=batch.pk)
        )
        if batch.status != Status.PREVIEWED or _in_progress(batch):
            messages.error(
                request, f"该批次当前状态为“{batch.get_status_display()}”，不能再次导入。"
            )
            return redirect("transfer:batch", pk=pk)
        form = ApplyForm(request.POST, invalid=batch.invalid)
        if form.is_valid():
            try:
                services.enqueue_apply(batch, form.valid_only, user=user)
            except services.TransferError as exc:
                form.add_error(None, exc.message)
    if not form.is_valid():
        batch = _get_batch(user, pk)
        return render(request, "transfer/batch.html", _batch_context(user, batch, form), status=400)
    return redirect("transfer:batch", pk=pk)


# --- downloads ---------------------------------------------------------------------------------


@login_required
def batch_errors(request, pk: int):
    batch = _get_batch(request.user, pk)
    if batch.kind == Kind.INSPECTORS:
        permissions.require(
            permissions.can_see_personal_data(request.user, batch.department),
            "错误报告含有执法人员的个人信息，只有本部门管理员可以下载。",
        )
    path = batch.report_file
    if path is None or not path.exists():
        raise Http404("该批次没有错误报告。")
    stem = batch.filename.rsplit(".", 1)[0]
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"错误报告_{stem}_{batch.pk}.xlsx",
        content_type=XLSX,
    )


@login_required
def template_download(request, kind: str):
    kind = _kind(kind)
    return FileResponse(
        io.BytesIO(services.write_template(kind.value)),
        as_attachment=True,
        filename=services.template_filename(kind.value),
        content_type=XLSX,
    )


@login_required
def export_download(request, kind: str):
    user = request.user
    kind = _kind(kind)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return HttpResponseBadRequest("导出格式只能是 xlsx 或 csv。".encode())
    code = request.GET.get("department", "").strip()
    if not code and not user.department_id:
        messages.error(request, "请选择要导出的部门。")
        return redirect("transfer:imports")
    department = _department_from_code(user, code) if code else user.department
    permissions.require(
        permissions.can_view_department(user, department),
        f"只能导出本部门的数据，您不能导出“{department.name}”的数据。",
    )
    # The list pages' own filter parameters (repeatable ones kept as lists), minus ours.
    params = {
        k: v if len(v) > 1 else v[0] for k, v in request.GET.lists() if k not in ("format", "page")
    }
    params["department"] = department.code
    if fmt == "xlsx":
        try:
            count = services.export_count(
                user=user, kind=kind.value, department=department, params=params
            )
            if count > services.export_direct_rows():
                job = services.enqueue_export(
                    user=user, kind=kind.value, department=department, params=params, fmt=fmt
                )
                return redirect("core:job", pk=job.pk)
        except services.TransferError as exc:
            return HttpResponseBadRequest(exc.message.encode())
    # Written to a temporary file on disk, then streamed: memory stays flat for large lists.
    out = tempfile.TemporaryFile()  # noqa: SIM115 — closed by FileResponse
    try:
        rows = services.export_rows(
            user=user, kind=kind.value, department=department, params=params
        )
        services.write_export(out, kind.value, rows, fmt)
    except services.TransferError as exc:
        out.close()
        return HttpResponseBadRequest(exc.message.encode())
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=services.export_filename(kind.value, department, fmt),
        content_type=XLSX if fmt == "xlsx" else CSV,
    )


@login_required
def export_file(request, pk: int):
    """The file of a finished export job: only for the user who asked for it (the rows were
    chosen and masked with that user's permissions)."""
    job = Job.objects.filter(pk=pk, kind="export").first()
    if job is None or job.created_by_id != request.user.pk:
        raise Http404("没有这个导出文件，或者它不是您导出的。")
    if job.status != Job.Status.DONE:
        messages.info(request, "导出还没有完成，请稍候。")
        return redirect("core:job", pk=job.pk)
    path = Path(settings.DATA_DIR) / job.result["path"]
    if not path.is_file():
        raise Http404("导出文件已不存在，请重新导出。")
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 — closed by FileResponse
        as_attachment=True,
        filename=job.result["filename"],
        content_type=XLSX if job.result.get("format") == "xlsx" else CSV,
    )
