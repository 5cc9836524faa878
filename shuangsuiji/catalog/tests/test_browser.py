"""The item list flow in Chromium: start a list, add an item (with a mistake first), publish with
the confirmation page, then a new version; another department cannot open the draft."""

import pytest

from shuangsuiji.core.tests.fixtures import login

pytestmark = pytest.mark.browser


def test_department_builds_and_publishes_its_list(org, page, live_server):
    login(page, live_server, "scjgj_admin")
    page.click("nav >> text=抽查事项清单")
    page.click("tr:has-text('州市场监督管理局') >> button:has-text('新建清单')")
    page.wait_for_selector("h1:has-text('第1版')")
    page.click("text=新增事项")
    page.fill("#id_category", "食品安全")
    page.fill("#id_name", "<b>食品生产</b>条件检查")
    page.fill("#id_target_type", "食品生产企业")
    page.fill("#id_subject", "州市场监督管理局")
    page.select_option("#id_item_type", "key")
    page.select_option("#id_item_class", "A")
    page.check("label:has-text('实地核查') >> xpath=preceding-sibling::input")
    page.fill("#id_basis", "《中华人民共和国食品安全法》第一百一十条")
    page.click("button:has-text('保存')")
    # A class A item cannot be a key item: the error is shown and the input is kept.
    page.wait_for_selector("text=A类事项是年度抽查比例10%以下的一般检查事项")
    assert page.input_value("#id_name") == "<b>食品生产</b>条件检查"
    page.select_option("#id_item_type", "general")
    page.click("button:has-text('保存')")
    page.wait_for_selector("td:has-text('SCJGJ-001')")
    # The HTML typed into the name is shown as text.
    assert page.locator("td", has_text="<b>食品生产</b>条件检查").count() == 1
    page.click("a:has-text('发布')")
    page.wait_for_selector("h1:has-text('确认发布')")
    page.click("button:has-text('确认发布')")
    page.wait_for_selector(".badge:has-text('已发布')")
    page.click("button:has-text('新版本')")
    page.wait_for_selector("h1:has-text('第2版')")
    page.click("a:has-text('发布')")
    page.click("button:has-text('确认发布')")
    page.wait_for_selector("text=第2版起发布须填写调整说明")
    page.fill("textarea[name=note]", "无实质变化，复核")
    page.click("button:has-text('确认发布')")
    page.wait_for_selector("text=调整说明：")
    page.screenshot(path="/tmp/ssj-catalog/detail.png", full_page=True)

    # The public page (logged out) shows version 2 without any user name.
    page.click("button:has-text('退出')")
    page.goto(f"{live_server.url}/catalog/public/")
    page.click("a:has-text('州市场监督管理局')")
    page.wait_for_selector("h1:has-text('第2版')")
    assert page.locator("td", has_text="<b>食品生产</b>条件检查").count() == 1
    assert "scjgj_admin" not in page.content()


def test_other_department_cannot_open_a_draft(org, page, live_server):
    from shuangsuiji.catalog import services

    draft = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    login(page, live_server, "gaj_admin")
    response = page.goto(f"{live_server.url}/catalog/{draft.pk}/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/catalog/{draft.pk}/items/new/")
    assert response.status == 404
