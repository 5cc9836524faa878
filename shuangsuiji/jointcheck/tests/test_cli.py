import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shuangsuiji.jointcheck.management.commands.task import Command
from shuangsuiji.jointcheck.models import JointTask

from .helpers import YEAR


def task(*args) -> str:
    out = io.StringIO()
    call_command("task", *args, stdout=out)
    return out.getvalue()


def refused(*args) -> str:
    with pytest.raises(CommandError) as info:
        task(*args)
    assert info.value.returncode == 1
    return str(info.value)


def test_cli_create_initiate_respond_establish_cancel(world):
    create = [
        "create", "--user", "scjgj_admin", "--name", "命令行任务", "--year", str(YEAR),
        "--period-start", f"{YEAR}-03-01", "--period-end", f"{YEAR}-12-31",
        "--items", f"{world.scjgj_items[1].code},{world.gaj_items[0].code}",
        "--departments", "GAJ", "--ratios", "C=1500;D=3000", "--scope", "region=652801",
    ]  # fmt: skip
    assert "请填写抽查任务名称" in refused(*[a if a != "命令行任务" else "" for a in create])
    assert "超出 0–10000" in refused(*create[:-4], "--ratios", "C=20000")
    assert "只有部门管理员" in refused(*["auditor" if a == "scjgj_admin" else a for a in create])
    out = task(*create)
    code = JointTask.objects.get().code
    assert code in out and code == f"{YEAR}-SCJGJ-0001"

    assert "无权查看" in refused("show", code, "--user", "inspector")
    assert "无权查看" in refused("initiate", code, "--user", "gaj_admin")  # a draft is the lead's
    assert "待响应" in task("initiate", code, "--user", "scjgj_admin")
    assert "请刷新页面" in refused("initiate", code, "--user", "scjgj_head")

    assert "配合部门" in refused(
        "respond", code, "--user", "scjgj_admin", "--decline", "--reason", "x"
    )
    assert "清单之外无事项" in refused(
        "respond", code, "--user", "gaj_admin", "--accept", "--items", world.scjgj_items[0].code
    )
    out = task(
        "respond", code, "--user", "gaj_admin", "--accept",
        "--items", world.gaj_items[0].code, "--inspectors", "2",
    )  # fmt: skip
    assert out.strip() == "州公安局：已确认参加。"

    listing = task("list", "--user", "office", "--state", "awaiting")
    assert code in listing and "共 1 个任务" in listing
    assert "共 0 个任务" in task("list", "--user", "inspector")

    establish = [
        "establish", code, "--user", "scjgj_admin", "--inspect-start", f"{YEAR}-04-01",
        "--inspect-end", f"{YEAR}-06-30", "--inspectors", "SCJGJ=1,GAJ=2",
    ]  # fmt: skip
    assert "计划时间" in refused(*establish[:5], f"{YEAR}-01-01", *establish[6:])
    assert "方案已确立" in task(*establish)
    shown = task("show", code, "--user", "auditor")
    assert "已确立" in shown and "GAJ 州公安局" in shown and "每组 2 人" in shown
    assert "任务确立" in shown and "州公安局确认参加" in shown

    assert "须填写原因" in refused("cancel", code, "--user", "office")
    assert "只有牵头部门" in refused("cancel", code, "--user", "gaj_admin", "--reason", "x")
    assert "已取消" in task("cancel", code, "--user", "office", "--reason", "并入其他任务")


def test_cli_from_plan_line_and_bad_users(world):
    from .test_services import _accepted_plan

    line = _accepted_plan(world)
    assert "发起机关" in refused("create", "--user", "gaj_admin", "--from-line", str(line.pk))
    assert "已创建任务草稿" in task("create", "--user", "scjgj_admin", "--from-line", str(line.pk))
    assert "没有用户名" in refused("list", "--user", "nobody")
    assert "没有找到任务" in refused("show", "NOPE", "--user", "office")


def test_cli_drop_a_partner_that_never_responded(world):
    import datetime

    t = world.awaiting(today=datetime.date(YEAR, 3, 6))
    assert "不是本任务的配合部门" in refused(
        "drop", t.code, "--user", "office", "--department", "XX"
    )
    assert "只有牵头部门" in refused("drop", t.code, "--user", "gaj_admin", "--department", "GAJ")
    out = task("drop", t.code, "--user", "scjgj_admin", "--department", "gaj", "--reason", "未果")
    assert "已将逾期未响应的州公安局移出" in out
    assert "逾期未响应，已移出：未果" in task("show", t.code, "--user", "auditor")


def test_cli_exit_status_and_stderr(world, capsys):
    with pytest.raises(SystemExit) as info:
        Command().run_from_argv(["shuangsuiji", "task", "show", "NOPE", "--user", "office"])
    assert info.value.code == 1
    assert "没有找到任务“NOPE”" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        Command().run_from_argv(["shuangsuiji", "task", "fly", "--user", "office"])
    assert info.value.code == 2
