"""Permission refusals as a user meets them in a real browser (Debian's Chromium): the login page
for anonymous visitors, the Chinese 403 page (templates/403.html) for another department's
import batch or import form, and no way to the import form for an inspector."""

import io

import pytest
from playwright.sync_api import expect

from shuangsuiji.core import jobs
from shuangsuiji.core.tests.fixtures import login
from shuangsuiji.transfer import services

pytestmark = pytest.mark.browser

CSV = "统一社会信用代码/注册号,名称\n91652801MA78A1B2C3,测试公司\n".encode()


@pytest.fixture
def scjgj_batch(org):
    batch = services.create_batch(
        user=org.scjgj_admin,
        department=org.scjgj,
        kind="targets",
        filename="名录.csv",
        fileobj_or_path=io.BytesIO(CSV),
    )
    services.enqueue_preview(batch)
    jobs.run_pending()
    return batch


def expect_refused(page, response) -> None:
    assert response.status == 403
    expect(page).to_have_title("无权访问")
    expect(page.locator(".alert-danger h1")).to_have_text("无权访问")


@pytest.mark.parametrize(
    "path", ["/transfer/", "/transfer/import/targets/?department=SCJGJ", "/transfer/batches/{pk}/"]
)
def test_anonymous_is_sent_to_login(page, live_server, scjgj_batch, path):
    page.goto(live_server.url + path.format(pk=scjgj_batch.pk))
    assert page.url.startswith(f"{live_server.url}/login/?next=")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("button:has-text('登录')")).to_be_visible()


def test_other_department_is_refused_scjgj_batch_and_form(page, live_server, scjgj_batch):
    login(page, live_server, "gaj_admin")

    response = page.goto(f"{live_server.url}/transfer/batches/{scjgj_batch.pk}/")
    expect_refused(page, response)
    expect(page.locator(".alert-danger")).to_contain_text("其他部门的导入批次")
    expect(page.locator("#counts")).to_have_count(0)

    response = page.goto(f"{live_server.url}/transfer/batches/{scjgj_batch.pk}/errors.xlsx")
    assert response.status in (403, 404)

    response = page.goto(f"{live_server.url}/transfer/import/targets/?department=SCJGJ")
    expect_refused(page, response)
    expect(page.locator(".alert-danger")).to_contain_text("州市场监督管理局")
    expect(page.locator("input[type=file]")).to_have_count(0)

    # The batch does not show up in their own list either; their own import form works.
    page.goto(f"{live_server.url}/transfer/")
    expect(page.locator(f"a[href='/transfer/batches/{scjgj_batch.pk}/']")).to_have_count(0)
    page.click("a[data-kind='targets']")
    expect(page.locator("#id_department")).to_contain_text("州公安局")
    expect(page.locator("#id_department option")).to_have_count(1)


def test_inspector_cannot_reach_the_import_form(page, live_server, org):
    login(page, live_server, "inspector")
    page.goto(f"{live_server.url}/transfer/")
    expect(page.locator("h1")).to_have_text("导入导出")
    # No button leads to an import form …
    expect(page.locator("a[data-kind]")).to_have_count(0)
    expect(page.locator("a[href*='/transfer/import/']")).to_have_count(0)
    # … and typing its address gets the refusal.
    for kind in ("targets", "inspectors", "items"):
        response = page.goto(f"{live_server.url}/transfer/import/{kind}/?department=SCJGJ")
        expect_refused(page, response)
        expect(page.locator("input[type=file]")).to_have_count(0)
    response = page.goto(f"{live_server.url}/transfer/import/targets/")
    expect_refused(page, response)
    expect(page.locator(".alert-danger")).to_contain_text("部门管理员")


def test_office_cannot_import_into_a_department(page, live_server, org, scjgj_batch):
    """The office reads every batch but may not write a department's private data."""
    login(page, live_server, "office")
    page.goto(f"{live_server.url}/transfer/batches/{scjgj_batch.pk}/")
    expect(page.locator("#counts")).to_be_visible()
    expect(page.locator("button:has-text('全部导入')")).to_have_count(0)
    response = page.goto(f"{live_server.url}/transfer/import/targets/?department=SCJGJ")
    expect_refused(page, response)
