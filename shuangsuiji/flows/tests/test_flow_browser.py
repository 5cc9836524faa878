"""The whole chain in Debian's Chromium, as the departments would do it: an accepted plan line →
SCJGJ creates the task from it and initiates → GAJ (its own browser) accepts → SCJGJ establishes
the 方案 → the target draw with joint commit–reveal (both departments commit and reveal in their
own browsers, ``crypto.subtle`` removed as on a plain-http intranet) → the public files, fetched
anonymously over HTTP, verify → the inspector draw with commit–reveal → 派发 → the drawn inspector
sees the team, the public sees the draw page."""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.request

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from shuangsuiji.core.tests.fixtures import Org, login
from shuangsuiji.draws.models import TargetDraw
from shuangsuiji.draws.tests.browser import NO_SUBTLE, commit_in_browser, freeze_in_browser
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import verify as V
from shuangsuiji.staffing.models import AssignmentRun, TeamMember
from shuangsuiji.staffing.tests.browser import commit_run_in_browser, reveal_run_in_browser

from .helpers import INSPECT, Flow

pytestmark = pytest.mark.browser


def fetch(url: str) -> tuple[int, bytes]:
    """An anonymous HTTP GET (no browser, no cookies)."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_plan_line_to_dispatched_task_in_the_browser(
    page, browser_instance, live_server, transactional_db
):
    org = Org()
    flow = Flow(org)
    line = flow.accepted_line()
    page.add_init_script(NO_SUBTLE)
    gaj_context = browser_instance.new_context(locale="zh-CN")
    gaj_context.add_init_script(NO_SUBTLE)
    gaj = gaj_context.new_page()
    gaj.set_default_timeout(15000)
    try:
        # 1. SCJGJ creates the task from its accepted plan line and initiates it.
        login(page, live_server, "scjgj_admin")
        page.goto(f"{live_server.url}/planning/{line.plan_id}/")
        page.click("button:has-text('由此条目创建抽查任务')")
        expect(page.locator(".alert-success")).to_contain_text("已由计划条目创建任务草稿")
        task = JointTask.objects.get(plan_line=line)
        assert task.state == JointTask.State.DRAFT and task.ratios == line.ratios
        assert page.evaluate("window.crypto.subtle") is None  # as over plain http
        page.click("button:has-text('发起任务')")
        page.wait_for_selector("text=已推送配合部门")
        task.refresh_from_db()
        assert task.state == JointTask.State.AWAITING
        task_url = f"{live_server.url}/tasks/{task.pk}/"

        # 2. GAJ, in its own browser, accepts with its item and one inspector per team.
        login(gaj, live_server, "gaj_admin")
        gaj.goto(task_url)
        gaj.check(f"#own-item-{flow.gaj_items[0].pk}")
        gaj.fill("#inspectors_per_team", "1")
        gaj.click("button:has-text('确认参加')")
        gaj.wait_for_selector("text=已确认参加。")

        # 3. SCJGJ establishes the 方案.
        page.goto(task_url)
        page.click("a:has-text('确立方案')")
        page.fill("#id_inspect_start", INSPECT[0].isoformat())
        page.fill("#id_inspect_end", INSPECT[1].isoformat())
        page.fill("#id_inspectors_SCJGJ", "1")
        page.click("button:has-text('确立方案')")
        page.wait_for_selector("text=方案已确立")
        task.refresh_from_db()
        assert task.state == JointTask.State.ESTABLISHED

        # 4. The target draw: prepare, commit–reveal, freeze (the background job, run here).
        draw_url = f"{live_server.url}/draws/task/{task.pk}/"
        page.goto(draw_url)
        freeze_in_browser(page, draw_url, len(flow.targets))
        lead_secret = commit_in_browser(page, "party.SCJGJ")
        gaj.goto(draw_url)
        expect(gaj.get_by_test_id("announce")).to_have_count(0)  # the lead's button only
        gaj_secret = commit_in_browser(gaj, "party.GAJ")
        page.goto(draw_url)
        page.get_by_test_id("announce").click()
        expect(page.locator(".alert-success")).to_contain_text("已公告")
        draw = TargetDraw.objects.get(task=task)
        # Announced: the announcement is public, the release is not yet.
        status, announcement = fetch(
            f"{live_server.url}/public/draws/{task.code}/1/announcement.json"
        )
        assert status == 200 and announcement == bytes(draw.announcement)
        assert fetch(f"{live_server.url}/public/draws/{task.code}/1.json")[0] == 404
        for p, party, value in ((gaj, "party.GAJ", gaj_secret), (page, "party.SCJGJ", lead_secret)):
            p.goto(draw_url)
            expect(p.locator(f"tr[data-entropy='{party}'] input[name=value]")).to_have_value(value)
            p.get_by_test_id("reveal").click()
            expect(p.locator(".alert-success")).to_contain_text("已揭示")
        assert gaj_secret not in gaj.content()  # no reveal shown before the draw
        page.get_by_test_id("perform").click()
        expect(page.locator(".alert-success")).to_contain_text("抽取完成，名单已锁定")
        draw.refresh_from_db()
        task.refresh_from_db()
        assert draw.state == TargetDraw.State.DRAWN and task.state == JointTask.State.DRAWN
        selected = sum(draw.k.values())
        assert selected == len("ABCD")  # 20 % of five per class

        # 5. Anyone re-runs the draw from the public files, fetched anonymously.
        base = f"{live_server.url}/public/draws/{task.code}/1"
        files = {}
        for name, url in (
            ("record", f"{base}.json"),
            ("population", f"{base}/population.tsv"),
            ("excluded", f"{base}/excluded.tsv"),
            ("announcement", f"{base}/announcement.json"),
        ):
            status, files[name] = fetch(url)
            assert status == 200, (name, status)
        report = V.verify(
            files["record"], files["population"], files["excluded"], files["announcement"]
        )
        assert report.exit_code == 0, report.problems
        statement = json.loads(files["record"])["seed_statement"]
        assert f"entropy.party.GAJ={gaj_secret}\n" in statement
        assert f"entropy.party.SCJGJ={lead_secret}\n" in statement
        # Sealed strata: the public population file never shows a target's class.
        assert b"\tA\n" not in files["population"] and b"\tD\n" not in files["population"]

        # 6. The inspector draw with both departments' commit–reveal, then 派发.
        staffing_url = f"{live_server.url}/staffing/{task.code}/"
        page.goto(staffing_url)
        page.select_option("#beacon_source", "")
        page.check("#parties")
        due = timezone.localtime() + datetime.timedelta(days=1)
        page.fill("#reveals_due", due.strftime("%Y-%m-%dT%H:%M"))
        page.click("#create-run")
        page.wait_for_selector("text=已发起第 1 轮执法人员抽取")
        run = AssignmentRun.objects.get(draw=draw)
        run_url = f"{live_server.url}/staffing/{task.code}/runs/1/1/"
        for p in (page, gaj):
            commit_run_in_browser(p, run_url)
        run.refresh_from_db()
        assert run.state == AssignmentRun.State.ANNOUNCED
        for p in (gaj, page):
            reveal_run_in_browser(p, run_url)
        page.click("#perform")
        page.wait_for_selector("#dispatch")
        assert page.inner_text("#run-state") == "已完成"
        assert page.locator("#teams .badge:has-text('组长')").count() == selected
        page.click("#dispatch")
        page.wait_for_selector("text=任务已派发")
        task.refresh_from_db()
        assert task.state == JointTask.State.DISPATCHED
        page.goto(task_url)
        expect(page.locator("body")).to_contain_text("已派发")
    finally:
        gaj_context.close()

    # 7. A drawn SCJGJ inspector sees the team on 我的检查组.
    member = (
        TeamMember.objects.select_related("team", "inspector__user")
        .filter(team__run=run, department=org.scjgj)
        .order_by("team__code")
        .first()
    )
    page.click("button:has-text('退出')")
    login(page, live_server, member.inspector.user.username)
    page.goto(f"{live_server.url}/staffing/mine/")
    card = page.locator(".card", has_text=member.team.code)
    expect(card).to_contain_text(task.code)
    expect(card).to_contain_text("已派发")
    expect(card).to_contain_text("组长")  # the lead department's member leads the team
    page.click("button:has-text('退出')")

    # 8. The public draw page, anonymously.
    page.goto(f"{live_server.url}/public/draws/{task.code}/1/")
    expect(page.get_by_test_id("public-selected").locator("tbody tr")).to_have_count(selected)
