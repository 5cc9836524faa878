"""Draw pages, actions and public files through the HTTP layer: who may see and do what, the
Chinese refusals, and that the public URLs serve exactly the bytes the log holds."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone

from shuangsuiji.core import jobs
from shuangsuiji.core.models import Department, User
from shuangsuiji.draws import engine, services
from shuangsuiji.draws.models import DrawEntropy, TargetDraw
from shuangsuiji.publication.models import LogEntry

from .helpers import drawn, frozen_draw, make_targets, make_task, own_data_folder, secret  # noqa: F401 (autouse)

pytestmark = pytest.mark.django_db
State = TargetDraw.State


@pytest.fixture
def outsider(org):
    third = Department.objects.create(jurisdiction=org.prefecture, code="HBJ", name="州生态环境局")
    return User.objects.create_user(
        "hbj_admin", role=User.Role.DEPT_ADMIN, department=third, jurisdiction=org.prefecture
    )


def body(response) -> str:
    return (
        b"".join(response.streaming_content).decode()
        if response.streaming
        else (response.content.decode())
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_task_page_panel_per_role(org, outsider):
    make_targets(org, 20)
    task = make_task(org)
    url = f"/draws/task/{task.pk}/"
    lead = org.client(org.scjgj_admin).get(url)
    assert lead.status_code == 200 and 'data-testid="prepare"' in lead.content.decode()
    partner = org.client(org.gaj_admin).get(url)
    assert partner.status_code == 200 and 'data-testid="prepare"' not in partner.content.decode()
    assert org.client(org.auditor).get(url).status_code == 200
    for user in (outsider, org.inspector):
        refused = org.client(user).get(url)
        assert refused.status_code == 403
        assert "只有本任务的参与部门" in refused.content.decode()
    assert Client().get(url).status_code == 302  # login first


def test_full_flow_through_the_pages(org):
    make_targets(org, 30)
    task = make_task(org)
    lead, partner = org.client(org.scjgj_admin), org.client(org.gaj_admin)
    page = f"/draws/task/{task.pk}/"
    r = lead.post(f"/draws/task/{task.pk}/prepare/", {"next": page}, follow=True)
    assert "已准备抽取" in r.content.decode()
    draw = TargetDraw.objects.get(task=task)
    assert 'data-testid="candidates">30<' in r.content.decode()
    due = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = lead.post(f"/draws/{draw.pk}/entropy/", {"parties": "1", "reveals_due": due}, follow=True)
    assert "已设置随机数来源" in r.content.decode()
    r = lead.post(f"/draws/{draw.pk}/freeze/", {"next": page}, follow=True)
    assert "已在后台开始处理" in r.content.decode()
    assert 'class="job-progress"' in r.content.decode()  # the progress bar polls the job
    jobs.run_pending()
    keys = {}
    for client, dept in ((lead, org.scjgj), (partner, org.gaj)):
        keys[dept.code] = secret()
        r = client.post(
            f"/draws/{draw.pk}/commit/",
            {"department": dept.code, "commitment": keys[dept.code][1], "next": page},
            follow=True,
        )
        assert "已提交承诺" in r.content.decode()
    # GAJ cannot commit for SCJGJ.
    r = partner.post(
        f"/draws/{draw.pk}/commit/", {"department": "SCJGJ", "commitment": secret()[1]}
    )
    assert r.status_code == 403
    r = lead.post(f"/draws/{draw.pk}/announce/", {"next": page}, follow=True)
    assert "已公告" in r.content.decode()
    # A reveal that does not open the commitment: refused, nothing stored.
    r = partner.post(
        f"/draws/{draw.pk}/reveal/",
        {"department": "GAJ", "value": keys["SCJGJ"][0], "next": page},
        follow=True,
    )
    assert "揭示值与本部门公告的承诺不符" in r.content.decode()
    assert DrawEntropy.objects.get(draw=draw, name="party.GAJ").value == ""
    for client, dept in ((lead, org.scjgj), (partner, org.gaj)):
        r = client.post(
            f"/draws/{draw.pk}/reveal/",
            {"department": dept.code, "value": keys[dept.code][0], "next": page},
            follow=True,
        )
        assert "已揭示" in r.content.decode()
    # Nobody sees a reveal before the draw: not the lead, not the partner.
    for client in (lead, partner):
        text = client.get(f"/draws/{draw.pk}/").content.decode()
        assert keys["SCJGJ"][0] not in text and keys["GAJ"][0] not in text
    r = partner.post(f"/draws/{draw.pk}/perform/")
    assert r.status_code == 403
    r = lead.post(f"/draws/{draw.pk}/perform/", {"next": page}, follow=True)
    assert "抽取完成，名单已锁定" in r.content.decode()
    draw.refresh_from_db()
    assert draw.state == State.DRAWN
    # A second attempt from the page: refused in Chinese.
    r = lead.post(f"/draws/{draw.pk}/perform/", {"next": page}, follow=True)
    assert "名单已锁定，不能再次抽取" in r.content.decode()
    r = lead.post(f"/draws/task/{task.pk}/prepare/", {"next": page}, follow=True)
    assert "抽取名单已锁定" in r.content.decode()


def test_next_must_stay_on_this_site(org):
    make_targets(org, 10)
    task = make_task(org)
    r = org.client(org.scjgj_admin).post(
        f"/draws/task/{task.pk}/prepare/", {"next": "https://evil.example/"}
    )
    assert r.status_code == 302 and r["Location"] == f"/draws/task/{task.pk}/"


def test_bad_input_gets_chinese_messages(org):
    make_targets(org, 10)
    task = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    lead = org.client(org.scjgj_admin)
    r = lead.post(
        f"/draws/{draw.pk}/entropy/", {"parties": "1", "reveals_due": "明天"}, follow=True
    )
    assert "格式不对" in r.content.decode()
    r = lead.post(f"/draws/{draw.pk}/decide/", {"target": "x"}, follow=True)
    assert "请选择检查对象" in r.content.decode()
    r = lead.post(
        f"/draws/{draw.pk}/entropy/",
        {"beacon_source": "fc3d", "beacon_issue": "2026330", "beacon_date": "2026-02-30"},
        follow=True,
    )
    assert "日期“2026-02-30”的格式不对" in r.content.decode()
    assert not DrawEntropy.objects.filter(draw=draw).exists()
    assert org.client(org.scjgj_admin).get(f"/draws/{draw.pk}/perform/").status_code == 405


def test_draw_page_and_sealed_classes(org, outsider):
    make_targets(org, 30)
    task = make_task(org)
    draw = drawn(org, task)
    for user in (org.scjgj_admin, org.gaj_admin, org.auditor):
        text = org.client(user).get(f"/draws/{draw.pk}/").content.decode()
        assert "信用风险分类（内部）" in text and 'data-testid="selections"' in text
    for user in (outsider, org.inspector):
        r = org.client(user).get(f"/draws/{draw.pk}/")
        assert r.status_code == 403 and "只有本任务的参与部门" in r.content.decode()
    assert org.client(org.scjgj_admin).get("/draws/999999/").status_code == 404


def test_strata_file_only_for_task_departments_and_auditors(org, outsider):
    make_targets(org, 20)
    draw = drawn(org, make_task(org))
    expected = (engine.folder(draw.files_dir) / "strata.tsv").read_bytes()
    for user in (org.scjgj_admin, org.gaj_admin, org.auditor):
        r = org.client(user).get(f"/draws/{draw.pk}/strata.tsv")
        assert r.status_code == 200 and b"".join(r.streaming_content) == expected
        assert r["Cache-Control"] == "private, no-store"
    for user in (outsider, org.inspector):
        assert org.client(user).get(f"/draws/{draw.pk}/strata.tsv").status_code == 403
    assert Client().get(f"/draws/{draw.pk}/strata.tsv").status_code == 302
    # There is no public strata URL at all.
    code = draw.task.code
    assert Client().get(f"/public/draws/{code}/1/strata.tsv").status_code == 404


def test_public_files_are_the_logged_bytes(org):
    make_targets(org, 25)
    draw = drawn(org, make_task(org))
    code, anon = draw.task.code, Client()
    r = anon.get(f"/public/draws/{code}/1/announcement.json")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    assert r.content == bytes(LogEntry.objects.get(index=draw.announcement_index).document)
    r = anon.get(f"/public/draws/{code}/1.json")
    assert r.content == bytes(LogEntry.objects.get(index=draw.release_index).document)
    folder = engine.folder(draw.files_dir)
    for name in ("population", "excluded"):
        r = anon.get(f"/public/draws/{code}/1/{name}.tsv")
        assert r.status_code == 200
        assert b"".join(r.streaming_content) == (folder / f"{name}.tsv").read_bytes()
    record = json.loads(anon.get(f"/public/draws/{code}/1.json").content)
    page = anon.get(f"/public/draws/{code}/1/").content.decode()
    assert "shuangsuiji verify" in page and "/public/verify/" in page
    assert record["selected"][0]["id"] in page
    assert code in anon.get("/public/draws/").content.decode()


def test_unannounced_list_refused_to_the_public_until_released(org, outsider):
    make_targets(org, 25)
    task = make_task(org, unannounced=True)
    draw = drawn(org, task)
    code, anon = task.code, Client()
    # The announcement is public at once.
    assert anon.get(f"/public/draws/{code}/1/announcement.json").status_code == 200
    # The release and its files are not, for the public nor for another department.
    for client in (anon, org.client(outsider)):
        for url in (f"/public/draws/{code}/1.json", f"/public/draws/{code}/1/population.tsv",
                    f"/public/draws/{code}/1/excluded.tsv"):  # fmt: skip
            r = client.get(url)
            assert r.status_code == 404 and "尚未公开" in r.content.decode(), url
        page = client.get(f"/public/draws/{code}/1/").content.decode()
        assert 'data-testid="not-released"' in page
        assert not any(s.target.code in page for s in draw.selections.select_related("target"))
    assert org.client(outsider).get(f"/draws/{draw.pk}/").status_code == 403
    # The task's departments and auditors see the list.
    for user in (org.scjgj_admin, org.gaj_admin, org.auditor):
        text = org.client(user).get(f"/draws/{draw.pk}/").content.decode()
        first = draw.selections.select_related("target").first().target.code
        assert first in text
    # Released after the on-site checks: now public.
    r = org.client(org.scjgj_admin).post(f"/draws/{draw.pk}/publish/", follow=True)
    assert "抽取结果已公开" in r.content.decode()
    assert anon.get(f"/public/draws/{code}/1.json").status_code == 200
    assert anon.get(f"/public/draws/{code}/1/population.tsv").status_code == 200


def test_public_pages_of_unknown_or_unannounced_draws(org):
    make_targets(org, 10)
    task = make_task(org)
    frozen_draw(org, task)  # frozen, not announced: not public at all
    anon = Client()
    for url in (f"/public/draws/{task.code}/1/", f"/public/draws/{task.code}/1/announcement.json",
                "/public/draws/NOPE/1/", f"/public/draws/{task.code}/9.json"):  # fmt: skip
        r = anon.get(url)
        assert r.status_code == 404 and "没有找到这次抽取的公告" in r.content.decode(), url


def test_abandoned_document_public(org, monkeypatch):
    make_targets(org, 10)
    task = make_task(org)
    draw = frozen_draw(org, task)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.commit(user=user, draw=draw, department=dept, commitment=secret()[1])
    services.announce(user=org.scjgj_admin, draw=draw)
    moved = timezone.now() + datetime.timedelta(days=2)
    monkeypatch.setattr(services, "now", lambda: moved)
    text = org.client(org.scjgj_admin).get(f"/draws/{draw.pk}/").content.decode()
    assert "揭示截止时间" in text and "已过" in text and 'data-testid="abandon"' in text
    r = org.client(org.scjgj_admin).post(
        f"/draws/{draw.pk}/abandon/", {"reason": "两个部门均未揭示"}, follow=True
    )
    assert "已作废本次抽取" in r.content.decode()
    r = Client().get(f"/public/draws/{task.code}/1/abandoned.json")
    assert r.status_code == 200 and json.loads(r.content)["reason"] == "两个部门均未揭示"
    assert r.content == bytes(LogEntry.objects.get(kind=LogEntry.Kind.DRAW_ABANDONED).document)


def test_annual_cap_page_for_the_office_only(org):
    r = org.client(org.office).post(
        "/draws/settings/caps/", {"cap_A": "1", "cap_B": ""}, follow=True
    )
    assert "已保存" in r.content.decode()
    from shuangsuiji.draws.models import AnnualCap

    assert dict(AnnualCap.objects.values_list("item_class", "max_per_year")) == {"A": 1}
    r = org.client(org.office).post("/draws/settings/caps/", {"cap_A": "两次"}, follow=True)
    assert "1–99 的整数" in r.content.decode()
    r = org.client(org.office).post(
        "/draws/settings/caps/", {"cap_B": "3", "cap_C": "100"}, follow=True
    )
    assert "1–99 的整数" in r.content.decode()
    assert AnnualCap.objects.count() == 1
    for user in (org.scjgj_admin, org.auditor, org.inspector):
        assert org.client(user).get("/draws/settings/caps/").status_code == 403


def test_panel_on_the_task_page(org):
    """The jointcheck task page includes the draws panel; its actions come back to that page."""
    make_targets(org, 12)
    task = make_task(org)
    page = f"/tasks/{task.pk}/"
    r = org.client(org.scjgj_admin).get(page)
    assert r.status_code == 200 and 'id="draws-panel"' in r.content.decode()
    assert 'data-testid="prepare"' in r.content.decode()
    r = org.client(org.scjgj_admin).post(f"/draws/task/{task.pk}/prepare/", {"next": page})
    assert r.status_code == 302 and r["Location"] == page
    r = org.client(org.scjgj_admin).get(page)
    assert 'data-testid="candidates">12<' in r.content.decode()


def test_public_verify_page_passes_on_downloaded_files(org):
    """What the public downloads verifies on the /public/verify/ page too."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from shuangsuiji.directory.models import Target

    make_targets(org, 25)
    make_targets(org, 1, start=100, reg_status=Target.RegStatus.REVOKED)  # a non-empty excluded
    draw = drawn(org, make_task(org))
    code, anon = draw.task.code, Client()

    def get(url):
        r = anon.get(url)
        return b"".join(r.streaming_content) if r.streaming else r.content

    upload = {
        "check": "draw",
        "record": SimpleUploadedFile("1.json", get(f"/public/draws/{code}/1.json")),
        "population": SimpleUploadedFile("p.tsv", get(f"/public/draws/{code}/1/population.tsv")),
        "excluded": SimpleUploadedFile("e.tsv", get(f"/public/draws/{code}/1/excluded.tsv")),
        "announcement": SimpleUploadedFile(
            "a.json", get(f"/public/draws/{code}/1/announcement.json")
        ),
    }
    r = anon.post("/public/verify/", upload)
    assert r.status_code == 200 and "PASS" in r.content.decode()


def test_draw_and_panel_queries_do_not_grow_with_the_list(org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(n_targets, start):
        make_targets(org, n_targets, start=start)
        draw = drawn(org, make_task(org))
        client = org.client(org.gaj_admin)
        with CaptureQueriesContext(connection) as page:
            assert client.get(f"/draws/{draw.pk}/").status_code == 200
        with CaptureQueriesContext(connection) as panel:
            assert client.get(f"/draws/task/{draw.task_id}/").status_code == 200
        return len(page), len(panel), draw.selections.count()

    small = count(10, 0)
    big = count(60, 1000)
    assert big[2] > small[2]
    assert big[:2] == small[:2]
    assert small[0] <= 30 and small[1] <= 30
