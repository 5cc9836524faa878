"""Races on PostgreSQL: two users drawing at once give one draw, two users preparing at once one
prepared draw. (SQLite's IMMEDIATE transactions serialise writers before they read anything;
the SQLite version of the race is in test_services.)"""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from shuangsuiji.core.tests.concurrency import race_split
from shuangsuiji.draws import services
from shuangsuiji.draws.models import Selection, TargetDraw
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.publication.models import LogEntry

from .helpers import frozen_draw, make_targets, make_task, own_data_folder, secret  # noqa: F401 (autouse)

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)"
)


def test_two_users_drawing_at_once_give_one_draw(transactional_db, org):
    make_targets(org, 200)
    task = make_task(org)
    draw = frozen_draw(org, task)
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=draw, department=dept, value=keys[dept.code][0])
    results, errors = race_split(
        [
            lambda: services.perform(user=org.scjgj_admin, draw=draw),
            lambda: services.perform(user=org.scjgj_head, draw=draw),
        ]
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], services.DrawError) and "锁定" in str(errors[0])
    draw.refresh_from_db()
    task.refresh_from_db()
    assert draw.state == TargetDraw.State.DRAWN and task.state == JointTask.State.DRAWN
    assert Selection.objects.filter(draw=draw).count() == sum(draw.k.values())
    assert LogEntry.objects.filter(kind=LogEntry.Kind.DRAW_RELEASE).count() == 1


def test_two_users_preparing_at_once_give_one_draw(transactional_db, org):
    make_targets(org, 20)
    task = make_task(org)
    results, errors = race_split(
        [
            lambda: services.prepare(user=org.scjgj_admin, task=task),
            lambda: services.prepare(user=org.scjgj_head, task=task),
        ]
    )
    assert len(results) == 1 and len(errors) == 1
    assert "尚未完成" in str(errors[0])
    assert TargetDraw.objects.filter(task=task).count() == 1


def test_commit_racing_the_announcement(transactional_db, org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(
        org,
        task,
        plan=services.EntropyPlan(
            parties=True, reveals_due=timezone.now() + datetime.timedelta(hours=1)
        ),
    )
    services.commit(user=org.scjgj_admin, draw=draw, department=org.scjgj, commitment=secret()[1])
    services.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment=secret()[1])
    late = secret()
    results, errors = race_split(
        [
            lambda: services.announce(user=org.scjgj_admin, draw=draw),
            lambda: services.commit(
                user=org.gaj_admin, draw=draw, department=org.gaj, commitment=late[1]
            ),
        ]
    )
    draw.refresh_from_db()
    # Either the commitment changed before the announcement (and the announcement carries it),
    # or it was refused after it: never an announcement with a stale commitment.
    announced = bytes(draw.announcement).decode() if draw.announcement else ""
    stored = draw.entropy.get(name="party.GAJ").commitment
    assert stored in announced
    assert all(isinstance(e, services.DrawError) for e in errors)
