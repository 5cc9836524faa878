"""Item list pages: each role allowed or refused, bad input, escaping, the public page, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shuangsuiji.catalog import services
from shuangsuiji.catalog.models import Item, ItemList

from .helpers import draft_with_items, item_data, published_list

Status = ItemList.Status
ALL_USERS = ["office", "scjgj_admin", "scjgj_head", "gaj_admin", "inspector", "auditor"]


@pytest.fixture
def lists(org):
    """SCJGJ: v1 published (2 items) and a v2 draft with an extra item; GAJ: v1 published."""
    v1 = published_list(
        org.scjgj_admin,
        org.scjgj,
        [
            item_data(),
            item_data(
                name="药品经营检查", category="药品安全", item_class="C", target_type="药品零售企业"
            ),
        ],
    )
    draft = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    services.create_item(
        user=org.scjgj_admin, item_list=draft, data=item_data(name="草稿里的秘密事项")
    )
    gaj = published_list(
        org.gaj_admin, org.gaj, [item_data(name="娱乐场所治安检查", subject="州公安局")]
    )
    return {"v1": v1, "draft": draft, "gaj": gaj}


def post_item(client, url, **overrides):
    data = item_data(**overrides)
    methods = data.pop("methods")
    data["methods"] = methods.split("、") if isinstance(methods, str) else methods
    return client.post(url, data)


# --- reading ------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(org, lists):
    client = org.client(None)
    for url in (reverse("catalog:lists"), reverse("catalog:detail", args=[lists["v1"].pk])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("who", ALL_USERS)
def test_index_for_every_role(org, lists, who):
    response = org.client(getattr(org, who)).get(reverse("catalog:lists"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "州市场监督管理局" in body and "州公安局" in body
    assert "联合抽查事项清单" in body
    draft_link = reverse("catalog:detail", args=[lists["draft"].pk])
    sees_draft = who in ("office", "scjgj_admin", "scjgj_head", "inspector", "auditor")
    assert (draft_link in body) == sees_draft


@pytest.mark.parametrize("who", ALL_USERS)
def test_published_list_readable_by_everyone_logged_in(org, lists, who):
    response = org.client(getattr(org, who)).get(reverse("catalog:detail", args=[lists["v1"].pk]))
    assert response.status_code == 200
    assert "食品生产企业生产条件检查" in response.content.decode()


@pytest.mark.parametrize(
    "who,status",
    [
        ("office", 200),
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("inspector", 200),
        ("auditor", 200),
        ("gaj_admin", 404),
    ],
)
def test_department_draft_visible_to_department_office_auditor_only(org, lists, who, status):
    client = org.client(getattr(org, who))
    response = client.get(reverse("catalog:detail", args=[lists["draft"].pk]))
    assert response.status_code == status
    item = lists["draft"].items.get(name="草稿里的秘密事项")
    assert client.get(reverse("catalog:item", args=[item.pk])).status_code == status
    assert client.get(reverse("catalog:versions", args=[lists["v1"].pk])).status_code == 200
    versions = client.get(reverse("catalog:versions", args=[lists["v1"].pk])).content.decode()
    assert ("第2版" in versions) == (status == 200)


def test_other_jurisdiction_cannot_read(org, lists):
    from shuangsuiji.core.models import Jurisdiction, User

    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    stranger = User.objects.create_user(username="stranger", role="office", jurisdiction=other)
    response = org.client(stranger).get(reverse("catalog:detail", args=[lists["v1"].pk]))
    assert response.status_code == 404


def test_edit_buttons_only_for_editors(org, lists):
    url = reverse("catalog:detail", args=[lists["draft"].pk])
    create = reverse("catalog:item_create", args=[lists["draft"].pk])
    assert create in org.client(org.scjgj_admin).get(url).content.decode()
    for who in ("office", "inspector", "auditor"):
        assert create not in org.client(getattr(org, who)).get(url).content.decode()


def test_filters_and_search(org, lists):
    client = org.client(org.scjgj_admin)
    url = reverse("catalog:detail", args=[lists["v1"].pk])
    body = client.get(url, {"class": "C"}).content.decode()
    assert "药品经营检查" in body and "食品生产企业生产条件检查" not in body
    body = client.get(url, {"category": "食品安全"}).content.decode()
    assert "食品生产企业生产条件检查" in body and "药品经营检查" not in body
    body = client.get(url, {"q": "药品零售"}).content.decode()
    assert "药品经营检查" in body and "食品生产企业生产条件检查" not in body
    body = client.get(url, {"q": "不存在的事项", "class": "Z", "page": "abc"}).content.decode()
    assert "没有符合条件的事项" in body


def test_transfer_links_point_to_transfer_app(org, lists):
    body = (
        org.client(org.scjgj_admin)
        .get(reverse("catalog:detail", args=[lists["draft"].pk]))
        .content.decode()
    )
    assert "/transfer/import/items/?department=SCJGJ" in body
    assert "/transfer/export/items/?department=SCJGJ" in body
    assert "/transfer/template/items/" in body
    # Readers get export, not import.
    body = (
        org.client(org.gaj_admin)
        .get(reverse("catalog:detail", args=[lists["v1"].pk]))
        .content.decode()
    )
    assert "/transfer/import/items/?department=SCJGJ" not in body
    assert "/transfer/export/items/?department=SCJGJ" in body


# --- writing: who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,status", [("office", 403), ("inspector", 403), ("auditor", 403), ("gaj_admin", 404)]
)
def test_item_writes_refused_for_others(org, lists, who, status):
    draft = lists["draft"]
    item = draft.items.get(code="SCJGJ-001")
    client = org.client(getattr(org, who))
    assert client.get(reverse("catalog:item_create", args=[draft.pk])).status_code == status
    assert (
        post_item(client, reverse("catalog:item_create", args=[draft.pk]), name="闯入").status_code
        == status
    )
    assert (
        post_item(client, reverse("catalog:item_edit", args=[item.pk]), name="篡改").status_code
        == status
    )
    assert client.post(reverse("catalog:item_delete", args=[item.pk])).status_code == status
    assert (
        client.post(reverse("catalog:publish", args=[draft.pk]), {"note": "x"}).status_code
        == status
    )
    assert client.post(reverse("catalog:discard", args=[draft.pk])).status_code == status
    item.refresh_from_db()
    draft.refresh_from_db()
    assert item.name == "食品生产企业生产条件检查"
    assert draft.status == Status.DRAFT
    assert not Item.objects.filter(name__in=["闯入", "篡改"]).exists()


def test_gaj_admin_refused_on_scjgj_published_list(org, lists):
    """GAJ can read SCJGJ's published list but not change it (403), nor start its new version."""
    client = org.client(org.gaj_admin)
    v1 = lists["v1"]
    assert post_item(client, reverse("catalog:item_create", args=[v1.pk])).status_code == 403
    assert client.post(reverse("catalog:new_version", args=[org.scjgj.pk])).status_code == 403


def test_department_admin_adds_edits_deletes_items(org, lists):
    client = org.client(org.scjgj_head)
    draft = lists["draft"]
    response = post_item(
        client, reverse("catalog:item_create", args=[draft.pk]), name="新增的检查事项"
    )
    assert response.status_code == 302
    item = draft.items.get(name="新增的检查事项")
    assert item.code == "SCJGJ-004"
    response = post_item(
        client,
        reverse("catalog:item_edit", args=[item.pk]),
        name="改过的检查事项",
        frequency="每季度",
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.name, item.frequency) == ("改过的检查事项", "每季度")
    body = client.get(reverse("catalog:item", args=[item.pk])).content.decode()
    assert "变更记录" in body and "每季度" in body and "scjgj_head" in body
    assert client.get(reverse("catalog:item_delete", args=[item.pk])).status_code == 200
    assert client.post(reverse("catalog:item_delete", args=[item.pk])).status_code == 302
    assert not Item.objects.filter(pk=item.pk).exists()


def test_edits_on_a_published_list_are_refused_with_a_message(org, lists):
    client = org.client(org.scjgj_admin)
    v1 = lists["v1"]
    item = v1.items.get(code="SCJGJ-001")
    response = post_item(client, reverse("catalog:item_edit", args=[item.pk]), name="偷偷改")
    assert response.status_code == 302
    follow = client.get(response["Location"]).content.decode()
    assert "不是草稿" in follow and "新版本" in follow
    item.refresh_from_db()
    assert item.name == "食品生产企业生产条件检查"
    assert client.post(reverse("catalog:item_delete", args=[item.pk])).status_code == 302
    assert Item.objects.filter(pk=item.pk).exists()


# --- bad input ----------------------------------------------------------------------------------


def test_missing_fields_give_chinese_errors_and_keep_input(org, lists):
    client = org.client(org.scjgj_admin)
    url = reverse("catalog:item_create", args=[lists["draft"].pk])
    response = client.post(url, {"name": "只填了名称", "item_class": "A"})
    assert response.status_code == 200
    body = response.content.decode()
    for message in (
        "请填写抽查类别。",
        "请填写检查对象。",
        "请填写检查主体。",
        "请填写检查依据。",
        "请选择检查方式",
    ):
        assert message in body
    assert 'value="只填了名称"' in body  # nothing typed is lost
    assert not lists["draft"].items.filter(name="只填了名称").exists()


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"item_class": "D"}, "只能是A类、B类或C类"),
        ({"methods": ["实地核查", "电话抽查"]}, "电话抽查"),
        ({"item_type": "key", "item_class": "A"}, "A类事项是年度抽查比例10%以下的一般检查事项"),
        ({"item_type": "general", "item_class": "B"}, "B类事项是年度抽查比例10%以上的重点检查事项"),
        ({"name": "名" * 301}, "检查事项不能超过300个字"),
        ({"name": "食品生产企业生产条件检查"}, "本清单已有相同检查对象的同名检查事项（SCJGJ-001）"),
    ],
)
def test_bad_values_refused(org, lists, overrides, message):
    client = org.client(org.scjgj_admin)
    before = lists["draft"].items.count()
    response = post_item(
        client, reverse("catalog:item_create", args=[lists["draft"].pk]), **overrides
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert lists["draft"].items.count() == before


def test_html_in_name_is_stored_as_text_and_escaped(org, lists):
    client = org.client(org.scjgj_admin)
    name = '<script>alert("x")</script><b>加粗</b>'
    response = post_item(
        client, reverse("catalog:item_create", args=[lists["draft"].pk]), name=name
    )
    assert response.status_code == 302
    item = lists["draft"].items.get(name=name)  # stored verbatim
    for url in (
        reverse("catalog:detail", args=[lists["draft"].pk]),
        reverse("catalog:item", args=[item.pk]),
    ):
        body = client.get(url).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;加粗&lt;/b&gt;" in body
        assert "<script>alert" not in body


def test_bad_compare_parameters(org, lists):
    client = org.client(org.scjgj_admin)
    response = client.get(reverse("catalog:compare"), {"old": "x", "new": "1"})
    assert response.status_code == 302
    response = client.get(
        reverse("catalog:compare"), {"old": lists["gaj"].pk, "new": lists["v1"].pk}
    )
    assert response.status_code == 302
    assert "只能比较同一份清单" in client.get(response["Location"]).content.decode()
    # A draft the user cannot see cannot be compared either.
    response = org.client(org.gaj_admin).get(
        reverse("catalog:compare"), {"old": lists["v1"].pk, "new": lists["draft"].pk}
    )
    assert response.status_code == 404


# --- versions and publishing --------------------------------------------------------------------


def test_compare_two_versions(org, lists):
    draft = lists["draft"]
    client = org.client(org.scjgj_admin)
    drug = draft.items.get(code="SCJGJ-002")
    post_item(
        client,
        reverse("catalog:item_edit", args=[drug.pk]),
        name="药品经营检查",
        category="药品安全",
        item_class="C",
        target_type="药品零售企业",
        frequency="每年两次",
    )
    client.post(reverse("catalog:item_delete", args=[draft.items.get(code="SCJGJ-001").pk]))
    response = client.get(reverse("catalog:compare"), {"old": draft.pk, "new": lists["v1"].pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "第1版 → 第2版" in body  # ordered by version whatever the order asked
    assert (
        "新增 <strong>1</strong> 项，删除 <strong>1</strong> 项，修改 <strong>1</strong> 项" in body
    )
    assert "草稿里的秘密事项" in body and "每年两次" in body


def test_publish_flow_with_confirmation_and_note(org, lists):
    client = org.client(org.scjgj_admin)
    draft = lists["draft"]
    url = reverse("catalog:publish", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "确认发布" in page and "第1版将标记为" in page and "草稿里的秘密事项" in page
    response = client.post(url, {"note": ""})
    assert response.status_code == 200
    assert "第2版起发布须填写调整说明" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    response = client.post(url, {"note": "新增一项"})
    assert response.status_code == 302
    draft.refresh_from_db()
    lists["v1"].refresh_from_db()
    assert (draft.status, lists["v1"].status) == (Status.PUBLISHED, Status.SUPERSEDED)
    # Publishing again (a second tab) is refused with a message.
    response = client.post(url, {"note": "再次发布"})
    assert response.status_code == 302
    assert "不是草稿" in client.get(response["Location"]).content.decode()
    draft.refresh_from_db()
    assert draft.note == "新增一项"


def test_new_version_button(org, lists):
    client = org.client(org.gaj_admin)
    gaj = lists["gaj"]
    assert "新版本" in client.get(reverse("catalog:detail", args=[gaj.pk])).content.decode()
    url = reverse("catalog:new_version", args=[org.gaj.pk])
    assert client.get(url).status_code == 405
    response = client.post(url)
    draft = ItemList.objects.get(department=org.gaj, status=Status.DRAFT)
    assert response["Location"] == reverse("catalog:detail", args=[draft.pk])
    assert draft.version == 2 and draft.items.count() == 1
    response = client.post(url)
    assert "已有草稿（第2版）" in client.get(response["Location"]).content.decode()
    # Discarding the draft brings the button back.
    assert client.post(reverse("catalog:discard", args=[draft.pk])).status_code == 302
    assert not ItemList.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize("who", ["scjgj_admin", "gaj_admin", "inspector", "auditor"])
def test_joint_build_refused_for_non_office(org, lists, who):
    client = org.client(getattr(org, who))
    assert client.post(reverse("catalog:joint_build")).status_code == 403
    assert client.post(reverse("catalog:joint_new_version")).status_code == 403
    assert not ItemList.objects.filter(department__isnull=True).exists()


def test_office_builds_and_publishes_joint_list(org, lists):
    gaj_v2 = services.new_version(user=org.gaj_admin, department=org.gaj)
    services.create_item(
        user=org.gaj_admin,
        item_list=gaj_v2,
        data=item_data(
            name="药品零售企业治安检查",
            category="药品安全",
            item_class="C",
            target_type="药品零售企业",
        ),
    )
    services.publish_list(user=org.gaj_admin, item_list=gaj_v2, note="新增联合事项")
    client = org.client(org.office)
    response = client.post(reverse("catalog:joint_build"), {"merge": "1"})
    joint = ItemList.objects.get(department__isnull=True)
    assert response["Location"] == reverse("catalog:detail", args=[joint.pk])
    body = client.get(response["Location"]).content.decode()
    assert "来源部门" in body and "州市场监督管理局" in body and "州公安局" in body
    line = joint.items.get()
    assert line.code == "LH-001" and line.source_items.count() == 2
    # A department admin sees the joint list only once published.
    assert (
        org.client(org.gaj_admin).get(reverse("catalog:detail", args=[joint.pk])).status_code == 404
    )
    assert (
        org.client(org.auditor).get(reverse("catalog:detail", args=[joint.pk])).status_code == 200
    )
    response = client.post(reverse("catalog:publish", args=[joint.pk]), {"note": ""})
    assert response.status_code == 302
    assert (
        org.client(org.gaj_admin).get(reverse("catalog:detail", args=[joint.pk])).status_code == 200
    )
    # Department admins cannot edit joint lines: the published ones are read-only to them (403),
    # the office's draft is not even visible (404).
    published_line = joint.items.get()
    assert (
        post_item(
            org.client(org.scjgj_admin), reverse("catalog:item_edit", args=[published_line.pk])
        ).status_code
        == 403
    )
    draft = services.new_joint_version(user=org.office)
    line = draft.items.get()
    assert (
        post_item(
            org.client(org.scjgj_admin), reverse("catalog:item_edit", args=[line.pk])
        ).status_code
        == 404
    )
    assert (
        post_item(
            client,
            reverse("catalog:item_edit", args=[line.pk]),
            name="联合检查",
            item_class="C",
            category="药品安全",
            target_type="药品零售企业",
        ).status_code
        == 302
    )


# --- public -------------------------------------------------------------------------------------


def test_public_page_shows_only_published_lists_without_user_names(org, lists):
    client = org.client(None)
    response = client.get(reverse("catalog:public"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "州市场监督管理局" in body and "州公安局" in body
    assert reverse("catalog:public_detail", args=[lists["v1"].pk]) in body
    assert reverse("catalog:public_detail", args=[lists["draft"].pk]) not in body
    detail = client.get(reverse("catalog:public_detail", args=[lists["v1"].pk])).content.decode()
    assert "食品生产企业生产条件检查" in detail
    assert "草稿里的秘密事项" not in detail
    for username in ("scjgj_admin", "scjgj_head", "gaj_admin"):
        assert username not in body and username not in detail
    assert "变更记录" not in detail  # the audit trail names users: internal only
    assert client.get(reverse("catalog:public_detail", args=[lists["draft"].pk])).status_code == 404
    assert client.get(reverse("catalog:public_detail", args=[999999])).status_code == 404


def test_public_page_shows_superseded_version_marked(org, lists):
    services.publish_list(user=org.scjgj_admin, item_list=lists["draft"], note="新增")
    body = (
        org.client(None)
        .get(reverse("catalog:public_detail", args=[lists["v1"].pk]))
        .content.decode()
    )
    assert "已被新版本替代" in body


# --- queries ------------------------------------------------------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_detail_page_queries_do_not_grow_with_items(org, django_assert_num_queries):
    draft = draft_with_items(
        org.scjgj_admin, org.scjgj, [item_data(name=f"事项{i}") for i in range(3)]
    )
    client = org.client(org.scjgj_admin)
    url = reverse("catalog:detail", args=[draft.pk])
    few = _count_queries(client, url)
    for i in range(3, 60):
        services.create_item(user=org.scjgj_admin, item_list=draft, data=item_data(name=f"事项{i}"))
    with django_assert_num_queries(few):
        client.get(url)
    # session, user, department (nav), list, count, page, categories, counts, history, has-draft
    assert few <= 10


def test_joint_detail_queries_do_not_grow_with_sources(org, django_assert_num_queries):
    items = [item_data(name=f"联合{i}", item_class="C", target_type=f"对象{i}") for i in range(3)]
    published_list(org.scjgj_admin, org.scjgj, items)
    published_list(org.gaj_admin, org.gaj, items)
    joint = services.build_joint_list(user=org.office)
    client = org.client(org.office)
    url = reverse("catalog:detail", args=[joint.pk])
    few = _count_queries(client, url)
    services.discard_draft(user=org.office, item_list=joint)
    more = [
        item_data(name=f"联合{i}", item_class="C", target_type=f"对象{i}") for i in range(3, 30)
    ]
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        draft = services.new_version(user=user, department=dept)
        for data in more:
            services.create_item(user=user, item_list=draft, data=data)
        services.publish_list(user=user, item_list=draft, note="扩充")
    joint = services.build_joint_list(user=org.office)
    assert joint.items.count() == 30
    with django_assert_num_queries(few):
        client.get(reverse("catalog:detail", args=[joint.pk]))


def test_index_queries_do_not_grow_with_departments(org, lists, django_assert_num_queries):
    from shuangsuiji.core.models import Department

    client = org.client(org.office)
    few = _count_queries(client, reverse("catalog:lists"))
    for i in range(10):
        dept = Department.objects.create(
            jurisdiction=org.prefecture, code=f"D{i}", name=f"部门{i}", sort_order=10 + i
        )
        admin = type(org.scjgj_admin).objects.create_user(
            username=f"d{i}", role="dept_admin", jurisdiction=org.prefecture, department=dept
        )
        published_list(admin, dept, [item_data()])
    with django_assert_num_queries(few):
        client.get(reverse("catalog:lists"))
