"""The target draw's steps in a real browser, shared by the draws and flows browser tests."""

import datetime
import hashlib

from django.utils import timezone
from playwright.sync_api import expect

from shuangsuiji.core import jobs

# A page script that removes crypto.subtle, as over plain http on an intranet.
NO_SUBTLE = "Object.defineProperty(Crypto.prototype, 'subtle', {get() { return undefined; }});"


def freeze_in_browser(page, url: str, candidates: int) -> None:
    """On the task's draw page: prepare, set commit–reveal (reveals due tomorrow), freeze, run
    the freeze job here; the draw then waits for commitments."""
    page.get_by_test_id("prepare").click()
    expect(page.get_by_test_id("candidates")).to_have_text(str(candidates))
    due = timezone.localtime() + datetime.timedelta(days=1)
    page.fill("input[name=reveals_due]", due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("set-entropy").click()
    expect(page.locator(".alert-success")).to_contain_text("已设置随机数来源")
    page.get_by_test_id("freeze").click()
    expect(page.locator(".job-progress")).to_be_visible()
    jobs.run_pending()
    page.goto(url)
    expect(page.get_by_test_id("draw-state")).to_have_text("待承诺")


def commit_in_browser(page, party: str) -> str:
    """Make the party's secret in the page, check the commitment shown, commit; the secret."""
    row = page.locator(f"tr[data-entropy='{party}']")
    row.get_by_role("button", name="生成随机数").click()
    secret = row.locator("[data-ssj-secret]").inner_text().strip()
    shown = row.locator("[data-ssj-commitment]").inner_text().strip()
    assert shown == hashlib.sha256(secret.encode("ascii")).hexdigest()
    assert len(secret) == 64 and secret == secret.lower()
    row.get_by_test_id("commit").click()
    expect(page.locator(".alert-success")).to_contain_text("已提交承诺")
    return secret
