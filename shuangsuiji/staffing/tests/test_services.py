import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol.verify import verify_assign
from shuangsuiji.publication.models import LogEntry
from shuangsuiji.staffing import eligibility as E
from shuangsuiji.staffing import services
from shuangsuiji.staffing.models import (
    AssignmentRun,
    Replacement,
    Shortfall,
    Team,
    TeamMember,
)

from .helpers import (
    END,
    head,
    inputs,
    make_draw,
    make_inspector,
    make_task,
    performed_run,
    staff,
)

State = AssignmentRun.State


def files(run):
    return [services.read_file(run, n) for n in services.FILES]


def verify(run, **kw):
    return verify_assign(
        bytes(run.record),
        *files(run),
        announcement_bytes=kw.get("announcement", bytes(run.announcement)),
        draw_bytes=kw.get("draw", bytes(run.draw.record)),
    )


def code(inspector):
    return E.inspector_code(inspector.department.code, inspector.pk)


# --- eligibility ---------------------------------------------------------------------------


def test_region_prefixes():
    assert E.region_prefix("650000") == "65"
    assert E.region_prefix("652800") == "6528"
    assert E.region_prefix("652801") == "652801"
    assert E.region_prefix("652801001") == "652801001"


def test_every_left_out_inspector_has_its_reason(org):
    task = make_task(org, targets=2, specialities="食品安全、特种设备")
    pack_sp = "|食品安全|"
    ok = make_inspector(org, org.scjgj, specialities=pack_sp)
    expired = make_inspector(
        org, org.scjgj, specialities=pack_sp, certificate_valid_to=END - datetime.timedelta(days=1)
    )
    no_cert = make_inspector(org, org.scjgj, specialities=pack_sp, certificate_no="")
    later = make_inspector(
        org, org.scjgj, specialities=pack_sp, certificate_valid_from=datetime.date(2026, 12, 5)
    )
    busy = make_inspector(org, org.scjgj, specialities=pack_sp, available=False)
    gone = make_inspector(org, org.scjgj, specialities=pack_sp, active=False)
    expert = make_inspector(org, org.scjgj, specialities=pack_sp, kind="expert")
    generalist = make_inspector(org, org.scjgj)
    luntai_only = make_inspector(org, org.scjgj, specialities=pack_sp, regions=["652822"])
    gaj = make_inspector(org, org.gaj, specialities="|特种设备|")
    gaj_home = make_inspector(org, org.gaj, specialities="|特种设备|", regions=[])
    targets = list(task.draws.get().selections.select_related("target__region"))
    korla = next(s.target for s in targets if s.target.region.code == "652801")
    recused = make_inspector(org, org.gaj, specialities="|特种设备|")
    services.declare_conflict(
        user=org.gaj_admin, inspector=recused, target=korla, reason="亲属任职"
    )
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    rows = {(r["scope"], r["where"], r["code"]): r["reasons"] for r in _left_out(run)}
    assert rows[("all", "", code(expired))] == ["certificate"]
    assert rows[("all", "", code(no_cert))] == ["certificate"]
    assert rows[("all", "", code(later))] == ["certificate"]
    assert rows[("all", "", code(busy))] == ["unavailable"]
    assert rows[("all", "", code(gone))] == ["inactive"]
    assert rows[("all", "", code(expert))] == ["expert"]
    assert rows[("all", "", code(generalist))] == ["speciality"]
    assert rows[("region", "652801", code(luntai_only))] == ["region"]
    assert ("region", "652822", code(luntai_only)) not in rows
    korla_team = next(
        t for t, x in A.form_teams([s.target.code for s in targets]) if x == korla.code
    )
    assert rows[("team", korla_team, code(recused))] == ["recusal"]
    # Nobody eligible is listed as left out, and everyone is accounted for once per pair.
    inputs_ = A.parse_files(*files(run), ["GAJ", "SCJGJ"])
    for (team, dept), codes in inputs_.eligible.items():
        region = "652801" if team == korla_team else "652822"
        if dept == "SCJGJ":
            expected = {code(ok)} | ({code(luntai_only)} if region == "652822" else set())
        else:
            expected = {code(gaj), code(gaj_home)}
            if team != korla_team:
                expected.add(code(recused))
        assert set(codes) == expected, (team, dept)
    # The left-out file is canonical and hashed on the run.
    data = services.read_file(run, services.LEFT_OUT)
    assert D.sha256_hex(data) == run.left_out_sha256
    lines = data.decode().splitlines()
    assert lines == sorted(lines)
    # Files are the protocol's bytes.
    assert files(run)[2] == A.eligibility_file(
        (t, d, c) for (t, d), cs in inputs_.eligible.items() for c in cs
    )


def _left_out(run):
    return E.parse_left_out(services.read_file(run, services.LEFT_OUT))


def test_experts_only_when_the_department_opts_in(org):
    task = make_task(org, targets=1)
    staff(org, 1)
    expert = make_inspector(org, org.gaj, kind="expert", certificate_no="")
    with pytest.raises(services.StaffingError, match="专家库只用于解决人员不足"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(experts=["GAJ"]))
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    assert code(expert) not in files(run)[2].decode()


def test_rotation_leaves_out_last_team_of_the_same_target(org):
    people = staff(org, 2)
    first = make_task(org, targets=1)
    run1 = performed_run(org, first)
    JointTask.objects.filter(pk=first.pk).update(state=JointTask.State.DISPATCHED)
    previous = set(TeamMember.objects.filter(team__run=run1).values_list("inspector_id", flat=True))
    assert len(previous) == 2
    target = run1.teams.get().targets.get()
    second = make_task(org, targets=0)
    make_draw_for(second, [target])
    run2 = services.create_run(user=org.scjgj_admin, task=second, inputs=inputs())
    rotated = {r["code"] for r in _left_out(run2) if r["reasons"] == ["rotation"]}
    assert rotated == {E.inspector_code(d, pk) for d, pk in _codes(previous, people)}
    # With the rule off, they may be drawn again.
    third = make_task(org, targets=0, rotation=False)
    make_draw_for(third, [target])
    run3 = services.create_run(user=org.scjgj_admin, task=third, inputs=inputs())
    assert not [r for r in _left_out(run3) if "rotation" in r["reasons"]]


def make_draw_for(task, targets):
    task.draws.all().delete()
    return make_draw(task, targets)


def _codes(pks, people):
    return [(i.department.code, i.pk) for ins in people.values() for i in ins if i.pk in pks]


def test_teams_per_region(org):
    task = make_task(org, targets=5, per_team=2)
    staff(org, 2)
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    teams = {}
    for line in files(run)[0].decode().splitlines():
        team, target = line.split("\t")
        teams.setdefault(team, []).append(target)
    regions = {
        s.target.code: s.target.region.code
        for s in task.draws.get().selections.select_related("target__region")
    }
    assert sum(map(len, teams.values())) == 5 and len(teams) == 3
    for members in teams.values():
        assert len(members) <= 2 and len({regions[t] for t in members}) == 1


# --- the run -------------------------------------------------------------------------------


def test_run_announce_perform_and_verify(org):
    task = make_task(org, targets=3, need={"SCJGJ": 2, "GAJ": 1})
    staff(org, 4)
    before = LogEntry.objects.count()
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    assert run.state == State.ANNOUNCED and run.teams_count == 3
    announcement = json.loads(bytes(run.announcement))
    assert announcement["entropy"] == {"beacon.fc3d.2026330": None}
    assert announcement["reveals_due"] is None and announcement["departments"] == ["GAJ", "SCJGJ"]
    entry = LogEntry.objects.get(index=run.announcement_index)
    assert bytes(entry.document) == bytes(run.announcement) and entry.kind == "assign-announcement"
    # No value yet: perform refused.
    with pytest.raises(services.StaffingError, match="缺少"):
        services.perform(user=org.scjgj_admin, run=run)
    for bad in ("4\t82", "48", "4821", "4 8 2"):
        with pytest.raises(services.StaffingError, match="福彩3D开奖号码的写法不对"):
            services.enter_beacon(user=org.scjgj_admin, run=run, value=bad)
    with pytest.raises(PermissionDenied):
        services.enter_beacon(user=org.gaj_admin, run=run, value="482")
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    with pytest.raises(PermissionDenied):
        services.perform(user=org.gaj_admin, run=run)
    services.perform(user=org.scjgj_admin, run=run)
    run.refresh_from_db()
    assert run.state == State.DONE and run.shortfall_count == 0
    assert LogEntry.objects.count() == before + 2
    release = json.loads(bytes(LogEntry.objects.get(index=run.release_index).document))
    assert release["stage"] == "release" and release["record_sha256"] == D.sha256_hex(
        bytes(run.record)
    )
    assert all(v == {"GAJ": 1, "SCJGJ": 2} for v in release["members"].values())
    record = services.record_json(run)
    for team in Team.objects.filter(run=run):
        members = list(team.members.order_by("department__code", "position"))
        assert len(members) == 3
        assert team.leader_id == E.inspector_pk(record["teams"][team.code]["leader"])
        assert team.leader.department == org.scjgj
    report = verify(run)
    assert report.passed, report.text()
    # Performing again is refused; so is a new run on a fully staffed one.
    with pytest.raises(services.StaffingError, match="已完成"):
        services.perform(user=org.scjgj_admin, run=run)
    with pytest.raises(services.StaffingError, match="人员齐备"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    notes = list(
        AuditEntry.objects.filter(object_type="staffing.assignmentrun").values_list(
            "note", flat=True
        )
    )
    assert any("执行第 1 轮" in n for n in notes) and any("公告第 1 轮" in n for n in notes)


def test_tampered_copies_fail_verification(org):
    task = make_task(org, targets=3)
    staff(org, 3)
    run = performed_run(org, task)
    record, teams, need, elig = bytes(run.record), *files(run)
    assert verify(run).passed
    doc = json.loads(record)
    doc["assignment"][0]["members"] = ["SCJGJ-999999"]
    bad = [
        verify_assign(
            D.dumps(doc), teams, need, elig, bytes(run.announcement), bytes(run.draw.record)
        ),
        verify_assign(record, teams, need.replace(b"\t1\n", b"\t2\n", 1), elig),
        verify_assign(record, teams, need, elig.rsplit(b"\n", 2)[0] + b"\n"),
        verify_assign(
            record, teams, need, elig, bytes(run.announcement).replace(b'"run":1', b'"run":2')
        ),
    ]
    for report in bad:
        assert not report.passed and report.exit_code == 1
    other = make_task(org, targets=3)
    report = verify_assign(record, teams, need, elig, draw_bytes=bytes(other.draws.get().record))
    assert not report.passed


def test_bad_inputs_change_nothing(org):
    task = make_task(org, targets=2)
    staff(org, 2)
    with pytest.raises(services.StaffingError, match="至少需要一个公开随机源"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(beacon="", server=True))
    with pytest.raises(services.StaffingError, match="格式不对"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(beacon="福彩.1"))
    with pytest.raises(services.StaffingError, match="不支持的公开随机源“dlt”"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(beacon="dlt.2026330"))
    with pytest.raises(services.StaffingError, match="至少为 2 人"):
        services.create_run(
            user=org.scjgj_admin, task=task, inputs=inputs(need={"SCJGJ": 1, "GAJ": 0})
        )
    with pytest.raises(services.StaffingError, match="不是本任务的参与部门"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(need={"SWJ": 1}))
    with pytest.raises(PermissionDenied):
        services.create_run(user=org.gaj_admin, task=task, inputs=inputs())
    with pytest.raises(PermissionDenied):
        services.create_run(user=org.auditor, task=task, inputs=inputs())
    assert not AssignmentRun.objects.exists()
    established = make_task(org, targets=2, state=JointTask.State.ESTABLISHED)
    with pytest.raises(services.StaffingError, match="已抽取"):
        services.create_run(user=org.scjgj_admin, task=established, inputs=inputs())


def test_shortfall_blocks_dispatch_until_a_new_run_resolves_it(org):
    task = make_task(org, targets=2, need={"SCJGJ": 1, "GAJ": 2})
    staff(org, 1)  # GAJ has one inspector, each team needs two
    run = performed_run(org, task)
    assert run.state == State.SHORTFALL and run.shortfall_count == 2
    assert set(Shortfall.objects.filter(team__run=run).values_list("need", "missing")) == {(2, 1)}
    with pytest.raises(services.StaffingError, match="人员不足"):
        services.dispatch(user=org.scjgj_admin, task=task)
    task.refresh_from_db()
    assert task.state == JointTask.State.DRAWN
    assert verify(run).passed  # a shortfall run verifies too
    # A new run with fewer per team resolves it; the first is superseded.
    run2 = performed_run(org, task, need={"GAJ": 1}, note="公安局每组减为 1 人")
    run.refresh_from_db()
    assert run.state == State.SUPERSEDED and run2.number == 2 and run2.state == State.DONE
    with pytest.raises(PermissionDenied):
        services.dispatch(user=org.gaj_admin, task=task)
    services.dispatch(user=org.scjgj_admin, task=task)
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
    with pytest.raises(services.StaffingError):
        services.dispatch(user=org.scjgj_admin, task=task)


def test_experts_resolve_a_shortfall(org):
    task = make_task(org, targets=1, need={"SCJGJ": 1, "GAJ": 2})
    staff(org, 1)
    expert = make_inspector(org, org.gaj, kind="expert", certificate_no="")
    assert performed_run(org, task).state == State.SHORTFALL
    with pytest.raises(services.StaffingError, match="SCJGJ 在上一轮没有人员不足"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(experts=["SCJGJ"]))
    run = performed_run(org, task, experts=["GAJ"])  # experts need no 执法证
    assert run.state == State.DONE
    assert code(expert) in files(run)[2].decode()


def test_dispatch_needs_a_performed_run(org):
    task = make_task(org, targets=1)
    staff(org, 1)
    with pytest.raises(services.StaffingError, match="还没有"):
        services.dispatch(user=org.scjgj_admin, task=task)
    services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    with pytest.raises(services.StaffingError, match="尚未完成"):
        services.dispatch(user=org.scjgj_admin, task=task)


# --- commit–reveal -------------------------------------------------------------------------


def test_party_commit_reveal(org):
    task = make_task(org, targets=2)
    staff(org, 2)
    secrets_ = {"SCJGJ": "ab" * 32, "GAJ": "cd" * 32}
    run = services.create_run(
        user=org.scjgj_admin, task=task, inputs=inputs(beacon="", parties=True)
    )
    assert run.state == State.COMMITTING and run.teams_sha256
    with pytest.raises(services.StaffingError, match="公告之后"):
        services.reveal(user=org.gaj_admin, run=run, value=secrets_["GAJ"])
    with pytest.raises(services.StaffingError, match="64 个十六进制"):
        services.commit(user=org.gaj_admin, run=run, commitment="abc")
    with pytest.raises(PermissionDenied):
        services.commit(user=org.inspector, run=run, commitment=D.commitment(secrets_["SCJGJ"]))
    with pytest.raises(PermissionDenied):
        services.commit(user=org.auditor, run=run, commitment=D.commitment(secrets_["SCJGJ"]))
    services.commit(user=org.gaj_admin, run=run, commitment=D.commitment(secrets_["GAJ"]))
    with pytest.raises(services.StaffingError, match="不能更改"):
        services.commit(user=org.gaj_admin, run=run, commitment=D.commitment("ee" * 32))
    run.refresh_from_db()
    assert run.state == State.COMMITTING
    services.commit(user=org.scjgj_head, run=run, commitment=D.commitment(secrets_["SCJGJ"]))
    run.refresh_from_db()
    assert run.state == State.ANNOUNCED
    announcement = json.loads(bytes(run.announcement))
    assert announcement["entropy"]["party.GAJ"] == D.commitment(secrets_["GAJ"])
    assert announcement["reveals_due"]
    with pytest.raises(services.StaffingError, match="不符"):
        services.reveal(user=org.gaj_admin, run=run, value="ee" * 32)
    services.reveal(user=org.gaj_admin, run=run, value=secrets_["GAJ"])
    with pytest.raises(services.StaffingError, match="缺少.*party.SCJGJ"):
        services.perform(user=org.scjgj_admin, run=run)
    services.reveal(user=org.scjgj_admin, run=run, value=secrets_["SCJGJ"])
    services.perform(user=org.scjgj_admin, run=run)
    run.refresh_from_db()
    assert run.state == State.DONE and verify(run).passed
    assert "entropy.party.GAJ=" + secrets_["GAJ"] in services.record_json(run)["assign_statement"]


def test_overdue_reveals_let_the_lead_abandon_and_run_again(org):
    task = make_task(org, targets=1)
    staff(org, 2)
    run = services.create_run(
        user=org.scjgj_admin, task=task, inputs=inputs(beacon="", parties=True)
    )
    for user, secret in ((org.gaj_admin, "12" * 32), (org.scjgj_admin, "34" * 32)):
        services.commit(user=user, run=run, commitment=D.commitment(secret))
    late = services.create_run(
        user=org.scjgj_admin, task=make_task(org, targets=1), inputs=inputs(beacon="", parties=True)
    )
    AssignmentRun.objects.filter(pk=late.pk).update(reveals_due=timezone.now())
    with pytest.raises(services.StaffingError, match="不能再承诺"):
        services.commit(user=org.gaj_admin, run=late, commitment=D.commitment("12" * 32))
    with pytest.raises(services.StaffingError, match="须按公告完成"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    AssignmentRun.objects.filter(pk=run.pk).update(
        reveals_due=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(services.StaffingError, match="截止时间已过"):
        services.reveal(user=org.gaj_admin, run=run, value="12" * 32)
    run2 = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    run.refresh_from_db()
    assert run.state == State.ABANDONED and run2.number == 2


# --- replacements --------------------------------------------------------------------------


def test_replacement_approved_refused_and_without_substitute(org):
    task = make_task(org, targets=2)
    staff(org, 3)
    gaj_head = head(org, org.gaj)
    run = performed_run(org, task)
    team = Team.objects.filter(run=run).order_by("code").first()
    leader = team.leader
    # The lead's leader is replaced: the substitute leads.
    with pytest.raises(PermissionDenied):
        services.request_replacement(
            user=org.gaj_admin,
            run=run,
            team=team.code,
            inspector=leader,
            reason="health",
            detail="x",
        )
    with pytest.raises(services.StaffingError, match="具体说明"):
        services.request_replacement(
            user=org.scjgj_admin,
            run=run,
            team=team.code,
            inspector=leader,
            reason="health",
            detail="",
        )
    item = services.request_replacement(
        user=org.scjgj_admin,
        run=run,
        team=team.code,
        inspector=leader,
        reason="health",
        detail="住院",
    )
    with pytest.raises(PermissionDenied):
        services.approve_replacement(user=org.scjgj_admin, replacement=item)  # not the head
    with pytest.raises(PermissionDenied):
        services.approve_replacement(user=gaj_head, replacement=item)  # another department's head
    log_size = LogEntry.objects.count()
    services.approve_replacement(user=org.scjgj_head, replacement=item)
    item.refresh_from_db()
    team.refresh_from_db()
    run.refresh_from_db()
    assert item.state == Replacement.State.APPROVED and item.index == 0
    assert team.leader_id == item.substitute_id != leader.pk
    record = services.record_json(run)
    assert record["replacements"][0]["out"] == code(leader)
    assert record["replacements"][0]["reason"] == "健康原因：住院"
    assert record["replacements"][0]["approved_by"] == "scjgj_head"
    entry = json.loads(bytes(LogEntry.objects.get(index=item.log_index).document))
    assert entry == A.replacement_entry(record, 0, bytes(run.record))
    assert LogEntry.objects.count() == log_size + 1
    assert verify(run).passed
    with pytest.raises(services.StaffingError, match="不能重复审批"):
        services.approve_replacement(user=org.scjgj_head, replacement=item)
    # Refused by the head: nothing changes.
    gaj_member = TeamMember.objects.get(team=team, department=org.gaj).inspector
    refused = services.request_replacement(
        user=org.gaj_admin,
        run=run,
        team=team.code,
        inspector=gaj_member,
        reason="post",
        detail="调岗",
    )
    with pytest.raises(services.StaffingError, match="理由"):
        services.refuse_replacement(user=gaj_head, replacement=refused, note="")
    services.refuse_replacement(user=gaj_head, replacement=refused, note="不影响检查")
    refused.refresh_from_db()
    assert refused.state == Replacement.State.REFUSED
    # Exhaust GAJ's pair order: 3 inspectors, one member → two substitutes, then none.
    for _ in range(2):
        current = TeamMember.objects.get(team=team, department=org.gaj).inspector
        r = services.request_replacement(
            user=org.gaj_admin,
            run=run,
            team=team.code,
            inspector=current,
            reason="conflict",
            detail="冲突",
        )
        services.approve_replacement(user=gaj_head, replacement=r)
    run.refresh_from_db()
    record_before, log_size = bytes(run.record), LogEntry.objects.count()
    current = TeamMember.objects.get(team=team, department=org.gaj).inspector
    last = services.request_replacement(
        user=org.gaj_admin,
        run=run,
        team=team.code,
        inspector=current,
        reason="recusal",
        detail="回避",
    )
    with pytest.raises(services.StaffingError, match="没有可替补"):
        services.approve_replacement(user=gaj_head, replacement=last)
    last.refresh_from_db()
    run.refresh_from_db()
    assert last.state == Replacement.State.REFUSED and last.index is None
    assert bytes(run.record) == record_before and LogEntry.objects.count() == log_size
    assert TeamMember.objects.get(team=team, department=org.gaj).inspector == current
    assert verify(run).passed


def test_replacement_needs_a_current_member_and_a_done_run(org):
    task = make_task(org, targets=1)
    people = staff(org, 2)
    run = performed_run(org, task)
    team = run.teams.get()
    outsider = next(i for i in people["SCJGJ"] if i != team.leader)
    with pytest.raises(services.StaffingError, match="不是检查组"):
        services.request_replacement(
            user=org.scjgj_admin,
            run=run,
            team=team.code,
            inspector=outsider,
            reason="post",
            detail="x",
        )
    with pytest.raises(services.StaffingError, match="没有检查组"):
        services.request_replacement(
            user=org.scjgj_admin,
            run=run,
            team="T9999",
            inspector=outsider,
            reason="post",
            detail="x",
        )
    with pytest.raises(services.StaffingError, match="更换原因"):
        services.request_replacement(
            user=org.scjgj_admin,
            run=run,
            team=team.code,
            inspector=team.leader,
            reason="lazy",
            detail="x",
        )


def test_declared_conflicts(org):
    task = make_task(org, targets=1)
    inspector = make_inspector(org, org.gaj)
    target = task.draws.get().selections.get().target
    with pytest.raises(PermissionDenied):
        services.declare_conflict(
            user=org.scjgj_admin, inspector=inspector, target=target, reason="x"
        )
    with pytest.raises(services.StaffingError, match="原因"):
        services.declare_conflict(
            user=org.gaj_admin, inspector=inspector, target=target, reason=" "
        )
    item = services.declare_conflict(
        user=org.gaj_admin, inspector=inspector, target=target, reason="亲属"
    )
    with pytest.raises(services.StaffingError, match="已登记"):
        services.declare_conflict(
            user=org.gaj_admin, inspector=inspector, target=target, reason="亲属"
        )
    services.withdraw_conflict(user=org.gaj_admin, conflict=item)
    with pytest.raises(services.StaffingError, match="已撤销"):
        services.withdraw_conflict(user=org.gaj_admin, conflict=item)


def test_big_runs_freeze_and_perform_in_background_jobs(org, monkeypatch):
    from shuangsuiji.core import jobs
    from shuangsuiji.core.models import Job

    monkeypatch.setattr(services, "BACKGROUND_TEAMS", 2)
    task = make_task(org, targets=5)
    staff(org, 3)
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    assert (
        run.state == State.COMMITTING and not run.teams_sha256 and run.job.kind == "staffing.freeze"
    )
    page = org.client(org.scjgj_admin).get(f"/staffing/{task.code}/runs/1/1/").content.decode()
    assert "后台任务排队中" in page
    assert jobs.run_pending() == 1
    run.refresh_from_db()
    assert run.state == State.ANNOUNCED and run.teams_count == 5
    assert Job.objects.get(pk=run.job_id).status == Job.Status.DONE
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    services.perform(user=org.scjgj_admin, run=run)
    with pytest.raises(services.StaffingError, match="后台进行"):
        services.perform(user=org.scjgj_admin, run=run)
    assert jobs.run_pending() == 1
    run.refresh_from_db()
    assert run.state == State.DONE and Team.objects.filter(run=run).count() == 5
    assert verify(run).passed
    # Re-running the finished jobs (a worker restart) changes nothing.
    assert services.freeze(run_id=run.pk).teams_sha256 == run.teams_sha256
    job = Job.objects.get(pk=run.job_id)
    assert services._perform_job(job, lambda *a, **k: None)["state"] == State.DONE
    assert Team.objects.filter(run=run).count() == 5


def test_a_freeze_that_fails_publishes_nothing_and_a_new_run_replaces_it(org, monkeypatch):
    task = make_task(org, targets=2)
    staff(org, 2)
    log_size = LogEntry.objects.count()

    def broken(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(services.E, "eligibility_bytes", broken)
    with pytest.raises(services.StaffingError, match="未能冻结.*磁盘已满"):
        services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    run = AssignmentRun.objects.get()
    assert run.state == State.COMMITTING and not run.teams_sha256
    assert LogEntry.objects.count() == log_size
    monkeypatch.undo()
    run2 = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    run.refresh_from_db()
    assert run.state == State.SUPERSEDED and run2.state == State.ANNOUNCED


def test_a_supplementary_draw_is_staffed_by_its_own_runs_before_dispatch(org):
    from .helpers import make_targets

    task = make_task(org, targets=2)
    staff(org, 2)
    first = performed_run(org, task)
    make_draw(task, make_targets(org, 2), number=2)
    with pytest.raises(services.StaffingError, match="还没有执法人员抽取"):
        services.dispatch(user=org.scjgj_admin, task=task)
    second = performed_run(org, task)
    assert (second.draw.number, second.number) == (2, 1) and second.state == State.DONE
    first.refresh_from_db()
    assert first.state == State.DONE  # another draw's run is not superseded
    assert verify(second).passed
    services.dispatch(user=org.scjgj_admin, task=task)


def test_an_unannounced_draws_runs_reach_the_public_log_with_its_release(org):
    """The run's announcement carries teams_sha256, an unsalted hash of the selected codes in draw
    order: for an unannounced draw it waits until the list is released (HeldLogEntry)."""
    from shuangsuiji.draws import services as draws
    from shuangsuiji.publication.models import LogEntry
    from shuangsuiji.staffing.models import HeldLogEntry

    task = make_task(org, targets=2)
    staff(org, 2)
    draw = task.draws.get()
    draw.release_mode = "after-inspection"
    draw.save()
    run = performed_run(org, task)
    assert run.state == State.DONE
    assert run.announcement_index is None and run.release_index is None
    assert not LogEntry.objects.filter(task=task.code).exists()
    assert HeldLogEntry.objects.filter(run=run).count() == 2
    # The departments still have the announcement and the record (verify-assign works).
    assert json.loads(bytes(run.announcement))["stage"] == "announcement"

    draws.publish_release(user=org.scjgj_admin, draw=draw)
    run.refresh_from_db()
    kinds = list(LogEntry.objects.filter(task=task.code).values_list("kind", flat=True))
    assert kinds == ["draw-release", "assign-announcement", "assign-release"]
    assert bytes(LogEntry.objects.get(index=run.announcement_index).document) == bytes(
        run.announcement
    )
    assert LogEntry.objects.get(index=run.release_index).kind == "assign-release"
    assert not HeldLogEntry.objects.exists()
