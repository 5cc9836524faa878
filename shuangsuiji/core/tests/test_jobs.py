import datetime

import pytest
from django.utils import timezone

from shuangsuiji.core import jobs
from shuangsuiji.core.models import Job

pytestmark = pytest.mark.django_db

calls = []


@jobs.handler("test.count")
def _count(job, report):
    calls.append(job.pk)
    for i in range(job.params["n"]):
        report(i + 1, total=job.params["n"], message="计数", force=True)
    return {"counted": job.params["n"]}


@jobs.handler("test.fail")
def _fail(job, report):
    raise ValueError("数据有误")


def test_job_runs_with_progress_and_result():
    job = jobs.enqueue("test.count", {"n": 5})
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"counted": 5}
    assert job.progress == 5 and job.total == 5 and job.percent == 100


def test_failed_job_records_the_error():
    job = jobs.enqueue("test.fail", {})
    jobs.run_pending()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.result == {"error": "数据有误"}


def test_unknown_kind_fails_clearly():
    job = jobs.enqueue("no.such.kind", {})
    jobs.run_pending()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "未知的后台任务类型" in job.error


def test_interrupted_job_is_rerun_after_a_restart():
    # A worker died mid-job: the row says running, its heartbeat is old.
    job = jobs.enqueue("test.count", {"n": 3})
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.attempts == 2


def test_running_job_with_fresh_heartbeat_is_left_alone():
    job = jobs.enqueue("test.count", {"n": 3})
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    assert jobs.run_pending() == 0
