"""The bad cases of the chain, in one place: each is refused with a Chinese sentence that says
what is wrong, and nothing changes (state, rows, files, the public log)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client

from shuangsuiji.core.models import Department, Job, User
from shuangsuiji.core.tests.concurrency import race_split
from shuangsuiji.core.tests.fixtures import PASSWORD
from shuangsuiji.draws import engine
from shuangsuiji.draws import services as draws
from shuangsuiji.draws.models import DrawEntropy, Selection, TargetDraw
from shuangsuiji.jointcheck import services as tasks
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment
from shuangsuiji.planning import services as planning
from shuangsuiji.planning.models import PlanLine
from shuangsuiji.protocol import verify as V
from shuangsuiji.publication.models import LogEntry
from shuangsuiji.staffing import services as staffing
from shuangsuiji.staffing.models import AssignmentRun

from .helpers import YEAR, Flow, frozen_draw

State = JointTask.State


@pytest.fixture
def flow(org):
    return Flow(org)


def snapshot(task: JointTask) -> dict:
    """What a refused step must leave as it was."""
    task.refresh_from_db()
    return {
        "state": task.state,
        "participants": list(
            TaskDepartment.objects.filter(task=task)
            .order_by("department__code")
            .values_list("department__code", "response", "dropped_at", "inspectors_per_team")
        ),
        "draws": list(
            TargetDraw.objects.filter(task=task)
            .order_by("number")
            .values_list("number", "state", "seed", "released_at")
        ),
        "entropy": list(
            DrawEntropy.objects.filter(draw__task=task)
            .order_by("draw__number", "name")
            .values_list("name", "commitment", "value")
        ),
        "selections": Selection.objects.filter(draw__task=task).count(),
        "runs": list(AssignmentRun.objects.filter(draw__task=task).values_list("number", "state")),
        "jobs": Job.objects.count(),
        "log": LogEntry.objects.count(),
    }


def message(exc_info) -> str:
    exc = exc_info.value
    errors = getattr(exc, "errors", None)
    return " ".join(errors.values()) if isinstance(errors, dict) else str(exc)


# --- the draw's inputs -----------------------------------------------------------------------------


def test_empty_population_cannot_be_frozen(flow):
    org = flow.org
    task = flow.established(scope={"region": "652822"})  # no target in Luntai
    draw = draws.prepare(user=org.scjgj_admin, task=task)
    draws.configure_entropy(
        user=org.scjgj_admin,
        draw=draw,
        plan=draws.EntropyPlan(parties=True, reveals_due=draws.now() + datetime.timedelta(days=1)),
    )
    before = snapshot(task)
    with pytest.raises(draws.DrawError) as info:
        draws.request_freeze(user=org.scjgj_admin, draw=draw)
    assert "抽查对象总体为空" in message(info) and "对象范围" in message(info)
    assert snapshot(task) == before
    draw.refresh_from_db()
    assert draw.state == TargetDraw.State.PREPARING and not draw.files_dir
    # The page says so too, and the draw stays where it was.
    response = org.client(org.scjgj_admin).post(f"/draws/{draw.pk}/freeze/", follow=True)
    assert "抽查对象总体为空" in response.content.decode()
    assert snapshot(task) == before


def test_ratio_out_of_range_on_the_plan_line_and_the_task(flow):
    org = flow.org
    plan = planning.create_plan(user=org.gaj_admin, department=org.gaj, year=YEAR)
    line = {
        "plan_name": "计划", "task_name": "检查", "kind": "internal",
        "scope": {"region": "652801"}, "items": [flow.gaj_items[0].pk],
        "ratios": {"C": 20000}, "period_start": datetime.date(YEAR, 12, 1),
        "period_end": datetime.date(YEAR, 12, 31),
    }  # fmt: skip
    with pytest.raises(planning.PlanError) as info:
        planning.create_line(user=org.gaj_admin, plan=plan, data=line)
    assert "C类抽查比例 200% 超出 0–100% 的范围" in message(info)
    assert not PlanLine.objects.filter(plan=plan).exists()

    # A task from an accepted line, edited to a ratio over 100 %: refused, the draft unchanged.
    task = tasks.create_from_plan_line(user=org.scjgj_admin, line=flow.accepted_line())
    before = snapshot(task)
    ratios_before = dict(task.ratios)
    data = tasks.plan_line_data(task.plan_line) | {"ratios": {"C": 20000}}
    with pytest.raises(tasks.TaskError) as info:
        tasks.update_task(user=org.scjgj_admin, task=task, data=data)
    assert "超出 0–10000 的范围" in message(info)
    task.refresh_from_db()
    assert task.ratios == ratios_before and snapshot(task) == before
    count = JointTask.objects.count()
    with pytest.raises(tasks.TaskError) as info:
        tasks.create_task(user=org.scjgj_admin, data=data)
    assert "超出 0–10000 的范围" in message(info)
    assert JointTask.objects.count() == count


# --- respond -----------------------------------------------------------------------------------------


def test_a_partner_that_never_responds_is_dropped_and_the_task_goes_on(flow):
    org = flow.org
    task = flow.awaiting(today=datetime.date(YEAR, 3, 6))  # answer due early March: overdue now
    gaj = task.participants.get(department=org.gaj)
    assert gaj.response == TaskDepartment.Response.PENDING and gaj.overdue(draws.today())
    before = snapshot(task)

    # Not yet established: GAJ has not answered.
    with pytest.raises(tasks.TaskError) as info:
        tasks.establish(user=org.scjgj_admin, task=task, data=flow.scheme())
    assert "还有配合部门未响应：州公安局" in message(info)
    assert snapshot(task) == before

    # The office sees it on the overdue list.
    page = org.client(org.office).get("/tasks/overdue/")
    assert page.status_code == 200 and task.code in page.content.decode()

    # Only the lead or the office may drop it; GAJ cannot drop itself.
    with pytest.raises(PermissionDenied) as info:
        tasks.drop_overdue(user=org.gaj_admin, task=task, department=org.gaj)
    assert "只有牵头部门的管理员或负责人、或本辖区联席会议办公室" in str(info.value)
    assert snapshot(task) == before

    # A partner whose answer is not yet due cannot be dropped.
    fresh = flow.awaiting()
    fresh_before = snapshot(fresh)
    with pytest.raises(tasks.TaskError) as info:
        tasks.drop_overdue(user=org.office, task=fresh, department=org.gaj)
    assert "截止日期过后仍未响应的才能移出" in message(info)
    assert snapshot(fresh) == fresh_before

    tasks.drop_overdue(user=org.office, task=task, department=org.gaj, reason="多次催告未果")
    gaj.refresh_from_db()
    assert gaj.dropped_at is not None and "逾期未响应，已移出" in gaj.response_note
    # A late answer after the drop is refused and changes nothing.
    dropped = snapshot(task)
    with pytest.raises(tasks.TaskError) as info:
        tasks.respond(user=org.gaj_admin, task=task, accept=True, items=[flow.gaj_items[0].pk])
    assert "逾期未响应" in message(info) and "被移出任务" in message(info)
    assert snapshot(task) == dropped

    # Two certified inspectors per team (one department alone must send both).
    with pytest.raises(tasks.TaskError) as info:
        tasks.establish(
            user=org.scjgj_admin, task=task, data=flow.scheme(inspectors_per_team={"SCJGJ": 1})
        )
    assert "每个检查组至少应有两名持证执法人员在场" in message(info)
    assert snapshot(task) == dropped
    task = tasks.establish(
        user=org.scjgj_admin, task=task, data=flow.scheme(inspectors_per_team={"SCJGJ": 2})
    )
    assert task.state == State.ESTABLISHED
    shown = org.client(org.auditor).get(f"/tasks/{task.pk}/").content.decode()
    assert "逾期未响应，已移出" in shown


# --- commit–reveal and the locked list ---------------------------------------------------------------


def test_a_reveal_that_does_not_match_its_commitment(flow):
    org = flow.org
    task = flow.established()
    draw, keys = flow.announced(task)
    before = snapshot(task)
    for wrong in (keys["SCJGJ"], "0" * 64, "not hex"):
        with pytest.raises(draws.DrawError) as info:
            draws.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=wrong)
        assert message(info), wrong
    with pytest.raises(draws.DrawError) as info:
        draws.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["SCJGJ"])
    assert "承诺不符" in message(info)
    assert snapshot(task) == before
    assert draw.entropy.get(name="party.GAJ").value == ""
    # And the draw cannot go on without it.
    draws.reveal(user=org.scjgj_admin, draw=draw, department=org.scjgj, value=keys["SCJGJ"])
    with pytest.raises(draws.DrawError) as info:
        draws.perform(user=org.scjgj_admin, draw=draw)
    assert "还不能抽取" in message(info)
    assert TargetDraw.objects.get(pk=draw.pk).state == TargetDraw.State.ANNOUNCED


def test_no_reveal_before_the_announcement(flow):
    org = flow.org
    task = flow.established()
    draw = frozen_draw(org, task)
    value = "ab" * 32
    from shuangsuiji.protocol import draw as D

    draws.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment=D.commitment(value))
    before = snapshot(task)
    with pytest.raises(draws.DrawError) as info:
        draws.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=value)
    assert "公告之前不能揭示" in message(info)
    assert snapshot(task) == before


def test_a_second_draw_on_a_locked_task(flow):
    org = flow.org
    task = flow.established()
    draw = flow.drawn(task)
    before = snapshot(task)
    assert before["state"] == State.DRAWN and before["selections"] == 4
    with pytest.raises(draws.DrawError) as info:
        draws.perform(user=org.scjgj_admin, draw=draw)
    assert "名单已锁定，不能再次抽取" in message(info)
    with pytest.raises(draws.DrawError) as info:
        draws.prepare(user=org.scjgj_admin, task=task)
    assert "抽取名单已锁定，不能再次抽取" in message(info) and "补充抽取" in message(info)
    # Through the page as well.
    response = org.client(org.scjgj_admin).post(f"/draws/{draw.pk}/perform/", follow=True)
    assert "名单已锁定" in response.content.decode()
    assert snapshot(task) == before


def test_no_beacon_only_draw_for_an_unannounced_check(flow):
    org = flow.org
    task = flow.established(task_overrides={"unannounced": True})
    assert task.unannounced
    draw = draws.prepare(user=org.scjgj_admin, task=task)
    before = snapshot(task)
    with pytest.raises(draws.DrawError) as info:
        draws.configure_entropy(
            user=org.scjgj_admin,
            draw=draw,
            plan=draws.EntropyPlan(
                beacon_source="fc3d",
                beacon_issue="2026350",
                beacon_date=draws.today() + datetime.timedelta(days=3),
            ),
        )
    assert "不预先告知的检查不能只用公开随机源" in message(info)
    assert snapshot(task) == before and not draw.entropy.exists()


# --- who sees an unannounced task's list ---------------------------------------------------------


def test_an_unannounced_list_is_hidden_until_it_is_released(flow):
    org = flow.org
    jtj = Department.objects.create(jurisdiction=org.prefecture, code="JTJ", name="州交通运输局")
    User.objects.create_user(
        username="jtj_admin", password=PASSWORD, role=User.Role.DEPT_ADMIN,
        jurisdiction=org.prefecture, department=jtj,
    )  # fmt: skip
    task = flow.established(task_overrides={"unannounced": True})
    draw = flow.drawn(task)
    assert draw.released_at is None
    picked = list(draw.selections.values_list("target__code", flat=True))
    assert len(picked) == 4
    base = f"/public/draws/{task.code}/{draw.number}"
    public = Client()
    outsider = org.client(User.objects.get(username="jtj_admin"))

    def hidden():
        for url in (f"{base}.json", f"{base}/population.tsv", f"{base}/excluded.tsv"):
            for client in (public, outsider):
                response = client.get(url)
                assert response.status_code == 404, url
                assert "尚未公开" in json.loads(response.content)["error"]
        for client in (public, outsider):
            page = client.get(f"{base}/")
            assert page.status_code == 200
            assert not any(code in page.content.decode() for code in picked)
        for url in (
            f"/draws/{draw.pk}/",
            f"/draws/{draw.pk}/population.tsv",
            f"/draws/{draw.pk}/excluded.tsv",
            f"/draws/task/{task.pk}/",
        ):
            response = outsider.get(url)
            assert response.status_code == 403, url
            assert "只有本任务的参与部门和监督审计人员" in response.content.decode(), url
            assert public.get(url).status_code in (302, 403), url  # the login page

    hidden()
    # The announcement is public; the task's departments and auditors see the list.
    assert public.get(f"{base}/announcement.json").status_code == 200
    for user in (org.gaj_admin, org.auditor):
        page = org.client(user).get(f"/draws/{draw.pk}/").content.decode()
        assert all(code in page for code in picked)
    # Only the lead publishes the release.
    before = snapshot(task)
    with pytest.raises(PermissionDenied):
        draws.publish_release(user=org.gaj_admin, draw=draw)
    assert snapshot(task) == before
    hidden()

    draws.publish_release(user=org.scjgj_admin, draw=draw)
    files = {}
    for name, url in (
        ("record", f"{base}.json"),
        ("population", f"{base}/population.tsv"),
        ("excluded", f"{base}/excluded.tsv"),
        ("announcement", f"{base}/announcement.json"),
    ):
        response = public.get(url)
        assert response.status_code == 200, url
        files[name] = b"".join(response) if response.streaming else response.content
    report = V.verify(
        files["record"], files["population"], files["excluded"], files["announcement"]
    )
    assert report.exit_code == 0, report.problems
    page = public.get(f"{base}/").content.decode()
    assert all(code in page for code in picked)
    # The strata file (the targets' classes) stays private.
    assert outsider.get(f"/draws/{draw.pk}/strata.tsv").status_code == 403
    assert (engine.folder(draw.files_dir) / "population.tsv").exists()


# --- the wrong users at each step --------------------------------------------------------------------


def test_the_wrong_users_are_refused_at_each_step(flow):
    org = flow.org
    task = flow.awaiting()
    before = snapshot(task)
    # An inspector (and the lead's own admin) cannot answer for GAJ.
    for user in (org.inspector, org.auditor, org.scjgj_admin):
        with pytest.raises(PermissionDenied) as info:
            tasks.respond(
                user=user, task=task, accept=True, items=[flow.gaj_items[0].pk],
                department=org.gaj,
            )  # fmt: skip
        assert "只有配合部门的管理员或负责人可以响应" in str(info.value)
    response = org.client(org.inspector).post(
        f"/tasks/{task.pk}/respond/", {"decision": "accept", "items": [flow.gaj_items[0].pk]}
    )
    assert response.status_code in (403, 404)
    assert snapshot(task) == before

    tasks.respond(user=org.gaj_admin, task=task, accept=True, items=[flow.gaj_items[0].pk])
    with pytest.raises(PermissionDenied):
        tasks.establish(user=org.gaj_admin, task=task, data=flow.scheme())
    task = tasks.establish(user=org.scjgj_admin, task=task, data=flow.scheme())

    # The partner cannot draw.
    before = snapshot(task)
    with pytest.raises(PermissionDenied) as info:
        draws.prepare(user=org.gaj_admin, task=task)
    assert "只有牵头部门的管理员或负责人可以操作检查对象抽取" in str(info.value)
    response = org.client(org.gaj_admin).post(f"/draws/task/{task.pk}/prepare/")
    assert response.status_code == 403 and "只有牵头部门" in response.content.decode()
    assert snapshot(task) == before
    # Nobody commits or reveals for another department.
    draw = frozen_draw(org, task)
    before = snapshot(task)
    for user, dept in (
        (org.gaj_admin, org.scjgj),
        (org.scjgj_admin, org.gaj),
        (org.auditor, org.gaj),
        (org.inspector, org.scjgj),
        (org.office, org.gaj),
    ):
        with pytest.raises((PermissionDenied, draws.DrawError)) as info:
            draws.commit(user=user, draw=draw, department=dept, commitment="ab" * 32)
        assert str(info.value), (user.username, dept.code)
    assert snapshot(task) == before
    draws.abandon(user=org.scjgj_admin, draw=draw, reason="重新设置")
    draw, keys = flow.announced(task)
    before = snapshot(task)
    for user, dept in ((org.gaj_admin, org.scjgj), (org.scjgj_admin, org.gaj)):
        with pytest.raises((PermissionDenied, draws.DrawError)):
            draws.reveal(user=user, draw=draw, department=dept, value=keys[dept.code])
    assert snapshot(task) == before
    flow.revealed(draw, keys)
    before = snapshot(task)
    for user in (org.gaj_admin, org.auditor, org.inspector, org.office):
        with pytest.raises(PermissionDenied):
            draws.perform(user=user, draw=draw)
    response = org.client(org.gaj_admin).post(f"/draws/{draw.pk}/perform/")
    assert response.status_code == 403 and "只有牵头部门" in response.content.decode()
    assert snapshot(task) == before
    draws.perform(user=org.scjgj_admin, draw=draw)

    # Neither the partner nor the auditor starts the inspector draw or dispatches.
    run = flow.staffed(task)
    assert run.state == AssignmentRun.State.DONE
    before = snapshot(task)
    for user in (org.auditor, org.gaj_admin, org.inspector):
        with pytest.raises(PermissionDenied) as info:
            staffing.dispatch(user=user, task=task)
        assert "只有牵头部门" in str(info.value) and "派发任务" in str(info.value)
        with pytest.raises(PermissionDenied):
            staffing.create_run(
                user=user, task=task,
                inputs=staffing.RunInputs(need={}, experts=[], beacon="fc3d.2026331"),
            )  # fmt: skip
    response = org.client(org.auditor).post(f"/staffing/{task.code}/dispatch/")
    assert response.status_code == 403 and "只有牵头部门" in response.content.decode()
    assert snapshot(task) == before
    staffing.dispatch(user=org.scjgj_admin, task=task)
    task.refresh_from_db()
    assert task.state == State.DISPATCHED


# --- races (PostgreSQL: SQLite serialises writers before they read) -------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)")
def test_two_users_drawing_and_dispatching_at_once(transactional_db, org):
    flow = Flow(org)
    task = flow.established()
    draw, keys = flow.announced(task)
    flow.revealed(draw, keys)
    log = LogEntry.objects.count()
    results, errors = race_split(
        [
            lambda: draws.perform(user=org.scjgj_admin, draw=draw),
            lambda: draws.perform(user=org.scjgj_head, draw=draw),
        ]
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], draws.DrawError) and "锁定" in str(errors[0])
    draw.refresh_from_db()
    assert draw.state == TargetDraw.State.DRAWN
    assert Selection.objects.filter(draw=draw).count() == sum(draw.k.values())
    assert LogEntry.objects.count() == log + 1  # one release in the public log

    flow.staffed(task)
    results, errors = race_split(
        [
            lambda: staffing.dispatch(user=org.scjgj_admin, task=task),
            lambda: staffing.dispatch(user=org.scjgj_head, task=task),
        ]
    )
    assert len(results) == 1 and len(errors) == 1, errors
    # A Chinese sentence (the task is no longer 已抽取), not a database error.
    assert isinstance(errors[0], staffing.StaffingError | tasks.TaskError), repr(errors[0])
    assert "已派发" in str(errors[0]), str(errors[0])
    task.refresh_from_db()
    assert task.state == State.DISPATCHED


# --- the chain goes on after a refusal ---------------------------------------------------------------


def test_a_dropped_partner_is_out_of_the_draw_and_the_teams(flow):
    """After GAJ is dropped for not answering, the draw's commit–reveal is SCJGJ's alone, GAJ
    cannot commit or see the list, and the teams are SCJGJ's two inspectors each."""
    org = flow.org
    task = flow.awaiting(today=datetime.date(YEAR, 3, 6))
    tasks.drop_overdue(user=org.scjgj_admin, task=task, department=org.gaj)
    task = tasks.establish(
        user=org.scjgj_admin, task=task, data=flow.scheme(inspectors_per_team={"SCJGJ": 2})
    )
    draw = draws.prepare(user=org.scjgj_admin, task=task)
    draws.configure_entropy(
        user=org.scjgj_admin,
        draw=draw,
        plan=draws.EntropyPlan(parties=True, reveals_due=draws.now() + datetime.timedelta(1)),
    )
    assert list(draw.entropy.values_list("name", flat=True)) == ["party.SCJGJ"]
    draws.request_freeze(user=org.scjgj_admin, draw=draw)
    from shuangsuiji.core import jobs

    jobs.run_pending()
    before = snapshot(task)
    with pytest.raises(draws.DrawError) as info:
        draws.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment="ab" * 32)
    assert "没有州公安局的承诺–揭示项" in message(info)
    assert snapshot(task) == before
    from .helpers import secret

    value, commitment = secret()
    draws.commit(user=org.scjgj_admin, draw=draw, department=org.scjgj, commitment=commitment)
    draws.announce(user=org.scjgj_admin, draw=draw)
    draws.reveal(user=org.scjgj_admin, draw=draw, department=org.scjgj, value=value)
    draws.perform(user=org.scjgj_admin, draw=draw)
    draw.refresh_from_db()
    assert json.loads(bytes(draw.record))["departments"] == ["SCJGJ"]
    assert org.client(org.gaj_admin).get(f"/draws/{draw.pk}/").status_code == 403
    run = flow.staffed(task)
    assert run.state == AssignmentRun.State.DONE
    members = list(run.teams.values_list("members__department__code", flat=True).order_by("code"))
    assert members == ["SCJGJ"] * 2 * len(picked_codes(draw))
    staffing.dispatch(user=org.scjgj_admin, task=task)
    assert JointTask.objects.get(pk=task.pk).state == State.DISPATCHED


def picked_codes(draw) -> list[str]:
    return list(draw.selections.values_list("target__code", flat=True))


def test_a_department_that_never_reveals(flow, monkeypatch):
    """GAJ commits but never reveals: no draw until the lead abandons it after reveals_due (the
    abandonment is public); draw 2 with fresh commitments is drawn, verifies, and is staffed."""
    org = flow.org
    task = flow.established()
    draw, keys = flow.announced(task)
    draws.reveal(user=org.scjgj_admin, draw=draw, department=org.scjgj, value=keys["SCJGJ"])
    before = snapshot(task)
    with pytest.raises(draws.DrawError) as info:
        draws.perform(user=org.scjgj_admin, draw=draw)
    assert "还不能抽取" in message(info)
    with pytest.raises(draws.DrawError) as info:
        draws.abandon(user=org.scjgj_admin, draw=draw, reason="州公安局未揭示")
    assert "揭示截止时间已过" in message(info)
    with pytest.raises(draws.DrawError) as info:
        draws.prepare(user=org.scjgj_admin, task=task)
    assert "第 1 次抽取尚未完成" in message(info)
    assert snapshot(task) == before

    later = draws.now() + datetime.timedelta(days=2)
    monkeypatch.setattr(draws, "now", lambda: later)
    with pytest.raises(draws.DrawError) as info:
        draws.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["GAJ"])
    assert "已超过揭示截止时间" in message(info)
    assert snapshot(task) == before
    draws.abandon(user=org.scjgj_admin, draw=draw, reason="州公安局未在截止时间前揭示")
    monkeypatch.undo()

    public = Client()
    abandoned = public.get(f"/public/draws/{task.code}/1/abandoned.json")
    assert abandoned.status_code == 200 and json.loads(abandoned.content)["stage"] == "abandoned"
    assert public.get(f"/public/draws/{task.code}/1.json").status_code == 404

    second = flow.drawn(task)
    assert second.number == 2 and second.state == TargetDraw.State.DRAWN
    old = dict(DrawEntropy.objects.filter(draw=draw).values_list("name", "commitment"))
    new = dict(DrawEntropy.objects.filter(draw=second).values_list("name", "commitment"))
    assert old.keys() == new.keys() and not set(old.values()) & set(new.values())
    base = f"/public/draws/{task.code}/2"
    files = [
        public.get(u) for u in (f"{base}.json", f"{base}/population.tsv", f"{base}/excluded.tsv")
    ]
    files = [b"".join(r) if r.streaming else r.content for r in files]
    report = V.verify(*files, bytes(second.announcement))
    assert report.exit_code == 0, report.problems
    run = flow.staffed(task)
    assert run.draw_id == second.pk and run.state == AssignmentRun.State.DONE
    staffing.dispatch(user=org.scjgj_admin, task=task)


def test_cancelling_before_and_after_the_draw(flow):
    org = flow.org
    task = flow.established()
    draw = flow.drawn(task)
    before = snapshot(task)
    with pytest.raises(tasks.TaskError) as info:
        tasks.cancel(user=org.scjgj_admin, task=task, reason="不想查了")
    assert "已抽取或已取消的任务不能取消" in message(info)
    assert snapshot(task) == before and draw.selections.count() == 4

    other = flow.established(task_name="另一项联合检查")
    cancelled = tasks.cancel(user=org.office, task=other, reason="并入其他任务")
    assert cancelled.state == State.CANCELLED
    with pytest.raises(draws.DrawError) as info:
        draws.prepare(user=org.scjgj_admin, task=cancelled)
    assert "只有已确立的任务才能抽取检查对象" in message(info)
    assert not TargetDraw.objects.filter(task=other).exists()


def test_outsiders_see_nothing_of_the_task(flow):
    """Another department's admin and an inspector not on any team: no task page, no draw page,
    no inspector draw, no records; the drawn inspector sees only their own team."""
    org = flow.org
    jtj = Department.objects.create(jurisdiction=org.prefecture, code="JTJ", name="州交通运输局")
    outsider = User.objects.create_user(
        username="jtj_admin", password=PASSWORD, role=User.Role.DEPT_ADMIN,
        jurisdiction=org.prefecture, department=jtj,
    )  # fmt: skip
    task = flow.established()
    draw = flow.drawn(task)
    run = flow.staffed(task)
    staffing.dispatch(user=org.scjgj_admin, task=task)
    run_base = f"/staffing/{task.code}/runs/{draw.number}/{run.number}/"
    urls = [
        f"/tasks/{task.pk}/",
        f"/draws/{draw.pk}/",
        f"/draws/{draw.pk}/strata.tsv",
        f"/staffing/{task.code}/",
        run_base,
        run_base + "files/record.json",
        run_base + "files/teams.tsv",
    ]
    for user in (outsider, org.inspector):
        client = org.client(user)
        for url in urls:
            assert client.get(url).status_code in (403, 404), (user.username, url)
    assert org.client(org.inspector).get("/staffing/mine/").content.decode().count(task.code) == 0
    # The task's own departments and the auditor do see the records.
    for user in (org.gaj_admin, org.auditor):
        assert org.client(user).get(run_base + "files/record.json").status_code == 200
    # Each drawn inspector sees their own team and no other.
    seat = run.teams.order_by("code").first().members.select_related("inspector__user").first()
    mine = org.client(seat.inspector.user).get("/staffing/mine/").content.decode()
    assert run.teams.order_by("code").first().code in mine
    others = run.teams.exclude(members__inspector=seat.inspector).values_list("code", flat=True)
    assert not any(f"· {code}" in mine for code in others)


def test_no_reveal_is_shown_before_the_draw(flow):
    """Between the reveals and the draw, nobody — the other department, the auditor, the office,
    the public, the audit trail, the public log — sees a revealed value (target draw and
    inspector draw)."""
    org = flow.org
    task = flow.established()
    draw, keys = flow.announced(task)
    flow.revealed(draw, keys)
    public = Client()
    base = f"/public/draws/{task.code}/{draw.number}"
    pages = {
        "public": (public, [f"{base}/", f"{base}/announcement.json", "/public/draws/"]),
        "gaj": (org.client(org.gaj_admin), [f"/draws/{draw.pk}/", f"/draws/task/{task.pk}/"]),
        "scjgj": (org.client(org.scjgj_head), [f"/draws/{draw.pk}/", f"/tasks/{task.pk}/"]),
        "auditor": (org.client(org.auditor), [f"/draws/{draw.pk}/", f"/tasks/{task.pk}/"]),
        "office": (org.client(org.office), [f"/draws/task/{task.pk}/", f"/tasks/{task.pk}/"]),
    }

    def leaked(values) -> list[str]:
        found = []
        for who, (client, urls) in pages.items():
            for url in urls:
                response = client.get(url)
                body = b"".join(response) if response.streaming else response.content
                found += [f"{who} {url}" for v in values if v.encode() in body]
        from shuangsuiji.core.models import AuditEntry

        for entry in AuditEntry.objects.all():
            text = json.dumps([entry.before, entry.after, entry.note], ensure_ascii=False)
            found += [f"audit {entry.pk}" for v in values if v in text]
        for entry in LogEntry.objects.all():
            found += [f"log {entry.index}" for v in values if v.encode() in bytes(entry.document)]
        return found

    assert leaked(keys.values()) == []
    draws.perform(user=org.scjgj_admin, draw=draw)
    # After the draw the seed statement publishes them.
    record = public.get(f"{base}.json").content.decode()
    assert all(v in record for v in keys.values())

    # The inspector draw: the same between its reveals and its draw.
    run = staffing.create_run(
        user=org.scjgj_admin,
        task=task,
        inputs=staffing.RunInputs(
            need={}, experts=[], parties=True,
            reveals_due=draws.now() + datetime.timedelta(days=1),
        ),
    )  # fmt: skip
    from shuangsuiji.protocol import draw as D

    run_keys = {"scjgj_admin": "3c" * 32, "gaj_admin": "4d" * 32}
    users = {"scjgj_admin": org.scjgj_admin, "gaj_admin": org.gaj_admin}
    for name, value in run_keys.items():
        staffing.commit(user=users[name], run=run, commitment=D.commitment(value))
    for name, value in run_keys.items():
        staffing.reveal(user=users[name], run=run, value=value)
    run_base = f"/staffing/{task.code}/runs/{draw.number}/{run.number}/"
    pages = {
        "gaj": (org.client(org.gaj_admin), [run_base, run_base + "files/announcement.json"]),
        "auditor": (org.client(org.auditor), [run_base, f"/tasks/{task.pk}/"]),
        "scjgj": (org.client(org.scjgj_head), [run_base]),
    }
    assert leaked(run_keys.values()) == []


def test_an_unannounced_list_cannot_be_guessed_from_the_inspector_draw_announcement(flow):
    """§1.4: for unannounced checks "nobody outside the task may compute the selection before the
    release". The inspector draw's announcement carries sha256(teams.tsv), and teams.tsv is just
    the selected targets' codes in draw order, T0001…: with the candidates known, the ordered
    guesses are few (here P(20, 4) = 116 280 hashes, well under a second). So for an unannounced
    draw the run's documents stay out of the public log until the list is released — the
    departments have the announcement (shown here: the guess does recover the list from it)."""
    import hashlib
    import itertools

    org = flow.org
    task = flow.established(task_overrides={"unannounced": True})
    draw = flow.drawn(task)
    assert draw.released_at is None
    run = staffing.create_run(
        user=org.scjgj_admin,
        task=task,
        inputs=staffing.RunInputs(
            need={}, experts=[], parties=True,
            reveals_due=draws.now() + datetime.timedelta(days=1),
        ),
    )  # fmt: skip
    from shuangsuiji.protocol import draw as D

    for user, value in ((org.scjgj_admin, "5a" * 32), (org.gaj_admin, "6b" * 32)):
        staffing.commit(user=user, run=run, commitment=D.commitment(value))
    run.refresh_from_db()
    assert run.state == AssignmentRun.State.ANNOUNCED

    def public_documents() -> list[dict]:
        public = Client()
        size = json.loads(public.get("/public/log/head.json").content)["size"]
        return [json.loads(public.get(f"/public/log/entries/{i}").content) for i in range(size)]

    # Before the release: the list is 404, and no public log entry carries the teams' hash.
    assert Client().get(f"/public/draws/{task.code}/1.json").status_code == 404
    assert run.announcement_index is None
    assert not any("teams_sha256" in doc for doc in public_documents())

    # Why: from the announcement the departments hold, a guess finds the list.
    announced = json.loads(bytes(run.announcement))
    width = max(4, len(str(announced["teams_count"])))
    found = None
    for guess in itertools.permutations([t.code for t in flow.targets], announced["teams_count"]):
        lines = sorted(f"T{i:0{width}d}\t{code}" for i, code in enumerate(guess, 1))
        if (
            hashlib.sha256("".join(f"{x}\n" for x in lines).encode()).hexdigest()
            == announced["teams_sha256"]
        ):
            found = list(guess)
            break
    picked = list(draw.selections.order_by("position").values_list("target__code", flat=True))
    assert found == picked

    # After the release the run's announcement enters the log, byte for byte.
    draws.publish_release(user=org.scjgj_admin, draw=draw)
    run.refresh_from_db()
    assert run.announcement_index is not None
    assert public_documents()[run.announcement_index] == announced
