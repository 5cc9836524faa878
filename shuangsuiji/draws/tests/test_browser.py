"""The draw in a real browser (Debian's Chromium): the lead prepares and freezes, two departments
commit in their own browsers (the secret made by crypto.getRandomValues, hashed by the served
@noble/hashes with ``crypto.subtle`` removed, as on a plain-http intranet), the lead announces,
each reveals from its browser's saved secret, the lead draws, and the result verifies."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from shuangsuiji.core.tests.fixtures import login
from shuangsuiji.draws import engine
from shuangsuiji.draws.models import DrawEntropy, TargetDraw
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import verify as V

from .browser import NO_SUBTLE, commit_in_browser, freeze_in_browser
from .helpers import make_targets, make_task, own_data_folder  # noqa: F401 (autouse)

pytestmark = pytest.mark.browser


def test_commit_announce_reveal_draw_with_two_departments(
    page, browser_instance, live_server, transactional_db, org
):
    make_targets(org, 40)
    task = make_task(org)
    url = f"{live_server.url}/draws/task/{task.pk}/"
    page.add_init_script(NO_SUBTLE)
    login(page, live_server, "scjgj_admin")
    page.goto(url)
    assert page.evaluate("window.crypto.subtle") is None  # as over plain http
    freeze_in_browser(page, url, 40)
    lead_secret = commit_in_browser(page, "party.SCJGJ")

    # The partner department, in its own browser.
    context = browser_instance.new_context(locale="zh-CN")
    context.add_init_script(NO_SUBTLE)
    partner = context.new_page()
    partner.set_default_timeout(15000)
    try:
        login(partner, live_server, "gaj_admin")
        partner.goto(url)
        expect(partner.get_by_test_id("announce")).to_have_count(0)  # not the lead's button
        partner_secret = commit_in_browser(partner, "party.GAJ")

        page.goto(url)
        page.get_by_test_id("announce").click()
        expect(page.locator(".alert-success")).to_contain_text("已公告")

        # The partner reveals from the secret its browser kept; a wrong value is stopped in
        # the browser first.
        partner.goto(url)
        field = partner.locator("tr[data-entropy='party.GAJ'] input[name=value]")
        expect(field).to_have_value(partner_secret)
        field.fill(lead_secret)
        partner.get_by_test_id("reveal").click()
        expect(partner.locator("[data-ssj-error]")).to_contain_text("与本部门提交的承诺不符")
        assert DrawEntropy.objects.get(name="party.GAJ").value == ""
        field.fill(partner_secret)
        partner.get_by_test_id("reveal").click()
        expect(partner.locator(".alert-success")).to_contain_text("已揭示")
        # No reveal is shown before the draw.
        assert partner_secret not in partner.content()
    finally:
        context.close()

    page.goto(url)
    expect(page.locator("tr[data-entropy='party.SCJGJ'] input[name=value]")).to_have_value(
        lead_secret
    )
    page.get_by_test_id("reveal").click()
    expect(page.locator(".alert-success")).to_contain_text("已揭示")
    page.get_by_test_id("perform").click()
    expect(page.locator(".alert-success")).to_contain_text("抽取完成，名单已锁定")

    draw = TargetDraw.objects.get(task=task)
    assert draw.state == TargetDraw.State.DRAWN
    assert JointTask.objects.get(pk=task.pk).state == JointTask.State.DRAWN
    page.get_by_test_id("drawn-link").click()
    expect(page.get_by_test_id("selections").locator("tbody tr")).to_have_count(
        sum(draw.k.values())
    )
    # The public page and files; the record verifies.
    page.goto(f"{live_server.url}/public/draws/{task.code}/1/")
    expect(page.get_by_test_id("public-selected").locator("tbody tr")).to_have_count(
        sum(draw.k.values())
    )
    record = page.request.get(f"{live_server.url}/public/draws/{task.code}/1.json").body()
    folder = engine.folder(draw.files_dir)
    report = V.verify(
        record,
        (folder / "population.tsv").read_bytes(),
        (folder / "excluded.tsv").read_bytes(),
        bytes(draw.announcement),
    )
    assert report.exit_code == 0, report.problems
    statement = json.loads(record)["seed_statement"]
    assert f"entropy.party.GAJ={partner_secret}\n" in statement
    assert f"entropy.party.SCJGJ={lead_secret}\n" in statement
