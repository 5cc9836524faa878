"""Real races on PostgreSQL: two performs of the same run, two approvals of one replacement.
The services lock the run (and the request) row and re-check its state, so exactly one wins."""

import pytest
from django.db import connection

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.core.tests.concurrency import race
from shuangsuiji.publication.models import LogEntry
from shuangsuiji.staffing import services
from shuangsuiji.staffing.models import AssignmentRun, Replacement, Team, TeamMember

from .helpers import inputs, make_task, performed_run, staff

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)"
)


def test_two_performs_at_once(org, transactional_db):
    task = make_task(org, targets=20)
    staff(org, 5)
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    log_size = LogEntry.objects.count()
    results = race(
        lambda: services.perform(user=org.scjgj_admin, run=AssignmentRun.objects.get(pk=run.pk)),
        lambda: services.perform(user=org.scjgj_head, run=AssignmentRun.objects.get(pk=run.pk)),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], services.StaffingError), results
    assert Team.objects.filter(run=run).count() == 20
    assert TeamMember.objects.filter(team__run=run).count() == 40
    assert LogEntry.objects.count() == log_size + 1
    assert AuditEntry.objects.filter(note__startswith="执行第 1 轮").count() == 1


def test_two_approvals_at_once(org, transactional_db):
    task = make_task(org, targets=1)
    staff(org, 3)
    run = performed_run(org, task)
    team = run.teams.get()
    item = services.request_replacement(
        user=org.scjgj_admin,
        run=run,
        team=team.code,
        inspector=team.leader,
        reason="post",
        detail="调岗",
    )
    results = race(
        lambda: services.approve_replacement(user=org.scjgj_head, replacement=item),
        lambda: services.approve_replacement(user=org.scjgj_head, replacement=item),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "不能重复审批" in str(errors[0]), results
    item.refresh_from_db()
    assert item.state == Replacement.State.APPROVED and item.index == 0
    run.refresh_from_db()
    assert len(services.record_json(run)["replacements"]) == 1
