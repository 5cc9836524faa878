import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol.verify import main_verify_assign
from shuangsuiji.staffing.models import AssignmentRun, Replacement, TeamMember

from .helpers import head, make_task, staff


def assign(*args) -> str:
    out = io.StringIO()
    call_command("assign", *args, stdout=out)
    return out.getvalue()


def refused(*args) -> str:
    with pytest.raises(CommandError) as info:
        assign(*args)
    assert info.value.returncode == 1
    return str(info.value)


def test_cli_run_perform_replace_dispatch_and_verify(org, tmp_path, capsys):
    task = make_task(org, targets=3, need={"SCJGJ": 1, "GAJ": 3})
    staff(org, 2)
    code = task.code
    assert "没有用户名" in refused("run", code, "--user", "nobody", "--beacon", "fc3d.1")
    assert "只有牵头部门" in refused("run", code, "--user", "gaj_admin", "--beacon", "fc3d.1")
    assert "没有找到" in refused("show", code, "--user", "inspector")
    assert "GAJ=1" in refused("run", code, "--user", "scjgj_admin", "--need", "GAJ")
    assert "至少需要" in refused("run", code, "--user", "scjgj_admin", "--server")
    out = assign("run", code, "--user", "scjgj_admin", "--beacon", "fc3d.2026330")
    assert "已公告" in out
    assert "缺少" in refused("perform", code, "--user", "scjgj_admin")
    assign("beacon", code, "--user", "scjgj_admin", "--value", "482")
    out = assign("perform", code, "--user", "scjgj_admin")
    assert "3 个检查组与部门人员不足" in out  # GAJ has 2 inspectors, each team needs 3
    run = AssignmentRun.objects.get()
    assert "人员不足" in refused("dispatch", code, "--user", "scjgj_admin")
    # Export, verify PASS, tamper, verify FAIL.
    assign("show", code, "--user", "auditor", "--export", str(tmp_path))
    argv = [str(tmp_path / n) for n in ("record.json", "teams.tsv", "need.tsv", "eligibility.tsv")]
    extra = [
        "--announcement",
        str(tmp_path / "announcement.json"),
        "--draw",
        str(tmp_path / "draw.json"),
    ]
    assert main_verify_assign([*argv, *extra]) == 0
    assert "PASS" in capsys.readouterr().out
    need = (tmp_path / "need.tsv").read_bytes()
    (tmp_path / "need.tsv").write_bytes(need.replace(b"\t3\n", b"\t1\n", 1))
    assert main_verify_assign([*argv, *extra]) == 1
    (tmp_path / "need.tsv").write_bytes(need)
    (tmp_path / "record.json").write_bytes(b"{not json")
    assert main_verify_assign([*argv, *extra]) == 2
    assert run.state == AssignmentRun.State.SHORTFALL


def test_cli_full_flow(org, tmp_path, capsys):
    task = make_task(org, targets=2)
    staff(org, 3)
    gaj_head = head(org, org.gaj)
    code = task.code
    assign("run", code, "--user", "scjgj_admin", "--beacon", "ssq.2026140", "--parties",
           "--reveals-due", "2099-01-01T00:00+08:00", "--need", "GAJ=1")  # fmt: skip
    secrets_ = {"scjgj_admin": "1f" * 32, "gaj_admin": "2e" * 32}
    assert "已提交承诺" in assign(
        "commit", code, "--user", "gaj_admin", "--commitment", D.commitment(secrets_["gaj_admin"])
    )
    assert "已公告" in assign(
        "commit",
        code,
        "--user",
        "scjgj_admin",
        "--commitment",
        D.commitment(secrets_["scjgj_admin"]),
    )
    assert "不符" in refused("reveal", code, "--user", "gaj_admin", "--value", "00" * 32)
    for user, secret in secrets_.items():
        assign("reveal", code, "--user", user, "--value", secret)
    assign("beacon", code, "--user", "scjgj_admin", "--value", "03 07 12 19 25 31 + 09")
    assert "已完成" in assign("perform", code, "--user", "scjgj_admin")
    run = AssignmentRun.objects.get()
    member = TeamMember.objects.filter(team__run=run, department=org.gaj).first()
    inspector_code = f"GAJ-{member.inspector_id}"
    assert "更换原因" in refused("replace", code, "--user", "gaj_admin", "--team", member.team.code,
                              "--inspector", inspector_code, "--reason", "懒", "--detail", "x")  # fmt: skip
    assert "没有编码" in refused("replace", code, "--user", "gaj_admin", "--team", member.team.code,
                             "--inspector", "nobody", "--reason", "健康原因", "--detail", "x")  # fmt: skip
    assert "已提交更换申请" in assign("replace", code, "--user", "gaj_admin", "--team", member.team.code,
                 "--inspector", inspector_code, "--reason", "健康原因", "--detail", "住院")  # fmt: skip
    item = Replacement.objects.get()
    assert "部门负责人" in refused("approve", code, "--user", "gaj_admin", "--id", str(item.pk))
    assert "没有编号" in refused("approve", code, "--user", gaj_head.username, "--id", "999")
    assert "已批准" in assign("approve", code, "--user", gaj_head.username, "--id", str(item.pk))
    assert "只有牵头部门" in refused("dispatch", code, "--user", "gaj_admin")
    assert "已派发" in assign("dispatch", code, "--user", "scjgj_admin")
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
    shown = assign("show", code, "--user", "gaj_admin", "--export", str(tmp_path))
    assert "组长" in shown and "party.GAJ" in shown
    argv = [str(tmp_path / n) for n in ("record.json", "teams.tsv", "need.tsv", "eligibility.tsv")]
    extra = [
        "--announcement",
        str(tmp_path / "announcement.json"),
        "--draw",
        str(tmp_path / "draw.json"),
    ]
    assert main_verify_assign([*argv, *extra]) == 0, capsys.readouterr().out
    # A replacement dropped from the record is detected.
    import json

    doc = json.loads((tmp_path / "record.json").read_bytes())
    doc["replacements"] = []
    (tmp_path / "record.json").write_bytes(D.dumps(doc))
    assert main_verify_assign([*argv, *extra]) == 1
