import pytest

from shuangsuiji.core.tests.fixtures import Org, login
from shuangsuiji.planning.models import AnnualPlan, PlanLine

from .helpers import YEAR, setup_lists, setup_targets


@pytest.mark.browser
def test_department_drafts_and_submits_office_accepts(page, live_server, transactional_db):
    org = Org()
    scjgj_items, _ = setup_lists(org)
    setup_targets(org)
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/planning/?year={YEAR}")
    page.click("text=编制本部门")
    page.click("text=新增计划条目")
    page.fill("#id_plan_name", "2027年度抽查计划")
    page.fill("#id_task_name", "食品生产企业检查")
    page.fill("#id_scope", "risk=C&risk=D&region=652801")
    page.check(f"input[name=items][value='{scjgj_items[0].pk}']")
    page.fill("#id_ratio_C", "15")
    page.fill("#id_ratio_D", "30")
    page.check("#id_credit_linked")
    page.fill("#id_period_start", f"{YEAR}-04-01")
    page.fill("#id_period_end", f"{YEAR}-03-01")  # before the start: refused, nothing lost
    page.click("button:has-text('保存')")
    assert page.locator("text=不能早于开始日期").is_visible()
    assert page.input_value("#id_task_name") == "食品生产企业检查"
    page.fill("#id_period_end", f"{YEAR}-10-31")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已保存计划条目")
    # C×10 at 15 % → 2, D×3 at 30 % → 1
    row = page.locator("tbody tr").first
    assert "13" in row.inner_text() and "3" in row.inner_text()
    page.click("button:has-text('报送联席会议办公室')")
    page.wait_for_selector("text=已报送联席会议办公室")
    plan = AnnualPlan.objects.get()
    assert plan.status == "submitted" and PlanLine.objects.count() == 1

    page.click("button:has-text('退出')")
    login(page, live_server, "office")
    page.goto(f"{live_server.url}/planning/{plan.pk}/")
    page.fill("#comments", "同意")
    page.click("button:has-text('采纳')")
    page.wait_for_selector("text=已采纳。")
    plan.refresh_from_db()
    assert plan.status == "accepted"
