import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.directory.models import DirectoryEntry, Target

from .helpers import make_target, uscc

LIST = reverse("directory:targets")
ADD = reverse("directory:target_add")


def detail(t):
    return reverse("directory:target_detail", args=[t.pk])


def edit(t):
    return reverse("directory:target_edit", args=[t.pk])


@pytest.fixture
def targets(org):
    return {
        "scjgj": make_target(
            org, name="市场局对象", departments=(org.scjgj,), tags=("食品",), risk_class="C"
        ),
        "gaj": make_target(org, name="公安局对象", departments=(org.gaj,), tags=("治安",)),
        "both": make_target(org, name="共有对象", departments=(org.scjgj, org.gaj)),
        "master": make_target(org, name="仅总库对象"),
    }


def test_anonymous_redirected_to_login(org, targets):
    for url in (LIST, detail(targets["scjgj"]), ADD, edit(targets["scjgj"])):
        response = org.client(None).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("user", "visible", "hidden"),
    [
        ("office", ["市场局对象", "公安局对象", "共有对象", "仅总库对象"], []),
        ("auditor", ["市场局对象", "公安局对象", "共有对象", "仅总库对象"], []),
        ("scjgj_admin", ["市场局对象", "共有对象"], ["公安局对象", "仅总库对象"]),
        ("scjgj_head", ["市场局对象", "共有对象"], ["公安局对象", "仅总库对象"]),
        ("inspector", ["市场局对象", "共有对象"], ["公安局对象", "仅总库对象"]),
        ("gaj_admin", ["公安局对象", "共有对象"], ["市场局对象", "仅总库对象"]),
    ],
)
def test_list_per_role(org, targets, user, visible, hidden):
    response = org.client(getattr(org, user)).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    for name in visible:
        assert name in html
    for name in hidden:
        assert name not in html
    assert "/transfer/export/targets/?" in html and "/transfer/template/targets/" in html
    assert 'class="table-responsive"' in html


def test_list_links_for_editors_only(org, targets):
    html = org.client(org.scjgj_admin).get(LIST + "?risk=C").content.decode()
    assert "/transfer/import/targets/?department=SCJGJ" in html and ADD in html
    assert "/transfer/export/targets/?risk=C" in html
    for user in (org.office, org.inspector, org.auditor):
        html = org.client(user).get(LIST).content.decode()
        assert "/transfer/import/targets/" not in html and ADD not in html


def test_office_picks_department(org, targets):
    html = org.client(org.office).get(LIST + "?department=GAJ").content.decode()
    assert "公安局对象" in html and "市场局对象" not in html and "治安" in html


def test_department_user_asking_for_other_department_is_refused(org, targets):
    assert org.client(org.gaj_admin).get(LIST + "?department=SCJGJ").status_code == 403
    assert org.client(org.office).get(LIST + "?department=NOPE").status_code == 404


def test_list_counts_and_paging(org):
    for i in range(120):
        make_target(
            org,
            code=uscc(1000 + i),
            risk_class="ABCD"[i % 4],
            region=org.luntai if i % 3 else org.korla,
        )
    response = org.client(org.office).get(LIST + "?page=3")
    page = response.context["page"]
    assert page.paginator.count == 120 and page.number == 3 and len(page.object_list) == 20
    counts = response.context["counts"]
    assert counts["total"] == 120 and [n for _, _, n in counts["by_risk"]] == [30, 30, 30, 30, 0]
    assert dict(response.context["by_region"]) == {"轮台县": 80, "库尔勒市": 40}
    # Paging keeps the filters.
    response = org.client(org.office).get(LIST + "?risk=A&risk=B")
    assert response.context["counts"]["total"] == 60
    assert "?risk=A&amp;risk=B&amp;page=2" in response.content.decode()
    # A page number out of range shows the last page, not an error.
    assert org.client(org.office).get(LIST + "?page=999").context["page"].number == 3
    assert org.client(org.office).get(LIST + "?page=abc").status_code == 200


@pytest.mark.parametrize("user", ["office", "scjgj_admin", "gaj_admin"])
def test_list_query_count_is_pinned(org, user, django_assert_num_queries):
    for i in range(60):
        make_target(org, code=uscc(2000 + i), departments=(org.scjgj, org.gaj), tags=("食品",))
    client = org.client(getattr(org, user))
    client.get(LIST)  # warm the session
    # session, user, [the user's department], counts, regions, page rows, [the office's department
    # list, base.html's user.department, and the office's jurisdiction that scopes what it sees]:
    # constant, whatever the number of rows.
    expected = {"office": 8, "scjgj_admin": 6, "gaj_admin": 6}[user]
    with django_assert_num_queries(expected):
        response = client.get(LIST + "?tag=食品&risk=U")
    assert response.status_code == 200 and len(response.context["page"].object_list) == 50


def test_office_department_list_query_count(org, django_assert_num_queries):
    for i in range(60):
        make_target(org, code=uscc(3000 + i), departments=(org.gaj,))
    client = org.client(org.office)
    client.get(LIST)
    with django_assert_num_queries(9):  # as above, plus the department looked up by its code
        response = client.get(LIST + "?department=GAJ")
    assert len(response.context["page"].object_list) == 50


def test_html_in_names_is_escaped(org):
    target = make_target(
        org, name="<script>alert(1)</script>公司", departments=(org.scjgj,), tags=("<b>x</b>",)
    )
    for url in (LIST, detail(target)):
        html = org.client(org.scjgj_admin).get(url).content.decode()
        assert (
            "<script>alert(1)</script>" not in html
            and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        )
        assert "<b>x</b>" not in html


# ----------------------------------------------------------------------------------------------
# Detail


@pytest.mark.parametrize(
    ("user", "key", "status"),
    [
        ("office", "gaj", 200),
        ("office", "master", 200),
        ("auditor", "gaj", 200),
        ("scjgj_admin", "scjgj", 200),
        ("scjgj_admin", "gaj", 404),
        ("scjgj_admin", "master", 404),
        ("inspector", "scjgj", 200),
        ("inspector", "gaj", 404),
        ("gaj_admin", "scjgj", 404),
        ("gaj_admin", "both", 200),
    ],
)
def test_detail_visibility(org, targets, user, key, status):
    assert org.client(getattr(org, user)).get(detail(targets[key])).status_code == status


def test_detail_missing_is_404(org):
    assert org.client(org.office).get("/directory/targets/999999/").status_code == 404


def test_detail_shows_fields_and_entries_per_role(org, targets):
    target = targets["both"]
    html = org.client(org.office).get(detail(target)).content.decode()
    for label in (
        "统一社会信用代码/注册号",
        "市场主体类型",
        "登记机关",
        "法定代表人/负责人",
        "信用风险分类",
        "投诉举报次数",
    ):
        assert label in html
    assert "州市场监督管理局" in html and "州公安局" in html
    html = org.client(org.gaj_admin).get(detail(target)).content.decode()
    entries = html.split('id="target-entries"')[1].split("</ul>")[0]
    assert "州公安局" in entries and "州市场监督管理局" not in entries


def test_detail_edit_controls_only_for_holding_department_editors(org, targets):
    target = targets["both"]
    html = org.client(org.gaj_admin).get(detail(target)).content.decode()
    assert edit(target) in html and 'id="remove-form"' in html and 'id="tags-form"' in html
    for user in (org.office, org.inspector, org.auditor):
        html = org.client(user).get(detail(target)).content.decode()
        assert edit(target) not in html and 'id="remove-form"' not in html


def test_detail_history_shows_target_and_own_entry(org, targets):
    target = targets["both"]
    client = org.client(org.gaj_admin)
    client.post(edit(target), _edit_data(target, name="改过的名字"))
    entry = DirectoryEntry.objects.get(target=target, department=org.gaj)
    client.post(
        reverse("directory:target_tags", args=[target.pk]),
        {"tags": "新标签", "version": entry.updated_at.isoformat()},
    )
    entry_scjgj = DirectoryEntry.objects.get(target=target, department=org.scjgj)
    org.client(org.scjgj_admin).post(
        reverse("directory:target_tags", args=[target.pk]),
        {"tags": "市场局私有标签", "version": entry_scjgj.updated_at.isoformat()},
    )
    html = client.get(detail(target)).content.decode()
    history = html.split("变更记录")[1]
    assert "改过的名字" in history and "新标签" in history
    assert "市场局私有标签" not in history  # another department's entry
    assert "市场局私有标签" in org.client(org.office).get(detail(target)).content.decode()


# ----------------------------------------------------------------------------------------------
# Add


def test_add_refused_for_non_editors(org):
    for user in (org.office, org.inspector, org.auditor):
        assert org.client(user).get(ADD).status_code == 403
        assert org.client(user).post(ADD, {"code": uscc()}).status_code == 403


def test_add_bad_uscc_shows_check_char(org):
    response = org.client(org.scjgj_admin).post(ADD, {"code": "91652801000000019Y", "tags": "食品"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "统一社会信用代码校验位错误：应为 X，实际为 Y" in html
    assert 'value="91652801000000019Y"' in html and 'value="食品"' in html  # nothing lost
    assert not Target.objects.exists()


def test_add_existing_code_links(org, targets):
    target = targets["scjgj"]
    response = org.client(org.gaj_admin).post(ADD, {"code": target.code.lower(), "tags": "重点"})
    assert response.status_code == 302 and response["Location"] == detail(target)
    entry = DirectoryEntry.objects.get(target=target, department=org.gaj)
    assert entry.tag_list == ["重点"]
    assert AuditEntry.objects.filter(
        object_type="directory.directoryentry", object_id=str(entry.pk)
    ).exists()


def test_add_new_code_two_steps(org):
    client = org.client(org.gaj_admin)
    code = uscc(4242, kind="2")
    response = client.post(ADD, {"code": code})
    assert response.status_code == 200 and response.context["creating"]
    html = response.content.decode()
    assert 'name="step" value="create"' in html and "个体工商户" in html
    assert response.context["form"].initial["object_kind"] == "individual"
    # Second step with a bad industry code: the error, and the input is kept.
    data = {"step": "create", "code": code, "name": "新个体户", "object_kind": "individual", "reg_status": "active",
            "risk_class": "B", "industry": "Z1", "region": org.luntai.pk, "complaints": "2"}  # fmt: skip
    response = client.post(ADD, data)
    assert "国民经济行业代码不正确" in response.content.decode() and not Target.objects.exists()
    data["industry"] = "6210"
    response = client.post(ADD, data)
    target = Target.objects.get(code=code)
    assert response.status_code == 302 and response["Location"] == detail(target)
    assert (target.name, target.industry, target.region, target.complaints) == (
        "新个体户",
        "H6210",
        org.luntai,
        2,
    )
    assert DirectoryEntry.objects.get(target=target).department == org.gaj


def test_add_rejects_region_outside_jurisdiction(org):
    from shuangsuiji.core.models import Jurisdiction

    elsewhere = Jurisdiction.objects.create(code="650102", name="天山区", level="county")
    data = {"step": "create", "code": uscc(77), "name": "x", "object_kind": "company", "reg_status": "active",
            "risk_class": "U", "region": elsewhere.pk}  # fmt: skip
    response = org.client(org.scjgj_admin).post(ADD, data)
    assert response.status_code == 200 and not Target.objects.exists()
    assert "region" in response.context["form"].errors


# ----------------------------------------------------------------------------------------------
# Edit, tags, removal


def _edit_data(target, **overrides):
    data = {
        "version": target.updated_at.isoformat(),
        "name": target.name,
        "object_kind": target.object_kind,
        "reg_status": target.reg_status,
        "risk_class": target.risk_class,
        "region": target.region_id or "",
        "industry": target.industry,
        "complaints": target.complaints,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("office", 403),
        ("inspector", 403),
        ("auditor", 403),
        ("gaj_admin", 404),
    ],
)
def test_edit_permissions(org, targets, user, status):
    target = targets["scjgj"]
    client = org.client(getattr(org, user))
    assert client.get(edit(target)).status_code == status
    response = client.post(edit(target), _edit_data(target, name="被改"))
    assert response.status_code == (302 if status == 200 else status)
    target.refresh_from_db()
    assert (target.name == "被改") == (status == 200)


def test_edit_saves_and_audits(org, targets):
    target = targets["scjgj"]
    response = org.client(org.scjgj_admin).post(
        edit(target),
        _edit_data(target, name="新名称", abnormal="on", industry="c2614", complaints="4"),
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.name, target.abnormal, target.industry, target.complaints) == (
        "新名称",
        True,
        "C2614",
        4,
    )
    entry = AuditEntry.objects.get(object_type="directory.target", object_id=str(target.pk))
    assert (
        entry.action == "update"
        and entry.before["name"] == "市场局对象"
        and entry.after["abnormal"] is True
    )
    assert entry.user == org.scjgj_admin


def test_stale_edit_refused(org, targets):
    target = targets["both"]
    stale = _edit_data(target, name="市场局的修改")
    org.client(org.gaj_admin).post(edit(target), _edit_data(target, name="公安局先改了"))
    response = org.client(org.scjgj_admin).post(edit(target), stale)
    assert response.status_code == 200
    html = response.content.decode()
    assert "该记录已被他人修改，请刷新后重试" in html
    assert 'value="市场局的修改"' in html  # the user's input is still in the form
    target.refresh_from_db()
    assert target.name == "公安局先改了"


def test_edit_without_or_with_garbled_version_refused(org, targets):
    target = targets["scjgj"]
    client = org.client(org.scjgj_admin)
    data = _edit_data(target, name="x")
    del data["version"]
    assert "表单缺少版本信息" in client.post(edit(target), data).content.decode()
    assert (
        "版本信息无效" in client.post(edit(target), {**data, "version": "garbage"}).content.decode()
    )
    target.refresh_from_db()
    assert target.name == "市场局对象"


def test_edit_bad_input(org, targets):
    target = targets["scjgj"]
    response = org.client(org.scjgj_admin).post(
        edit(target), _edit_data(target, name="", established="2015-13-40", complaints="-1")
    )
    form = response.context["form"]
    assert set(form.errors) >= {"name", "established", "complaints"}
    assert "成立日期格式不正确" in response.content.decode()


def test_tags_and_stale_tags(org, targets):
    target = targets["scjgj"]
    entry = DirectoryEntry.objects.get(target=target, department=org.scjgj)
    url = reverse("directory:target_tags", args=[target.pk])
    client = org.client(org.scjgj_admin)
    version = entry.updated_at.isoformat()
    assert client.post(url, {"tags": "食品，重点", "version": version}).status_code == 302
    entry.refresh_from_db()
    assert entry.tag_list == ["食品", "重点"]
    response = client.post(url, {"tags": "覆盖", "version": version})
    assert (
        response.status_code == 400
        and "该记录已被他人修改，请刷新后重试" in response.content.decode()
    )
    assert org.client(org.gaj_admin).post(url, {"tags": "x", "version": version}).status_code == 404
    assert org.client(org.office).post(url, {"tags": "x", "version": version}).status_code == 403
    assert client.get(url).status_code == 405


def test_remove_and_readd(org, targets):
    target = targets["both"]
    entry = DirectoryEntry.objects.get(target=target, department=org.gaj)
    client = org.client(org.gaj_admin)
    url = reverse("directory:target_remove", args=[target.pk])
    response = client.post(url, {"reason": "", "version": entry.updated_at.isoformat()})
    assert response.status_code == 400 and "请填写出库原因" in response.content.decode()
    assert (
        client.post(url, {"reason": "已注销", "version": entry.updated_at.isoformat()}).status_code
        == 302
    )
    entry.refresh_from_db()
    assert not entry.active and entry.removed_reason == "已注销" and entry.removed_at
    audit = AuditEntry.objects.get(
        object_type="directory.directoryentry", object_id=str(entry.pk), action="remove"
    )
    assert (
        audit.note == "已注销" and audit.before["active"] is True and audit.after["active"] is False
    )
    # Gone from the department's list, still in the master and still in SCJGJ's directory.
    assert "共有对象" not in client.get(LIST).content.decode()
    assert "共有对象" in org.client(org.scjgj_admin).get(LIST).content.decode()
    # The department still reaches the record to re-add it.
    html = client.get(detail(target)).content.decode()
    assert "已出库" in html and 'id="readd-form"' in html
    assert (
        org.client(org.scjgj_admin)
        .post(reverse("directory:target_readd", args=[target.pk]))
        .status_code
        == 302
    )
    entry.refresh_from_db()
    assert not entry.active  # SCJGJ re-adding acts on its own entry only
    assert client.post(reverse("directory:target_readd", args=[target.pk])).status_code == 302
    entry.refresh_from_db()
    assert entry.active and entry.removed_at is None


def test_remove_refused_for_other_roles(org, targets):
    target = targets["scjgj"]
    url = reverse("directory:target_remove", args=[target.pk])
    for user, status in (
        (org.gaj_admin, 404),
        (org.office, 403),
        (org.inspector, 403),
        (org.auditor, 403),
    ):
        assert org.client(user).post(url, {"reason": "x", "version": "x"}).status_code == status
    assert DirectoryEntry.objects.get(target=target).active


def test_capture_no_queries_in_loop_for_detail(org, targets):
    """The detail page's query count does not grow with the number of entries."""
    from django.db import connection

    target = targets["both"]
    client = org.client(org.office)
    client.get(detail(target))
    with CaptureQueriesContext(connection) as two:
        client.get(detail(target))
    from shuangsuiji.core.models import Department

    for i in range(5):
        department = Department.objects.create(
            jurisdiction=org.prefecture, code=f"D{i}", name=f"部门{i}"
        )
        DirectoryEntry.objects.create(department=department, target=target)
    with CaptureQueriesContext(connection) as seven:
        client.get(detail(target))
    assert len(seven) == len(two)
