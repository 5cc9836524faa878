"""The target draw's services: every path and refusal of issue 4 "Done means", and that what is
published verifies with the protocol's own ``verify`` and is exactly what the public log holds."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core import jobs
from shuangsuiji.core.models import AuditEntry, Department, User
from shuangsuiji.directory.models import Target
from shuangsuiji.draws import engine, services
from shuangsuiji.draws.entropy import beacon_time
from shuangsuiji.draws.models import AnnualCap, DrawEntropy, Exclusion, Selection, TargetDraw
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import verify as V
from shuangsuiji.publication.models import LogEntry

from .helpers import (  # noqa: F401 (own_data_folder: autouse)
    configured_draw,
    drawn,
    frozen_draw,
    make_targets,
    make_task,
    own_data_folder,
    parties_plan,
    secret,
)

State = TargetDraw.State
pytestmark = pytest.mark.django_db


def files(draw: TargetDraw) -> dict[str, bytes]:
    folder = engine.folder(draw.files_dir)
    out = {
        "population": (folder / "population.tsv").read_bytes(),
        "excluded": (folder / "excluded.tsv").read_bytes(),
    }
    if draw.sealed:
        out["strata"] = (folder / "strata.tsv").read_bytes()
    return out


def verify(draw: TargetDraw, *, strata: bool = True, announcement: bool = True) -> V.Report:
    f = files(draw)
    return V.verify(
        bytes(draw.record),
        f["population"],
        f["excluded"],
        bytes(draw.announcement) if announcement else None,
        f.get("strata") if strata else None,
    )


def at(monkeypatch, moment):
    monkeypatch.setattr(services, "now", lambda: moment)
    return moment


def later(monkeypatch, **delta):
    moved = timezone.now() + datetime.timedelta(**delta)
    monkeypatch.setattr(services, "now", lambda: moved)
    return moved


# --- the whole path ------------------------------------------------------------------------------


def test_sealed_draw_verifies_with_and_without_strata_and_log_holds_bytes(org):
    make_targets(org, 60)
    task = make_task(org)
    draw = drawn(org, task)
    assert draw.state == State.DRAWN
    task.refresh_from_db()
    assert task.state == JointTask.State.DRAWN
    # Sealed: the public files and the release show no class.
    f = files(draw)
    assert all(line.endswith(b"\t*") for line in f["population"].splitlines())
    record = json.loads(bytes(draw.record))
    assert {s["stratum"] for s in record["selected"]} == {"*"}
    assert list(record["strata"]) == ["*"]
    assert f["strata"].startswith(b"salt\t")
    # Verify: PASS with the strata file (auditors) and without (the public).
    for with_strata in (True, False):
        report = verify(draw, strata=with_strata)
        assert report.exit_code == 0, report.problems
    # Exactly the published bytes are in the log, at the indexes kept.
    assert bytes(LogEntry.objects.get(index=draw.announcement_index).document) == bytes(
        draw.announcement
    )
    assert bytes(LogEntry.objects.get(index=draw.release_index).document) == bytes(draw.record)
    # The locked list is the release's selection, in published order.
    sel = list(Selection.objects.filter(draw=draw).select_related("target").order_by("position"))
    assert [s.target.code for s in sel] == [s["id"] for s in record["selected"]]
    assert [s.score for s in sel] == [s["score"] for s in record["selected"]]
    assert record["selected"][0]["name"] == sel[0].target.name
    # Per-class counts: the true strata stay internal.
    assert sum(draw.k.values()) == len(sel)
    assert {s.stratum for s in sel} <= set("ABCDU")


def test_public_strata_draw_verifies(org):
    make_targets(org, 40)
    task = make_task(
        org, strata_by=JointTask.StrataBy.REGION, ratios={"652801": 1000, "652822": 2000}
    )
    draw = drawn(org, task)
    assert not draw.sealed and not draw.strata_sha256
    assert set(draw.counts) == {"652801", "652822"}
    assert verify(draw).exit_code == 0
    record = json.loads(bytes(draw.record))
    assert record["strata"]["652801"]["k"] == draw.k["652801"]


def test_count_mode_draw_verifies(org):
    make_targets(org, 30)
    task = make_task(
        org, allocation_mode=JointTask.AllocationMode.COUNT, count_total=7, weights={"D": 2}
    )
    draw = drawn(org, task)
    assert draw.allocation == "mode=count;K=7;D=2"
    assert draw.selections.count() == 7
    assert verify(draw).exit_code == 0


def test_every_state_change_is_audited(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = drawn(org, task)
    notes = list(
        AuditEntry.objects.filter(object_type="draws.targetdraw", object_id=str(draw.pk))
        .order_by("id")
        .values_list("note", flat=True)
    )
    assert any("准备第 1 次抽取" in n for n in notes)
    assert any("设置随机数来源" in n for n in notes)
    assert any("冻结抽查对象总体" in n for n in notes)
    assert any("公告第 1 次抽取" in n for n in notes)
    assert any("完成第 1 次抽取" in n for n in notes)
    entropy_notes = AuditEntry.objects.filter(object_type="draws.drawentropy").values_list(
        "note", flat=True
    )
    assert sum("提交承诺" in n for n in entropy_notes) == 2
    assert sum("揭示" in n for n in entropy_notes) == 2
    # No reveal value is written into the audit trail before the draw.
    reveals = set(DrawEntropy.objects.filter(draw=draw).values_list("value", flat=True))
    for entry in AuditEntry.objects.filter(object_type="draws.drawentropy"):
        assert not reveals & set(map(str, (entry.after or {}).values()))
    assert AuditEntry.objects.filter(object_type="jointcheck.jointtask").exists()


# --- refusals ------------------------------------------------------------------------------------


def test_empty_population_is_refused(org):
    task = make_task(org)  # nothing in the directory
    draw = services.prepare(user=org.scjgj_admin, task=task)
    with pytest.raises(services.DrawError, match="抽查对象总体为空"):
        services.request_freeze(user=org.scjgj_admin, draw=draw)
    draw.refresh_from_db()
    assert draw.state == State.PREPARING and draw.freeze_job is None


def test_scope_matching_nothing_is_an_empty_population(org):
    make_targets(org, 10, risk_class="A")
    task = make_task(org, scope={"risk": ["D"]})
    draw = services.prepare(user=org.scjgj_admin, task=task)
    with pytest.raises(services.DrawError, match="抽查对象总体为空"):
        services.request_freeze(user=org.scjgj_admin, draw=draw)


def test_ratio_out_of_range_is_refused(org):
    make_targets(org, 10)
    task = make_task(org, ratios={"A": 12000})
    with pytest.raises(services.DrawError, match="超出 0–100%"):
        services.prepare(user=org.scjgj_admin, task=task)
    assert not TargetDraw.objects.filter(task=task).exists()


def test_count_zero_is_refused(org):
    make_targets(org, 10)
    task = make_task(org, allocation_mode=JointTask.AllocationMode.COUNT, count_total=0)
    with pytest.raises(services.DrawError, match="抽取总数为 0"):
        services.prepare(user=org.scjgj_admin, task=task)


def test_ratios_that_draw_nobody_are_refused(org):
    make_targets(org, 10, risk_class="A")
    task = make_task(org, ratios={"D": 5000})
    draw = services.prepare(user=org.scjgj_admin, task=task)
    with pytest.raises(services.DrawError, match="一个对象也抽不到"):
        services.request_freeze(user=org.scjgj_admin, draw=draw)


def test_reveal_not_matching_commitment_is_refused_and_nothing_stored(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    keys = {code: secret() for code in ("SCJGJ", "GAJ")}
    services.commit(
        user=org.scjgj_admin, draw=draw, department=org.scjgj, commitment=keys["SCJGJ"][1]
    )
    services.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment=keys["GAJ"][1])
    # Before the announcement: no reveal at all.
    with pytest.raises(services.DrawError, match="公告之前不能揭示"):
        services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["GAJ"][0])
    services.announce(user=org.scjgj_admin, draw=draw)
    with pytest.raises(services.DrawError, match="与本部门公告的承诺不符"):
        services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["SCJGJ"][0])
    with pytest.raises(services.DrawError, match="64 个十六进制"):
        services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value="not hex")
    item = DrawEntropy.objects.get(draw=draw, name="party.GAJ")
    assert item.value == "" and item.revealed_at is None
    # The right value, even in upper case from a printed backup, is accepted once.
    services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["GAJ"][0].upper())
    with pytest.raises(services.DrawError, match="已经揭示过"):
        services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["GAJ"][0])
    # Performing before every reveal is in is refused.
    with pytest.raises(services.DrawError, match="州市场监督管理局尚未揭示"):
        services.perform(user=org.scjgj_admin, draw=draw)


def test_commitments_are_fixed_by_the_announcement(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    with pytest.raises(services.DrawError, match="尚未提交承诺"):
        services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.commit(user=user, draw=draw, department=dept, commitment=secret()[1])
    with pytest.raises(services.DrawError, match="64 个小写十六进制"):
        services.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment="abc")
    services.announce(user=org.scjgj_admin, draw=draw)
    with pytest.raises(services.DrawError, match="已公告"):
        services.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment=secret()[1])
    with pytest.raises(services.DrawError, match="已经公告"):
        services.announce(user=org.scjgj_admin, draw=draw)
    with pytest.raises(services.DrawError, match="已公告的抽取不能更改随机数来源"):
        services.configure_entropy(
            user=org.scjgj_admin, draw=draw, plan=services.EntropyPlan(beacon_source="fc3d")
        )


def test_second_draw_attempt_on_a_locked_task_is_refused(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = drawn(org, task)
    with pytest.raises(services.DrawError, match="名单已锁定"):
        services.perform(user=org.scjgj_admin, draw=draw)
    with pytest.raises(services.DrawError, match="名单已锁定"):
        services.run_perform(draw.pk, user=org.scjgj_admin)
    with pytest.raises(services.DrawError, match="抽取名单已锁定"):
        services.prepare(user=org.scjgj_admin, task=task)
    assert Selection.objects.filter(draw=draw).count() == sum(draw.k.values())
    assert TargetDraw.objects.filter(task=task).count() == 1


def test_two_attempts_at_once_give_one_draw(org, monkeypatch):
    """The second of two attempts that both passed the first check finds the draw done under the
    row lock (the real race on PostgreSQL is in test_concurrency)."""
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=draw, department=dept, value=keys[dept.code][0])
    real = services.engine.perform
    calls = []

    def perform_then_other_user_finishes(target_draw, entropy):
        result = real(target_draw, entropy)
        if not calls:
            calls.append(1)
            services.run_perform(draw.pk, user=org.scjgj_head)  # the other user, meanwhile
        return result

    monkeypatch.setattr(services.engine, "perform", perform_then_other_user_finishes)
    with pytest.raises(services.DrawError, match="已由他人完成"):
        services.run_perform(draw.pk, user=org.scjgj_admin)
    draw.refresh_from_db()
    assert draw.state == State.DRAWN
    assert LogEntry.objects.filter(kind=LogEntry.Kind.DRAW_RELEASE).count() == 1
    assert Selection.objects.filter(draw=draw).count() == sum(draw.k.values())


def test_only_one_open_draw_per_task(org):
    make_targets(org, 20)
    task = make_task(org)
    services.prepare(user=org.scjgj_admin, task=task)
    with pytest.raises(services.DrawError, match="尚未完成"):
        services.prepare(user=org.scjgj_head, task=task)


def test_task_not_established_is_refused(org):
    make_targets(org, 20)
    task = make_task(org, state=JointTask.State.AWAITING)
    with pytest.raises(services.DrawError, match="只有已确立的任务"):
        services.prepare(user=org.scjgj_admin, task=task)


# --- entropy rules -------------------------------------------------------------------------------


def test_beacon_only_refused_for_unannounced_checks(org):
    make_targets(org, 20)
    task = make_task(org, unannounced=True)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    plan = services.EntropyPlan(
        beacon_source="fc3d", beacon_issue="2026330", beacon_date=services.today()
    )
    with pytest.raises(services.DrawError, match="不能只用公开随机源"):
        services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=plan)
    assert not DrawEntropy.objects.filter(draw=draw).exists()


def test_beacon_only_draw_for_announced_checks(org, monkeypatch):
    make_targets(org, 30)
    task = make_task(org)
    issue_day = services.today() + datetime.timedelta(days=2)
    draw = frozen_draw(
        org,
        task,
        plan=services.EntropyPlan(
            beacon_source="fc3d", beacon_issue="2026330", beacon_date=issue_day
        ),
    )
    services.announce(user=org.scjgj_admin, draw=draw)
    announcement = json.loads(bytes(TargetDraw.objects.get(pk=draw.pk).announcement))
    assert announcement["entropy"] == {"beacon.fc3d.2026330": None}
    assert announcement["reveals_due"] is None
    with pytest.raises(services.DrawError, match="开奖后才能填写"):
        services.enter_beacon(user=org.scjgj_admin, draw=draw, value="482")
    at(monkeypatch, beacon_time(issue_day) - datetime.timedelta(minutes=1))
    with pytest.raises(services.DrawError, match="21:15 开奖"):
        services.enter_beacon(user=org.scjgj_admin, draw=draw, value="482")
    at(monkeypatch, beacon_time(issue_day) + datetime.timedelta(minutes=1))
    for bad in ("48", "4821", "4 82", "四八二"):
        with pytest.raises(services.DrawError, match="三位数字"):
            services.enter_beacon(user=org.scjgj_admin, draw=draw, value=bad)
    services.enter_beacon(user=org.scjgj_admin, draw=draw, value="482")
    draw = services.perform(user=org.scjgj_admin, draw=draw)
    report = verify(draw)
    assert report.exit_code == 0, report.problems
    assert report.beacons == [("fc3d", "2026330", "482")]


def test_ssq_value_format():
    assert services.beacon_problem("ssq", "03 07 12 19 25 31 + 09") is None
    for bad in (
        "03 07 12 19 25 31+09",
        "3 7 12 19 25 31 + 9",
        "07 03 12 19 25 31 + 09",
        "03 07 12 19 25 34 + 09",
        "03 07 12 19 25 31 + 17",
        "03 03 12 19 25 31 + 09",
    ):
        assert services.beacon_problem("ssq", bad), bad


def test_beacon_with_reveals_must_be_drawn_after_reveals_due(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    day = services.today() + datetime.timedelta(days=3)
    due = beacon_time(day) + datetime.timedelta(hours=1)  # 22:15, after that day's draw
    plan = services.EntropyPlan(
        parties=True, reveals_due=due, beacon_source="ssq", beacon_issue="2026140", beacon_date=day
    )
    with pytest.raises(services.DrawError, match="揭示截止时间之后开奖"):
        services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=plan)
    plan.beacon_date = day + datetime.timedelta(days=1)
    items = services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=plan)
    assert sorted(i.name for i in items) == ["beacon.ssq.2026140", "party.GAJ", "party.SCJGJ"]
    # A past issue, a bad source or issue, a missing date: refused.
    for change, message in (
        ({"beacon_date": services.today() - datetime.timedelta(days=1)}, "已过或不到 30 分钟"),
        ({"beacon_source": "lotto"}, "福彩3D"),
        ({"beacon_issue": "第1期"}, "期号"),
        ({"beacon_date": None}, "开奖日期"),
    ):
        bad = services.EntropyPlan(**{**plan.__dict__, "parties": False, **change})
        with pytest.raises(services.DrawError, match=message):
            services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=bad)


def test_beacon_drawn_before_the_announcement_is_refused(org, monkeypatch):
    """An issue whose value may already exist cannot be announced (the value would be known)."""
    make_targets(org, 20)
    task = make_task(org)
    day = services.today() + datetime.timedelta(days=1)
    draw = frozen_draw(
        org,
        task,
        plan=services.EntropyPlan(beacon_source="fc3d", beacon_issue="2026331", beacon_date=day),
    )
    at(monkeypatch, beacon_time(day) - datetime.timedelta(minutes=20))
    with pytest.raises(services.DrawError, match="开奖时间已过或不到 30 分钟"):
        services.announce(user=org.scjgj_admin, draw=draw)
    assert not LogEntry.objects.exists()


def test_full_joint_draw_with_beacon_and_reveals(org, monkeypatch):
    make_targets(org, 30)
    task = make_task(org)
    due = timezone.now() + datetime.timedelta(days=1)
    draw = frozen_draw(
        org,
        task,
        plan=services.EntropyPlan(
            parties=True,
            reveals_due=due,
            beacon_source="ssq",
            beacon_issue="2026140",
            beacon_date=timezone.localdate(due) + datetime.timedelta(days=1),
        ),
    )
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_head), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_head), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=draw, department=dept, value=keys[dept.code][0])
    at(monkeypatch, beacon_time(timezone.localdate(due) + datetime.timedelta(days=1)))
    services.enter_beacon(user=org.scjgj_admin, draw=draw, value="03 07 12 19 25 31 + 09")
    draw = services.perform(user=org.scjgj_admin, draw=draw)
    assert (
        "entropy.beacon.ssq.2026140=03 07 12 19 25 31 + 09\n"
        in json.loads(bytes(draw.record))["seed_statement"]
    )
    assert verify(draw).exit_code == 0


def test_server_entropy_only_for_a_department_internal_task(org):
    make_targets(org, 20)
    joint = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=joint)
    with pytest.raises(services.DrawError, match="部门内部"):
        services.configure_entropy(
            user=org.scjgj_admin, draw=draw, plan=services.EntropyPlan(server=True)
        )
    internal = make_task(org, departments=(), unannounced=True)
    draw = frozen_draw(org, internal, plan=services.EntropyPlan(server=True))
    item = DrawEntropy.objects.get(draw=draw)
    assert item.name == "server" and D.commitment(item.value) == item.commitment
    draw = services.announce(user=org.scjgj_admin, draw=draw)
    announcement = json.loads(bytes(draw.announcement))
    assert announcement["entropy"] == {"server": item.commitment}
    assert item.value not in bytes(draw.announcement).decode()
    assert announcement["release"] == "after-inspection"
    draw = services.perform(user=org.scjgj_admin, draw=draw)
    assert draw.released_at is None  # unannounced: held
    assert verify(draw).exit_code == 0


def test_no_entropy_no_reveals_due_refused(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    with pytest.raises(services.DrawError, match="至少选择一种"):
        services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=services.EntropyPlan())
    with pytest.raises(services.DrawError, match="揭示截止时间"):
        services.configure_entropy(
            user=org.scjgj_admin, draw=draw, plan=services.EntropyPlan(parties=True)
        )
    with pytest.raises(services.DrawError, match="现在之后"):
        services.configure_entropy(
            user=org.scjgj_admin,
            draw=draw,
            plan=services.EntropyPlan(
                parties=True, reveals_due=timezone.now() - datetime.timedelta(minutes=1)
            ),
        )


def test_entropy_cannot_change_after_a_commitment(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    services.commit(user=org.gaj_admin, draw=draw, department=org.gaj, commitment=secret()[1])
    with pytest.raises(services.DrawError, match="已有部门提交承诺"):
        services.configure_entropy(
            user=org.scjgj_admin,
            draw=draw,
            plan=services.EntropyPlan(
                parties=True, reveals_due=timezone.now() + datetime.timedelta(days=2)
            ),
        )


# --- unannounced checks --------------------------------------------------------------------------


def test_unannounced_release_is_held_until_published(org):
    make_targets(org, 20)
    task = make_task(org, unannounced=True)
    draw = drawn(org, task)
    assert draw.released_at is None and draw.release_index is None
    assert not LogEntry.objects.filter(kind=LogEntry.Kind.DRAW_RELEASE).exists()
    announcement = json.loads(bytes(draw.announcement))
    assert announcement["release"] == "after-inspection"
    with pytest.raises(PermissionDenied):
        services.publish_release(user=org.gaj_admin, draw=draw)
    draw = services.publish_release(user=org.scjgj_admin, draw=draw)
    entry = LogEntry.objects.get(kind=LogEntry.Kind.DRAW_RELEASE)
    assert entry.index == draw.release_index and bytes(entry.document) == bytes(draw.record)
    with pytest.raises(services.DrawError, match="已经公开"):
        services.publish_release(user=org.scjgj_admin, draw=draw)
    assert verify(draw).exit_code == 0


def test_immediate_release_cannot_be_published_twice(org):
    make_targets(org, 20)
    draw = drawn(org, make_task(org))
    with pytest.raises(services.DrawError, match="已经公开"):
        services.publish_release(user=org.scjgj_admin, draw=draw)


# --- abandonment ---------------------------------------------------------------------------------


def test_abandon_after_reveals_due_then_a_new_draw(org, monkeypatch):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    services.reveal(user=org.scjgj_admin, draw=draw, department=org.scjgj, value=keys["SCJGJ"][0])
    with pytest.raises(services.DrawError, match="揭示截止时间已过"):
        services.abandon(user=org.scjgj_admin, draw=draw, reason="公安局未揭示")
    later(monkeypatch, days=1, minutes=1)
    with pytest.raises(services.DrawError, match="已超过揭示截止时间"):
        services.reveal(user=org.gaj_admin, draw=draw, department=org.gaj, value=keys["GAJ"][0])
    with pytest.raises(services.DrawError, match="请填写作废原因"):
        services.abandon(user=org.scjgj_admin, draw=draw, reason=" ")
    with pytest.raises(PermissionDenied):
        services.abandon(user=org.gaj_admin, draw=draw, reason="x")
    draw = services.abandon(user=org.scjgj_admin, draw=draw, reason="州公安局未在截止时间前揭示")
    assert draw.state == State.ABANDONED
    entry = LogEntry.objects.get(kind=LogEntry.Kind.DRAW_ABANDONED)
    doc = json.loads(bytes(entry.document))
    assert doc["stage"] == "abandoned" and doc["draw"] == 1
    assert doc["announcement_sha256"] == D.sha256_hex(bytes(draw.announcement))
    assert bytes(entry.document) == bytes(draw.abandoned)
    # A new draw number with fresh commitments.
    monkeypatch.setattr(services, "now", timezone.now)
    second = drawn(org, task)
    assert second.number == 2 and second.state == State.DRAWN
    assert verify(second).exit_code == 0


def test_abandon_before_announcement_publishes_nothing(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    draw = services.abandon(user=org.scjgj_admin, draw=draw, reason="范围设置有误")
    assert draw.state == State.ABANDONED and draw.abandoned is None
    assert not LogEntry.objects.exists()
    assert services.prepare(user=org.scjgj_admin, task=task).number == 2


def test_a_drawn_draw_cannot_be_abandoned(org):
    make_targets(org, 20)
    draw = drawn(org, make_task(org))
    with pytest.raises(services.DrawError, match="不能作废"):
        services.abandon(user=org.scjgj_admin, draw=draw, reason="想重抽")


# --- exclusions, merges, supplementary draws ------------------------------------------------------


def _drawn_elsewhere(org, targets, *, times=1, lead=None, state=JointTask.State.DRAWN):
    """Selections of ``targets`` in other tasks' done draws this year."""
    for _ in range(times):
        other = make_task(org, lead=lead or org.scjgj, state=state, departments=())
        d = TargetDraw.objects.create(
            task=other, number=1, state=State.DRAWN, drawn_at=timezone.now()
        )
        Selection.objects.bulk_create(
            [
                Selection(draw=d, position=i, target=t, stratum=t.risk_class, score="0" * 64)
                for i, t in enumerate(targets, 1)
            ]
        )


def test_annual_limit_and_deregistered_are_pre_excluded(org):
    targets = make_targets(org, 20)
    dead = make_targets(org, 2, start=100, reg_status=Target.RegStatus.REVOKED)
    _drawn_elsewhere(org, targets[:2], times=2)  # reached the default cap of 2
    _drawn_elsewhere(org, targets[2:3], times=1)  # below the cap
    task = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    reasons = dict(Exclusion.objects.filter(draw=draw).values_list("target_id", "reason"))
    assert reasons == {
        targets[0].pk: "annual-limit",
        targets[1].pk: "annual-limit",
        dead[0].pk: "deregistered",
        dead[1].pk: "deregistered",
    }
    info = services.review(draw)
    assert info.total == 22 and info.population == 18
    # The lead takes one back in, with the audit trail; re-excludes it.
    services.decide(user=org.scjgj_admin, draw=draw, target=targets[0], reason=None, note="复查")
    assert not Exclusion.objects.filter(draw=draw, target=targets[0]).exists()
    services.decide(user=org.scjgj_admin, draw=draw, target=targets[0], reason="annual-limit")
    # An exclusion the rules do not suggest is refused (no leaving out a target at will).
    with pytest.raises(services.DrawError, match="只能按平台提示的原因"):
        services.decide(user=org.scjgj_admin, draw=draw, target=targets[5], reason="annual-limit")
    with pytest.raises(services.DrawError, match="只能按平台提示的原因"):
        services.decide(user=org.scjgj_admin, draw=draw, target=targets[0], reason="merged")
    with pytest.raises(PermissionDenied):
        services.decide(user=org.gaj_admin, draw=draw, target=targets[0], reason=None)
    services.configure_entropy(user=org.scjgj_admin, draw=draw, plan=parties_plan())
    services.request_freeze(user=org.scjgj_admin, draw=draw)
    jobs.run_pending()
    draw.refresh_from_db()
    excluded = files(draw)["excluded"].decode()
    assert excluded.count("\tannual-limit\n") == 2 and excluded.count("\tderegistered\n") == 2
    assert draw.excluded_counts == {"annual-limit": 2, "deregistered": 2}
    with pytest.raises(services.DrawError, match="总体已冻结"):
        services.decide(user=org.scjgj_admin, draw=draw, target=targets[0], reason=None)


def test_annual_cap_setting_and_exemptions(org):
    targets = make_targets(org, 10)
    _drawn_elsewhere(org, targets[:1], times=1)
    services.set_annual_cap(user=org.office, item_class="A", max_per_year=1)
    with pytest.raises(PermissionDenied):
        services.set_annual_cap(user=org.scjgj_admin, item_class="A", max_per_year=1)
    with pytest.raises(services.DrawError, match="1–99"):
        services.set_annual_cap(user=org.office, item_class="A", max_per_year=0)
    assert AnnualCap.objects.get(item_class="A").max_per_year == 1
    task = make_task(org)
    assert services.annual_cap(task) == 1
    assert services.suggestions(task)[targets[0].pk] == {
        "annual-limit": "今年已被抽中 1 次，上限 1 次"
    }
    # Complaint-driven tasks and tasks of key items only are exempt.
    assert services.annual_cap(make_task(org, complaint_driven=True)) is None
    item_list = ItemList.objects.create(
        jurisdiction=org.prefecture, department=org.scjgj, version=1
    )
    key = Item.objects.create(
        item_list=item_list, code="K1", category="c", name="n", target_type="t",
        methods="实地核查", subject="s", basis="b", item_type=Item.ItemType.KEY,
    )  # fmt: skip
    key_task = make_task(org)
    key_task.items.add(key)
    assert services.annual_cap(key_task) is None
    assert targets[0].pk not in services.suggestions(key_task)


def test_merge_suggestion_accepted_or_ignored(org):
    targets = make_targets(org, 12)
    _drawn_elsewhere(org, targets[:2], lead=org.gaj)  # another department's pending task
    task = make_task(org)
    draw = services.prepare(user=org.scjgj_admin, task=task)
    info = services.review(draw)
    assert set(info.suggestions) == {targets[0].pk, targets[1].pk}
    assert "进一次门" not in str(info.suggestions)  # the page words it; the note names the task
    assert all("merged" in s for s in info.suggestions.values())
    assert not Exclusion.objects.filter(draw=draw).exists()  # a suggestion, not pre-decided
    services.decide(user=org.scjgj_admin, draw=draw, target=targets[0], reason="merged")
    assert Exclusion.objects.get(draw=draw).reason == "merged"
    # The lead's own department's tasks and finished (dispatched is still pending) ones: only
    # other departments' tasks suggest a merge.
    _drawn_elsewhere(org, targets[5:6], lead=org.scjgj)
    assert targets[5].pk not in services.suggestions(task, draw)


def test_supplementary_draw_excludes_earlier_selections(org):
    make_targets(org, 40)
    task = make_task(org)
    first = drawn(org, task)
    with pytest.raises(services.DrawError, match="补充抽取"):
        services.prepare(user=org.scjgj_admin, task=task)
    second = services.prepare(
        user=org.scjgj_admin, task=task, supplementary_reason="部分对象已迁出"
    )
    assert second.number == 2 and second.supplementary_reason
    earlier = set(Selection.objects.filter(draw=first).values_list("target_id", flat=True))
    reasons = dict(Exclusion.objects.filter(draw=second).values_list("target_id", "reason"))
    assert set(reasons) == earlier and set(reasons.values()) == {"earlier-draw"}
    with pytest.raises(services.DrawError, match="不能取消排除"):
        services.decide(user=org.scjgj_admin, draw=second, target=next(iter(earlier)), reason=None)
    services.configure_entropy(user=org.scjgj_admin, draw=second, plan=parties_plan())
    services.request_freeze(user=org.scjgj_admin, draw=second)
    jobs.run_pending()
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=second, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=second)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=second, department=dept, value=keys[dept.code][0])
    second = services.perform(user=org.scjgj_admin, draw=second)
    again = set(Selection.objects.filter(draw=second).values_list("target_id", flat=True))
    assert again and not again & earlier
    assert verify(second).exit_code == 0
    assert json.loads(bytes(second.record))["excluded_counts"]["earlier-draw"] == len(earlier)


# --- permissions ---------------------------------------------------------------------------------


def test_only_the_lead_runs_the_draw(org):
    make_targets(org, 20)
    task = make_task(org)
    for user in (org.gaj_admin, org.inspector, org.auditor, org.office):
        with pytest.raises(PermissionDenied):
            services.prepare(user=user, task=task)
    draw = services.prepare(user=org.scjgj_head, task=task)
    for user in (org.gaj_admin, org.inspector, org.auditor):
        with pytest.raises(PermissionDenied):
            services.request_freeze(user=user, draw=draw)
        with pytest.raises(PermissionDenied):
            services.configure_entropy(user=user, draw=draw, plan=services.EntropyPlan())


def test_a_department_commits_and_reveals_only_for_itself(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = frozen_draw(org, task)
    for user in (org.scjgj_admin, org.inspector, org.auditor):
        with pytest.raises(PermissionDenied):
            services.commit(user=user, draw=draw, department=org.gaj, commitment=secret()[1])
    third = Department.objects.create(jurisdiction=org.prefecture, code="HBJ", name="州生态环境局")
    with pytest.raises(services.DrawError, match="没有州生态环境局"):
        services.commit(
            user=User.objects.create_user(
                "hbj_admin", role=User.Role.DEPT_ADMIN, department=third,
                jurisdiction=org.prefecture,
            ),
            draw=draw, department=third, commitment=secret()[1],
        )  # fmt: skip


def test_who_sees_the_list(org):
    make_targets(org, 20)
    task = make_task(org)
    third = Department.objects.create(jurisdiction=org.prefecture, code="HBJ", name="州生态环境局")
    outsider = User.objects.create_user(
        "hbj_admin", role=User.Role.DEPT_ADMIN, department=third, jurisdiction=org.prefecture
    )
    assert services.can_see_list(org.scjgj_admin, task)
    assert services.can_see_list(org.gaj_admin, task)
    assert services.can_see_list(org.auditor, task)
    assert services.can_see_list(org.office, task)  # the office sits in SCJGJ, a task department
    assert not services.can_see_list(outsider, task)
    assert not services.can_see_list(org.inspector, task)


def test_freeze_job_is_safe_to_rerun(org):
    make_targets(org, 20)
    task = make_task(org)
    draw = configured_draw(org, task)
    job = services.request_freeze(user=org.scjgj_admin, draw=draw)
    with pytest.raises(services.DrawError, match="正在冻结"):
        services.request_freeze(user=org.scjgj_admin, draw=draw)
    # A worker that died mid-way leaves the job "running"; a re-run from the start finishes it.
    services.run_freeze(draw.pk, user=org.scjgj_admin)
    draw.refresh_from_db()
    first = (draw.population_sha256, draw.state)
    assert first[1] == State.COMMITTING
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    draw.refresh_from_db()
    assert job.status == job.Status.DONE and (draw.population_sha256, draw.state) == first


def test_big_draw_is_performed_by_the_job_worker(org, monkeypatch):
    make_targets(org, 30)
    task = make_task(org)
    draw = frozen_draw(org, task)
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=draw, department=dept, value=keys[dept.code][0])
    monkeypatch.setattr(services, "PERFORM_INLINE_LIMIT", 10)
    job = services.perform(user=org.scjgj_admin, draw=draw)
    assert job.kind == "draws.perform"
    with pytest.raises(services.DrawError, match="正在进行中"):
        services.perform(user=org.scjgj_head, draw=draw)
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    draw.refresh_from_db()
    assert job.status == job.Status.DONE and job.result["redirect"] == f"/draws/{draw.pk}/"
    assert draw.state == State.DRAWN and verify(draw).exit_code == 0


def test_files_changed_after_freeze_stop_the_draw(org, monkeypatch):
    make_targets(org, 20)
    task = make_task(org)
    day = services.today() + datetime.timedelta(days=1)
    draw = frozen_draw(org, task, plan=services.EntropyPlan(
        beacon_source="fc3d", beacon_issue="2026330", beacon_date=day))  # fmt: skip
    services.announce(user=org.scjgj_admin, draw=draw)
    at(monkeypatch, beacon_time(day))
    services.enter_beacon(user=org.scjgj_admin, draw=draw, value="123")
    path = engine.folder(draw.files_dir) / "population.tsv"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(services.DrawError, match="不符"):
        services.perform(user=org.scjgj_admin, draw=draw)
    draw.refresh_from_db()
    assert draw.state == State.ANNOUNCED and not draw.selections.exists()


def test_an_earlier_selection_stays_out_whatever_else_applies(org):
    targets = make_targets(org, 30)
    task = make_task(org, ratios={"A": 10000, "B": 10000, "C": 10000, "D": 10000, "U": 10000})
    first = drawn(org, task)
    chosen = first.selections.first().target
    Target.objects.filter(pk=chosen.pk).update(reg_status=Target.RegStatus.REVOKED)
    second = services.prepare(user=org.scjgj_admin, task=task, supplementary_reason="补充")
    assert Exclusion.objects.get(draw=second, target=chosen).reason == "earlier-draw"
    for reason in (None, "deregistered"):
        with pytest.raises(services.DrawError, match="不能取消排除或更改原因"):
            services.decide(user=org.scjgj_admin, draw=second, target=chosen, reason=reason)
    assert Exclusion.objects.get(draw=second, target=chosen).reason == "earlier-draw"
    assert len(targets) == Exclusion.objects.filter(draw=second).count()


def test_a_refused_freeze_fails_its_job_and_can_be_retried(org):
    targets = make_targets(org, 10)
    Target.objects.filter(pk=targets[3].pk).update(code="BAD\tCODE")
    task = make_task(org)
    draw = configured_draw(org, task)
    job = services.request_freeze(user=org.scjgj_admin, draw=draw)
    jobs.run_pending()
    job.refresh_from_db()
    draw.refresh_from_db()
    assert job.status == job.Status.FAILED and "冻结失败" in job.result["error"]
    assert draw.state == State.PREPARING and not draw.population_sha256
    assert not draw.files_dir
    assert not (engine.folder(engine.relative_folder(task.code, 1)) / "population.tsv").exists()
    Target.objects.filter(pk=targets[3].pk).update(code="91652801MA0000003X")
    services.request_freeze(user=org.scjgj_admin, draw=draw)
    jobs.run_pending()
    draw.refresh_from_db()
    assert draw.state == State.COMMITTING and draw.population_size == 10
