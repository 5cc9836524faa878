"""Background jobs: a small database-backed queue with progress, that survives restarts.

Why not the ``django-tasks`` database backend: imports need a progress bar and must resume after a
crash, and its backend stores neither progress nor a heartbeat. The row in :class:`Job` is the whole
state, so any worker process (``shuangsuiji worker``, or the one ``serve`` starts) can take it up.

Handlers are registered by kind with :func:`handler`; each receives the job and a ``report``
callable, and must be safe to re-run from the start (imports are: they are one transaction).
"""

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from .models import Job

log = logging.getLogger("shuangsuiji.jobs")

# A running job whose heartbeat is older than this was interrupted (the worker died): re-run it.
STALE_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 3

Handler = Callable[[Job, Callable[..., None]], dict | None]
_handlers: dict[str, Handler] = {}


def handler(kind: str):
    """Register the function that runs jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def enqueue(kind: str, params: dict, *, user=None, department=None, total: int = 0) -> Job:
    return Job.objects.create(
        kind=kind, params=params, created_by=user, department=department, total=total
    )


class Reporter:
    """Writes progress to the job row, at most every ``interval`` seconds (the page polls it)."""

    def __init__(self, job: Job, interval: float = 0.5):
        self.job = job
        self.interval = interval
        self._last = 0.0

    def __call__(
        self, progress: int, total: int | None = None, message: str | None = None, force=False
    ):
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        fields = {"progress": progress, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["total"] = total
        if message is not None:
            fields["message"] = message[:200]
        # Progress is written on its own connection-level autocommit statement; inside a long
        # import transaction on PostgreSQL it would not be visible, so handlers report between
        # phases or run their big write in one final transaction.
        Job.objects.filter(pk=self.job.pk).update(**fields)


def _claim() -> Job | None:
    """Take the oldest queued job, or an interrupted one, marking it running."""
    stale = timezone.now() - STALE_AFTER
    with transaction.atomic():
        qs = Job.objects.filter(status=Job.Status.QUEUED) | Job.objects.filter(
            status=Job.Status.RUNNING, heartbeat_at__lt=stale
        )
        qs = qs.order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        job = qs.first()
        if job is None:
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
        return job


def run_job(job: Job) -> Job:
    """Run one claimed job to its end, recording the result or the error."""
    fn = _handlers.get(job.kind)
    report = Reporter(job)
    stop = threading.Event()

    def beat():
        # Keeps the heartbeat fresh while the handler is busy in one long statement.
        while not stop.wait(15):
            Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                heartbeat_at=timezone.now()
            )
            close_old_connections()

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    try:
        if fn is None:
            raise LookupError(f"未知的后台任务类型：{job.kind}")
        result = fn(job, report)
        job.status, job.result, job.error = Job.Status.DONE, result, ""
    except Exception as exc:  # a job's failure is recorded, never lost
        log.exception("job %s failed", job.pk)
        if job.attempts >= MAX_ATTEMPTS or not isinstance(exc, OSError):
            job.status = Job.Status.FAILED
        else:
            job.status = Job.Status.QUEUED
        job.error = f"{exc}\n\n{traceback.format_exc()}"[:20000]
        job.result = {"error": str(exc)}
    finally:
        stop.set()
    job.refresh_from_db(fields=["progress", "total", "message"])
    if job.status == Job.Status.DONE:
        job.progress = job.total or job.progress
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "progress", "finished_at"])
    return job


def run_pending(max_jobs: int | None = None) -> int:
    """Run queued jobs until none is left (or ``max_jobs`` ran). Used by tests and the CLI."""
    count = 0
    while max_jobs is None or count < max_jobs:
        job = _claim()
        if job is None:
            break
        run_job(job)
        count += 1
    return count


def work_forever(poll: float = 1.0, stop: threading.Event | None = None) -> None:
    """The worker loop: claim, run, sleep when idle. Jobs interrupted by a crash are re-claimed
    after :data:`STALE_AFTER`, on this worker's start or later."""
    log.info("job worker %s started", os.getpid())
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                ran = run_pending(max_jobs=1)
            except Exception:
                log.exception("job worker error")
                ran = 0
            if not ran:
                stop.wait(poll)
    finally:
        # This thread's connections: a stopped worker must not leave a session open on the
        # database (it kept PostgreSQL test databases from being dropped).
        connections.close_all()
