import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied

from shuangsuiji.core import audit
from shuangsuiji.core.models import CalendarDay, Department, Jurisdiction, User
from shuangsuiji.jointcheck import selectors, services
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment
from shuangsuiji.planning import services as planning
from shuangsuiji.planning.models import PlanSettings

from .helpers import YEAR, World, scheme

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
State = JointTask.State


def at(y, m, d, hour=10):
    return datetime.datetime(y, m, d, hour, tzinfo=TZ)


# --- create ---------------------------------------------------------------------------------------


def test_create_blank_task_allocates_codes_and_records(world):
    org = world.org
    first = world.draft()
    second = world.draft(name="第二个任务")
    assert first.code == f"{YEAR}-SCJGJ-0001" and second.code == f"{YEAR}-SCJGJ-0002"
    assert first.state == State.DRAFT and first.jurisdiction == org.prefecture
    assert first.document_number == f"州市场监督管理局抽查〔{YEAR}〕1号"
    parts = {p.department.code: p for p in first.participants.select_related("department")}
    assert parts["SCJGJ"].role == "lead" and parts["SCJGJ"].response == "accepted"
    assert parts["GAJ"].role == "partner" and parts["GAJ"].response == "pending"
    assert list(parts["GAJ"].items.all()) == world.gaj_items
    assert list(parts["SCJGJ"].items.all()) == [world.scjgj_items[1]]
    assert set(first.items.all()) == {world.scjgj_items[1], world.gaj_items[0]}
    entry = audit.history(first).first()
    assert entry.action == "create" and entry.user == org.scjgj_admin
    assert entry.after["items"] == sorted([world.scjgj_items[1].code, world.gaj_items[0].code])
    # GAJ's own sequence starts at 1
    gaj_task = services.create_task(
        user=org.gaj_admin, data=world.task_data(items=[world.gaj_items[0].pk], departments=[])
    )
    assert gaj_task.code == f"{YEAR}-GAJ-0001" and gaj_task.is_internal


def test_items_by_code_are_accepted(world):
    task = world.draft(items=[world.scjgj_items[1].code.lower(), world.gaj_items[0].code])
    assert task.items.count() == 2


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"name": " "}, "name", "请填写抽查任务名称"),
        ({"name": "长" * 201}, "name", "不能超过200个字"),
        ({"period_start": datetime.date(YEAR + 1, 1, 1)}, "period_start", "任务年度"),
        ({"period_end": datetime.date(YEAR, 2, 1)}, "period_end", "不能早于开始日期"),
        ({"period_start": "2026-13-01"}, "period_start", "不是有效日期"),
        (
            {"draw_date": datetime.date(YEAR, 12, 31), "period_end": datetime.date(YEAR, 6, 30)},
            "draw_date",
            "不能晚于",
        ),
        ({"ratios": {"A": 10001}}, "ratios", "超出 0–10000"),
        ({"ratios": {"A": -1}}, "ratios", "整数"),
        ({"ratios": {"A": "3.5"}}, "ratios", "整数"),
        ({"ratios": {"X": 300}}, "ratios", "分层“X”无效"),
        ({"ratios": {}}, "ratios", "至少填写一个"),
        ({"strata_by": "colour"}, "strata_by", "分层方式"),
        ({"allocation_mode": "lottery"}, "allocation_mode", "抽取方式"),
        ({"allocation_mode": "count", "count_total": 0}, "count_total", "1–10000000"),
        ({"allocation_mode": "count", "count_total": ""}, "count_total", "请填写抽取总数"),
        ({"allocation_mode": "count", "count_total": 5, "weights": {"C": 0}}, "weights", "超出"),
        ({"strata_by": "none", "ratios": {"A": 300}}, "ratios", "全部"),
        ({"scope": {"department": "1"}}, "scope", "不能包含"),
        ({"scope": "region=110101"}, "scope", "不在本辖区"),
        ({"items": ["NOPE-001"]}, "items", "清单之外无事项"),
        ({"departments": ["99999"]}, "departments", "不是本辖区在册"),
        ({"year": "1999"}, "year", "2000–2100"),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(world, overrides, field, words):
    with pytest.raises(services.TaskInvalid) as err:
        world.draft(**overrides)
    assert field in err.value.errors and words in err.value.errors[field], err.value.errors
    assert JointTask.objects.count() == 0 and TaskDepartment.objects.count() == 0


def test_items_of_a_department_not_taking_part_are_refused(world):
    # GAJ's item, but GAJ is not a participant: outside the task's lists
    with pytest.raises(services.TaskInvalid) as err:
        world.draft(departments=[])
    assert "清单之外无事项" in err.value.errors["items"]


def test_participants_must_be_active_and_of_the_same_jurisdiction(world):
    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    foreign = Department.objects.create(jurisdiction=other, code="SWJ", name="外地局")
    retired = Department.objects.create(
        jurisdiction=world.org.prefecture, code="OLD", name="撤并局", active=False
    )
    for dept in (foreign, retired):
        with pytest.raises(services.TaskInvalid) as err:
            world.draft(departments=[world.org.gaj.pk, dept.pk])
        assert "不是本辖区在册的成员单位" in err.value.errors["departments"]


def test_a_class_items_cap_the_overall_ratio(world):
    a_item = world.scjgj_items[0]
    # overall = (3 + 50 + 10 + 3) / 163 ≈ 40 % with A-class item → over the 10 % cap
    with pytest.raises(services.TaskInvalid) as err:
        world.draft(items=[a_item.pk], ratios={"A": 300, "B": 10000, "C": 10000, "D": 10000})
    assert "A类事项" in err.value.errors["ratios"]
    # the same ratios without A-class items are fine
    world.draft(items=[world.scjgj_items[1].pk], ratios={"A": 300, "B": 10000, "C": 10000})
    # credit-linked lines may raise risky classes while the overall stays under the cap
    world.draft(items=[a_item.pk], ratios={"A": 300, "B": 500, "C": 1500, "D": 3000})
    # the cap is the office's setting
    PlanSettings.objects.create(
        jurisdiction=world.org.prefecture,
        year=YEAR,
        department_deadline=datetime.date(YEAR, 1, 20),
        office_deadline=datetime.date(YEAR, 3, 30),
        a_class_max_bp=200,
    )
    with pytest.raises(services.TaskInvalid):
        world.draft(items=[a_item.pk], ratios={"A": 300, "B": 500, "C": 1500, "D": 3000})
    # count mode: 40 of 163 is over 10 %... of the 2 % cap
    with pytest.raises(services.TaskInvalid):
        world.draft(items=[a_item.pk], allocation_mode="count", count_total=40)


def test_count_mode_and_public_strata(world):
    task = world.draft(allocation_mode="count", count_total=25, weights={"C": 2, "D": 4})
    assert task.count_total == 25 and task.weights == {"C": 2, "D": 4} and task.ratios == {}
    task = world.draft(strata_by="region", ratios={"652801": 500})
    assert task.ratios == {"652801": 500}
    task = world.draft(strata_by="none", ratios="全部=500")
    assert task.ratios == {"全部": 500}


@pytest.mark.parametrize("who", ["gaj_admin", "inspector", "auditor", "office"])
def test_create_for_another_department_is_refused(world, who):
    user = getattr(world.org, who)
    with pytest.raises(PermissionDenied):
        services.create_task(user=user, data=world.task_data(), department=world.org.scjgj)
    assert JointTask.objects.count() == 0


def test_head_may_create_and_inspector_may_not_create_for_own_department(world):
    services.create_task(user=world.org.scjgj_head, data=world.task_data())
    with pytest.raises(PermissionDenied):
        services.create_task(user=world.org.inspector, data=world.task_data())


def _accepted_plan(world, **line_overrides):
    org = world.org
    plan = planning.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)
    data = {
        "plan_name": f"{YEAR}年度双随机抽查计划",
        "task_name": "食品与旅馆业联合检查",
        "kind": "joint",
        "scope": {"region": "652801", "risk": ["C", "D"]},
        "items": [world.scjgj_items[1].pk, world.scjgj_items[2].pk],
        "ratios": {"C": 1500, "D": 3000},
        "credit_linked": True,
        "initiator": org.scjgj.pk,
        "joint_departments": [org.gaj.pk],
        "period_start": datetime.date(YEAR, 4, 1),
        "period_end": datetime.date(YEAR, 10, 31),
        "draw_date": datetime.date(YEAR, 3, 25),
    }
    data.update(line_overrides)
    line = planning.create_line(user=org.scjgj_admin, plan=plan, data=data)
    planning.submit_plan(user=org.scjgj_admin, plan=plan)
    planning.accept_plan(user=org.office, plan=plan)
    return line


def test_create_from_accepted_plan_line_copies_it(world):
    line = _accepted_plan(world)
    task = services.create_from_plan_line(user=world.org.scjgj_admin, line=line)
    assert task.plan_line == line and task.name == line.task_name
    assert task.scope == {"region": "652801", "risk": ["C", "D"]}
    assert task.ratios == {"C": 1500, "D": 3000}
    assert (task.period_start, task.period_end) == (line.period_start, line.period_end)
    assert set(task.items.all()) == {world.scjgj_items[1], world.scjgj_items[2]}
    assert {p.department.code for p in task.participants.all()} == {"SCJGJ", "GAJ"}
    assert "由计划条目" in audit.history(task).first().note
    # A second task from the same line (a double click) is refused until the first is cancelled.
    with pytest.raises(services.TaskError, match=f"已创建任务「{task.name}」（{task.code}"):
        services.create_from_plan_line(user=world.org.scjgj_admin, line=line)
    assert JointTask.objects.count() == 1
    services.cancel(user=world.org.scjgj_admin, task=task, reason="方案有误，重新创建")
    again = services.create_from_plan_line(user=world.org.scjgj_admin, line=line)
    assert again.plan_line == line and JointTask.objects.count() == 2


def test_create_from_plan_line_refusals(world):
    line = _accepted_plan(world)
    with pytest.raises(PermissionDenied):
        services.create_from_plan_line(user=world.org.gaj_admin, line=line)
    with pytest.raises(services.TaskError, match="没有找到"):
        services.create_from_plan_line(user=world.org.scjgj_admin, line=999999)
    # a line of a plan that is not accepted
    plan = planning.create_plan(user=world.org.gaj_admin, department=world.org.gaj, year=YEAR)
    draft_line = planning.create_line(
        user=world.org.gaj_admin,
        plan=plan,
        data={
            "plan_name": "计划",
            "task_name": "旅馆业检查",
            "scope": {},
            "items": [world.gaj_items[0].pk],
            "ratios": {"C": 1000},
            "period_start": datetime.date(YEAR, 4, 1),
            "period_end": datetime.date(YEAR, 10, 31),
        },
    )
    with pytest.raises(services.TaskError, match="已采纳"):
        services.create_from_plan_line(user=world.org.gaj_admin, line=draft_line)
    assert JointTask.objects.count() == 0


def test_create_from_joint_entry(world):
    line = _accepted_plan(world)
    entry = planning.confirm_merge(user=world.org.office, year=YEAR, line_ids=[line.pk])
    task = services.create_from_joint_entry(user=world.org.scjgj_head, entry=entry)
    assert task.joint_entry == entry and task.ratios == {"C": 1500, "D": 3000}
    assert {p.department.code for p in task.participants.all()} == {"SCJGJ", "GAJ"}
    with pytest.raises(PermissionDenied):
        services.create_from_joint_entry(user=world.org.gaj_admin, entry=entry)
    with pytest.raises(services.TaskError, match="该联合抽查计划条目已创建任务"):
        services.create_from_joint_entry(user=world.org.scjgj_head, entry=entry)


def test_update_draft_only_by_lead_and_only_while_draft(world):
    task = world.draft()
    task = services.update_task(
        user=world.org.scjgj_head,
        task=task,
        data=world.task_data(name="改名", departments=[], items=[world.scjgj_items[2].pk]),
    )
    assert task.name == "改名" and task.is_internal
    assert list(task.items.all()) == [world.scjgj_items[2]]
    assert TaskDepartment.objects.filter(task=task).count() == 1
    with pytest.raises(PermissionDenied):
        services.update_task(user=world.org.gaj_admin, task=task, data=world.task_data())
    with pytest.raises(services.TaskInvalid):
        services.update_task(user=world.org.scjgj_admin, task=task, data=world.task_data(name=""))
    task.refresh_from_db()
    assert task.name == "改名"
    services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 11, 20))
    with pytest.raises(services.TaskError, match="只有草稿可以修改"):
        services.update_task(user=world.org.scjgj_admin, task=task, data=world.task_data())


# --- initiate ---------------------------------------------------------------------------------


def test_initiate_with_partners_awaits_responses_due_in_two_working_days(world):
    task = world.draft()
    # Friday 2026-03-06: the start day is not counted, the weekend is off → Tuesday 03-10
    task = services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))
    assert task.state == State.AWAITING
    gaj = task.participants.get(department=world.org.gaj)
    assert gaj.response_due == datetime.date(YEAR, 3, 10)
    assert task.participants.get(role="lead").response_due is None
    notes = [e.note for e in audit.history(task)]
    assert notes[0].startswith("牵头部门直接与配合部门协商") and "2026-03-10" in notes[0]
    assert notes[1] == "牵头部门发起任务"
    assert task.initiated_at is not None


def test_response_date_skips_the_national_day_holiday(world):
    task = world.draft()
    task = services.initiate(
        user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 9, 30)
    )
    # Oct 1–7 off; Oct 8 and 9 are the two working days
    assert task.participants.get(role="partner").response_due == datetime.date(YEAR, 10, 9)


def test_response_date_follows_the_platform_holiday_table(world):
    CalendarDay.objects.create(date=datetime.date(YEAR, 3, 9), kind="holiday", name="测试假日")
    task = world.draft()
    task = services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))
    assert task.participants.get(role="partner").response_due == datetime.date(YEAR, 3, 11)


def test_initiate_without_holiday_schedule_is_a_clear_error(world):
    task = world.draft()
    with pytest.raises(services.TaskError) as err:
        services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(2027, 1, 4))
    assert "无法计算响应截止日期" in str(err.value) and "2027年的节假日安排" in str(err.value)
    task.refresh_from_db()
    assert task.state == State.DRAFT and task.initiated_at is None
    assert not task.participants.filter(response_due__isnull=False).exists()


def test_internal_task_skips_responses(world):
    task = world.draft(departments=[], items=[world.scjgj_items[1].pk])
    task = services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))
    assert task.state == State.AWAITING and task.is_internal
    assert "部门内部" in audit.history(task).first().note
    task = services.establish(
        user=world.org.scjgj_admin, task=task, data=scheme(inspectors_per_team={"SCJGJ": 2})
    )
    assert task.state == State.ESTABLISHED


@pytest.mark.parametrize("who", ["gaj_admin", "gaj_head", "office", "auditor", "inspector"])
def test_only_the_lead_initiates(world, who):
    task = world.draft()
    user = getattr(world, who, None) or getattr(world.org, who)
    with pytest.raises(PermissionDenied):
        services.initiate(user=user, task=task, today=datetime.date(YEAR, 3, 6))
    task.refresh_from_db()
    assert task.state == State.DRAFT


def test_initiate_twice_is_refused_with_refresh_message(world):
    task = world.awaiting()
    with pytest.raises(services.TaskError, match="请刷新页面"):
        services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))


def test_incomplete_draft_cannot_be_initiated(world):
    task = world.draft()
    task.items.clear()
    with pytest.raises(services.TaskError, match="请至少选择一个抽查事项"):
        services.initiate(user=world.org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))


def test_four_partners_go_to_the_office_which_coordinates_and_releases(world):
    org = world.org
    extra = world.extra_departments(4)
    three = world.draft(departments=[org.gaj.pk] + [d.pk for d in extra[:2]])
    three = services.initiate(user=org.scjgj_admin, task=three, today=datetime.date(YEAR, 3, 6))
    assert three.state == State.AWAITING  # 3 partners: the lead agrees directly

    task = world.draft(departments=[org.gaj.pk] + [d.pk for d in extra[:3]])
    task = services.initiate(user=org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 6))
    assert task.state == State.COORDINATING
    assert not task.participants.filter(response_due__isnull=False).exists()
    # partners cannot respond while the office coordinates
    with pytest.raises(services.TaskError, match="协调中"):
        services.respond(user=org.gaj_admin, task=task, accept=True, items=[world.gaj_items[0].pk])
    # only the office coordinates and releases
    with pytest.raises(PermissionDenied):
        services.coordinate(user=org.scjgj_admin, task=task, departments=[], items=[])
    with pytest.raises(PermissionDenied):
        services.release(user=org.scjgj_admin, task=task, today=datetime.date(YEAR, 3, 9))
    with pytest.raises(PermissionDenied):
        services.release(user=org.auditor, task=task, today=datetime.date(YEAR, 3, 9))
    # the office drops D3 and adds D4, with D4's item
    d4_item = extra[3].item_lists.get(status="published").items.get()
    keep = [i.pk for i in task.items.all() if i.item_list.department_id != extra[2].pk]
    services.coordinate(
        user=org.office,
        task=task,
        departments=[org.gaj.pk, extra[0].pk, extra[1].pk, extra[3].pk],
        items=keep + [d4_item.pk],
        note="D3 不涉及该类对象",
    )
    codes = set(task.participants.values_list("department__code", flat=True))
    assert codes == {"SCJGJ", "GAJ", "D1", "D2", "D4"}
    assert d4_item in task.items.all()
    with pytest.raises(services.TaskInvalid, match="清单之外无事项"):
        services.coordinate(user=org.office, task=task, departments=[org.gaj.pk], items=["X-1"])
    task = services.release(user=org.office, task=task, today=datetime.date(YEAR, 3, 9))
    assert task.state == State.AWAITING
    dues = set(task.participants.filter(role="partner").values_list("response_due", flat=True))
    assert dues == {datetime.date(YEAR, 3, 11)}
    assert "联席会议办公室协调完毕" in audit.history(task).first().note


# --- respond ------------------------------------------------------------------------------------


def test_partner_accepts_with_own_items_and_inspectors(world):
    task = world.awaiting(today=datetime.date(YEAR, 3, 6))
    p = services.respond(
        user=world.gaj_head,
        task=task,
        accept=True,
        items=[world.gaj_items[0].code],
        inspectors_per_team="2",
        now=at(YEAR, 3, 10, 17),
    )
    assert p.response == "accepted" and p.inspectors_per_team == 2 and not p.late
    assert p.responded_by == world.gaj_head
    assert set(task.items.all()) == {world.scjgj_items[1], world.gaj_items[0]}
    entry = audit.history(task).first()
    assert entry.note == "州公安局确认参加" and entry.after["response"] == "accepted"
    assert entry.department == world.org.gaj


def test_late_response_is_accepted_and_flagged(world):
    task = world.awaiting(today=datetime.date(YEAR, 3, 6))
    p = services.respond(
        user=world.org.gaj_admin,
        task=task,
        accept=False,
        reason="本季度无检查力量",
        now=at(YEAR, 3, 11),
    )
    assert p.response == "declined" and p.late and p.response_note == "本季度无检查力量"
    assert "逾期响应" in audit.history(task).first().note
    # the declined department's items leave the task
    assert list(task.items.all()) == [world.scjgj_items[1]]
    assert task.is_internal


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"accept": False, "reason": "  "}, "请填写理由"),
        ({"accept": True, "items": []}, "至少选择一个"),
        ({"accept": True, "items": ["SCJGJ-001"]}, "清单之外无事项"),
        ({"accept": True, "items": ["GAJ-001"], "inspectors_per_team": 0}, "1–10"),
        ({"accept": True, "items": ["GAJ-001"], "inspectors_per_team": 11}, "1–10"),
        ({"accept": True, "items": ["GAJ-001"], "inspectors_per_team": "两"}, "1–10"),
    ],
)
def test_bad_responses_are_refused_and_change_nothing(world, kwargs, words):
    task = world.awaiting()
    kwargs = dict(kwargs)
    kwargs["items"] = [
        world.scjgj_items[0].pk
        if v == "SCJGJ-001"
        else world.gaj_items[0].pk
        if v == "GAJ-001"
        else v
        for v in kwargs.get("items", [])
    ]
    with pytest.raises(services.TaskInvalid, match=words):
        services.respond(user=world.org.gaj_admin, task=task, **kwargs)
    p = task.participants.get(department=world.org.gaj)
    assert p.response == "pending" and p.responded_at is None


@pytest.mark.parametrize("who", ["scjgj_admin", "office", "auditor", "inspector"])
def test_only_the_partner_responds(world, who):
    task = world.awaiting()
    with pytest.raises(PermissionDenied):
        services.respond(
            user=getattr(world.org, who), task=task, accept=True, items=[world.gaj_items[0].pk]
        )


def test_department_not_in_the_task_cannot_respond(world):
    (d1,) = world.extra_departments(1)
    task = world.awaiting()
    with pytest.raises(PermissionDenied):
        services.respond(
            user=User.objects.get(username="d1_admin"), task=task, accept=False, reason="x"
        )
    # nor on behalf of another department
    with pytest.raises(PermissionDenied):
        services.respond(
            user=User.objects.get(username="d1_admin"),
            task=task,
            accept=False,
            reason="x",
            department=world.org.gaj,
        )


def test_respond_twice_is_refused(world):
    task = world.awaiting()
    services.respond(user=world.org.gaj_admin, task=task, accept=False, reason="无力量")
    with pytest.raises(services.TaskError, match="不能重复响应"):
        services.respond(user=world.gaj_head, task=task, accept=True, items=[world.gaj_items[0].pk])


def test_respond_in_draft_is_refused(world):
    task = world.draft()
    with pytest.raises(services.TaskError, match="草稿"):
        services.respond(user=world.org.gaj_admin, task=task, accept=False, reason="x")


def test_overdue_non_responses_are_flagged(world):
    task = world.awaiting(today=datetime.date(YEAR, 3, 6))  # due 03-10
    gaj = task.participants.get(department=world.org.gaj)
    assert not gaj.overdue(datetime.date(YEAR, 3, 10))
    assert gaj.overdue(datetime.date(YEAR, 3, 11))
    assert task.participants.get(role="lead").overdue(datetime.date(YEAR, 3, 11)) is False
    office_rows = list(
        selectors.overdue_responses(world.org.office, today=datetime.date(YEAR, 3, 11))
    )
    assert [(r.task_id, r.department.code) for r in office_rows] == [(task.pk, "GAJ")]
    assert (
        list(selectors.overdue_responses(world.org.office, today=datetime.date(YEAR, 3, 10))) == []
    )
    # another jurisdiction's office sees none of them
    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    stranger = User.objects.create_user(username="o2", role="office", jurisdiction=other)
    assert list(selectors.overdue_responses(stranger, today=datetime.date(YEAR, 3, 11))) == []
    # once answered, no longer overdue
    services.respond(user=world.org.gaj_admin, task=task, accept=False, reason="x")
    assert (
        list(selectors.overdue_responses(world.org.office, today=datetime.date(YEAR, 3, 11))) == []
    )
    # a cancelled task has no overdue responses either
    t2 = world.awaiting(today=datetime.date(YEAR, 3, 6))
    services.cancel(user=world.org.office, task=t2, reason="并入其他任务")
    assert (
        list(selectors.overdue_responses(world.org.office, today=datetime.date(YEAR, 3, 11))) == []
    )


def test_a_partner_that_never_responds_is_taken_off_after_its_date(world):
    """The bad case "a department that never responds": the task is blocked until the lead or the
    office takes the department off, which is recorded as an overdue non-response."""
    org = world.org
    task = world.awaiting(today=datetime.date(YEAR, 3, 6))  # GAJ due 2026-03-10
    with pytest.raises(services.TaskError, match="州公安局"):
        services.establish(user=org.scjgj_admin, task=task, data=scheme())
    with pytest.raises(services.TaskError, match="截止日期过后"):
        services.drop_overdue(
            user=org.scjgj_admin, task=task, department=org.gaj, today=datetime.date(YEAR, 3, 10)
        )
    for user in (org.gaj_admin, org.auditor, org.inspector):
        with pytest.raises(PermissionDenied):
            services.drop_overdue(
                user=user, task=task, department=org.gaj, today=datetime.date(YEAR, 3, 11)
            )
    with pytest.raises(services.TaskError, match="不是本任务的配合部门"):
        services.drop_overdue(
            user=org.office, task=task, department=org.scjgj, today=datetime.date(YEAR, 3, 11)
        )
    p = services.drop_overdue(
        user=org.office,
        task=task,
        department=org.gaj,
        reason="电话催办未果",
        today=datetime.date(YEAR, 3, 11),
    )
    assert p.response == "declined" and p.dropped_at and p.responded_at is None
    assert p.response_note == "逾期未响应，已移出：电话催办未果"
    assert "逾期未响应（截止 2026-03-10），移出任务" in audit.history(task).first().note
    assert list(task.items.all()) == [world.scjgj_items[1]]
    assert [r.department.code for r in selectors.dropped_responses(org.office)] == ["GAJ"]
    assert list(selectors.overdue_responses(org.office, today=datetime.date(YEAR, 3, 11))) == []
    with pytest.raises(services.TaskError, match="已于 .* 被移出任务"):
        services.respond(user=org.gaj_admin, task=task, accept=False, reason="x")
    with pytest.raises(services.TaskError, match="已经响应"):
        services.drop_overdue(
            user=org.office, task=task, department=org.gaj, today=datetime.date(YEAR, 3, 11)
        )
    task = services.establish(
        user=org.scjgj_admin, task=task, data=scheme(inspectors_per_team={"SCJGJ": 2})
    )
    assert task.state == State.ESTABLISHED and task.is_internal


# --- establish ----------------------------------------------------------------------------------


def test_establish_after_every_partner_responded(world):
    task = world.awaiting()
    with pytest.raises(services.TaskError, match="州公安局"):
        services.establish(user=world.org.scjgj_admin, task=task, data=scheme())
    services.respond(
        user=world.org.gaj_admin,
        task=task,
        accept=True,
        items=[world.gaj_items[0].pk],
        inspectors_per_team=1,
    )
    with pytest.raises(PermissionDenied):
        services.establish(user=world.org.gaj_admin, task=task, data=scheme())
    with pytest.raises(PermissionDenied):
        services.establish(user=world.org.office, task=task, data=scheme())
    task = services.establish(
        user=world.org.scjgj_head,
        task=task,
        data=scheme(
            batches="2", targets_per_team="3", inspectors_per_team={"SCJGJ": "2", "GAJ": 1}
        ),
    )
    assert task.state == State.ESTABLISHED
    assert (task.batches, task.targets_per_team, task.inspect_start) == (
        2,
        3,
        datetime.date(YEAR, 4, 1),
    )
    numbers = dict(task.participants.values_list("department__code", "inspectors_per_team"))
    assert numbers == {"SCJGJ": 2, "GAJ": 1}
    notes = [e.note for e in audit.history(task)[:2]]
    assert notes == ["任务确立", "确定实施方案"]


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"inspect_start": datetime.date(YEAR, 2, 1)}, "inspect_start", "计划时间"),
        ({"inspect_end": datetime.date(YEAR + 1, 1, 1)}, "inspect_end", "计划时间"),
        ({"inspect_end": datetime.date(YEAR, 3, 15)}, "inspect_end", "不能早于"),
        ({"inspect_start": ""}, "inspect_start", "请填写"),
        ({"batches": 0}, "batches", "1–100"),
        ({"targets_per_team": "x"}, "targets_per_team", "1–50"),
        ({"inspectors_per_team": {"SCJGJ": 1, "GAJ": 0}}, "inspectors_GAJ", "1–10"),
        ({"scheme_note": "长" * 5001}, "scheme_note", "5000"),
    ],
)
def test_bad_scheme_is_refused(world, overrides, field, words):
    task = world.awaiting()
    services.respond(
        user=world.org.gaj_admin, task=task, accept=True, items=[world.gaj_items[0].pk]
    )
    with pytest.raises(services.TaskInvalid) as err:
        services.establish(user=world.org.scjgj_admin, task=task, data=scheme(**overrides))
    assert words in err.value.errors[field]
    task.refresh_from_db()
    assert task.state == State.AWAITING and task.inspect_start is None


def test_two_certified_inspectors_per_team(world):
    task = world.awaiting()
    services.respond(user=world.org.gaj_admin, task=task, accept=False, reason="不涉及")
    with pytest.raises(services.TaskInvalid, match="两名持证执法人员"):
        services.establish(
            user=world.org.scjgj_admin, task=task, data=scheme(inspectors_per_team={"SCJGJ": 1})
        )
    # the declined department dropped out: its number is not asked for
    task = services.establish(
        user=world.org.scjgj_admin,
        task=task,
        data=scheme(inspectors_per_team={"SCJGJ": 2, "GAJ": 5}),
    )
    assert task.state == State.ESTABLISHED
    assert task.participants.get(department=world.org.gaj).inspectors_per_team == 1


def test_lead_saves_the_scheme_before_the_partners_answer(world):
    task = world.draft()
    with pytest.raises(services.TaskError, match="不能修改实施方案"):
        services.save_scheme(user=world.org.scjgj_admin, task=task, data=scheme())
    task = world.awaiting()
    with pytest.raises(PermissionDenied):
        services.save_scheme(user=world.org.gaj_admin, task=task, data=scheme())
    with pytest.raises(services.TaskInvalid, match="计划时间"):
        services.save_scheme(
            user=world.org.scjgj_admin, task=task, data=scheme(inspect_start="2026-01-01")
        )
    services.save_scheme(
        user=world.org.scjgj_head, task=task, data=scheme(batches=3, scheme_note="先行编制")
    )
    task.refresh_from_db()
    assert task.state == State.AWAITING and task.batches == 3 and task.scheme_note == "先行编制"
    assert audit.history(task).first().note == "保存实施方案（未确立）"
    # the partner's own answer sets its number; the lead confirms at 确立
    services.respond(
        user=world.org.gaj_admin,
        task=task,
        accept=True,
        items=[world.gaj_items[0].pk],
        inspectors_per_team=3,
    )
    assert task.participants.get(department=world.org.gaj).inspectors_per_team == 3
    task = services.establish(user=world.org.scjgj_admin, task=task, data=scheme())
    with pytest.raises(services.TaskError, match="已确立"):
        services.save_scheme(user=world.org.scjgj_admin, task=task, data=scheme())


# --- cancel -------------------------------------------------------------------------------------


def test_cancel_by_lead_or_office_with_reason(world):
    task = world.draft()
    with pytest.raises(services.TaskInvalid, match="须填写原因"):
        services.cancel(user=world.org.scjgj_admin, task=task, reason=" ")
    for who in ("gaj_admin", "auditor", "inspector"):
        with pytest.raises(PermissionDenied):
            services.cancel(user=getattr(world.org, who), task=task, reason="x")
    task = services.cancel(user=world.org.scjgj_admin, task=task, reason="计划调整")
    assert task.state == State.CANCELLED and task.cancel_reason == "计划调整"
    assert audit.history(task).first().note == "取消：计划调整"
    with pytest.raises(services.TaskError, match="不能取消"):
        services.cancel(user=world.org.office, task=task, reason="again")
    established = world.established()
    assert (
        services.cancel(user=world.org.office, task=established, reason="上级通知暂停").state
        == State.CANCELLED
    )


def test_no_cancel_after_the_draw(world):
    task = world.established()
    services.transition(user=None, task=task, to=State.DRAWN)
    with pytest.raises(services.TaskError, match="已抽取"):
        services.cancel(user=world.org.scjgj_admin, task=task, reason="x")


def test_office_of_another_jurisdiction_cannot_act(world):
    task = world.draft()
    other = Jurisdiction.objects.create(code="650100", name="乌鲁木齐市", level="prefecture")
    stranger = User.objects.create_user(username="o2", role="office", jurisdiction=other)
    with pytest.raises(PermissionDenied):
        services.cancel(user=stranger, task=task, reason="x")
    assert not services.can_view_task(stranger, task)


# --- stale pages and concurrency ----------------------------------------------------------------


def test_stale_page_gets_refresh_message(world):
    """Two users looked at the same page: the one who acts second gets a refresh message."""
    task = world.awaiting()
    stale = JointTask.objects.get(pk=task.pk)
    services.cancel(user=world.org.office, task=task, reason="撤销")
    with pytest.raises(services.TaskError, match="已取消.*请刷新页面"):
        services.respond(user=world.org.gaj_admin, task=stale, accept=False, reason="x")
    with pytest.raises(services.TaskError, match="请刷新页面"):
        services.establish(user=world.org.scjgj_admin, task=stale, data=scheme())


def test_transition_refuses_moves_not_in_the_table(world):
    task = world.draft()
    with pytest.raises(services.TaskError, match="不能变为「已抽取」"):
        services.transition(user=None, task=task, to=State.DRAWN)
    assert services.TRANSITIONS[State.DISPATCHED] == set()


def run_together(**actions) -> dict[str, str]:
    """Run the callables in threads released at the same moment; "ok" or the TaskError text."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(actions))
    outcome: dict[str, str] = {}

    def run(name, fn):
        try:
            barrier.wait()
            fn()
            outcome[name] = "ok"
        except services.TaskError as exc:
            outcome[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 — reported by the test
            outcome[name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in actions.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome


def _server_db_only():
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("threads need a server database (run with DATABASE_URL=postgres://…)")


@pytest.mark.django_db(transaction=True)
def test_two_users_at_once_one_wins(org):
    """Real concurrency: the partner's administrator accepts while its head declines. The task
    row lock serialises them: one response counts, the other is told to refresh."""
    _server_db_only()
    w = World(org)
    for _ in range(3):
        task = w.awaiting()
        outcome = run_together(
            accept=lambda t=task: services.respond(
                user=org.gaj_admin, task=t, accept=True, items=[w.gaj_items[0].pk]
            ),
            decline=lambda t=task: services.respond(
                user=w.gaj_head, task=t, accept=False, reason="无力量"
            ),
        )
        assert list(outcome.values()).count("ok") == 1, outcome
        loser = next(v for v in outcome.values() if v != "ok")
        assert "不能重复响应" in loser and "请刷新页面" in loser
        p = task.participants.get(department=org.gaj)
        assert p.response == ("accepted" if outcome["accept"] == "ok" else "declined")
        assert audit.history(task).filter(department=org.gaj).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_leads_initiate_at_once_one_wins(org):
    _server_db_only()
    w = World(org)
    task = w.draft()
    day = datetime.date(YEAR, 3, 6)
    outcome = run_together(
        admin=lambda: services.initiate(user=org.scjgj_admin, task=task, today=day),
        head=lambda: services.initiate(user=org.scjgj_head, task=task, today=day),
    )
    assert list(outcome.values()).count("ok") == 1, outcome
    assert "请刷新页面" in next(v for v in outcome.values() if v != "ok")
    assert audit.history(task).filter(note="牵头部门发起任务").count() == 1


@pytest.mark.django_db(transaction=True)
def test_task_codes_are_unique_under_concurrent_creation(org):
    _server_db_only()
    w = World(org)
    outcome = run_together(**{f"u{i}": w.draft for i in range(4)})
    assert set(outcome.values()) == {"ok"}, outcome
    assert sorted(JointTask.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]
