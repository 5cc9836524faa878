import pytest

from shuangsuiji.core.tests.fixtures import Org, login
from shuangsuiji.jointcheck.models import JointTask

from .helpers import YEAR, World


@pytest.mark.browser
def test_initiate_partner_responds_establish(page, live_server, transactional_db):
    org = Org()
    world = World(org)
    task = world.draft()

    # the lead initiates from the task page
    login(page, live_server, "scjgj_admin")
    page.click("nav >> text=抽查任务")
    page.click(f"text={task.code}")
    page.click("button:has-text('发起任务')")
    page.wait_for_selector("text=已推送配合部门")
    assert page.locator("#participants").inner_text().count("待响应") == 1
    task.refresh_from_db()
    assert task.state == JointTask.State.AWAITING
    assert page.locator("a:has-text('确立方案')").count() == 0  # GAJ has not answered yet
    page.click("button:has-text('退出')")

    # the partner answers: declining without a reason is refused, then it accepts
    login(page, live_server, "gaj_admin")
    page.goto(f"{live_server.url}/tasks/{task.pk}/")
    page.click("button:has-text('不参加')")
    page.wait_for_selector("text=不参加时请填写理由")
    page.check(f"#own-item-{world.gaj_items[0].pk}")
    page.fill("#inspectors_per_team", "2")
    page.click("button:has-text('确认参加')")
    page.wait_for_selector("text=已确认参加。")
    assert "已确认参加" in page.locator("#participants").inner_text()
    page.click("button:has-text('退出')")

    # the lead fixes the 方案: a date outside the period is refused and nothing is lost
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/tasks/{task.pk}/")
    page.click("a:has-text('确立方案')")
    page.fill("#id_inspect_start", f"{YEAR}-01-15")
    page.fill("#id_inspect_end", f"{YEAR}-06-30")
    page.fill("#id_required_specialities", "食品安全")
    page.click("button:has-text('确立方案')")
    page.wait_for_selector("text=应在计划时间")
    assert page.input_value("#id_required_specialities") == "食品安全"
    assert page.input_value("#id_inspectors_GAJ") == "2"
    page.fill("#id_inspect_start", f"{YEAR}-04-01")
    page.click("button:has-text('确立方案')")
    page.wait_for_selector("text=方案已确立")
    task.refresh_from_db()
    assert task.state == JointTask.State.ESTABLISHED
    assert task.required_specialities == "食品安全"
    history = page.locator("text=变更记录").locator("xpath=following-sibling::table").inner_text()
    assert "任务确立" in history and "州公安局确认参加" in history and "牵头部门发起任务" in history
