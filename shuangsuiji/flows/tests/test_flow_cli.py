"""The whole chain from the command line, as an operator without a browser would run it:
``shuangsuiji task`` (from the plan line, initiate, respond, establish) → ``shuangsuiji draw``
(prepare, commit–reveal, freeze, commit, announce, reveal, perform) → ``shuangsuiji assign`` (run
with commit–reveal, commit, reveal, perform, dispatch, export) → the installed ``shuangsuiji
verify`` and ``verify-assign`` console command on the files (PASS, exit 0), and on a tampered copy
of each (exit 1)."""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from shuangsuiji.draws.models import TargetDraw
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D
from shuangsuiji.staffing.models import AssignmentRun, TeamMember

from .helpers import INSPECT, Flow

pytestmark = pytest.mark.django_db
CONSOLE = Path(sys.executable).with_name("shuangsuiji")


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def refused(command: str, *args, code: int = 1) -> str:
    with pytest.raises(CommandError) as info:
        run(command, *args)
    assert info.value.returncode == code
    return str(info.value)


def console(*args) -> subprocess.CompletedProcess:
    """The installed console entry (no database needed to verify)."""
    assert CONSOLE.exists(), f"{CONSOLE} is missing: run scripts/setup.sh --test"
    return subprocess.run(
        [str(CONSOLE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shuangsuiji.settings"},
    )


def test_plan_line_to_dispatched_task_from_the_command_line(org, tmp_path):
    flow = Flow(org)
    line = flow.accepted_line()

    # task: from the plan line, initiate, GAJ responds, establish.
    out = run("task", "create", "--user", "scjgj_admin", "--from-line", str(line.pk))
    task = JointTask.objects.get(plan_line=line)
    code = task.code
    assert "已创建任务草稿" in out and code in out
    assert "待响应" in run("task", "initiate", code, "--user", "scjgj_admin")
    assert "清单之外无事项" in refused(
        "task", "respond", code, "--user", "gaj_admin", "--accept",
        "--items", flow.scjgj_items[0].code,
    )  # fmt: skip
    out = run("task", "respond", code, "--user", "gaj_admin", "--accept",
              "--items", flow.gaj_items[0].code, "--inspectors", "1")  # fmt: skip
    assert out.strip() == "州公安局：已确认参加。"
    out = run("task", "establish", code, "--user", "scjgj_admin",
              "--inspect-start", INSPECT[0].isoformat(), "--inspect-end", INSPECT[1].isoformat(),
              "--inspectors", "SCJGJ=1,GAJ=1")  # fmt: skip
    assert "方案已确立" in out
    task.refresh_from_db()
    assert task.state == JointTask.State.ESTABLISHED

    # draw: commit–reveal of both departments, secrets kept in files the users hold.
    out = run("draw", "prepare", code, "--user", "scjgj_admin")
    assert "已准备第 1 次抽取" in out and f"候选对象 {len(flow.targets)} 个" in out
    due = (timezone.localtime() + datetime.timedelta(days=1)).isoformat(timespec="minutes")
    assert "party.GAJ" in run(
        "draw", "entropy", code, "--user", "scjgj_admin", "--parties", "--reveals-due", due
    )
    assert f"总体已冻结：{len(flow.targets)} 个对象" in run(
        "draw", "freeze", code, "--user", "scjgj_admin"
    )
    keys = {"SCJGJ": tmp_path / "scjgj.secret", "GAJ": tmp_path / "gaj.secret"}
    users = {"SCJGJ": "scjgj_admin", "GAJ": "gaj_admin"}
    for dept, path in keys.items():
        out = run("draw", "commit", code, "--user", users[dept], "--department", dept,
                  "--secret-file", str(path))  # fmt: skip
        assert "已提交承诺" in out
    assert "公开日志第" in run("draw", "announce", code, "--user", "scjgj_admin")
    for dept, path in keys.items():
        assert "揭示值与承诺相符" in run("draw", "reveal", code, "--user", users[dept],
                                  "--department", dept, "--secret-file", str(path))  # fmt: skip
    out = run("draw", "perform", code, "--user", "scjgj_admin")
    assert "名单已锁定" in out and "结果已公开" in out
    draw = TargetDraw.objects.get(task=task)
    task.refresh_from_db()
    assert draw.state == TargetDraw.State.DRAWN and task.state == JointTask.State.DRAWN
    assert f"种子 {draw.seed}" in run("draw", "show", code, "--user", "auditor")

    # The public files, as anyone downloads them.
    public = Client()
    draw_dir = tmp_path / "draw"
    draw_dir.mkdir()
    for name, url in (
        ("record.json", f"/public/draws/{code}/1.json"),
        ("population.tsv", f"/public/draws/{code}/1/population.tsv"),
        ("excluded.tsv", f"/public/draws/{code}/1/excluded.tsv"),
        ("announcement.json", f"/public/draws/{code}/1/announcement.json"),
    ):
        response = public.get(url)
        assert response.status_code == 200, url
        (draw_dir / name).write_bytes(
            b"".join(response) if response.streaming else response.content
        )

    # assign: a run with both departments' commit–reveal, perform, dispatch, export.
    out = run("assign", "run", code, "--user", "scjgj_admin", "--parties", "--reveals-due", due)
    assert f"已发起第 1-1 轮：待承诺，{sum(draw.k.values())} 个检查组。" in out
    assign_secrets = {"scjgj_admin": "1f" * 32, "gaj_admin": "2e" * 32}
    for user, value in assign_secrets.items():
        assert "承诺" in run("assign", "commit", code, "--user", user,
                           "--commitment", D.commitment(value))  # fmt: skip
    assert AssignmentRun.objects.get().state == AssignmentRun.State.ANNOUNCED
    assert "不符" in refused("assign", "reveal", code, "--user", "gaj_admin", "--value", "00" * 32)
    for user, value in assign_secrets.items():
        run("assign", "reveal", code, "--user", user, "--value", value)
    assert "已完成" in run("assign", "perform", code, "--user", "scjgj_admin")
    assert "只有牵头部门" in refused("assign", "dispatch", code, "--user", "gaj_admin")
    assert "已派发" in run("assign", "dispatch", code, "--user", "scjgj_admin")
    task.refresh_from_db()
    assert task.state == JointTask.State.DISPATCHED
    assert "已派发" in run("task", "show", code, "--user", "auditor")
    assign_dir = tmp_path / "assign"
    shown = run("assign", "show", code, "--user", "auditor", "--export", str(assign_dir))
    assert "组长" in shown
    teams = TeamMember.objects.filter(team__run__draw=draw).values("team").distinct().count()
    assert teams == sum(draw.k.values())

    # verify: PASS on the files as published/exported …
    d = [draw_dir / n for n in ("record.json", "population.tsv", "excluded.tsv")]
    result = console("verify", *d, "--announcement", draw_dir / "announcement.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    a = [assign_dir / n for n in ("record.json", "teams.tsv", "need.tsv", "eligibility.tsv")]
    extra = ["--announcement", assign_dir / "announcement.json", "--draw", draw_dir / "record.json"]
    result = console("verify-assign", *a, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout

    # … and FAIL (exit 1) on a tampered copy of each.
    bad = tmp_path / "tampered"
    shutil.copytree(draw_dir, bad / "draw")
    shutil.copytree(assign_dir, bad / "assign")
    record = json.loads((bad / "draw" / "record.json").read_bytes())
    record["seed"] = "0" * len(record["seed"])
    (bad / "draw" / "record.json").write_bytes(D.dumps(record))
    result = console(
        "verify", *[bad / "draw" / p.name for p in d],
        "--announcement", bad / "draw" / "announcement.json",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PASS" not in result.stdout
    teams_file = bad / "assign" / "teams.tsv"
    rows = teams_file.read_text().splitlines(keepends=True)
    rows[0], rows[-1] = rows[-1], rows[0]  # swap two teams' rows
    if len(rows) == 1:
        rows[0] = rows[0].replace("T0001", "T0009")
    teams_file.write_text("".join(rows))
    result = console(
        "verify-assign", *[bad / "assign" / p.name for p in a],
        "--announcement", bad / "assign" / "announcement.json",
        "--draw", draw_dir / "record.json",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PASS" not in result.stdout
