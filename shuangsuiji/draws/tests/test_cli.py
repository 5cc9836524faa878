"""``shuangsuiji draw …``: the whole path from the command line, exit 0 / 1 (refused, Chinese)
/ 2 (bad command line), and the secret kept in a file the user holds."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from shuangsuiji.draws.models import DrawEntropy, TargetDraw
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol.verify import verify

from .helpers import make_targets, make_task, own_data_folder  # noqa: F401 (autouse)

pytestmark = pytest.mark.django_db


def draw_cmd(*args) -> str:
    out = io.StringIO()
    call_command("draw", *args, stdout=out)
    return out.getvalue()


def refused(*args, code: int = 1) -> str:
    with pytest.raises(CommandError) as exc:
        draw_cmd(*args)
    assert exc.value.returncode == code
    return str(exc.value)


def test_whole_draw_from_the_command_line(org, tmp_path):
    make_targets(org, 30)
    task = make_task(org)
    code = task.code
    out = draw_cmd("prepare", code, "--user", "scjgj_admin")
    assert "已准备第 1 次抽取" in out and "候选对象 30 个" in out
    due = (timezone.localtime() + datetime.timedelta(days=1)).isoformat(timespec="minutes")
    assert "party.GAJ" in draw_cmd(
        "entropy", code, "--user", "scjgj_admin", "--parties", "--reveals-due", due
    )
    assert "总体已冻结：30 个对象" in draw_cmd("freeze", code, "--user", "scjgj_admin")
    secrets = {"SCJGJ": tmp_path / "scjgj.secret", "GAJ": tmp_path / "gaj.secret"}
    users = {"SCJGJ": "scjgj_head", "GAJ": "gaj_admin"}
    for dept, path in secrets.items():
        out = draw_cmd("commit", code, "--user", users[dept], "--department", dept,
                       "--secret-file", str(path))  # fmt: skip
        assert "已生成随机数" in out and "已提交承诺" in out
        assert path.stat().st_mode & 0o077 == 0  # only its owner can read it
    # Revealing before the announcement is refused (exit 1, Chinese).
    assert "公告之前不能揭示" in refused(
        "reveal", code, "--user", "gaj_admin", "--department", "GAJ", "--secret-file",
        str(secrets["GAJ"]),
    )  # fmt: skip
    assert "公开日志第 0 条" in draw_cmd("announce", code, "--user", "scjgj_admin")
    # A secret file that does not open the commitment: refused, nothing stored.
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("ab" * 32)
    assert "承诺不符" in refused(
        "reveal", code, "--user", "gaj_admin", "--department", "GAJ", "--secret-file", str(wrong)
    )
    assert DrawEntropy.objects.get(name="party.GAJ").value == ""
    for dept, path in secrets.items():
        assert "揭示值与承诺相符" in draw_cmd(
            "reveal", code, "--user", users[dept], "--department", dept, "--secret-file", str(path)
        )
    out = draw_cmd("perform", code, "--user", "scjgj_admin")
    assert "名单已锁定" in out and "结果已公开" in out
    draw = TargetDraw.objects.get(task=task)
    assert draw.state == TargetDraw.State.DRAWN
    assert (
        D.commitment(secrets["GAJ"].read_text().strip())
        == draw.entropy.get(name="party.GAJ").commitment
    )
    out = draw_cmd("show", code, "--user", "auditor", "--export", str(tmp_path / "files"))
    assert f"种子 {draw.seed}" in out and "已导出到" in out
    # The exported files are what `shuangsuiji verify` takes: PASS, also with the strata file.
    files = {p.name: p.read_bytes() for p in (tmp_path / "files").iterdir()}
    assert set(files) == {
        "announcement.json", "release.json", "population.tsv", "excluded.tsv", "strata.tsv"
    }  # fmt: skip
    report = verify(
        files["release.json"],
        files["population.tsv"],
        files["excluded.tsv"],
        files["announcement.json"],
        files["strata.tsv"],
    )
    assert report.passed, report
    assert "名单已锁定" in refused("perform", code, "--user", "scjgj_admin")
    assert "补充抽取" in refused("prepare", code, "--user", "scjgj_admin")


def test_refusals_and_usage_errors(org, tmp_path):
    make_targets(org, 10)
    task = make_task(org, unannounced=True)
    code = task.code
    assert "只有牵头部门" in refused("prepare", code, "--user", "gaj_admin")
    draw_cmd("prepare", code, "--user", "scjgj_admin")
    assert "不能只用公开随机源" in refused(
        "entropy", code, "--user", "scjgj_admin", "--beacon",
        f"fc3d:2026330:{timezone.localdate().isoformat()}",
    )  # fmt: skip
    assert "只有本任务的参与部门" in refused("show", code, "--user", "inspector")
    refused("show", "NO-SUCH-TASK", "--user", "scjgj_admin", code=2)
    refused("show", code, "--user", "nobody", code=2)
    refused("entropy", code, "--user", "scjgj_admin", "--beacon", "fc3d", code=2)
    refused("commit", code, "--user", "gaj_admin", "--department", "GAJ", code=2)
    refused("commit", code, "--user", "gaj_admin", "--department", "XYZ", "--secret-file",
            str(tmp_path / "s"), code=2)  # fmt: skip
    bad = tmp_path / "bad.secret"
    bad.write_text("not a secret")
    refused("commit", code, "--user", "gaj_admin", "--department", "GAJ", "--secret-file",
            str(bad), code=2)  # fmt: skip
    assert "请填写作废原因" in refused("abandon", code, "--user", "scjgj_admin")
    assert "已作废" in draw_cmd("abandon", code, "--user", "scjgj_admin", "--reason", "范围有误")


def test_decide_from_the_command_line(org):
    from shuangsuiji.directory.models import Target
    from shuangsuiji.draws.models import Exclusion

    make_targets(org, 10)
    dead = make_targets(org, 1, start=100, reg_status=Target.RegStatus.REVOKED)[0]
    task = make_task(org)
    out = draw_cmd("prepare", task.code, "--user", "scjgj_admin")
    assert dead.code in out and "deregistered" in out
    assert "已取消排除" in draw_cmd("decide", task.code, dead.code, "--user", "scjgj_admin")
    assert not Exclusion.objects.exists()
    assert "已排除" in draw_cmd(
        "decide", task.code, dead.code, "--user", "scjgj_admin", "--reason", "deregistered"
    )
    other = Target.objects.exclude(pk=dead.pk).first()
    assert "只能按平台提示的原因" in refused(
        "decide", task.code, other.code, "--user", "scjgj_admin", "--reason", "merged"
    )
    refused("decide", task.code, "NOPE", "--user", "scjgj_admin", code=2)
