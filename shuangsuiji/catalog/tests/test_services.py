"""Item list services: validation, versions, refusals, the joint list, and their audit entries."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from shuangsuiji.catalog import services
from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core.models import AuditEntry

from .helpers import draft_with_items, item_data, published_list

Status = ItemList.Status


def entries(obj):
    return list(
        AuditEntry.objects.filter(
            object_type=f"catalog.{obj._meta.model_name}", object_id=str(obj.pk)
        ).order_by("id")
    )


# --- validation ---------------------------------------------------------------------------------


def test_clean_accepts_display_words():
    cleaned, errors = services.clean_item_fields(
        item_data(item_type="重点", item_class="b类", methods="实地核查，书面检查 网络监测")
    )
    assert errors == {}
    assert cleaned["item_type"] == "key"
    assert cleaned["item_class"] == "B"
    # Stored in the seed's order whatever the order typed.
    assert cleaned["methods"] == "书面检查、网络监测、实地核查"


def test_clean_accepts_a_list_of_methods():
    cleaned, errors = services.clean_item_fields(item_data(methods=["其他", "书面检查"]))
    assert errors == {}
    assert cleaned["methods"] == "书面检查、其他"


@pytest.mark.parametrize(
    "field,label",
    [
        ("category", "抽查类别"),
        ("name", "检查事项"),
        ("target_type", "检查对象"),
        ("subject", "检查主体"),
        ("basis", "检查依据"),
        ("item_type", "事项类别"),
        ("item_class", "事项分类"),
        ("methods", "检查方式"),
    ],
)
def test_clean_requires_each_required_column(field, label):
    _, errors = services.clean_item_fields(item_data(**{field: "   "}))
    assert field in errors
    assert label in errors[field]


def test_clean_frequency_and_content_may_be_blank():
    _, errors = services.clean_item_fields(item_data(frequency="", content=None))
    assert errors == {}


@pytest.mark.parametrize("value", ["D", "A+", "一般", "AB"])
def test_clean_rejects_bad_class(value):
    _, errors = services.clean_item_fields(item_data(item_class=value))
    assert "只能是A类、B类或C类" in errors["item_class"]


def test_clean_rejects_unknown_method_and_names_it():
    _, errors = services.clean_item_fields(item_data(methods="实地核查、电话抽查"))
    assert "电话抽查" in errors["methods"]
    assert "书面检查、网络监测、实地核查、其他" in errors["methods"]


def test_clean_rejects_bad_item_type():
    _, errors = services.clean_item_fields(item_data(item_type="特别重要"))
    assert "一般检查事项" in errors["item_type"]


def test_clean_class_must_match_item_type():
    _, errors = services.clean_item_fields(item_data(item_class="A", item_type="重点检查事项"))
    assert "A类" in errors["item_class"] and "一般检查事项" in errors["item_class"]
    _, errors = services.clean_item_fields(item_data(item_class="B", item_type="一般检查事项"))
    assert "B类" in errors["item_class"] and "重点检查事项" in errors["item_class"]
    # C items are joint items, of either weight.
    for item_type in ("一般检查事项", "重点检查事项"):
        assert services.clean_item_fields(item_data(item_class="C", item_type=item_type))[1] == {}


def test_clean_reports_length_and_keeps_html_as_text():
    _, errors = services.clean_item_fields(item_data(name="长" * 301))
    assert errors["name"] == "检查事项不能超过300个字（现有301个字）。"
    cleaned, errors = services.clean_item_fields(item_data(name="<b>加粗</b>\x00事项"))
    assert errors == {}
    assert cleaned["name"] == "<b>加粗</b>事项"  # control characters dropped, HTML kept as typed


# --- items and codes ----------------------------------------------------------------------------


def test_create_item_codes_and_audit(org):
    draft = services.draft_for_import(user=org.scjgj_admin, department=org.scjgj)
    assert (draft.version, draft.status) == (1, Status.DRAFT)
    first = services.create_item(user=org.scjgj_admin, item_list=draft, data=item_data())
    second = services.create_item(
        user=org.scjgj_admin, item_list=draft, data=item_data(name="食品经营许可检查")
    )
    assert (first.code, second.code) == ("SCJGJ-001", "SCJGJ-002")
    assert (first.seq, second.seq) == (1, 2)
    assert services.next_item_code(draft) == "SCJGJ-003"
    [entry] = entries(first)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.before is None
    assert entry.after["name"] == "食品生产企业生产条件检查"
    assert entry.after["methods"] == "书面检查、实地核查"
    assert entry.department == org.scjgj
    assert entry.user == org.scjgj_admin


def test_create_item_refuses_bad_data_and_saves_nothing(org):
    draft = services.draft_for_import(user=org.scjgj_admin, department=org.scjgj)
    with pytest.raises(services.ItemInvalid) as exc:
        services.create_item(
            user=org.scjgj_admin, item_list=draft, data=item_data(name="", item_class="X")
        )
    assert set(exc.value.errors) == {"name", "item_class"}
    assert "检查事项" in str(exc.value)
    assert not draft.items.exists()


def test_create_item_refuses_duplicate_in_list(org):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    with pytest.raises(services.ItemInvalid) as exc:
        services.create_item(user=org.scjgj_admin, item_list=draft, data=item_data(category="其他"))
    assert "SCJGJ-001" in exc.value.errors["name"]


def test_update_item_audits_before_and_after(org):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    item = draft.items.get()
    services.update_item(user=org.scjgj_head, item=item, data=item_data(frequency="每年两次"))
    item.refresh_from_db()
    assert item.frequency == "每年两次"
    assert item.code == "SCJGJ-001"
    update = entries(item)[-1]
    assert update.action == AuditEntry.Action.UPDATE
    assert update.before["frequency"] == "每年一次"
    assert update.after["frequency"] == "每年两次"
    assert [f for f, _, _ in update.changed_fields()] == ["frequency"]
    # Saving the same values writes no entry.
    services.update_item(user=org.scjgj_head, item=item, data=item_data(frequency="每年两次"))
    assert len(entries(item)) == 2


def test_delete_item_audits_and_never_reuses_code(org):
    draft = draft_with_items(
        org.scjgj_admin, org.scjgj, [item_data(name=f"事项{i}") for i in range(3)]
    )
    last = draft.items.get(code="SCJGJ-003")
    services.delete_item(user=org.scjgj_admin, item=last)
    assert not Item.objects.filter(pk=last.pk).exists()
    deleted = entries(last)[-1]
    assert deleted.action == AuditEntry.Action.DELETE
    assert deleted.before["code"] == "SCJGJ-003" and deleted.after is None
    new = services.create_item(user=org.scjgj_admin, item_list=draft, data=item_data(name="新事项"))
    assert new.code == "SCJGJ-004"


def test_next_item_codes_counts_past_999(org):
    draft = services.draft_for_import(user=org.gaj_admin, department=org.gaj)
    Item.objects.create(
        item_list=draft, code="GAJ-999", **services.clean_item_fields(item_data())[0]
    )
    assert services.next_item_codes(draft, 2) == ["GAJ-1000", "GAJ-1001"]


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["gaj_admin", "inspector", "auditor", "office"])
def test_only_own_department_admins_edit_a_draft(org, who):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    user = getattr(org, who)
    with pytest.raises(PermissionDenied):
        services.create_item(user=user, item_list=draft, data=item_data(name="别人的事项"))
    with pytest.raises(PermissionDenied):
        services.update_item(user=user, item=draft.items.get(), data=item_data(name="改"))
    with pytest.raises(PermissionDenied):
        services.delete_item(user=user, item=draft.items.get())
    with pytest.raises(PermissionDenied):
        services.publish_list(user=user, item_list=draft)
    with pytest.raises(PermissionDenied):
        services.new_version(user=user, department=org.scjgj)
    with pytest.raises(PermissionDenied):
        services.draft_for_import(user=user, department=org.scjgj)
    assert draft.items.get().name == "食品生产企业生产条件检查"


@pytest.mark.parametrize("who", ["scjgj_admin", "scjgj_head", "gaj_admin", "inspector", "auditor"])
def test_only_the_office_builds_the_joint_list(org, who):
    with pytest.raises(PermissionDenied):
        services.build_joint_list(user=getattr(org, who))
    with pytest.raises(PermissionDenied):
        services.new_joint_version(user=getattr(org, who))
    assert not ItemList.objects.filter(department__isnull=True).exists()


# --- versions -----------------------------------------------------------------------------------


def test_publish_then_new_version_copies_items_with_codes(org):
    v1 = published_list(org.scjgj_admin, org.scjgj, [item_data(), item_data(name="第二项")])
    assert v1.status == Status.PUBLISHED and v1.published_by == org.scjgj_admin
    v2 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    assert (v2.version, v2.status) == (2, Status.DRAFT)
    assert list(v2.items.values_list("code", "name")) == list(v1.items.values_list("code", "name"))
    assert set(v2.items.values_list("pk", flat=True)).isdisjoint(
        v1.items.values_list("pk", flat=True)
    )
    # Audited: the new list, and each copied item with its origin.
    [created] = entries(v2)
    assert created.action == AuditEntry.Action.CREATE and "复制自第1版" in created.note
    copied = v2.items.get(code="SCJGJ-002")
    assert entries(copied)[0].note == "新版本第2版，复制自第1版"
    # A new item in v2 continues the sequence.
    new = services.create_item(user=org.scjgj_admin, item_list=v2, data=item_data(name="第三项"))
    assert new.code == "SCJGJ-003"


def test_only_one_draft_per_department(org):
    services.new_version(user=org.scjgj_admin, department=org.scjgj)
    with pytest.raises(services.CatalogError, match="已有草稿（第1版）"):
        services.new_version(user=org.scjgj_head, department=org.scjgj)
    # draft_for_import reuses it instead.
    assert services.draft_for_import(user=org.scjgj_head, department=org.scjgj).version == 1
    assert ItemList.objects.filter(department=org.scjgj).count() == 1
    # The database refuses a second draft too (a race past the service check).
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemList.objects.create(jurisdiction=org.prefecture, department=org.scjgj, version=2)


def test_draft_for_import_copies_latest_published(org):
    published_list(org.scjgj_admin, org.scjgj, [item_data()])
    draft = services.draft_for_import(user=org.scjgj_admin, department=org.scjgj)
    assert (draft.version, draft.status) == (2, Status.DRAFT)
    assert list(draft.items.values_list("code", flat=True)) == ["SCJGJ-001"]


def test_publish_supersedes_previous_and_requires_note_from_v2(org):
    v1 = published_list(org.scjgj_admin, org.scjgj, [item_data()])
    v2 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    with pytest.raises(services.CatalogError, match="调整说明"):
        services.publish_list(user=org.scjgj_admin, item_list=v2, note="  ")
    v2.refresh_from_db()
    assert v2.status == Status.DRAFT
    services.publish_list(user=org.scjgj_head, item_list=v2, note="依据新修订的食品安全法调整")
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == Status.SUPERSEDED
    assert (v2.status, v2.note, v2.published_by) == (
        Status.PUBLISHED,
        "依据新修订的食品安全法调整",
        org.scjgj_head,
    )
    superseded = entries(v1)[-1]
    assert superseded.action == AuditEntry.Action.UPDATE
    assert (superseded.before["status"], superseded.after["status"]) == ("published", "superseded")
    published = entries(v2)[-1]
    assert published.action == AuditEntry.Action.PUBLISH
    assert (published.before["status"], published.after["status"]) == ("draft", "published")
    assert published.note == "依据新修订的食品安全法调整"


def test_publish_refuses_empty_list(org):
    draft = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    with pytest.raises(services.CatalogError, match="没有抽查事项"):
        services.publish_list(user=org.scjgj_admin, item_list=draft)


def test_published_list_is_never_edited_in_place(org):
    v1 = published_list(org.scjgj_admin, org.scjgj, [item_data()])
    item = v1.items.get()
    with pytest.raises(services.CatalogError, match="不是草稿"):
        services.create_item(user=org.scjgj_admin, item_list=v1, data=item_data(name="新"))
    with pytest.raises(services.CatalogError, match="不是草稿"):
        services.update_item(user=org.scjgj_admin, item=item, data=item_data(name="改"))
    with pytest.raises(services.CatalogError, match="不是草稿"):
        services.delete_item(user=org.scjgj_admin, item=item)
    with pytest.raises(services.CatalogError, match="不是草稿"):
        services.discard_draft(user=org.scjgj_admin, item_list=v1)
    item.refresh_from_db()
    assert item.name == "食品生产企业生产条件检查"
    assert v1.items.count() == 1


def test_two_publishes_of_the_same_draft(org):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    stale = ItemList.objects.get(pk=draft.pk)  # a second browser tab, loaded before the publish
    services.publish_list(user=org.scjgj_admin, item_list=draft)
    assert stale.status == Status.DRAFT
    with pytest.raises(services.CatalogError, match="不是草稿"):
        services.publish_list(user=org.scjgj_head, item_list=stale)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PUBLISH).count() == 1
    draft.refresh_from_db()
    assert draft.published_by == org.scjgj_admin


def test_edit_after_publish_with_a_stale_page(org):
    draft = draft_with_items(org.scjgj_admin, org.scjgj, [item_data()])
    stale_item = Item.objects.select_related("item_list").get(item_list=draft)
    services.publish_list(user=org.scjgj_head, item_list=draft)
    assert stale_item.item_list.status == Status.DRAFT  # what the stale page believes
    with pytest.raises(services.CatalogError):
        services.update_item(user=org.scjgj_admin, item=stale_item, data=item_data(name="改"))
    with pytest.raises(services.CatalogError):
        services.create_item(
            user=org.scjgj_admin, item_list=stale_item.item_list, data=item_data(name="新")
        )
    assert Item.objects.get(pk=stale_item.pk).name == "食品生产企业生产条件检查"


def test_discard_draft_deletes_it_and_audits(org):
    published_list(org.scjgj_admin, org.scjgj, [item_data()])
    v2 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    copied = v2.items.get()
    services.discard_draft(user=org.scjgj_admin, item_list=v2)
    assert not ItemList.objects.filter(pk=v2.pk).exists()
    assert entries(v2)[-1].action == AuditEntry.Action.DELETE
    assert entries(copied)[-1].before["code"] == "SCJGJ-001"
    # The next new version is version 2 again, copied from the published v1.
    assert services.new_version(user=org.scjgj_admin, department=org.scjgj).version == 2


# --- the joint list -----------------------------------------------------------------------------


def _joint_sources(org):
    """SCJGJ and GAJ both publish a C item on 餐饮服务单位 / 食品安全; SCJGJ also one on 药品零售企业."""
    scjgj = published_list(
        org.scjgj_admin,
        org.scjgj,
        [
            item_data(
                item_class="C",
                name="餐饮服务食品安全检查",
                target_type="餐饮服务单位",
                methods="实地核查",
            ),
            item_data(
                item_class="C",
                category="药品安全",
                name="药品经营检查",
                target_type="药品零售企业",
                item_type="重点检查事项",
            ),
            item_data(item_class="A", name="只属于本部门的A类事项"),
        ],
    )
    gaj = published_list(
        org.gaj_admin,
        org.gaj,
        [
            item_data(
                item_class="C",
                name="餐饮场所消防与治安检查",
                target_type="餐饮服务单位 ",
                methods="书面检查",
                subject="州公安局",
                item_type="重点检查事项",
                basis="《中华人民共和国消防法》第五十三条",
            ),
        ],
    )
    return scjgj, gaj


def test_build_joint_list_merges_same_target_and_category(org):
    scjgj, gaj = _joint_sources(org)
    # A C item still in a draft is not used.
    services.new_version(user=org.gaj_admin, department=org.gaj)
    services.create_item(
        user=org.gaj_admin,
        item_list=ItemList.objects.get(department=org.gaj, status=Status.DRAFT),
        data=item_data(item_class="C", name="草稿中的联合事项", target_type="网吧"),
    )
    joint = services.build_joint_list(user=org.office)
    assert (joint.department, joint.version, joint.status) == (None, 1, Status.DRAFT)
    lines = list(joint.items.order_by("code"))
    assert [line.code for line in lines] == ["LH-001", "LH-002"]
    food, drugs = lines
    assert food.item_class == "C"
    assert food.name == "餐饮服务食品安全检查；餐饮场所消防与治安检查"
    assert food.item_type == "key"  # one source is 重点
    assert food.methods == "书面检查、实地核查"
    assert food.subject == "州市场监督管理局、州公安局"
    assert "《中华人民共和国消防法》第五十三条" in food.basis
    assert {s.item_list.department.code for s in food.source_items.all()} == {"SCJGJ", "GAJ"}
    assert [s.code for s in drugs.source_items.all()] == ["SCJGJ-002"]
    created = entries(food)[0]
    assert created.action == AuditEntry.Action.CREATE
    assert sorted(created.after["source_items"]) == sorted(s.pk for s in food.source_items.all())


def test_build_joint_list_without_merging(org):
    _joint_sources(org)
    joint = services.build_joint_list(user=org.office, merge=False)
    assert joint.items.count() == 3
    assert all(line.source_items.count() == 1 for line in joint.items.all())


def test_rebuild_keeps_codes_and_follows_new_published_versions(org):
    _joint_sources(org)
    joint = services.build_joint_list(user=org.office)
    services.publish_list(user=org.office, item_list=joint)
    # Rebuilding right away into a new draft changes nothing but copies v1.
    draft = services.build_joint_list(user=org.office)
    assert draft.version == 2
    assert list(draft.items.values_list("code", flat=True).order_by("code")) == ["LH-001", "LH-002"]
    assert not AuditEntry.objects.filter(
        object_type="catalog.item",
        object_id__in=[str(pk) for pk in draft.items.values_list("pk", flat=True)],
        action=AuditEntry.Action.UPDATE,
    ).exists()
    # GAJ drops its C item in a new version; SCJGJ's drug item is no longer C.
    gaj_v2 = services.new_version(user=org.gaj_admin, department=org.gaj)
    services.delete_item(user=org.gaj_admin, item=gaj_v2.items.get())
    services.create_item(
        user=org.gaj_admin,
        item_list=gaj_v2,
        data=item_data(
            item_class="C",
            name="网吧治安检查",
            target_type="互联网上网服务营业场所",
            category="文化市场",
        ),
    )
    services.publish_list(user=org.gaj_admin, item_list=gaj_v2, note="调整联合事项")
    scjgj_v2 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    drug = scjgj_v2.items.get(code="SCJGJ-002")
    services.update_item(
        user=org.scjgj_admin,
        item=drug,
        data={
            **item_data(**{f: getattr(drug, f) for f, _ in services.ITEM_FIELDS}),
            "item_class": "B",
        },
    )
    services.publish_list(user=org.scjgj_admin, item_list=scjgj_v2, note="药品事项改为B类")

    draft = services.build_joint_list(user=org.office)
    lines = {line.code: line for line in draft.items.all()}
    assert set(lines) == {"LH-001", "LH-003"}
    assert lines["LH-001"].name == "餐饮服务食品安全检查"  # only SCJGJ's source left
    assert [s.item_list.version for s in lines["LH-001"].source_items.all()] == [2]
    assert lines["LH-003"].target_type == "互联网上网服务营业场所"
    update = [e for e in entries(lines["LH-001"]) if e.action == AuditEntry.Action.UPDATE][-1]
    assert len(update.before["source_items"]) == 2 and len(update.after["source_items"]) == 1
    assert (
        "源事项已不是已发布的C类事项"
        in AuditEntry.objects.filter(object_type="catalog.item", action=AuditEntry.Action.DELETE)
        .latest("id")
        .note
    )
    services.publish_list(user=org.office, item_list=draft, note="随部门清单调整")
    assert ItemList.objects.get(department__isnull=True, version=1).status == Status.SUPERSEDED


def test_joint_list_new_version_copies_sources(org):
    _joint_sources(org)
    v1 = services.publish_list(
        user=org.office, item_list=services.build_joint_list(user=org.office)
    )
    v2 = services.new_joint_version(user=org.office)
    line = v2.items.get(code="LH-001")
    assert {s.pk for s in line.source_items.all()} == {
        s.pk for s in v1.items.get(code="LH-001").source_items.all()
    }
    with pytest.raises(services.CatalogError, match="已有草稿"):
        services.new_joint_version(user=org.office)


def test_deleted_codes_stay_used_in_later_versions(org):
    published_list(org.scjgj_admin, org.scjgj, [item_data(name="一"), item_data(name="二")])
    v2 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    services.delete_item(user=org.scjgj_admin, item=v2.items.get(code="SCJGJ-002"))
    services.create_item(user=org.scjgj_admin, item_list=v2, data=item_data(name="三"))
    services.publish_list(user=org.scjgj_admin, item_list=v2, note="删除二，新增三")
    v3 = services.new_version(user=org.scjgj_admin, department=org.scjgj)
    assert services.next_item_code(v3) == "SCJGJ-004"


def test_delete_items_for_imports(org):
    draft = draft_with_items(org.gaj_admin, org.gaj, [item_data(name=f"事项{i}") for i in range(4)])
    doomed = list(draft.items.filter(code__in=["GAJ-003", "GAJ-004"]))
    assert (
        services.delete_items(user=org.gaj_admin, item_list=draft, items=doomed, note="导入：出库")
        == 2
    )
    assert list(draft.items.values_list("code", flat=True)) == ["GAJ-001", "GAJ-002"]
    assert AuditEntry.objects.filter(action="delete", note="导入：出库").count() == 2
    assert services.next_item_code(draft) == "GAJ-005"
    with pytest.raises(PermissionDenied):
        services.delete_items(user=org.scjgj_admin, item_list=draft, items=draft.items.all())


def test_office_wording_survives_rebuild_until_sources_change(org):
    _joint_sources(org)
    v1 = services.build_joint_list(user=org.office)
    line = v1.items.get(code="LH-001")
    fields = {f: getattr(line, f) for f, _ in services.ITEM_FIELDS}
    services.update_item(
        user=org.office, item=line, data={**fields, "name": "餐饮服务单位联合检查"}
    )
    with pytest.raises(services.ItemInvalid, match="只能是C类"):
        services.update_item(
            user=org.office, item=line, data={**fields, "item_class": "B", "item_type": "重点"}
        )
    with pytest.raises(services.CatalogError, match="重新生成"):
        services.create_item(user=org.office, item_list=v1, data=item_data(item_class="C"))
    services.publish_list(user=org.office, item_list=v1)

    # GAJ republishes the same items in a new version: the office's wording stays.
    gaj_v2 = services.new_version(user=org.gaj_admin, department=org.gaj)
    services.publish_list(user=org.gaj_admin, item_list=gaj_v2, note="复核，无变化")
    v2 = services.build_joint_list(user=org.office)
    line = v2.items.get(code="LH-001")
    assert line.name == "餐饮服务单位联合检查"
    assert {
        s.item_list.version for s in line.source_items.all() if s.item_list.department == org.gaj
    } == {2}

    # GAJ changes its item's content: the line is rebuilt from the sources.
    gaj_v3 = services.new_version(user=org.gaj_admin, department=org.gaj)
    gaj_item = gaj_v3.items.get()
    services.update_item(
        user=org.gaj_admin,
        item=gaj_item,
        data={
            **{f: getattr(gaj_item, f) for f, _ in services.ITEM_FIELDS},
            "frequency": "每半年一次",
        },
    )
    services.publish_list(user=org.gaj_admin, item_list=gaj_v3, note="调整频次")
    line = services.build_joint_list(user=org.office).items.get(code="LH-001")
    assert line.name == "餐饮服务食品安全检查；餐饮场所消防与治安检查"
    assert "每半年一次" in line.frequency
