"""The inspector draw on a target draw made by the draws app's own services (not the ORM): the
teams follow its locked list, and verify-assign --draw checks them against its release."""

import datetime

from shuangsuiji.draws.tests import helpers as draw_helpers
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol.verify import verify_assign
from shuangsuiji.staffing import services

from .helpers import inputs, staff


def test_staffing_a_real_target_draw(org):
    draw_helpers.make_targets(org, 30)
    task = draw_helpers.make_task(
        org,
        inspect_start=datetime.date(2026, 12, 1),
        inspect_end=datetime.date(2026, 12, 20),
        targets_per_team=2,
    )
    draw = draw_helpers.drawn(org, task)
    draw.refresh_from_db()
    task.refresh_from_db()
    assert task.state == JointTask.State.DRAWN and draw.state == "drawn"
    staff(org, 4)
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    services.perform(user=org.scjgj_admin, run=run)
    run.refresh_from_db()
    assert run.state == "done"
    selected = list(draw.selections.values_list("target__code", flat=True))
    teams = services.read_file(run, "teams.tsv").decode().splitlines()
    assert sorted(t.split("\t")[1] for t in teams) == sorted(selected)
    report = verify_assign(
        bytes(run.record),
        *(services.read_file(run, n) for n in services.FILES),
        announcement_bytes=bytes(run.announcement),
        draw_bytes=bytes(draw.record),
    )
    assert report.passed, report.text()
    services.dispatch(user=org.scjgj_admin, task=task)
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
