import pytest

from shuangsuiji.core.tests.fixtures import Org, login
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.staffing.models import AssignmentRun

from .browser import commit_run_in_browser, reveal_run_in_browser
from .helpers import make_task, staff


@pytest.mark.browser
def test_shortfall_then_new_run_perform_and_dispatch(page, live_server, transactional_db):
    org = Org()
    task = make_task(org, targets=3, need={"SCJGJ": 1, "GAJ": 2})
    staff(org, 1)  # GAJ has one inspector: every team is short
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/staffing/{task.code}/")
    page.fill("#beacon_issue", "2026330")
    page.click("#create-run")
    page.wait_for_selector("text=已发起第 1 轮执法人员抽取")
    assert page.inner_text("#run-state") == "已公告"
    page.click("#perform")  # no beacon value yet: refused
    page.wait_for_selector("text=还缺少以下熵值")
    page.fill("#beacon-value", "482")
    page.click("#enter-beacon")
    page.wait_for_selector("text=已录入公开随机源的开奖值")
    page.click("#perform")
    page.wait_for_selector("text=不能派发")
    assert page.inner_text("#run-state") == "人员不足"
    assert page.locator("#teams tr.table-danger").count() == 3
    assert "州公安局：3 个检查组共缺 3 人" in page.inner_text("#shortfall-summary")
    assert page.locator("#dispatch").count() == 0
    # A new run with fewer GAJ inspectors per team resolves it.
    page.fill("#need_GAJ", "1")
    page.fill("#beacon_issue", "2026331")
    page.fill("#note", "公安局每组减为 1 人")
    page.click("#create-run")
    page.wait_for_selector("text=已发起第 2 轮执法人员抽取")
    page.fill("#beacon-value", "517")
    page.click("#enter-beacon")
    page.click("#perform")
    page.wait_for_selector("#dispatch")
    assert page.inner_text("#run-state") == "已完成"
    assert page.locator("#teams .badge:has-text('组长')").count() == 3
    page.click("#dispatch")
    page.wait_for_selector("text=任务已派发")
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
    assert list(AssignmentRun.objects.order_by("number").values_list("state", flat=True)) == [
        "superseded",
        "done",
    ]
    # The record downloads for the lead.
    with page.expect_download() as info:
        page.click("a:has-text('record.json')")
    assert info.value.suggested_filename.endswith("record.json")


@pytest.mark.browser
def test_departments_commit_and_reveal_in_the_browser(
    page, browser_instance, live_server, transactional_db
):
    org = Org()
    task = make_task(org, targets=2)
    staff(org, 2)
    from shuangsuiji.staffing import services

    from .helpers import inputs

    run = services.create_run(
        user=org.scjgj_admin, task=task, inputs=inputs(beacon="", parties=True)
    )
    other = browser_instance.new_context(locale="zh-CN")
    gaj = other.new_page()
    try:
        run_url = f"{live_server.url}/staffing/{task.code}/runs/1/1/"
        for p, user in ((page, "scjgj_admin"), (gaj, "gaj_admin")):
            login(p, live_server, user)
            commit_run_in_browser(p, run_url)
        run.refresh_from_db()
        assert run.state == AssignmentRun.State.ANNOUNCED
        for p in (page, gaj):
            reveal_run_in_browser(p, run_url)
        page.click("#perform")
        page.wait_for_selector("#dispatch")
        run.refresh_from_db()
        assert run.state == AssignmentRun.State.DONE
    finally:
        other.close()
