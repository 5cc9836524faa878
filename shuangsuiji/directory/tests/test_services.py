import datetime

import pytest
from django.core.exceptions import PermissionDenied

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.directory import identifiers, services
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target

from .helpers import id_number, make_inspector, make_target, regno, uscc


def audits(obj):
    from shuangsuiji.core import audit

    return list(audit.history(obj))


# ----------------------------------------------------------------------------------------------
# Targets


def test_add_new_code_needs_master_fields(org):
    code = uscc(10)
    with pytest.raises(services.TargetNotInMaster):
        services.add_target(user=org.scjgj_admin, department=org.scjgj, code=code)
    assert not Target.objects.exists()
    target, entry, outcome = services.add_target(
        user=org.scjgj_admin,
        department=org.scjgj,
        code=f" {code.lower()} ",
        tags="食品、餐饮",
        data={"name": "新公司", "industry": "5211", "region": org.korla, "risk_class": "B"},
    )
    assert outcome == "created"
    assert target.code == code and target.code_kind == "uscc" and target.object_kind == "company"
    assert target.industry == "F5211" and target.jurisdiction == org.prefecture
    assert entry.tag_list == ["食品", "餐饮"] and entry.department == org.scjgj
    [create] = audits(target)
    assert (
        create.action == "create"
        and create.after["name"] == "新公司"
        and create.department == org.scjgj
    )
    [entry_audit] = audits(entry)
    assert entry_audit.action == "create" and entry_audit.user == org.scjgj_admin


def test_add_existing_code_links_without_touching_master(org):
    target = make_target(org, name="老公司", departments=(org.scjgj,))
    found, entry, outcome = services.add_target(
        user=org.gaj_admin, department=org.gaj, code=target.code
    )
    assert (found, outcome) == (target, "linked")
    assert entry.department == org.gaj and entry.active
    assert Target.objects.get().name == "老公司"
    _, _, outcome = services.add_target(
        user=org.gaj_admin, department=org.gaj, code=target.code, tags="治安"
    )
    assert outcome == "already"
    assert DirectoryEntry.objects.get(department=org.gaj).tag_list == ["治安"]


def test_add_removed_entry_readds(org):
    target = make_target(org, departments=(org.gaj,))
    entry = target.entries.get()
    services.remove_from_directory(user=org.gaj_admin, entry=entry, reason="已注销")
    _, entry, outcome = services.add_target(
        user=org.gaj_admin, department=org.gaj, code=target.code
    )
    assert outcome == "readded" and entry.active and entry.removed_at is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91652801000000019Y", "统一社会信用代码校验位错误：应为 X，实际为 Y"),
        ("9165280100O000019X", "非法字符“O”"),
        (regno(1)[:-1] + str((int(regno(1)[-1]) + 1) % 10), "注册号校验位错误"),
        ("", "编码不能为空"),
    ],
)
def test_add_bad_code(org, code, message):
    with pytest.raises(services.DirectoryError) as info:
        services.add_target(
            user=org.scjgj_admin, department=org.scjgj, code=code, data={"name": "x"}
        )
    assert message in info.value.message and info.value.field == "code"
    assert not Target.objects.exists() and not AuditEntry.objects.exists()


def test_letter_prefixed_and_regno_and_other_codes_accepted(org):
    social = identifiers.make_uscc("5", "1", "652801", "MJ000001")
    for code, kind, object_kind in (
        (social, "uscc", "social"),
        (regno(2), "regno", "company"),
        ("项目-2026-01", "other", "non_market"),
    ):
        target, _, _ = services.add_target(
            user=org.scjgj_admin, department=org.scjgj, code=code, data={"name": code}
        )
        assert (target.code_kind, target.object_kind) == (kind, object_kind)


@pytest.mark.parametrize("user", ["office", "auditor", "inspector", "gaj_admin"])
def test_add_refused(org, user):
    with pytest.raises(PermissionDenied):
        services.add_target(
            user=getattr(org, user), department=org.scjgj, code=uscc(), data={"name": "x"}
        )


def test_update_target_audits_and_refuses_stale(org):
    target = make_target(org, name="旧名", departments=(org.scjgj,))
    version = target.updated_at
    services.update_target(
        user=org.scjgj_head,
        target=target,
        data={"name": "新名", "complaints": 3},
        expected_updated_at=version,
    )
    target.refresh_from_db()
    assert target.name == "新名" and target.complaints == 3
    [change] = audits(target)
    assert (
        change.action == "update"
        and change.before["name"] == "旧名"
        and change.after["name"] == "新名"
    )
    assert change.department == org.scjgj
    # A second form rendered before that save is now stale.
    with pytest.raises(services.StaleEdit) as info:
        services.update_target(
            user=org.scjgj_admin, target=target, data={"name": "覆盖"}, expected_updated_at=version
        )
    assert info.value.message == "该记录已被他人修改，请刷新后重试"
    target.refresh_from_db()
    assert target.name == "新名" and len(audits(target)) == 1


def test_update_without_change_writes_nothing(org):
    target = make_target(org, name="同名", departments=(org.scjgj,))
    services.update_target(
        user=org.scjgj_admin,
        target=target,
        data={"name": "同名"},
        expected_updated_at=target.updated_at,
    )
    assert audits(target) == []


def test_update_target_refused(org):
    target = make_target(org, departments=(org.scjgj,))
    for user in (org.gaj_admin, org.office, org.inspector, org.auditor):
        with pytest.raises(PermissionDenied):
            services.update_target(
                user=user, target=target, data={"name": "x"}, expected_updated_at=None
            )
    # A department that removed the target can no longer edit the master record.
    entry = target.entries.get()
    services.remove_from_directory(user=org.scjgj_admin, entry=entry, reason="迁出")
    with pytest.raises(PermissionDenied):
        services.update_target(
            user=org.scjgj_admin, target=target, data={"name": "x"}, expected_updated_at=None
        )


def test_update_target_bad_industry(org):
    target = make_target(org, departments=(org.scjgj,))
    with pytest.raises(services.DirectoryError) as info:
        services.update_target(
            user=org.scjgj_admin, target=target, data={"industry": "Z99"}, expected_updated_at=None
        )
    assert info.value.field == "industry"


def test_tags_remove_readd(org):
    target = make_target(org, departments=(org.gaj,), tags=("a",))
    entry = target.entries.get()
    entry = services.set_entry_tags(
        user=org.gaj_admin,
        entry=entry,
        tags="重点, 治安；重点",
        expected_updated_at=entry.updated_at,
    )
    assert entry.tag_list == ["重点", "治安"]
    with pytest.raises(services.StaleEdit):
        services.set_entry_tags(
            user=org.gaj_admin, entry=entry, tags="x", expected_updated_at=target.updated_at
        )
    with pytest.raises(services.DirectoryError, match="请填写出库原因"):
        services.remove_from_directory(user=org.gaj_admin, entry=entry, reason="  ")
    entry = services.remove_from_directory(user=org.gaj_admin, entry=entry, reason="已迁出本州")
    assert not entry.active and entry.removed_at and entry.removed_reason == "已迁出本州"
    assert DirectoryEntry.objects.filter(pk=entry.pk).exists()  # kept, not deleted
    with pytest.raises(services.DirectoryError, match="已出库"):
        services.set_entry_tags(user=org.gaj_admin, entry=entry, tags="x", expected_updated_at=None)
    entry = services.readd_to_directory(user=org.gaj_admin, entry=entry)
    assert entry.active and entry.tag_list == ["重点", "治安"]
    actions = [(e.action, e.note) for e in reversed(audits(entry))]
    assert actions == [("update", "修改标签"), ("remove", "已迁出本州"), ("update", "重新入库")]


def test_entry_writes_refused_for_other_department(org):
    target = make_target(org, departments=(org.gaj,))
    entry = target.entries.get()
    for user in (org.scjgj_admin, org.office, org.auditor):
        with pytest.raises(PermissionDenied):
            services.remove_from_directory(user=user, entry=entry, reason="x")
        with pytest.raises(PermissionDenied):
            services.set_entry_tags(user=user, entry=entry, tags="x", expected_updated_at=None)


def test_tag_too_long(org):
    target = make_target(org, departments=(org.gaj,))
    with pytest.raises(services.DirectoryError, match="过长"):
        services.set_entry_tags(
            user=org.gaj_admin, entry=target.entries.get(), tags="长" * 41, expected_updated_at=None
        )


# ----------------------------------------------------------------------------------------------
# Inspectors


def inspector_data(**overrides):
    data = {
        "kind": "inspector",
        "id_number": id_number(1),
        "name": "王五",
        "phone": "138 1234 5678",
        "certificate_no": "XJ001",
        "certificate_valid_from": datetime.date(2024, 1, 1),
        "certificate_valid_to": datetime.date(2029, 1, 1),
        "regions": ["652801", "652822"],
        "specialities": "食品、药品",
        "tags": "",
        "available": True,
    }
    data.update(overrides)
    return data


def test_create_inspector(org):
    inspector = services.create_inspector(
        user=org.scjgj_admin, department=org.scjgj, data=inspector_data()
    )
    assert inspector.phone == "13812345678"
    assert inspector.regions == "|652801|652822|" and inspector.specialities == "|食品|药品|"
    assert inspector.gender == "M"  # 17th digit odd (sequence 001)
    [entry] = audits(inspector)
    assert entry.action == "create" and entry.department == org.scjgj


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"id_number": "652801198503070012"}, "id_number", "身份证号校验位错误"),
        ({"id_number": "652801198502300011"}, "id_number", "出生日期无效"),
        ({"phone": "1381234567"}, "phone", "手机号码应为11位"),
        ({"certificate_valid_to": datetime.date(2023, 1, 1)}, "certificate_valid_to", "不能早于"),
        ({"name": "  "}, "name", "姓名不能为空"),
    ],
)
def test_create_inspector_bad_input(org, overrides, field, message):
    with pytest.raises(services.DirectoryError) as info:
        services.create_inspector(
            user=org.scjgj_admin, department=org.scjgj, data=inspector_data(**overrides)
        )
    assert info.value.field == field and message in info.value.message
    assert not Inspector.objects.exists()


def test_duplicate_id_number_names_only_the_department(org):
    existing = make_inspector(org, department=org.scjgj, name="保密姓名", id_number=id_number(5))
    with pytest.raises(services.DirectoryError) as info:
        services.create_inspector(
            user=org.gaj_admin,
            department=org.gaj,
            data=inspector_data(id_number=existing.id_number.lower()),
        )
    assert info.value.message == "该身份证号已在执法人员名录库中（所在部门：州市场监督管理局）"
    assert "保密姓名" not in info.value.message
    assert Inspector.objects.count() == 1


def test_duplicate_id_number_on_edit(org):
    a = make_inspector(org, id_number=id_number(7))
    b = make_inspector(org, id_number=id_number(8), active=False)
    with pytest.raises(services.DirectoryError, match="已停用"):
        services.update_inspector(
            user=org.scjgj_admin,
            inspector=a,
            data={"id_number": b.id_number},
            expected_updated_at=a.updated_at,
        )


def test_update_inspector_stale_and_audit(org):
    inspector = make_inspector(org, phone="13800000000")
    version = inspector.updated_at
    services.update_inspector(
        user=org.scjgj_head,
        inspector=inspector,
        data={"phone": "13900000000"},
        expected_updated_at=version,
    )
    [change] = audits(inspector)
    assert change.before["phone"] == "13800000000" and change.after["phone"] == "13900000000"
    with pytest.raises(services.StaleEdit):
        services.update_inspector(
            user=org.scjgj_admin,
            inspector=inspector,
            data={"phone": "13700000000"},
            expected_updated_at=version,
        )


@pytest.mark.parametrize("user", ["office", "auditor", "inspector", "gaj_admin"])
def test_inspector_writes_refused(org, user):
    inspector = make_inspector(org)
    user = getattr(org, user)
    with pytest.raises(PermissionDenied):
        services.create_inspector(user=user, department=org.scjgj, data=inspector_data())
    with pytest.raises(PermissionDenied):
        services.update_inspector(
            user=user, inspector=inspector, data={"name": "x"}, expected_updated_at=None
        )
    with pytest.raises(PermissionDenied):
        services.deactivate_inspector(user=user, inspector=inspector, reason="x")


def test_deactivate_and_reactivate(org):
    inspector = make_inspector(org)
    with pytest.raises(services.DirectoryError, match="停用原因"):
        services.deactivate_inspector(user=org.scjgj_admin, inspector=inspector, reason="")
    services.deactivate_inspector(user=org.scjgj_admin, inspector=inspector, reason="调离")
    inspector.refresh_from_db()
    assert not inspector.active
    services.reactivate_inspector(user=org.scjgj_admin, inspector=inspector)
    inspector.refresh_from_db()
    assert inspector.active
    assert [(e.action, e.note) for e in reversed(audits(inspector))] == [
        ("remove", "调离"),
        ("update", "重新启用"),
    ]
