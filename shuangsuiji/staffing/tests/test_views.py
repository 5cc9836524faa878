import json

import pytest
from django.template import Context, Template

from shuangsuiji.core.models import Department, User
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D
from shuangsuiji.staffing import services
from shuangsuiji.staffing.models import AssignmentRun, DeclaredConflict, Replacement, TeamMember

from .helpers import head, make_inspector, make_task, performed_run, staff


@pytest.fixture
def outsider(org):
    swj = Department.objects.create(jurisdiction=org.prefecture, code="SWJ", name="州税务局")
    return User.objects.create_user(
        username="swj_admin",
        password="x",
        role=User.Role.DEPT_ADMIN,
        jurisdiction=org.prefecture,
        department=swj,
    )


def url(task, run=None, tail=""):
    if run is None:
        return f"/staffing/{task.code}/{tail}"
    return f"/staffing/{task.code}/runs/{run.draw.number}/{run.number}/{tail}"


def test_run_through_the_pages(org, outsider):
    task = make_task(org, targets=2)
    staff(org, 2)
    lead = org.client(org.scjgj_admin)
    page = lead.get(url(task))
    assert page.status_code == 200 and "发起执法人员抽取" in page.content.decode()
    # Only the lead starts a run.
    data = {"beacon_source": "fc3d", "beacon_issue": "2026330", "need_GAJ": "1"}
    assert org.client(org.gaj_admin).post(url(task, tail="new/"), data).status_code == 403
    assert org.client(org.auditor).post(url(task, tail="new/"), data).status_code == 403
    assert org.client(outsider).post(url(task, tail="new/"), data).status_code == 404
    bad = lead.post(url(task, tail="new/"), {"need_GAJ": "x"}, follow=True)
    assert "须为整数" in bad.content.decode() and not AssignmentRun.objects.exists()
    nothing = lead.post(url(task, tail="new/"), {"need_GAJ": "1"}, follow=True)
    assert "至少需要一个公开随机源" in nothing.content.decode()
    response = lead.post(url(task, tail="new/"), data)
    run = AssignmentRun.objects.get()
    assert response.status_code == 302 and response.url == url(task, run)
    assert run.state == AssignmentRun.State.ANNOUNCED
    assert (
        org.client(org.gaj_admin).post(url(task, run, "beacon/"), {"value": "1"}).status_code == 403
    )
    page = lead.post(url(task, run, "beacon/"), {"value": "4\t82"}, follow=True).content.decode()
    assert "福彩3D开奖号码的写法不对" in page
    lead.post(url(task, run, "beacon/"), {"value": "482"})
    assert org.client(org.gaj_admin).post(url(task, run, "perform/")).status_code == 403
    lead.post(url(task, run, "perform/"))
    run.refresh_from_db()
    assert run.state == AssignmentRun.State.DONE
    assert org.client(org.gaj_admin).post(url(task, tail="dispatch/")).status_code == 403
    assert org.client(org.auditor).post(url(task, tail="dispatch/")).status_code == 403
    page = lead.post(url(task, tail="dispatch/"), follow=True).content.decode()
    assert "任务已派发" in page
    assert "变更记录" in page and "执行第 1 轮执法人员抽取" in page and "公告第 1 轮" in page
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
    # GET on a POST endpoint is refused.
    assert lead.get(url(task, tail="dispatch/")).status_code == 405


def test_who_reads_a_run_and_its_files(org, outsider):
    task = make_task(org, targets=2)
    staff(org, 2)
    run = performed_run(org, task)
    for user in (org.scjgj_admin, org.scjgj_head, org.gaj_admin, org.auditor, org.office):
        assert org.client(user).get(url(task, run)).status_code == 200, user
        response = org.client(user).get(url(task, run, "files/record.json"))
        assert response.status_code == 200 and response.content == bytes(run.record)
        for name in services.FILES:
            response = org.client(user).get(url(task, run, f"files/{name}"))
            assert b"".join(response.streaming_content) == services.read_file(run, name)
        assert org.client(user).get(url(task, run, "files/announcement.json")).content == bytes(
            run.announcement
        )
    for user in (org.inspector, outsider):
        assert org.client(user).get(url(task, run)).status_code == 404
        assert org.client(user).get(url(task, run, "files/record.json")).status_code == 404
        assert org.client(user).get(url(task)).status_code == 404
    anonymous = org.client(None)
    assert anonymous.get(url(task, run, "files/record.json")).status_code == 302
    assert anonymous.get(url(task, run)).status_code == 302
    # Unknown names and the full left-out file (auditors only).
    assert org.client(org.gaj_admin).get(url(task, run, "files/secret.txt")).status_code == 404
    assert org.client(org.gaj_admin).get(url(task, run, "files/left-out.tsv")).status_code == 403
    assert org.client(org.auditor).get(url(task, run, "files/left-out.tsv")).status_code == 200
    assert (
        org.client(org.gaj_admin).get(url(task, run).replace("/1/1/", "/1/9/")).status_code == 404
    )
    # The public log holds the announcement and the release, with no personal data.
    from shuangsuiji.publication.models import LogEntry

    docs = [bytes(e.document) for e in LogEntry.objects.order_by("index")]
    assert bytes(run.announcement) in docs
    names = set(TeamMember.objects.values_list("inspector__name", flat=True))
    assert not any(n.encode() in d for n in names for d in docs)


def test_each_department_sees_its_own_members_in_full(org):
    task = make_task(org, targets=1)
    people = staff(org, 1)
    run = performed_run(org, task)
    scjgj, gaj = people["SCJGJ"][0], people["GAJ"][0]
    page = org.client(org.gaj_admin).get(url(task, run)).content.decode()
    assert gaj.name in page and gaj.certificate_no in page and gaj.phone in page
    assert scjgj.name in page and scjgj.certificate_no not in page
    page = org.client(org.auditor).get(url(task, run)).content.decode()
    assert gaj.certificate_no in page and gaj.phone not in page  # masked for auditors
    assert gaj.phone[:3] + "****" in page


def test_left_out_page(org):
    task = make_task(org, targets=1)
    staff(org, 1)
    expired_s = make_inspector(org, org.scjgj, certificate_no="")
    busy_g = make_inspector(org, org.gaj, available=False)
    run = services.create_run(
        user=org.scjgj_admin,
        task=task,
        inputs=services.RunInputs(need={}, experts=[], beacon="fc3d.2026330"),
    )
    page = org.client(org.gaj_admin).get(url(task, run, "left-out/")).content.decode()
    assert busy_g.name in page and "标记为不可参与抽取" in page and expired_s.name not in page
    page = org.client(org.auditor).get(url(task, run, "left-out/")).content.decode()
    assert busy_g.name in page and expired_s.name in page and "执法证" in page
    page = org.client(org.auditor).get(url(task, run, "left-out/") + "?dept=GAJ").content.decode()
    assert expired_s.name not in page
    # By team: the team's region mismatches are listed with it, other regions' are not.
    far = make_inspector(org, org.gaj, regions=["652822"])
    near = make_inspector(org, org.gaj, regions=["652801"])
    run2 = services.create_run(
        user=org.scjgj_admin,
        task=make_task(org, targets=1),
        inputs=services.RunInputs(need={}, experts=[], beacon="fc3d.2026330"),
    )
    team = run2.draw.selections.get().target
    out = far if team.region.code == "652801" else near
    kept = near if out is far else far
    page = org.client(org.auditor).get(url(run2.draw.task, run2, "left-out/") + "?where=T0001")
    page = page.content.decode()
    assert out.name in page and kept.name not in page and busy_g.name in page
    assert org.client(org.inspector).get(url(task, run, "left-out/")).status_code == 404


def test_my_teams(org):
    task = make_task(org, targets=1)
    people = staff(org, 1)
    member = people["GAJ"][0]
    member.user = org.inspector
    member.save()
    performed_run(org, task)
    page = org.client(org.inspector).get("/staffing/mine/").content.decode()
    assert task.code not in page  # not before 派发
    services.dispatch(user=org.scjgj_admin, task=task)
    page = org.client(org.inspector).get("/staffing/mine/").content.decode()
    assert task.code in page and people["SCJGJ"][0].name in page and "组长" in page
    page = org.client(org.gaj_admin).get("/staffing/mine/").content.decode()
    assert task.code not in page and "未关联" in page


def test_replacement_through_the_pages(org):
    task = make_task(org, targets=1)
    staff(org, 3)
    run = performed_run(org, task)
    team = run.teams.get()
    out = TeamMember.objects.get(team=team, department=org.scjgj).inspector
    data = {"team": team.code, "inspector": out.pk, "reason": "health", "detail": "住院"}
    assert org.client(org.gaj_admin).post(url(task, run, "replace/"), data).status_code == 403
    org.client(org.scjgj_admin).post(url(task, run, "replace/"), data)
    item = Replacement.objects.get()
    assert (
        org.client(org.scjgj_admin).post(f"/staffing/replacements/{item.pk}/approve/").status_code
        == 403
    )
    assert (
        org.client(head(org, org.gaj))
        .post(f"/staffing/replacements/{item.pk}/approve/")
        .status_code
        == 403
    )
    assert (
        org.client(org.auditor).post(f"/staffing/replacements/{item.pk}/approve/").status_code
        == 403
    )
    assert (
        org.client(org.inspector).post(f"/staffing/replacements/{item.pk}/approve/").status_code
        == 404
    )
    for user in (head(org, org.gaj), org.scjgj_admin):
        response = org.client(user).post(
            f"/staffing/replacements/{item.pk}/refuse/", {"note": "否"}
        )
        assert response.status_code == 403
    page = org.client(org.scjgj_head).post(
        f"/staffing/replacements/{item.pk}/approve/", follow=True
    )
    assert "已批准更换" in page.content.decode()
    item.refresh_from_db()
    assert item.state == Replacement.State.APPROVED
    run.refresh_from_db()
    assert json.loads(bytes(run.record))["replacements"][0]["out"] == f"SCJGJ-{out.pk}"


def test_conflict_pages(org):
    task = make_task(org, targets=1)
    inspector = make_inspector(org, org.gaj)
    target = task.draws.get().selections.get().target
    data = {"inspector": inspector.pk, "target": target.code, "reason": "亲属"}
    assert org.client(org.scjgj_admin).post("/staffing/conflicts/new/", data).status_code == 403
    assert org.client(org.inspector).get("/staffing/conflicts/").status_code == 404
    page = org.client(org.gaj_admin).post(
        "/staffing/conflicts/new/", {**data, "target": "nope"}, follow=True
    )
    assert "统一社会信用代码" in page.content.decode() and not DeclaredConflict.objects.exists()
    org.client(org.gaj_admin).post("/staffing/conflicts/new/", data)
    item = DeclaredConflict.objects.get()
    assert inspector.name in org.client(org.auditor).get("/staffing/conflicts/").content.decode()
    assert (
        inspector.name
        not in org.client(org.scjgj_admin).get("/staffing/conflicts/").content.decode()
    )
    assert (
        org.client(org.scjgj_admin).post(f"/staffing/conflicts/{item.pk}/withdraw/").status_code
        == 403
    )
    org.client(org.gaj_admin).post(f"/staffing/conflicts/{item.pk}/withdraw/")
    item.refresh_from_db()
    assert not item.active


def test_task_panel(org, outsider):
    task = make_task(org, targets=1)
    staff(org, 1)
    template = Template('{% include "staffing/task_panel.html" %}')
    html = template.render(Context({"task": task, "user": org.scjgj_admin}))
    assert "可以发起执法人员抽取" in html
    performed_run(org, task)
    html = template.render(Context({"task": task, "user": org.gaj_admin}))
    assert "第 1-1 轮：已完成" in html
    assert template.render(Context({"task": task, "user": outsider})).strip() == ""


def test_commit_and_reveal_forms(org):
    task = make_task(org, targets=1)
    staff(org, 1)
    run = services.create_run(
        user=org.scjgj_admin,
        task=task,
        inputs=services.RunInputs(need={}, experts=[], parties=True),
    )
    secret = "5a" * 32
    gaj = org.client(org.gaj_admin)
    assert "生成随机数" in gaj.get(url(task, run)).content.decode()
    # The form's deadline: a bad one and a past one are refused, nothing changes.
    lead = org.client(org.scjgj_admin)
    for due, message in (("明天", "格式不对"), ("2020-01-01T10:00", "必须晚于现在")):
        page = lead.post(url(task, tail="new/"), {"parties": "on", "reveals_due": due}, follow=True)
        assert message in page.content.decode()
    assert AssignmentRun.objects.filter(draw__task=task).count() == 1
    page = gaj.post(url(task, run, "reveal/"), {"value": secret}, follow=True).content.decode()
    assert "公告之后" in page
    gaj.post(url(task, run, "commit/"), {"commitment": D.commitment(secret)})
    org.client(org.scjgj_admin).post(
        url(task, run, "commit/"), {"commitment": D.commitment("6b" * 32)}
    )
    run.refresh_from_db()
    assert run.state == AssignmentRun.State.ANNOUNCED
    page = gaj.post(url(task, run, "reveal/"), {"value": "7c" * 32}, follow=True).content.decode()
    assert "不符" in page
    gaj.post(url(task, run, "reveal/"), {"value": secret})
    assert run.entropy.get(name="party.GAJ").value == secret
    # The revealed value is not shown before the draw.
    assert secret not in org.client(org.scjgj_admin).get(url(task, run)).content.decode()
    assert (
        org.client(org.auditor)
        .post(url(task, run, "commit/"), {"commitment": "0" * 64})
        .status_code
        == 403
    )


def test_run_page_queries_do_not_grow_with_the_teams(org, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for targets in (2, 12):
        task = make_task(org, targets=targets)
        if targets == 2:
            staff(org, 3)
        run = performed_run(org, task)
        client = org.client(org.gaj_admin)
        client.get(url(task, run))  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(task, run)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(40):
        org.client(org.auditor).get(url(task, run))


def test_task_page_shows_the_staffing_panel(org):
    task = make_task(org, targets=2, need={"SCJGJ": 1, "GAJ": 3})
    staff(org, 1)
    performed_run(org, task)
    page = org.client(org.scjgj_admin).get(f"/tasks/{task.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "staffing-panel" in html and "派发受阻" in html and f"/staffing/{task.code}/" in html
