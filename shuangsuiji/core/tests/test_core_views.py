import datetime

import pytest

from shuangsuiji.core import permissions, workdays
from shuangsuiji.core.models import AuditEntry, CalendarDay, CalendarYear


def test_anonymous_is_sent_to_login(org):
    for url in ["/", "/calendar/", "/audit/", "/departments/"]:
        response = org.client(None).get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_login_page_is_chinese(client, db):
    response = client.get("/login/")
    assert "登录" in response.content.decode() and 'lang="zh-hans"' in response.content.decode()


def test_wrong_password_gets_a_chinese_error(org):
    response = org.client(None).post("/login/", {"username": "office", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()


def test_home_for_each_role(org):
    for user in [
        org.office,
        org.scjgj_admin,
        org.gaj_admin,
        org.inspector,
        org.auditor,
        org.scjgj_head,
    ]:
        assert org.client(user).get("/").status_code == 200


@pytest.fixture
def calendar(org):
    workdays.seed_from_chinese_calendar(range(2026, 2027))
    return org


def test_office_adds_a_year_and_a_holiday(calendar):
    office = calendar.client(calendar.office)
    office.post("/calendar/", {"action": "add_year", "year": "2027", "source": "国办发明电"})
    office.post(
        "/calendar/",
        {
            "action": "set_day",
            "year": "2027",
            "date": "2027-01-01",
            "kind": "holiday",
            "name": "元旦",
        },
    )
    assert CalendarYear.objects.filter(year=2027).exists()
    assert CalendarDay.objects.get(date=datetime.date(2027, 1, 1)).kind == "holiday"
    entry = AuditEntry.objects.filter(object_type="core.calendarday").first()
    assert entry.user == calendar.office and entry.after["kind"] == "holiday"
    page = office.get("/calendar/2027/").content.decode()
    assert "元旦" in page


def test_calendar_bad_input_is_refused_in_chinese(calendar):
    office = calendar.client(calendar.office)
    cases = [
        ({"action": "set_day", "date": "2026-02-30", "kind": "holiday"}, "请填写正确的年份"),
        ({"action": "set_day", "date": "2028-01-03", "kind": "holiday"}, "请先添加2028年"),
        ({"action": "set_day", "date": "2026-11-28", "kind": "holiday"}, "是周末"),
        ({"action": "set_day", "date": "2026-11-26", "kind": "workday"}, "是工作日"),
        ({"action": "set_day", "date": "2026-11-26", "kind": "bogus"}, "请选择"),
        ({"action": "add_year", "year": "abc"}, "请填写正确的年份"),
    ]
    before = CalendarDay.objects.count()
    for data, message in cases:
        response = office.post("/calendar/", {"year": "2026", **data}, follow=True)
        assert message in response.content.decode(), data
    assert CalendarDay.objects.count() == before


def test_only_the_office_edits_the_calendar(calendar):
    for user in [calendar.scjgj_admin, calendar.gaj_admin, calendar.inspector, calendar.auditor]:
        response = calendar.client(user).post("/calendar/", {"action": "add_year", "year": "2030"})
        assert response.status_code == 403
        assert "只有联席会议办公室" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2030).exists()
    assert calendar.client(calendar.scjgj_admin).get("/calendar/2026/").status_code == 200


def test_audit_log_is_scoped_to_the_department(org):
    from shuangsuiji.core import audit

    audit.record(org.scjgj_admin, "update", org.scjgj, before={"name": "旧"}, note="scjgj change")
    audit.record(org.gaj_admin, "update", org.gaj, before={"name": "旧"}, note="gaj change")
    AuditEntry.objects.filter(note="scjgj change").update(department=org.scjgj)
    AuditEntry.objects.filter(note="gaj change").update(department=org.gaj)
    gaj_page = org.client(org.gaj_admin).get("/audit/").content.decode()
    assert "gaj change" in gaj_page and "scjgj change" not in gaj_page
    office_page = org.client(org.auditor).get("/audit/").content.decode()
    assert "gaj change" in office_page and "scjgj change" in office_page


def test_job_page_is_refused_to_other_departments(org):
    from shuangsuiji.core import jobs

    job = jobs.enqueue("test.none", {}, user=org.scjgj_admin, department=org.scjgj)
    assert org.client(org.scjgj_admin).get(f"/jobs/{job.pk}/").status_code == 200
    assert org.client(org.office).get(f"/jobs/{job.pk}/").status_code == 200
    assert org.client(org.gaj_admin).get(f"/jobs/{job.pk}/").status_code == 403


def test_masking():
    assert permissions.mask_id_number("652801199001011234") == "652801********1234"
    assert permissions.mask_phone("13812345678") == "138****5678"
    assert permissions.mask_id_number("") == "" and permissions.mask_phone("") == ""


def test_permission_rules(org):
    assert permissions.can_edit_department(org.scjgj_admin, org.scjgj)
    assert permissions.can_edit_department(org.scjgj_head, org.scjgj)
    assert not permissions.can_edit_department(org.scjgj_admin, org.gaj)
    assert not permissions.can_edit_department(org.office, org.gaj)
    assert not permissions.can_edit_department(org.inspector, org.scjgj)
    assert not permissions.can_edit_department(org.auditor, org.scjgj)
    assert permissions.can_view_department(org.auditor, org.gaj)
    assert permissions.can_view_department(org.office, org.gaj)
    assert not permissions.can_view_department(org.gaj_admin, org.scjgj)
    assert list(permissions.visible_departments(org.gaj_admin)) == [org.gaj]
    assert set(permissions.visible_departments(org.office)) == {org.scjgj, org.gaj}
    assert permissions.can_see_personal_data(org.scjgj_admin, org.scjgj)
    assert not permissions.can_see_personal_data(org.office, org.gaj)


def test_audit_log_masks_inspector_personal_data_for_the_office(org):
    from shuangsuiji.directory.models import Inspector

    person = Inspector.objects.create(
        department=org.scjgj, id_number="11010519491231002X", name="张三", phone="13812345678"
    )
    from shuangsuiji.core import audit

    audit.record(org.scjgj_admin, "create", person)
    office_page = org.client(org.office).get("/audit/").content.decode()
    assert "11010519491231002X" not in office_page and "13812345678" not in office_page
    assert "110105********002X" in office_page
    admin_page = org.client(org.scjgj_admin).get("/audit/").content.decode()
    assert "11010519491231002X" in admin_page
