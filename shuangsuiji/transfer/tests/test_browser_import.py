"""The import flow in a real browser (Debian's Chromium through Playwright): upload, the progress
bar polling until the preview appears, counts and errors, the error report download, apply
valid-only, the result; and a file that is not a spreadsheet."""

import io
import threading

import openpyxl
import pytest
from playwright.sync_api import expect

from shuangsuiji.core import jobs
from shuangsuiji.core.tests.fixtures import login
from shuangsuiji.directory.models import DirectoryEntry, Target
from shuangsuiji.transfer.models import ImportBatch

from .test_views import XLSX, bad_row, good_rows, xlsx_bytes

pytestmark = pytest.mark.browser


class Worker:
    """The job worker, as ``shuangsuiji serve`` runs it, in a thread against the live server's
    database; started when the test wants the queued work to run."""

    def __init__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=jobs.work_forever, kwargs={"poll": 0.2, "stop": self.stop}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(10)


@pytest.fixture
def worker(transactional_db):
    w = Worker()
    yield w
    w.close()


def test_import_flow_with_invalid_rows(page, live_server, org, worker, tmp_path):
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/transfer/")
    page.click("a[data-kind='targets']")
    expect(page.locator("h1")).to_have_text("导入检查对象名录库")
    expect(page.locator("#template-link")).to_be_visible()

    rows = [*good_rows(2), bad_row()]
    page.set_input_files(
        "#id_file", files=[{"name": "巴州名录.xlsx", "mimeType": XLSX, "buffer": xlsx_bytes(rows)}]
    )
    page.click("button:has-text('上传并校验')")
    page.wait_for_url(f"{live_server.url}/transfer/batches/*/")

    # Queued: the progress bar is there and polls; the worker is not running yet.
    progress = page.locator("#batch-progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("排队")
    expect(page.locator("#counts")).to_have_count(0)

    # The worker takes the job; without any reload by the test, the page turns into the preview.
    worker.start()
    expect(page.locator("#counts")).to_be_visible(timeout=30000)
    expect(page.locator("#batch-progress")).to_have_count(0)
    expect(page.locator("[data-count=total]")).to_have_text("3")
    expect(page.locator("[data-count=new]")).to_have_text("2")
    expect(page.locator("[data-count=invalid]")).to_have_text("1")
    error_rows = page.locator("#errors tbody tr")
    expect(error_rows).to_have_count(1)
    expect(error_rows.first).to_contain_text("统一社会信用代码/注册号")
    expect(error_rows.first).to_contain_text(bad_row()[0])
    expect(error_rows.first.locator("td").first).to_have_text("4")

    # The full error report.
    with page.expect_download() as info:
        page.click("#error-report")
    download = info.value
    assert (
        download.suggested_filename.endswith(".xlsx") and "错误报告" in download.suggested_filename
    )
    path = tmp_path / "report.xlsx"
    download.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    report = list(sheet.iter_rows(values_only=True))
    assert report[0][:4] == ("行号", "列", "填写的值", "错误说明")
    assert report[1][0] == 4 and report[1][2] == bad_row()[0]

    # 全部导入 is not possible; 仅导入有效行 needs the confirmation.
    expect(page.locator("#apply-all button")).to_be_disabled()
    expect(page.locator("#apply-all")).to_contain_text("不能全部导入")
    page.check("#confirm-valid")
    page.click("button:has-text('仅导入有效行')")

    expect(page.locator("#applied")).to_be_visible(timeout=30000)
    expect(page.locator("#applied")).to_contain_text("已跳过")
    expect(page.locator("[data-count=new]")).to_have_text("2")
    expect(page.locator("#applied a")).to_have_attribute("href", "/directory/targets/")
    expect(page.locator("#apply-valid")).to_have_count(0)

    assert Target.objects.count() == 2
    assert DirectoryEntry.objects.filter(department=org.scjgj, active=True).count() == 2
    assert ImportBatch.objects.get().status == ImportBatch.Status.APPLIED

    # The list of batches shows it as imported.
    page.goto(f"{live_server.url}/transfer/")
    expect(page.locator("#batches tbody tr").first).to_contain_text("已导入")


def test_upload_of_a_non_spreadsheet_shows_the_chinese_error(page, live_server, org, worker):
    worker.start()
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/transfer/import/targets/?department=SCJGJ")
    page.set_input_files(
        "#id_file",
        files=[{"name": "名录.xlsx", "mimeType": XLSX, "buffer": b"%PDF-1.4\n" + b"x" * 500}],
    )
    page.click("button:has-text('上传并校验')")
    rejected = page.locator("#rejected")
    expect(rejected).to_be_visible(timeout=30000)
    expect(rejected).to_contain_text("没有导入任何数据")
    expect(rejected).to_contain_text("PDF 文档，不是电子表格")
    expect(page.locator("#counts")).to_have_count(0)
    expect(page.locator("button:has-text('全部导入')")).to_have_count(0)
    assert not Target.objects.exists()


def test_upload_over_the_limit_shows_the_chinese_error(page, live_server, org, settings):
    settings.SHUANGSUIJI_MAX_UPLOAD_BYTES = 2000
    login(page, live_server, "scjgj_admin")
    page.goto(f"{live_server.url}/transfer/import/targets/?department=SCJGJ")
    buffer = io.BytesIO(xlsx_bytes(good_rows(80)))
    page.set_input_files(
        "#id_file", files=[{"name": "大文件.xlsx", "mimeType": XLSX, "buffer": buffer.getvalue()}]
    )
    page.click("button:has-text('上传并校验')")
    expect(page.locator(".invalid-feedback")).to_contain_text("文件过大")
    assert not ImportBatch.objects.exists()
