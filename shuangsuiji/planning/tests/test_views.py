import io

import openpyxl
import pytest

from shuangsuiji.planning import selectors, services
from shuangsuiji.planning.models import AnnualPlan, JointPlanEntry, PlanLine, PlanSettings

from .helpers import YEAR, accepted_plan, line_data, setup_lists, setup_targets


@pytest.fixture
def lists(org):
    return setup_lists(org)


@pytest.fixture
def plan(org, lists):
    return services.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)


def form_post(items, **overrides):
    data = {
        "plan_name": "2027年度抽查计划",
        "task_name": "食品生产企业检查",
        "kind": "internal",
        "directed": "0",
        "scope": "risk=C&risk=D&region=652801",
        "items": [str(i.pk) for i in items],
        "ratio_A": "3",
        "ratio_B": "5",
        "ratio_C": "15",
        "ratio_D": "30",
        "credit_linked": "on",
        "initiator": "",
        "period_start": f"{YEAR}-04-01",
        "period_end": f"{YEAR}-10-31",
        "draw_date": f"{YEAR}-03-25",
    }
    data.update(overrides)
    return data


def test_index_and_create(org, lists):
    client = org.client(org.scjgj_admin)
    response = client.get(f"/planning/?year={YEAR}")
    assert response.status_code == 200
    assert "编制本部门" in response.content.decode()
    response = client.post("/planning/new/", {"year": YEAR})
    plan = AnnualPlan.objects.get()
    assert response.status_code == 302 and response.url == f"/planning/{plan.pk}/"
    # A second click: a message, not a second plan.
    response = client.post("/planning/new/", {"year": YEAR}, follow=True)
    assert "未采纳" in response.content.decode()
    assert AnnualPlan.objects.count() == 1
    # Inspectors and auditors may not create.
    assert org.client(org.inspector).post("/planning/new/", {"year": YEAR}).status_code == 403
    assert org.client(org.auditor).post("/planning/new/", {"year": YEAR}).status_code == 403
    assert org.client(None).get("/planning/").status_code == 302


def test_line_form_create_edit_delete(org, lists, plan):
    setup_targets(org)
    client = org.client(org.scjgj_admin)
    url = f"/planning/{plan.pk}/lines/new/"
    assert client.get(url).status_code == 200
    data = form_post(lists[0][:2], initiator=str(org.scjgj.pk))
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    line = PlanLine.objects.get()
    assert line.ratios == {"A": 300, "B": 500, "C": 1500, "D": 3000}
    assert line.scope == {"region": "652801", "risk": ["C", "D"]}
    # C×10 at 15% → 2, D×3 at 30% → 1
    assert line.expected_total == 3 and line.population_total == 13
    page = client.get(f"/planning/{plan.pk}/").content.decode()
    assert "食品生产企业检查" in page and "部门内部不定向抽查" in page
    assert "信用风险分类：C、D" in page and "区域：652801" in page
    response = client.post(
        f"/planning/lines/{line.pk}/edit/",
        form_post(lists[0][:1], initiator=str(org.scjgj.pk), task_name="改名"),
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.task_name == "改名" and line.items.count() == 1
    assert client.get(f"/planning/lines/{line.pk}/edit/").status_code == 200
    assert client.post(f"/planning/lines/{line.pk}/delete/").status_code == 302
    assert not PlanLine.objects.exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"ratio_A": "120"}, "超出"),
        ({"ratio_A": "-1"}, "超出"),
        ({"scope": "department=GAJ"}, "department"),
        ({"scope": "colour=red"}, "不支持"),
        ({"scope": "region=999999"}, "不在本辖区"),
        ({"period_end": f"{YEAR}-01-01"}, "不能早于"),
        ({"period_start": f"{YEAR + 1}-01-01"}, "年内"),
        ({"plan_name": ""}, "这个字段是必填项"),
    ],
)
def test_line_form_bad_input(org, lists, plan, overrides, message):
    client = org.client(org.scjgj_admin)
    data = form_post(lists[0], initiator=str(org.scjgj.pk), **overrides)
    response = client.post(f"/planning/{plan.pk}/lines/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    # What was typed is still there.
    assert "食品生产企业检查" in page
    assert not PlanLine.objects.exists()


def test_line_form_refuses_items_outside_the_list(org, lists, plan):
    _, gaj_items = lists
    client = org.client(org.scjgj_admin)
    response = client.post(
        f"/planning/{plan.pk}/lines/new/", form_post(gaj_items, initiator=str(org.scjgj.pk))
    )
    assert response.status_code == 400
    assert not PlanLine.objects.exists()


def test_line_form_permissions(org, lists, plan):
    url = f"/planning/{plan.pk}/lines/new/"
    data = form_post(lists[0], initiator=str(org.scjgj.pk))
    # A draft of another department does not exist for GAJ; the office and auditors see it read-only.
    assert org.client(org.gaj_admin).get(url).status_code == 404
    assert org.client(org.gaj_admin).post(url, data).status_code == 404
    assert org.client(org.office).post(url, data).status_code == 403
    assert org.client(org.auditor).post(url, data).status_code == 403
    assert org.client(org.inspector).post(url, data).status_code == 403
    assert not PlanLine.objects.exists()
    line = services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    assert org.client(org.office).post(f"/planning/lines/{line.pk}/delete/").status_code == 403
    assert org.client(org.gaj_admin).post(f"/planning/lines/{line.pk}/delete/").status_code == 404
    assert PlanLine.objects.count() == 1


def test_visibility_of_plans(org, lists, plan):
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    url = f"/planning/{plan.pk}/"
    assert org.client(org.gaj_admin).get(url).status_code == 404  # draft: own department only
    assert org.client(org.office).get(url).status_code == 200
    assert org.client(org.auditor).get(url).status_code == 200
    services.submit_plan(user=org.scjgj_admin, plan=plan)
    page = org.client(org.gaj_admin).get(url)
    assert page.status_code == 200  # others read submitted plans
    assert "新增计划条目" not in page.content.decode()
    assert org.client(None).get(url).status_code == 302


def test_submit_return_accept_views(org, lists, plan):
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    assert org.client(org.gaj_admin).post(f"/planning/{plan.pk}/submit/").status_code == 404
    assert org.client(org.office).post(f"/planning/{plan.pk}/submit/").status_code == 403
    assert org.client(org.scjgj_admin).post(f"/planning/{plan.pk}/submit/").status_code == 302
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.SUBMITTED
    assert (
        org.client(org.scjgj_admin)
        .post(f"/planning/{plan.pk}/return/", {"comments": "x"})
        .status_code
        == 403
    )
    assert org.client(org.auditor).post(f"/planning/{plan.pk}/accept/").status_code == 403
    response = org.client(org.office).post(
        f"/planning/{plan.pk}/return/", {"comments": ""}, follow=True
    )
    assert "须填写意见" in response.content.decode()
    org.client(org.office).post(f"/planning/{plan.pk}/return/", {"comments": "请补充"})
    plan.refresh_from_db()
    assert plan.status == AnnualPlan.Status.RETURNED and plan.office_comments == "请补充"
    assert "请补充" in org.client(org.scjgj_admin).get(f"/planning/{plan.pk}/").content.decode()


def test_export_has_the_seed_columns(org, lists, plan):
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    response = org.client(org.scjgj_admin).get(f"/planning/{plan.pk}/export/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    headings = [c.value for c in sheet[2]]
    for heading in (
        "抽查计划名称",
        "抽查任务名称",
        "抽查类型",
        "抽查对象总数",
        "抽查比例",
        "抽查事项",
        "抽查对象范围",
        "检查发起机关",
        "联合机关",
        "抽取日期",
        "信用风险等级区分",
        "牵头处室",
        "配合处室",
        "计划时间",
    ):
        assert heading in headings
    row = [c.value for c in sheet[3]]
    assert "食品生产企业监督检查" in row
    assert "A类3%，B类5%，C类15%，D类30%" in row
    assert org.client(org.gaj_admin).get(f"/planning/{plan.pk}/export/").status_code == 404


def test_office_pages_refuse_others(org, lists):
    for user in (org.scjgj_admin, org.scjgj_head, org.gaj_admin, org.auditor, org.inspector):
        client = org.client(user)
        assert client.get("/planning/merge/").status_code == 403
        assert client.get("/planning/settings/").status_code == 403
        assert client.post("/planning/settings/", {"year": YEAR}).status_code == 403
        assert client.post("/planning/merge/confirm/", {"year": YEAR}).status_code == 403
        assert client.post("/planning/publish/", {"year": YEAR}).status_code == 403


def test_settings_view(org):
    client = org.client(org.office)
    assert client.get(f"/planning/settings/?year={YEAR}").status_code == 200
    data = {
        "year": YEAR,
        "department_deadline": f"{YEAR}-02-28",
        "office_deadline": f"{YEAR}-03-30",
        "credit_linked_min_percent": 50,
        "a_class_max_bp": 1000,
    }
    assert client.post("/planning/settings/", data).status_code == 302
    assert PlanSettings.objects.get().department_deadline.month == 2
    bad = client.post("/planning/settings/", {**data, "office_deadline": f"{YEAR}-01-01"})
    assert bad.status_code == 400 and "不能早于" in bad.content.decode()


def test_merge_publish_and_public_pages(org, lists):
    scjgj_items, gaj_items = lists
    scope = {"region": "652801"}
    accepted_plan(
        org, org.scjgj_admin, org.scjgj, [line_data(scjgj_items, scope=scope, task_name="市场检查")]
    )
    accepted_plan(
        org, org.gaj_admin, org.gaj, [line_data(gaj_items, scope=scope, task_name="治安检查")]
    )
    client = org.client(org.office)
    page = client.get(f"/planning/merge/?year={YEAR}").content.decode()
    assert "建议合并" in page and "市场检查" in page and "治安检查" in page
    ids = list(PlanLine.objects.values_list("pk", flat=True))
    response = client.post(
        "/planning/merge/confirm/",
        {"year": YEAR, "lines": ids, "lead": org.scjgj.pk, "name": "联合检查"},
    )
    assert response.status_code == 302
    entry = JointPlanEntry.objects.get()
    assert entry.name == "联合检查"
    response = client.post("/planning/publish/", {"year": YEAR})
    assert response.status_code == 302
    public = org.client(None)
    index = public.get("/planning/public/")
    assert index.status_code == 200 and "2027年部门联合抽查工作计划" in index.content.decode()
    detail = public.get(response.url).content.decode()
    assert "联合检查" in detail and "现行版本" in detail
    assert "office" not in detail and "scjgj_admin" not in detail
    # Adjustment: a reason is required, then the old version is history.
    refused = client.post("/planning/publish/", {"year": YEAR}, follow=True)
    assert "调整原因" in refused.content.decode()
    v2 = client.post("/planning/publish/", {"year": YEAR, "reason": "增加专项"})
    old = public.get(response.url).content.decode()
    assert "历史版本" in old and "增加专项" in old
    assert public.get(v2.url).status_code == 200
    export = public.get(v2.url + "export/")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet["C3"].value == "联合检查"
    assert public.get("/planning/public/9999/").status_code == 404
    # Undo merge.
    assert org.client(org.gaj_admin).post(f"/planning/merge/{entry.pk}/undo/").status_code == 403
    assert client.post(f"/planning/merge/{entry.pk}/undo/").status_code == 302
    assert not JointPlanEntry.objects.exists()


def test_live_count_vs_saved_for_other_departments(org, lists, plan):
    line = services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    assert line.expected_total == 0
    setup_targets(org)
    lines = selectors.plan_lines(plan)
    selectors.live_counts(org.scjgj_admin, plan, lines)
    assert lines[0].live["total"] == 9
    selectors.live_counts(org.gaj_admin, plan, lines)
    assert lines[0].live is None


def _many_plans(org, lists, n_lines):
    scjgj_items, gaj_items = lists
    accepted_plan(
        org,
        org.scjgj_admin,
        org.scjgj,
        [line_data(scjgj_items, task_name=f"市场检查{i}") for i in range(n_lines)],
    )
    accepted_plan(
        org,
        org.gaj_admin,
        org.gaj,
        [line_data(gaj_items, task_name=f"治安检查{i}") for i in range(n_lines)],
    )


@pytest.mark.parametrize("n_lines", [1, 6])
def test_merge_and_index_query_counts_do_not_grow(
    org, lists, n_lines, django_assert_max_num_queries
):
    """The office's pages read a fixed number of queries whatever the number of lines."""
    _many_plans(org, lists, n_lines)
    client = org.client(org.office)
    client.get(f"/planning/merge/?year={YEAR}")  # warm the session
    with django_assert_max_num_queries(16):
        assert client.get(f"/planning/merge/?year={YEAR}").status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(f"/planning/?year={YEAR}").status_code == 200
