"""The 两库 pages in Debian's Chromium: another department's target is refused (404 page), and
ID numbers are masked for the office but shown to the owning department's administrator."""

import pytest
from playwright.sync_api import expect

from shuangsuiji.core.permissions import mask_id_number, mask_phone
from shuangsuiji.core.tests.fixtures import login

from .helpers import id_number, make_inspector, make_target

pytestmark = pytest.mark.browser


@pytest.fixture
def data(transactional_db, org):
    target = make_target(org, name="市场局名录中的企业", departments=(org.scjgj,))
    person = make_inspector(org, name="张执法", id_number=id_number(31), phone="13912345678")
    return target, person


def test_gaj_admin_cannot_open_scjgj_target(page, live_server, data):
    target, _ = data
    login(page, live_server, "gaj_admin")
    response = page.goto(f"{live_server.url}/directory/targets/{target.pk}/")
    assert response.status == 404
    expect(page.locator(".alert-warning h1")).to_have_text("页面不存在")
    expect(page.locator("body")).not_to_contain_text("市场局名录中的企业")
    # Nor does it show in their list, and asking for SCJGJ's directory is refused.
    page.goto(f"{live_server.url}/directory/targets/")
    expect(page.locator("#target-table")).not_to_contain_text("市场局名录中的企业")
    response = page.goto(f"{live_server.url}/directory/targets/?department=SCJGJ")
    assert response.status == 403


def test_inspector_ids_masked_for_office_not_for_owner(page, live_server, data):
    _, person = data
    login(page, live_server, "office")
    page.goto(f"{live_server.url}/directory/inspectors/")
    row = page.locator("#inspector-table tbody tr", has_text="张执法")
    expect(row.locator(".id-number")).to_have_text(mask_id_number(person.id_number))
    expect(row.locator(".phone")).to_have_text(mask_phone(person.phone))
    expect(page.locator("body")).not_to_contain_text(person.id_number)
    row.locator("a", has_text="张执法").click()
    expect(page.locator("#inspector-fields .id-number")).to_have_text(
        mask_id_number(person.id_number)
    )

    page.context.clear_cookies()
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/directory/inspectors/")
    row = page.locator("#inspector-table tbody tr", has_text="张执法")
    expect(row.locator(".id-number")).to_have_text(person.id_number)
    expect(row.locator(".phone")).to_have_text(person.phone)


def test_list_filters_and_add_flow_on_a_phone(page, live_server, data):
    """A department admin on a narrow screen filters the list and adds a target by code."""
    target, _ = data
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "gaj_admin")
    page.goto(f"{live_server.url}/directory/targets/add/")
    page.fill("#id_code", target.code)
    page.fill("#id_tags", "治安重点")
    page.click("button:has-text('下一步')")
    expect(page.locator(".alert-success")).to_contain_text("已加入本部门名录库")
    expect(page.locator("#target-entries")).to_contain_text("治安重点")
    page.goto(f"{live_server.url}/directory/targets/?tag=治安重点")
    expect(page.locator("#count-total")).to_have_text("1")
    expect(page.locator("#target-table")).to_contain_text("市场局名录中的企业")
