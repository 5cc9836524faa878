import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.planning import selectors, services
from shuangsuiji.planning.models import AnnualPlan, PlanLine, PublishedPlan

from .helpers import YEAR, accepted_plan, line_data, setup_lists, setup_targets

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def lists(org):
    return setup_lists(org)


@pytest.fixture
def plan(org, lists):
    return services.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)


def audit_actions(obj):
    from shuangsuiji.core import audit

    return [e.action for e in audit.history(obj)]


# --- scope, ratios, expected numbers ---------------------------------------------------------


def test_expected_counts_ceil_per_class():
    counts = services.expected_counts(
        {"A": 100, "B": 50, "C": 10, "D": 3}, {"A": 300, "B": 500, "C": 1500, "D": 3000}
    )
    # ceil(3) + ceil(2.5) + ceil(1.5) + ceil(0.9)
    assert counts["by_class"] == {"A": 3, "B": 3, "C": 2, "D": 1, "U": 0}
    assert counts["total"] == 9
    assert counts["population"] == 163
    assert services.expected_counts({"A": 7}, {"A": 0})["total"] == 0
    assert services.expected_counts({"A": 7}, {"A": 10000})["total"] == 7


def test_clean_scope_canonical_and_from_query_string(org):
    scope = services.clean_scope(
        "/directory/targets/?risk=d&risk=C&region=652801&page=3&abnormal=on",
        jurisdiction=org.prefecture,
    )
    assert scope == {"abnormal": "1", "region": "652801", "risk": ["C", "D"]}
    assert (
        services.clean_scope(
            {"risk": "C,D", "region": "652801", "abnormal": "1"}, jurisdiction=org.prefecture
        )
        == scope
    )
    assert services.clean_scope("", jurisdiction=org.prefecture) == {}


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"department": "GAJ"}, "department"),
        ({"removed": "1"}, "removed"),
        ({"colour": "red"}, "不支持"),
        ({"risk": "X"}, "信用风险分类"),
        ({"kind": "alien"}, "对象类别"),
        ({"region": "110101"}, "不在本辖区"),
        ({"section": "Z"}, "行业门类"),
        ({"industry": "F52;--"}, "行业代码"),
        ({"complaints": "-1"}, "正整数"),
        ({"abnormal": "maybe"}, "只能为 1"),
        ("{not json", "有效"),
        (["risk", "C"], "有效"),
    ],
)
def test_clean_scope_refuses_bad_filters(org, raw, message):
    with pytest.raises(services.PlanError, match=message):
        services.clean_scope(raw, jurisdiction=org.prefecture)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"A": 10001}, "超出"),
        ({"A": -1}, "超出"),
        ({"A": "3%"}, "整数基点"),
        ({"A": "2.5"}, "整数基点"),
        ({"E": 100}, "无效"),
        ({}, "至少填写"),
        ({"A": ""}, "至少填写"),
    ],
)
def test_clean_ratios_refuses_out_of_range(raw, message):
    with pytest.raises(services.PlanError, match=message):
        services.clean_ratios(raw)


def test_clean_ratios_accepts_bounds():
    assert services.clean_ratios({"a": 0, "D": "10000", "B": ""}) == {"A": 0, "D": 10000}


# --- plans and lines ------------------------------------------------------------------------


def test_create_line_counts_live_and_audits(org, lists, plan):
    setup_targets(org)
    scjgj_items, _ = lists
    line = services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(scjgj_items[:2]))
    assert line.expected_total == 9 and line.population_total == 163
    assert line.expected_by_class["B"] == 3
    assert line.seq == 1
    assert sorted(line.items.values_list("code", flat=True)) == [i.code for i in scjgj_items[:2]]
    assert audit_actions(line) == [AuditEntry.Action.CREATE]
    entry = AuditEntry.objects.get(object_type="planning.planline", object_id=str(line.pk))
    assert entry.after["items"] == [i.code for i in scjgj_items[:2]]
    # A narrower scope counts only those targets.
    line = services.update_line(
        user=org.scjgj_admin, line=line, data=line_data(scjgj_items[:2], scope="risk=D")
    )
    assert line.population_total == 3 and line.expected_total == 1
    assert audit_actions(line)[0] == AuditEntry.Action.UPDATE


def test_items_outside_the_published_list_are_refused(org, lists, plan):
    scjgj_items, gaj_items = lists
    with pytest.raises(services.LineInvalid) as exc:
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(gaj_items))
    assert "清单之外无事项" in exc.value.errors["items"]
    # A draft item (not yet published) is refused too.
    from shuangsuiji.catalog import services as catalog
    from shuangsuiji.catalog.tests.helpers import item_data

    draft = catalog.new_version(user=org.scjgj_admin, department=org.scjgj)
    draft_item = catalog.create_item(
        user=org.scjgj_admin, item_list=draft, data=item_data(name="新事项")
    )
    with pytest.raises(services.LineInvalid, match="清单之外无事项"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data([draft_item]))
    with pytest.raises(services.LineInvalid, match="请至少选择"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data([]))
    assert not PlanLine.objects.exists()


def test_no_published_list_means_no_lines(org, lists):
    from shuangsuiji.core.models import Department

    other = Department.objects.create(jurisdiction=org.prefecture, code="STHJJ", name="生态环境局")
    org.scjgj_admin.is_superuser = True  # may edit any department
    plan = services.create_plan(user=org.scjgj_admin, department=other, year=YEAR)
    with pytest.raises(services.LineInvalid, match="还没有已发布"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))


def test_line_validation_lists_every_problem(org, lists, plan):
    data = line_data(
        lists[0],
        plan_name="",
        scope={"department": "GAJ"},
        ratios={"A": 20000},
        period_start=datetime.date(YEAR + 1, 1, 1),
        period_end="not a date",
        kind="joint",
    )
    with pytest.raises(services.LineInvalid) as exc:
        services.create_line(user=org.scjgj_admin, plan=plan, data=data)
    assert set(exc.value.errors) >= {
        "plan_name",
        "scope",
        "ratios",
        "period_start",
        "period_end",
        "joint_departments",
    }


def test_credit_linked_needs_ratios_that_differ(org, lists, plan):
    data = line_data(lists[0], ratios=dict.fromkeys("ABCDU", 500), credit_linked=True)
    with pytest.raises(services.LineInvalid, match="应有差别"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=data)
    data["credit_linked"] = False
    assert services.create_line(user=org.scjgj_admin, plan=plan, data=data).credit_linked is False


def test_joint_line_departments(org, lists, plan):
    items = lists[0]
    line = services.create_line(
        user=org.scjgj_admin,
        plan=plan,
        data=line_data(items, kind="joint", joint_departments=[org.gaj.pk]),
    )
    assert line.type_label == "部门联合不定向抽查"
    assert list(line.joint_departments.all()) == [org.gaj]
    with pytest.raises(services.LineInvalid, match="部门内部"):
        services.create_line(
            user=org.scjgj_admin, plan=plan, data=line_data(items, joint_departments=[org.gaj.pk])
        )
    with pytest.raises(services.LineInvalid, match="至少选择一个其他部门"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(items, kind="joint"))


def test_only_own_department_edits(org, lists, plan):
    for user in (org.gaj_admin, org.office, org.auditor, org.inspector):
        with pytest.raises(PermissionDenied):
            services.create_line(user=user, plan=plan, data=line_data(lists[0]))
        with pytest.raises(PermissionDenied):
            services.submit_plan(user=user, plan=plan)
    with pytest.raises(PermissionDenied):
        services.create_plan(user=org.gaj_admin, department=org.scjgj, year=YEAR)
    # The head of the department may edit too.
    services.create_line(user=org.scjgj_head, plan=plan, data=line_data(lists[0]))


def test_one_open_version(org, lists, plan):
    with pytest.raises(services.PlanError, match="未采纳"):
        services.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)


# --- submit, return, accept, new version ---------------------------------------------------------


def test_submit_on_time_and_late(org, lists, plan):
    with pytest.raises(services.PlanError, match="还没有条目"):
        services.submit_plan(user=org.scjgj_admin, plan=plan)
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    on_time = datetime.datetime(YEAR, 1, 20, 23, 59, tzinfo=TZ)
    plan = services.submit_plan(user=org.scjgj_admin, plan=plan, now=on_time)
    assert plan.status == AnnualPlan.Status.SUBMITTED and not plan.late
    with pytest.raises(services.PlanError, match="不能修改"):
        services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    plan = services.return_plan(user=org.office, plan=plan, comments="请补充特种设备事项")
    assert plan.status == AnnualPlan.Status.RETURNED
    late = datetime.datetime(YEAR, 1, 21, 0, 1, tzinfo=TZ)
    plan = services.submit_plan(user=org.scjgj_admin, plan=plan, now=late)
    assert plan.late
    entry = AuditEntry.objects.filter(
        object_type="planning.annualplan", object_id=str(plan.pk)
    ).first()
    assert "逾期报送" in entry.note


def test_deadline_is_a_setting(org, lists, plan):
    services.save_settings(
        user=org.office,
        year=YEAR,
        department_deadline=datetime.date(YEAR, 2, 28),
        office_deadline=datetime.date(YEAR, 3, 30),
    )
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    plan = services.submit_plan(
        user=org.scjgj_admin, plan=plan, now=datetime.datetime(YEAR, 2, 1, tzinfo=TZ)
    )
    assert not plan.late


def test_settings_validation_and_permission(org):
    with pytest.raises(PermissionDenied):
        services.save_settings(
            user=org.scjgj_admin,
            year=YEAR,
            department_deadline=datetime.date(YEAR, 1, 20),
            office_deadline=datetime.date(YEAR, 3, 30),
        )
    with pytest.raises(services.PlanError, match="不能早于"):
        services.save_settings(
            user=org.office,
            year=YEAR,
            department_deadline=datetime.date(YEAR, 3, 1),
            office_deadline=datetime.date(YEAR, 2, 1),
        )
    with pytest.raises(services.PlanError, match="不在"):
        services.save_settings(
            user=org.office,
            year=YEAR,
            department_deadline=datetime.date(YEAR - 1, 12, 1),
            office_deadline=datetime.date(YEAR, 2, 1),
        )
    defaults = services.settings_for(org.prefecture, YEAR)
    assert defaults.pk is None and defaults.department_deadline == datetime.date(YEAR, 1, 20)
    assert defaults.office_deadline == datetime.date(YEAR, 3, 30)


def test_return_needs_comments_and_office(org, lists, plan):
    services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(lists[0]))
    with pytest.raises(services.PlanError, match="已报送"):
        services.accept_plan(user=org.office, plan=plan)
    services.submit_plan(user=org.scjgj_admin, plan=plan)
    with pytest.raises(services.PlanError, match="须填写意见"):
        services.return_plan(user=org.office, plan=plan, comments="  ")
    for user in (org.scjgj_admin, org.scjgj_head, org.gaj_admin, org.auditor):
        with pytest.raises(PermissionDenied):
            services.return_plan(user=user, plan=plan, comments="x")
        with pytest.raises(PermissionDenied):
            services.accept_plan(user=user, plan=plan)
    plan = services.accept_plan(user=org.office, plan=plan)
    assert plan.status == AnnualPlan.Status.ACCEPTED


def test_adjustment_is_a_new_version_with_copied_lines(org, lists):
    plan = accepted_plan(
        org,
        org.scjgj_admin,
        org.scjgj,
        [line_data(lists[0], joint_departments=[org.gaj.pk], kind="joint")],
    )
    v2 = services.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)
    assert v2.version == 2 and v2.status == AnnualPlan.Status.DRAFT
    copied = v2.lines.get()
    assert copied.pk != plan.lines.get().pk
    assert list(copied.joint_departments.all()) == [org.gaj]
    assert copied.items.count() == 3
    assert plan.lines.count() == 1  # the accepted version is untouched


# --- merging, checks and publishing ---------------------------------------------------------------


@pytest.fixture
def two_plans(org, lists):
    scjgj_items, gaj_items = lists
    scope = {"region": "652801", "risk": ["C", "D"]}
    scjgj = accepted_plan(
        org,
        org.scjgj_admin,
        org.scjgj,
        [
            line_data(scjgj_items[1:2], task_name="食品与特种设备检查", scope=scope),
            line_data(
                [scjgj_items[0], scjgj_items[2]],
                task_name="不关联信用的检查",
                credit_linked=False,
                ratios={"A": 1000},
            ),
        ],
    )
    gaj = accepted_plan(
        org, org.gaj_admin, org.gaj, [line_data(gaj_items, task_name="旅馆业治安检查", scope=scope)]
    )
    return scjgj, gaj


def test_merge_proposal_confirm_and_checks(org, lists, two_plans):
    lines = selectors.accepted_lines(org.prefecture, YEAR)
    proposals = selectors.merge_proposals(lines)
    assert len(proposals) == 1
    proposal = proposals[0]
    assert {line.task_name for line in proposal.lines} == {"食品与特种设备检查", "旅馆业治安检查"}
    checks = selectors.merge_checks(org.prefecture, YEAR)
    assert {d.code for d in checks.no_joint} == {"SCJGJ", "GAJ"}
    assert checks.credit_linked == 2 and checks.total_lines == 3 and checks.credit_ok
    assert [line.task_name for line in checks.a_class_over] == []
    assert checks.uncovered == {}

    entry = services.confirm_merge(
        user=org.office,
        year=YEAR,
        line_ids=[line.pk for line in proposal.lines],
        lead_department_id=org.gaj.pk,
    )
    assert entry.lead_department == org.gaj
    assert {d.code for d in entry.departments.all()} == {"SCJGJ", "GAJ"}
    assert selectors.merge_checks(org.prefecture, YEAR).no_joint == []
    assert selectors.merge_proposals(selectors.accepted_lines(org.prefecture, YEAR)) == []
    with pytest.raises(services.PlanError, match="已合并"):
        services.confirm_merge(
            user=org.office, year=YEAR, line_ids=[line.pk for line in proposal.lines]
        )
    assert audit_actions(entry) == [AuditEntry.Action.CREATE]


def test_merge_refusals(org, lists, two_plans):
    scjgj, gaj = two_plans
    a, b = scjgj.lines.order_by("seq")
    with pytest.raises(PermissionDenied):
        services.confirm_merge(user=org.scjgj_admin, year=YEAR, line_ids=[a.pk, gaj.lines.get().pk])
    with pytest.raises(services.PlanError, match="相同"):
        services.confirm_merge(user=org.office, year=YEAR, line_ids=[b.pk, gaj.lines.get().pk])
    with pytest.raises(services.PlanError, match="两个部门"):
        services.confirm_merge(user=org.office, year=YEAR, line_ids=[a.pk])
    with pytest.raises(services.PlanError, match="牵头部门"):
        other = org.gaj.__class__.objects.create(
            jurisdiction=org.prefecture, code="WJW", name="卫健委"
        )
        services.confirm_merge(
            user=org.office,
            year=YEAR,
            line_ids=[a.pk, gaj.lines.get().pk],
            lead_department_id=other.pk,
        )
    with pytest.raises(services.PlanError, match="请选择"):
        services.confirm_merge(user=org.office, year=YEAR, line_ids=[])


def test_checks_flag_coverage_credit_share_and_a_class(org, lists):
    scjgj_items, _ = lists
    accepted_plan(
        org,
        org.scjgj_admin,
        org.scjgj,
        [line_data(scjgj_items[:1], credit_linked=False, ratios={"A": 1500, "B": 1500})],
    )
    checks = selectors.merge_checks(org.prefecture, YEAR)
    assert checks.uncovered == {org.scjgj.name: [scjgj_items[1].code, scjgj_items[2].code]}
    assert not checks.credit_ok and checks.credit_percent == 0
    assert len(checks.a_class_over) == 1
    assert [d.code for d in checks.no_plan] == ["GAJ"]
    assert not checks.all_ok


def test_publish_versions_and_public_rows(org, lists, two_plans):
    with pytest.raises(PermissionDenied):
        services.publish_joint_plan(user=org.scjgj_admin, year=YEAR)
    lines = selectors.accepted_lines(org.prefecture, YEAR)
    proposal = selectors.merge_proposals(lines)[0]
    services.confirm_merge(
        user=org.office, year=YEAR, line_ids=[line.pk for line in proposal.lines], name="联合检查一"
    )
    late = datetime.datetime(YEAR, 4, 2, tzinfo=TZ)
    v1 = services.publish_joint_plan(user=org.office, year=YEAR, now=late)
    assert v1.version == 1 and v1.late
    assert [row["task_name"] for row in v1.rows] == ["联合检查一", "不关联信用的检查"]
    joint = v1.rows[0]
    assert joint["type"] == "部门联合抽查" and joint["initiator"] == org.scjgj.name
    assert joint["joint"] == [org.gaj.name]
    assert len(joint["items"]) == 2
    text = str(v1.rows)
    for private in ("scjgj_admin", "office", "对象1"):
        assert private not in text
    with pytest.raises(services.PlanError, match="调整原因"):
        services.publish_joint_plan(user=org.office, year=YEAR)
    v2 = services.publish_joint_plan(user=org.office, year=YEAR, reason="新增专项检查")
    assert v2.version == 2 and not v2.late and v2.reason == "新增专项检查"
    assert list(PublishedPlan.objects.values_list("version", flat=True).order_by("version")) == [
        1,
        2,
    ]
    assert audit_actions(v2) == [AuditEntry.Action.PUBLISH]


def test_publish_with_nothing_accepted_is_refused(org, lists):
    with pytest.raises(services.PlanError, match="还没有已采纳"):
        services.publish_joint_plan(user=org.office, year=YEAR)


def test_undo_merge(org, lists, two_plans):
    lines = selectors.accepted_lines(org.prefecture, YEAR)
    entry = services.confirm_merge(
        user=org.office,
        year=YEAR,
        line_ids=[line.pk for line in selectors.merge_proposals(lines)[0].lines],
    )
    with pytest.raises(PermissionDenied):
        services.undo_merge(user=org.gaj_admin, entry=entry)
    services.undo_merge(user=org.office, entry=entry)
    assert (
        AuditEntry.objects.filter(object_type="planning.jointplanentry", action="delete").count()
        == 1
    )
    assert len(selectors.merge_proposals(selectors.accepted_lines(org.prefecture, YEAR))) == 1


def test_a_class_cap_uses_the_overall_ratio(org, lists, plan):
    """Credit-linked ratios may be high for risky classes while the overall ratio stays ≤ 10%."""
    setup_targets(org)  # A×100, B×50, C×10, D×3
    scjgj_items, _ = lists
    ok = services.create_line(user=org.scjgj_admin, plan=plan, data=line_data(scjgj_items[:1]))
    assert selectors.line_warnings(ok, 1000) == []  # 9 of 163 = 5.5 %
    high = services.create_line(
        user=org.scjgj_admin,
        plan=plan,
        data=line_data(scjgj_items[:1], ratios={"A": 1500, "B": 1500, "D": 10000}),
    )
    assert "超过10%" in selectors.line_warnings(high, 1000)[0]
    no_a = services.create_line(
        user=org.scjgj_admin,
        plan=plan,
        data=line_data(scjgj_items[1:2], ratios={"A": 5000, "B": 6000}),
    )
    assert selectors.line_warnings(no_a, 1000) == []
