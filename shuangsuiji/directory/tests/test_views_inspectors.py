import datetime

import pytest
from django.urls import reverse

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.core.permissions import mask_id_number, mask_phone
from shuangsuiji.directory import services
from shuangsuiji.directory.models import Inspector

from .helpers import id_number, make_inspector

LIST = reverse("directory:inspectors")
ADD = reverse("directory:inspector_add")


def detail(i):
    return reverse("directory:inspector_detail", args=[i.pk])


def edit(i):
    return reverse("directory:inspector_edit", args=[i.pk])


@pytest.fixture
def people(org):
    return {
        "scjgj": make_inspector(
            org, name="市场局张三", id_number=id_number(11), phone="13912345678",
            certificate_no="SC001", certificate_valid_to=datetime.date(2099, 1, 1),
        ),
        "gaj": make_inspector(org, department=org.gaj, name="公安局李四", id_number=id_number(12), phone="13687654321"),
        "expert": make_inspector(org, name="外聘王专家", kind="expert", id_number=id_number(13), phone="0996-2345678"),
    }  # fmt: skip


# Who sees the SCJGJ person's ID number and phone in clear (DOMAIN.md: only the owning
# department's administrators and heads).
ROLES = [
    ("office", False),
    ("auditor", False),
    ("inspector", False),
    ("scjgj_admin", True),
    ("scjgj_head", True),
]


@pytest.mark.parametrize(("user", "clear"), ROLES)
def test_list_masking_per_role(org, people, user, clear):
    person = people["scjgj"]
    html = org.client(getattr(org, user)).get(LIST).content.decode()
    assert person.name in html
    assert (person.id_number in html) == clear
    assert (person.phone in html) == clear
    if not clear:
        assert mask_id_number(person.id_number) in html and mask_phone(person.phone) in html


@pytest.mark.parametrize(("user", "clear"), ROLES)
def test_detail_and_history_masking_per_role(org, people, user, clear):
    person = people["scjgj"]
    # An edit puts the old and new phone into the audit trail shown on the page.
    services.update_inspector(
        user=org.scjgj_admin,
        inspector=person,
        data={"phone": "13711112222"},
        expected_updated_at=None,
    )
    response = org.client(getattr(org, user)).get(detail(person))
    assert response.status_code == 200
    html = response.content.decode()
    for secret in (person.id_number, "13912345678", "13711112222"):
        assert (secret in html) == clear, secret
    if not clear:
        assert mask_id_number(person.id_number) in html and mask_phone("13711112222") in html
    # The masking never touches the stored audit entry.
    stored = AuditEntry.objects.get(object_type="directory.inspector", object_id=str(person.pk))
    assert stored.after["phone"] == "13711112222"


def test_other_department_admin_sees_masked_or_nothing(org, people):
    client = org.client(org.gaj_admin)
    html = client.get(LIST).content.decode()
    assert people["gaj"].id_number in html  # own person in clear
    assert "市场局张三" not in html
    assert client.get(detail(people["scjgj"])).status_code == 404
    assert client.get(edit(people["scjgj"])).status_code == 404


def test_office_sees_every_department_masked(org, people):
    html = org.client(org.office).get(LIST).content.decode()
    for person in people.values():
        assert person.name in html and person.id_number not in html


def test_expert_tab(org, people):
    html = org.client(org.office).get(LIST + "?kind=expert").content.decode()
    assert "外聘王专家" in html and "市场局张三" not in html and "专家库" in html


def test_counts(org, people):
    response = org.client(org.office).get(LIST)
    assert response.context["counts"] == {"total": 3, "valid": 1, "expired": 0}


def test_list_query_count_is_pinned(org, django_assert_num_queries):
    for i in range(60):
        make_inspector(org, name=f"人员{i}", id_number=id_number(100 + i), regions="|652801|")
    client = org.client(org.scjgj_admin)
    client.get(LIST)
    # session, user, department, counts, rows (with their department), jurisdictions
    with django_assert_num_queries(6):
        response = client.get(LIST + "?region=652801")
    assert len(response.context["page"].object_list) == 50


def test_links(org, people):
    html = org.client(org.scjgj_admin).get(LIST + "?kind=expert").content.decode()
    assert "/transfer/import/inspectors/?department=SCJGJ" in html
    assert (
        "/transfer/export/inspectors/?kind=expert" in html
        and "/transfer/template/inspectors/" in html
    )
    assert ADD + "?kind=expert" in html
    html = org.client(org.office).get(LIST).content.decode()
    assert "/transfer/import/inspectors/" not in html and ADD not in html


def test_html_escaped(org):
    make_inspector(org, name="<img src=x onerror=alert(1)>")
    html = org.client(org.office).get(LIST).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# ----------------------------------------------------------------------------------------------
# Create / edit / deactivate


def form_data(**overrides):
    data = {
        "kind": "inspector",
        "id_number": id_number(21),
        "name": "新人员",
        "phone": "13812345678",
        "certificate_no": "XJ-2026-1",
        "certificate_valid_from": "2026-01-01",
        "certificate_valid_to": "2030-12-31",
        "regions": ["652801"],
        "specialities": "食品，特种设备",
        "available": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("user", ["office", "auditor", "inspector"])
def test_add_refused(org, user):
    client = org.client(getattr(org, user))
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data()).status_code == 403
    assert not Inspector.objects.exists()


def test_add(org):
    response = org.client(org.gaj_admin).post(ADD, form_data())
    person = Inspector.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(person)
    assert (
        person.department == org.gaj
        and person.specialities == "|食品|特种设备|"
        and person.regions == "|652801|"
    )
    assert (
        AuditEntry.objects.filter(object_type="directory.inspector", action="create").count() == 1
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"id_number": id_number(22)[:-1] + ("0" if id_number(22)[-1] != "0" else "1")},
            "身份证号校验位错误",
        ),
        ({"id_number": "65280119850307"}, "身份证号应为18位"),
        ({"phone": "12345"}, "手机号码应为11位"),
        ({"phone": "abc-defg"}, "电话号码格式不正确"),
        (
            {"certificate_valid_from": "2030-01-01", "certificate_valid_to": "2029-01-01"},
            "执法证有效期止不能早于有效期起",
        ),
        ({"certificate_valid_to": "2029-02-30"}, "日期格式不正确"),
        ({"available": "", "availability_note": ""}, "不可参与抽取时请填写原因"),
        ({"regions": ["999999"]}, "999999"),
    ],
)
def test_add_bad_input(org, overrides, message):
    response = org.client(org.scjgj_admin).post(ADD, form_data(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'value="新人员"' in html  # the rest of the input is kept
    assert not Inspector.objects.exists()


def test_add_duplicate_id_number(org, people):
    existing = people["scjgj"]
    response = org.client(org.gaj_admin).post(ADD, form_data(id_number=existing.id_number))
    html = response.content.decode()
    assert "该身份证号已在执法人员名录库中（所在部门：州市场监督管理局）" in html
    assert existing.name not in html and existing.phone not in html
    assert Inspector.objects.count() == 3


def _edit_data(person, **overrides):
    data = form_data(
        id_number=person.id_number,
        name=person.name,
        phone=person.phone,
        kind=person.kind,
        certificate_no=person.certificate_no,
        certificate_valid_from="",
        certificate_valid_to="",
        regions=[],
        specialities="",
        version=person.updated_at.isoformat(),
    )
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("office", 403),
        ("auditor", 403),
        ("inspector", 403),
        ("gaj_admin", 404),
    ],
)
def test_edit_permissions(org, people, user, status):
    person = people["scjgj"]
    client = org.client(getattr(org, user))
    assert client.get(edit(person)).status_code == status
    response = client.post(edit(person), _edit_data(person, name="改名"))
    assert response.status_code == (302 if status == 200 else status)
    person.refresh_from_db()
    assert (person.name == "改名") == (status == 200)


def test_edit_form_shows_clear_data_to_owner(org, people):
    person = people["scjgj"]
    html = org.client(org.scjgj_admin).get(edit(person)).content.decode()
    assert person.id_number in html and person.phone in html


def test_stale_edit(org, people):
    person = people["scjgj"]
    stale = _edit_data(person, name="后提交")
    org.client(org.scjgj_head).post(edit(person), _edit_data(person, name="先提交"))
    response = org.client(org.scjgj_admin).post(edit(person), stale)
    html = response.content.decode()
    assert "该记录已被他人修改，请刷新后重试" in html and 'value="后提交"' in html
    person.refresh_from_db()
    assert person.name == "先提交"


def test_edit_duplicate_id(org, people):
    person = people["scjgj"]
    response = org.client(org.scjgj_admin).post(
        edit(person), _edit_data(person, id_number=people["gaj"].id_number)
    )
    assert "该身份证号已在执法人员名录库中（所在部门：州公安局）" in response.content.decode()


def test_deactivate_and_activate(org, people):
    person = people["scjgj"]
    url = reverse("directory:inspector_deactivate", args=[person.pk])
    client = org.client(org.scjgj_admin)
    for user, status in ((org.office, 403), (org.inspector, 403), (org.gaj_admin, 404)):
        assert (
            org.client(user)
            .post(url, {"reason": "x", "version": person.updated_at.isoformat()})
            .status_code
            == status
        )
    response = client.post(
        url, {"reason": "", "version": person.updated_at.isoformat()}, follow=True
    )
    assert "请填写停用原因" in response.content.decode()
    response = client.post(
        url, {"reason": "调离本单位", "version": person.updated_at.isoformat()}, follow=True
    )
    assert "已停用" in response.content.decode()
    person.refresh_from_db()
    assert not person.active
    audit = AuditEntry.objects.get(object_type="directory.inspector", action="remove")
    assert audit.note == "调离本单位"
    assert person.name not in org.client(org.office).get(LIST).content.decode()
    assert person.name in org.client(org.office).get(LIST + "?active=0").content.decode()
    activate = reverse("directory:inspector_activate", args=[person.pk])
    assert org.client(org.office).post(activate).status_code == 403
    assert client.post(activate).status_code == 302
    person.refresh_from_db()
    assert person.active


def test_mask_audit_entries_for_the_audit_log(org, people):
    """The helper the jurisdiction-wide audit log can use: the office sees entries masked."""
    from shuangsuiji.core.models import AuditEntry
    from shuangsuiji.directory.selectors import mask_audit_entries

    person = people["scjgj"]
    services.update_inspector(
        user=org.scjgj_admin,
        inspector=person,
        data={"phone": "13711112222"},
        expected_updated_at=None,
    )
    [office_view] = mask_audit_entries(org.office, AuditEntry.objects.select_related("department"))
    assert office_view.after["phone"] == mask_phone("13711112222")
    assert office_view.after["id_number"] == mask_id_number(person.id_number)
    [owner_view] = mask_audit_entries(
        org.scjgj_admin, AuditEntry.objects.select_related("department")
    )
    assert owner_view.after["phone"] == "13711112222"
