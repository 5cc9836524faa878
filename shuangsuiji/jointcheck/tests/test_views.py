import datetime

import pytest

from shuangsuiji.core.models import Jurisdiction, User
from shuangsuiji.jointcheck import services
from shuangsuiji.jointcheck.models import JointTask

from .helpers import YEAR

State = JointTask.State


def stranger_office():
    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    return User.objects.create_user(username="o2", role="office", jurisdiction=other)


# --- list and visibility -----------------------------------------------------------------------


def test_list_shows_each_role_its_tasks(world):
    org = world.org
    joint = world.draft()
    own = services.create_task(
        user=org.gaj_admin,
        data=world.task_data(name="旅馆业内部检查", items=[world.gaj_items[0].pk], departments=[]),
    )
    scjgj_only = world.draft(name="市场内部检查", items=[world.scjgj_items[1].pk], departments=[])
    # GAJ does not see SCJGJ's joint task while it is SCJGJ's draft, only once initiated
    assert org.client(org.gaj_admin).get(f"/tasks/{joint.pk}/").status_code == 404
    assert {t.code for t in org.client(org.gaj_admin).get("/tasks/").context["tasks"]} == {own.code}
    services.initiate(user=org.scjgj_admin, task=joint, today=datetime.date(YEAR, 3, 6))
    expect = {
        "scjgj_admin": {joint.code, scjgj_only.code},
        "gaj_admin": {joint.code, own.code},
        "office": {joint.code, own.code, scjgj_only.code},
        "auditor": {joint.code, own.code, scjgj_only.code},
        "inspector": set(),
    }
    for who, codes in expect.items():
        response = org.client(getattr(org, who)).get("/tasks/")
        assert response.status_code == 200
        shown = {t.code for t in response.context["tasks"]}
        assert shown == codes, who
    assert org.client(stranger_office()).get("/tasks/").context["page"].paginator.count == 0
    assert org.client(None).get("/tasks/").status_code == 302


def test_list_filters_and_paging(world):
    org = world.org
    a = world.draft(name="甲任务")
    b = world.draft(name="乙任务", items=[world.scjgj_items[1].pk], departments=[])
    services.initiate(user=org.scjgj_admin, task=b, today=datetime.date(YEAR, 3, 6))
    client = org.client(org.office)

    def codes(query):
        response = client.get("/tasks/" + query)
        assert response.status_code == 200
        return [t.code for t in response.context["tasks"]]

    assert codes("?q=甲") == [a.code]
    assert codes(f"?q={b.code}") == [b.code]
    assert codes("?state=awaiting") == [b.code]
    assert codes(f"?department={org.gaj.pk}") == [a.code]
    assert codes(f"?lead={org.gaj.pk}") == []
    assert codes(f"?year={YEAR + 1}") == []
    assert set(codes("?state=bogus&year=abc&lead=x")) == {a.code, b.code}  # bad filters ignored
    for n in range(51):
        JointTask.objects.create(
            jurisdiction=org.prefecture,
            code=f"{YEAR}-SCJGJ-{n + 100:04d}",
            year=YEAR,
            seq=n + 100,
            name=f"批量{n}",
            lead_department=org.scjgj,
            period_start=datetime.date(YEAR, 3, 1),
            period_end=datetime.date(YEAR, 12, 31),
        )
    response = client.get("/tasks/?page=2")
    assert response.context["page"].number == 2 and len(response.context["tasks"]) == 3
    assert "第 2 / 2 页" in response.content.decode()


def test_detail_visible_to_participants_office_auditor_only(world):
    org = world.org
    task = world.awaiting()
    (d1,) = world.extra_departments(1)
    d1_admin = User.objects.get(username="d1_admin")
    for user in (org.scjgj_admin, org.gaj_admin, org.office, org.auditor, org.scjgj_head):
        response = org.client(user).get(f"/tasks/{task.pk}/")
        assert response.status_code == 200, user
        body = response.content.decode()
        assert task.code in body and "变更记录" in body and "州公安局" in body
    for user in (org.inspector, d1_admin, stranger_office()):
        response = org.client(user).get(f"/tasks/{task.pk}/")
        assert response.status_code == 404, user
        assert "页面不存在" in response.content.decode()
    assert org.client(org.office).get("/tasks/999999/").status_code == 404


def test_detail_shows_only_the_actions_of_the_viewer(world):
    org = world.org
    draft = world.draft()
    page = org.client(org.scjgj_admin).get(f"/tasks/{draft.pk}/")
    assert page.context["actions"].initiate and page.context["actions"].edit
    assert "发起任务" in page.content.decode()
    page = org.client(org.auditor).get(f"/tasks/{draft.pk}/")
    assert not page.context["actions"].any and "发起任务" not in page.content.decode()
    assert org.client(org.gaj_admin).get(f"/tasks/{draft.pk}/").status_code == 404
    page = org.client(org.office).get(f"/tasks/{draft.pk}/")
    assert page.context["actions"].cancel and not page.context["actions"].initiate

    awaiting = world.awaiting()
    page = org.client(org.gaj_admin).get(f"/tasks/{awaiting.pk}/")
    assert page.context["actions"].respond and page.context["participant"].department == org.gaj
    assert "确认参加" in page.content.decode()
    page = org.client(org.scjgj_admin).get(f"/tasks/{awaiting.pk}/")
    assert not page.context["actions"].respond and not page.context["actions"].establish


def test_overdue_shown_on_task_and_office_page(world):
    org = world.org
    task = world.awaiting(today=datetime.date(YEAR, 3, 6))  # due 2026-03-10, long past
    page = org.client(org.office).get(f"/tasks/{task.pk}/").content.decode()
    assert "逾期未响应" in page
    listing = org.client(org.office).get("/tasks/overdue/")
    assert listing.status_code == 200 and task.code in listing.content.decode()
    assert "州公安局" in listing.content.decode()
    assert org.client(org.auditor).get("/tasks/overdue/").status_code == 200
    # the lead takes GAJ off; the office still sees it listed for 通报
    assert "移出任务" in org.client(org.scjgj_admin).get(f"/tasks/{task.pk}/").content.decode()
    assert (
        org.client(org.gaj_admin)
        .post(f"/tasks/{task.pk}/drop/", {"department": org.gaj.pk})
        .status_code
        == 403
    )
    response = org.client(org.scjgj_admin).post(
        f"/tasks/{task.pk}/drop/", {"department": org.gaj.pk, "reason": "催办未果"}, follow=True
    )
    assert "已将逾期未响应的州公安局移出任务" in response.content.decode()
    listing = org.client(org.office).get("/tasks/overdue/")
    assert list(listing.context["rows"]) == [] and [
        p.task_id for p in listing.context["dropped"]
    ] == [task.pk]
    assert "逾期未响应，已移出：催办未果" in listing.content.decode()
    for who in ("scjgj_admin", "gaj_admin", "inspector"):
        response = org.client(getattr(org, who)).get("/tasks/overdue/")
        assert response.status_code == 403
        assert "只有联席会议办公室" in response.content.decode()


# --- actions through the pages -----------------------------------------------------------------


def task_post(world, **overrides):
    data = {
        "name": "网页新建任务",
        "year": str(YEAR),
        "scope": "region=652801",
        "departments": [str(world.org.gaj.pk)],
        "items": [str(world.scjgj_items[1].pk), str(world.gaj_items[0].pk)],
        "strata_by": "risk",
        "allocation_mode": "ratio",
        "ratio_C": "15",
        "ratio_D": "30",
        "period_start": f"{YEAR}-04-01",
        "period_end": f"{YEAR}-10-31",
    }
    data.update(overrides)
    return data


def test_create_and_edit_through_the_form(world):
    org = world.org
    client = org.client(org.scjgj_admin)
    assert client.get("/tasks/new/").status_code == 200
    response = client.post("/tasks/new/", task_post(world, period_end=f"{YEAR}-03-01"))
    assert response.status_code == 400 and "不能早于开始日期" in response.content.decode()
    response = client.post("/tasks/new/", task_post(world, ratio_C="150"))
    assert response.status_code == 400 and JointTask.objects.count() == 0
    response = client.post("/tasks/new/", task_post(world, ratio_C="", ratio_D=""))
    assert response.status_code == 400 and "至少填写一个" in response.content.decode()
    response = client.post("/tasks/new/", task_post(world))
    task = JointTask.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert task.ratios == {"C": 1500, "D": 3000} and task.scope == {"region": "652801"}
    response = client.post(
        f"/tasks/{task.pk}/edit/",
        task_post(world, name="改过的名称", strata_by="none", ratios_text="全部=800", year="2030"),
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.name == "改过的名称" and task.ratios == {"全部": 800} and task.year == YEAR
    # others may not create for SCJGJ or edit its task
    assert org.client(org.gaj_admin).get(f"/tasks/{task.pk}/edit/").status_code == 404
    assert org.client(org.auditor).get(f"/tasks/{task.pk}/edit/").status_code == 403
    assert (
        org.client(org.gaj_admin).post(f"/tasks/{task.pk}/edit/", task_post(world)).status_code
        == 404
    )
    for who in ("inspector", "auditor", "office"):
        response = org.client(getattr(org, who)).post("/tasks/new/", task_post(world))
        assert response.status_code == 403, who
    assert JointTask.objects.count() == 1


def test_workflow_through_the_pages(world):
    org = world.org
    task = world.draft()
    lead, gaj = org.client(org.scjgj_admin), org.client(org.gaj_admin)
    # refusals first: wrong users get 403 and nothing changes
    assert gaj.post(f"/tasks/{task.pk}/initiate/").status_code == 404  # a draft is the lead's own
    assert org.client(org.auditor).post(f"/tasks/{task.pk}/initiate/").status_code == 403
    assert org.client(org.inspector).post(f"/tasks/{task.pk}/initiate/").status_code == 404
    assert lead.get(f"/tasks/{task.pk}/initiate/").status_code == 405
    task.refresh_from_db()
    assert task.state == State.DRAFT

    response = lead.post(f"/tasks/{task.pk}/initiate/", follow=True)
    assert "已发起" in response.content.decode()
    task.refresh_from_db()
    assert task.state == State.AWAITING
    # a second click: refused with a refresh message, not an error page
    response = lead.post(f"/tasks/{task.pk}/initiate/", follow=True)
    assert "请刷新页面" in response.content.decode()
    # the lead may prepare the 方案 before the answers, but not establish it
    page = lead.get(f"/tasks/{task.pk}/establish/").content.decode()
    assert "保存方案（暂不确立）" in page and 'name="establish" value="1"' not in page
    early = {"inspect_start": f"{YEAR}-04-01", "inspect_end": f"{YEAR}-06-30", "batches": "2",
             "targets_per_team": "1", "inspectors_SCJGJ": "1", "inspectors_GAJ": "1"}  # fmt: skip
    assert lead.post(f"/tasks/{task.pk}/establish/", early | {"establish": "1"}).status_code == 400
    assert lead.post(f"/tasks/{task.pk}/establish/", early).status_code == 302
    task.refresh_from_db()
    assert task.state == State.AWAITING and task.batches == 2

    assert (
        lead.post(f"/tasks/{task.pk}/respond/", {"decision": "decline", "reason": "x"}).status_code
        == 403
    )
    response = gaj.post(f"/tasks/{task.pk}/respond/", {"decision": "decline"}, follow=True)
    assert "不参加时请填写理由" in response.content.decode()
    response = gaj.post(
        f"/tasks/{task.pk}/respond/",
        {"decision": "accept", "items": [str(world.gaj_items[0].pk)], "inspectors_per_team": "1"},
        follow=True,
    )
    assert "已确认参加" in response.content.decode()

    assert gaj.get(f"/tasks/{task.pk}/establish/").status_code == 403
    assert lead.get(f"/tasks/{task.pk}/establish/").status_code == 200
    scheme = {
        "inspect_start": f"{YEAR}-04-01",
        "inspect_end": f"{YEAR}-06-30",
        "batches": "1",
        "targets_per_team": "1",
        "rotation_rule": "on",
        "inspectors_SCJGJ": "1",
        "inspectors_GAJ": "0",
    }
    scheme["establish"] = "1"
    response = lead.post(f"/tasks/{task.pk}/establish/", scheme)
    assert response.status_code == 400 and "1–10" in response.content.decode()
    scheme["inspectors_GAJ"] = "1"
    response = lead.post(f"/tasks/{task.pk}/establish/", scheme)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == State.ESTABLISHED
    assert lead.get(f"/tasks/{task.pk}/establish/", follow=True).redirect_chain  # not awaiting

    assert gaj.post(f"/tasks/{task.pk}/cancel/", {"reason": "x"}).status_code == 403
    response = org.client(org.office).post(f"/tasks/{task.pk}/cancel/", {"reason": ""}, follow=True)
    assert "须填写原因" in response.content.decode()
    org.client(org.office).post(f"/tasks/{task.pk}/cancel/", {"reason": "并入其他任务"})
    task.refresh_from_db()
    assert task.state == State.CANCELLED
    page = lead.get(f"/tasks/{task.pk}/").content.decode()
    assert "任务已取消：并入其他任务" in page and "取消：并入其他任务" in page


def test_office_coordinates_through_the_page(world):
    org = world.org
    extra = world.extra_departments(3)
    task = world.awaiting(departments=[org.gaj.pk] + [d.pk for d in extra])
    assert task.state == State.COORDINATING
    office = org.client(org.office)
    page = office.get(f"/tasks/{task.pk}/")
    assert page.context["actions"].coordinate and "协调完毕" in page.content.decode()
    assert org.client(org.scjgj_admin).post(f"/tasks/{task.pk}/release/").status_code == 403
    keep = [str(i.pk) for i in task.items.all() if i.item_list.department_id != extra[2].pk]
    office.post(
        f"/tasks/{task.pk}/coordinate/",
        {"departments": [str(org.gaj.pk), str(extra[0].pk), str(extra[1].pk)], "items": keep},
    )
    assert task.participants.count() == 4
    office.post(f"/tasks/{task.pk}/release/")
    task.refresh_from_db()
    assert task.state == State.AWAITING


def test_from_plan_line_and_entry_buttons(world):
    from .test_services import _accepted_plan

    org = world.org
    line = _accepted_plan(world)
    response = org.client(org.gaj_admin).post(f"/tasks/from-line/{line.pk}/")
    assert response.status_code == 403 and JointTask.objects.count() == 0
    response = org.client(org.scjgj_admin).post(f"/tasks/from-line/{line.pk}/")
    task = JointTask.objects.get()
    assert response["Location"] == f"/tasks/{task.pk}/" and task.plan_line == line
    response = org.client(org.scjgj_admin).post("/tasks/from-line/999999/", follow=True)
    assert "没有找到该计划条目" in response.content.decode()
    from shuangsuiji.planning import services as planning

    entry = planning.confirm_merge(user=org.office, year=YEAR, line_ids=[line.pk])
    assert org.client(org.office).post(f"/tasks/from-entry/{entry.pk}/").status_code == 403
    org.client(org.scjgj_head).post(f"/tasks/from-entry/{entry.pk}/")
    assert JointTask.objects.filter(joint_entry=entry).count() == 1


@pytest.mark.parametrize("path", ["", "overdue/", "new/", "1/"])
def test_anonymous_is_sent_to_login(org, path):
    response = org.client(None).get(f"/tasks/{path}")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_plan_page_offers_the_button_to_the_initiating_department_only(world):
    from .test_services import _accepted_plan

    org = world.org
    line = _accepted_plan(world)
    button = f"/tasks/from-line/{line.pk}/"
    for user, shown in ((org.scjgj_admin, True), (org.scjgj_head, True), (org.gaj_admin, False),
                        (org.office, False), (org.inspector, False)):  # fmt: skip
        response = org.client(user).get(f"/planning/{line.plan_id}/")
        if response.status_code == 200:
            assert (button in response.content.decode()) is shown, user
        else:
            assert not shown


def test_list_offers_joint_entries_the_department_leads(world):
    from shuangsuiji.planning import services as planning

    from .test_services import _accepted_plan

    org = world.org
    line = _accepted_plan(world)
    entry = planning.confirm_merge(user=org.office, year=YEAR, line_ids=[line.pk])
    button = f"/tasks/from-entry/{entry.pk}/"
    assert button in org.client(org.scjgj_admin).get("/tasks/").content.decode()
    assert button not in org.client(org.gaj_admin).get("/tasks/").content.decode()
    assert button not in org.client(org.office).get("/tasks/").content.decode()
    org.client(org.scjgj_admin).post(button)
    assert button not in org.client(org.scjgj_admin).get("/tasks/").content.decode()


def test_list_and_task_page_queries_do_not_grow_with_tasks(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = world.org
    client = org.client(org.office)

    def counts():
        with CaptureQueriesContext(connection) as listing:
            assert client.get("/tasks/").status_code == 200
        task = JointTask.objects.first()
        with CaptureQueriesContext(connection) as page:
            assert client.get(f"/tasks/{task.pk}/").status_code == 200
        return len(listing), len(page)

    def add(n, departments):
        for i in range(n):
            task = world.draft(name=f"任务{i}", departments=departments)
            services.initiate(user=org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))

    add(2, [org.gaj.pk])
    small = counts()
    add(10, [org.gaj.pk] + [d.pk for d in world.extra_departments(2)])
    assert counts() == small, (small, counts())


def test_every_action_refused_to_the_wrong_user(world):
    """One POST per action by users who may see the task but not take that action (403), by
    users who may not see it (404), and by the office of another jurisdiction (404)."""
    org = world.org
    extra = world.extra_departments(3)
    coordinating = world.awaiting(departments=[org.gaj.pk] + [d.pk for d in extra])
    awaiting = world.awaiting()
    stranger = stranger_office()
    cases = [
        (coordinating, "coordinate", {"departments": [], "items": []}, ("scjgj_admin", "gaj_admin", "auditor")),
        (coordinating, "release", {}, ("scjgj_admin", "gaj_admin", "auditor")),
        (awaiting, "respond", {"decision": "decline", "reason": "x"}, ("scjgj_admin", "office", "auditor")),
        (awaiting, "establish", {}, ("gaj_admin", "office", "auditor")),
        (awaiting, "drop", {"department": org.gaj.pk}, ("gaj_admin", "auditor")),
        (awaiting, "cancel", {"reason": "x"}, ("gaj_admin", "auditor")),
        (awaiting, "edit", {}, ("gaj_admin", "office", "auditor")),
    ]  # fmt: skip
    for task, action, data, forbidden in cases:
        url = f"/tasks/{task.pk}/{action}/"
        for who in forbidden:
            response = org.client(getattr(org, who)).post(url, data)
            assert response.status_code == 403, (action, who)
            assert "只有" in response.content.decode(), (action, who)
        assert org.client(org.inspector).post(url, data).status_code == 404, action
        assert org.client(stranger).post(url, data).status_code == 404, action
    for task in (coordinating, awaiting):
        task.refresh_from_db()
    assert coordinating.state == State.COORDINATING and awaiting.state == State.AWAITING
    assert not awaiting.participants.filter(response="declined").exists()
