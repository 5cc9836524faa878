"""Background-job handlers of the import and the large exports (registered when the app is
ready, see apps.py).

Both are safe to re-run from the start: the preview only reads, and the apply is one
transaction that checks, under a row lock, that the batch was not applied already."""

from django.urls import reverse

from shuangsuiji.core import jobs
from shuangsuiji.core.models import User

from . import services
from .models import ImportBatch


def _result(batch: ImportBatch) -> dict:
    return {"batch": batch.pk, "status": batch.status, "message": batch.message, **batch.counts}


@jobs.handler("import.preview")
def run_preview(job, report) -> dict:
    batch = ImportBatch.objects.select_related("department", "user").get(pk=job.params["batch"])
    return _result(services.preview_batch(batch, report=report))


@jobs.handler("import.apply")
def run_apply(job, report) -> dict:
    batch = ImportBatch.objects.select_related("department", "user").get(pk=job.params["batch"])
    user_id = job.params.get("user")
    user = User.objects.get(pk=user_id) if user_id else (batch.user or services.system_user())
    batch = services.apply_batch(
        batch, user=user, valid_only=bool(job.params.get("valid_only")), report=report
    )
    return _result(batch)


@jobs.handler("export")
def run_export(job, report) -> dict:
    """An export too large for one request; the job page links the file when done."""
    result = services.run_export(job, report)
    return {**result, "redirect": reverse("transfer:export_file", args=[job.pk])}
