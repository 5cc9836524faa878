import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict

from shuangsuiji.directory import selectors
from shuangsuiji.directory.models import DirectoryEntry, Target

from .helpers import make_inspector, make_target, regno, uscc

TODAY = datetime.date(2026, 6, 1)


@pytest.fixture
def world(org):
    """Five targets with distinct attributes; SCJGJ holds four, GAJ two."""
    t = {
        "a": make_target(
            org, code=uscc(1, "652801"), name="库尔勒市甲食品有限公司", industry="F5211", risk_class="A",
            departments=(org.scjgj,), tags=("食品",),
        ),
        "b": make_target(
            org, code=uscc(2, "652822"), name="轮台县乙餐饮店", region=org.luntai, industry="H6210",
            risk_class="C", object_kind="individual", abnormal=True, departments=(org.scjgj, org.gaj),
            tags=("餐饮", "食品"),
        ),
        "c": make_target(
            org, code=uscc(3, "652801"), name="丙化工有限公司", industry="C2614", risk_class="D",
            serious_illegal=True, complaints=7, reg_status="revoked", departments=(org.scjgj,),
        ),
        "d": make_target(
            org, code=regno(1), code_kind="regno", name="丁老字号商行", industry="F52",
            risk_class="B", departments=(org.gaj,), tags=("治安",),
        ),
        "e": make_target(org, code="XM-2026-001", code_kind="other", name="戊建设项目", object_kind="non_market"),
    }  # fmt: skip
    return t


def names(qs):
    return sorted(t.name[:1] + t.name[1:2] for t in qs)


def codes(qs):
    return {t.code for t in qs}


def run(user, query: str, **kwargs):
    params = QueryDict(query)
    return set(selectors.target_entries(user=user, params=params, **kwargs))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "abcde"),
        ("q=食品", "a"),
        ("q=乙餐饮", "b"),
        (f"q={uscc(3, '652801')[:17]}", "c"),
        ("q=9165280", "ac"),  # a code prefix: only codes starting so
        ("q=110105", "d"),
        ("q=xm", "e"),  # letters only: name or code prefix, case-insensitive
        ("region=652822", "b"),
        ("region=652800", "abcde"),  # the prefecture includes its counties
        ("section=F", "ad"),
        ("section=c", "c"),
        ("industry=F52", "ad"),
        ("industry=52", "ad"),  # without the letter
        ("industry=5211", "a"),
        ("industry=H62", "b"),
        ("risk=C&risk=D", "bc"),
        ("risk=a", "a"),
        ("kind=individual", "b"),
        ("kind=non_market&kind=individual", "be"),
        ("status=revoked", "c"),
        ("abnormal=1", "b"),
        ("serious=1", "c"),
        ("complaints=5", "c"),
        ("complaints=abc", "abcde"),  # garbage is ignored, not an error
        ("tag=食品", "ab"),
        ("tag=治安", "d"),
        ("department=GAJ", "bd"),
        ("department=GAJ&tag=食品", "b"),
        ("department=SCJGJ&risk=A&risk=C", "ab"),
    ],
)
def test_office_filters(org, world, query, expected):
    assert run(org.office, query) == {world[k] for k in expected}


def test_department_user_sees_own_directory_only(org, world):
    assert run(org.gaj_admin, "") == {world["b"], world["d"]}
    assert run(org.scjgj_admin, "") == {world["a"], world["b"], world["c"]}
    assert run(org.inspector, "") == {world["a"], world["b"], world["c"]}
    assert run(org.gaj_admin, "tag=食品") == {world["b"]}
    with pytest.raises(PermissionDenied):
        run(org.gaj_admin, "department=SCJGJ")
    assert run(org.gaj_admin, "department=gaj") == {world["b"], world["d"]}


def test_auditor_sees_master(org, world):
    assert run(org.auditor, "") == set(world.values())


def test_unknown_department_is_404(org, world):
    with pytest.raises(Http404):
        run(org.office, "department=NOPE")


def test_department_rows_carry_entry_tags(org, world):
    rows = {t.code: t for t in selectors.target_entries(user=org.gaj_admin, params={})}
    assert rows[world["b"].code].entry_tags == "|餐饮|食品|"
    assert (
        rows[world["d"].code].entry_id
        == DirectoryEntry.objects.get(department=org.gaj, target=world["d"]).pk
    )


def test_removed_entries(org, world):
    DirectoryEntry.objects.filter(department=org.gaj, target=world["d"]).update(active=False)
    assert run(org.gaj_admin, "") == {world["b"]}
    assert run(org.gaj_admin, "removed=1") == {world["d"]}
    # The master still lists it: 出库 is per department.
    assert world["d"] in run(org.office, "")


def test_plain_dict_params(org, world):
    """The export passes a dict; lists and comma-separated values work too."""
    qs = selectors.target_entries(user=org.office, params={"risk": ["C", "D"], "region": "652801"})
    assert set(qs) == {world["c"]}
    assert set(
        selectors.target_entries(user=org.office, params={"kind": "individual,non_market"})
    ) == {
        world["b"],
        world["e"],
    }


def test_counts(org, world):
    counts = selectors.target_counts(user=org.office, params={})
    assert counts["total"] == 5
    assert {v: n for v, _, n in counts["by_risk"]} == {"A": 1, "B": 1, "C": 1, "D": 1, "U": 1}
    assert counts["by_region_id"] == {org.korla.pk: 4, org.luntai.pk: 1}
    counts = selectors.target_counts(user=org.gaj_admin, params={"risk": "B"})
    assert counts["total"] == 1
    counts = selectors.target_counts(user=org.office, params={"department": "SCJGJ", "tag": "食品"})
    assert counts["total"] == 2


def test_counts_match_list_for_every_filter(org, world):
    for query in (
        "",
        "q=食品",
        "section=F",
        "abnormal=1",
        "tag=食品",
        "department=GAJ",
        "complaints=1",
    ):
        params = QueryDict(query)
        total = selectors.target_counts(user=org.office, params=params)["total"]
        assert total == selectors.target_entries(user=org.office, params=params).count(), query


def test_other_jurisdiction_invisible(org, world):
    from shuangsuiji.core.models import Jurisdiction

    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    Target.objects.create(
        jurisdiction=other,
        code=uscc(99, "650102"),
        code_kind="uscc",
        name="外地",
        object_kind="company",
    )
    assert len(run(org.office, "")) == 5
    foreign = Target.objects.get(name="外地")
    with pytest.raises(Http404):
        selectors.visible_target(user=org.office, pk=foreign.pk)


def test_visible_target(org, world):
    assert selectors.visible_target(user=org.office, pk=world["e"].pk) == world["e"]
    assert selectors.visible_target(user=org.gaj_admin, pk=world["d"].pk) == world["d"]
    for user, key in (
        (org.gaj_admin, "a"),
        (org.gaj_admin, "e"),
        (org.scjgj_admin, "d"),
        (org.inspector, "d"),
    ):
        with pytest.raises(Http404):
            selectors.visible_target(user=user, pk=world[key].pk)


def test_code_prefix_q_range():
    q = selectors.code_prefix_q("code", "91652Z")
    assert "91653" in str(q)  # Z carries into the previous character
    assert str(selectors.code_prefix_q("code", "ZZ")).count("code__lt") == 0
    assert "code__gte" not in str(selectors.code_prefix_q("code", "XM-"))  # outside the alphabet


# ----------------------------------------------------------------------------------------------
# Inspectors


@pytest.fixture
def people(org):
    d = datetime.date
    return {
        "valid": make_inspector(
            org, name="王有效", certificate_no="A1", certificate_valid_from=d(2024, 1, 1),
            certificate_valid_to=d(2028, 1, 1), regions="|652801|", specialities="|食品|", tags="|实地核查|",
        ),
        "expired": make_inspector(
            org, name="李过期", certificate_no="A2", certificate_valid_to=d(2025, 1, 1), regions="|652822|",
        ),
        "missing": make_inspector(org, name="赵无证", available=False, availability_note="病假"),
        "expert": make_inspector(org, name="钱专家", kind="expert", specialities="|特种设备|"),
        "gaj": make_inspector(
            org, department=org.gaj, name="孙公安", certificate_no="G1", certificate_valid_to=d(2027, 1, 1),
        ),
        "gone": make_inspector(org, name="周停用", active=False),
    }  # fmt: skip


def inspectors(user, query, **kwargs):
    return {
        i.name
        for i in selectors.inspector_list(user=user, params=QueryDict(query), today=TODAY, **kwargs)
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"王有效", "李过期", "赵无证", "钱专家", "孙公安"}),
        ("q=王", {"王有效"}),
        ("q=A", {"王有效", "李过期"}),
        ("department=GAJ", {"孙公安"}),
        ("kind=expert", {"钱专家"}),
        ("kind=inspector&department=SCJGJ", {"王有效", "李过期", "赵无证"}),
        ("region=652822", {"李过期"}),
        ("speciality=食品", {"王有效"}),
        ("tag=实地核查", {"王有效"}),
        ("cert=valid", {"王有效", "孙公安"}),
        ("cert=expired", {"李过期"}),
        ("cert=missing", {"赵无证", "钱专家"}),
        ("available=0", {"赵无证"}),
        ("active=0", {"周停用"}),
        ("active=all&q=周", {"周停用"}),
    ],
)
def test_inspector_filters(org, people, query, expected):
    assert inspectors(org.office, query) == expected


def test_inspector_scope(org, people):
    assert inspectors(org.gaj_admin, "") == {"孙公安"}
    assert inspectors(org.inspector, "") == {"王有效", "李过期", "赵无证", "钱专家"}
    with pytest.raises(PermissionDenied):
        inspectors(org.gaj_admin, "department=SCJGJ")


def test_inspector_search_by_id_number_only_for_own_admins(org, people):
    id_number = people["valid"].id_number
    assert inspectors(org.scjgj_admin, f"q={id_number}") == {"王有效"}
    # The office sees the ID masked, so it may not use it as a search oracle either.
    assert inspectors(org.office, f"q={id_number}") == set()
    assert inspectors(org.inspector, f"q={id_number}") == set()


def test_inspector_counts(org, people):
    qs = selectors.inspector_list(user=org.office, params={}, today=TODAY)
    assert selectors.inspector_counts(qs, TODAY) == {"total": 5, "valid": 2, "expired": 1}


def test_certificate_not_yet_valid_is_not_valid(org):
    make_inspector(
        org,
        name="未生效",
        certificate_no="X",
        certificate_valid_from=datetime.date(2026, 7, 1),
        certificate_valid_to=datetime.date(2030, 1, 1),
    )
    assert inspectors(org.office, "cert=valid") == set()
    qs = selectors.inspector_list(user=org.office, params={}, today=TODAY)
    assert selectors.inspector_counts(qs, TODAY) == {"total": 1, "valid": 0, "expired": 0}
