"""``shuangsuiji import`` / ``shuangsuiji export``: exit status, console summary, the error report
next to the file, --dry-run, --valid-only, and the export → import round trip."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shuangsuiji.core.models import AuditEntry
from shuangsuiji.directory.models import Target
from shuangsuiji.transfer.models import ImportBatch

from .helpers import TARGET_HEADINGS, target_row, uscc, write_csv


def run(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + "\n" + str(exc)
    return 0, out.getvalue()


def test_import_valid_file(org, tmp_path):
    path = write_csv(tmp_path / "ok.csv", [TARGET_HEADINGS, target_row(1), target_row(2)])
    code, out = run("importdata", "targets", str(path), "--department", "SCJGJ")
    assert code == 0
    assert "新增 2" in out and "已导入" in out
    assert Target.objects.count() == 2
    assert not (tmp_path / "ok.csv.errors.xlsx").exists()
    log = AuditEntry.objects.get(action="import")
    assert log.user.username == "system" and log.user_name == "系统（命令行）"


def test_invalid_rows_exit_1_and_write_the_report(org, tmp_path):
    rows = (
        [TARGET_HEADINGS]
        + [target_row(i, 信用风险分类="X") for i in range(1, 30)]
        + [target_row(40)]
    )
    path = write_csv(tmp_path / "bad.csv", rows)
    code, out = run("importdata", "targets", str(path), "--department", "SCJGJ")
    assert code == 1
    assert (tmp_path / "bad.csv.errors.xlsx").exists()
    assert "第 2 行 · 信用风险分类 · “X”" in out and "其余 9 条见错误报告" in out
    assert "未导入任何数据" in out and Target.objects.count() == 0


def test_valid_only_and_dry_run(org, tmp_path):
    path = write_csv(
        tmp_path / "mixed.csv", [TARGET_HEADINGS, target_row(1), target_row(2, 名称="")]
    )
    assert run("importdata", "targets", str(path), "--department", "SCJGJ", "--dry-run")[0] == 1
    code, out = run(
        "importdata", "targets", str(path), "--department", "SCJGJ", "--dry-run", "--valid-only"
    )
    assert code == 0 and "试运行" in out and Target.objects.count() == 0
    code, out = run("importdata", "targets", str(path), "--department", "SCJGJ", "--valid-only")
    assert code == 0 and list(Target.objects.values_list("code", flat=True)) == [uscc(1)]
    assert (tmp_path / "mixed.csv.errors.xlsx").exists()


def test_rejected_file_and_bad_arguments_exit_2(org, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    code, out = run("importdata", "targets", str(path), "--department", "SCJGJ")
    assert code == 2 and "PNG 图片" in out
    assert ImportBatch.objects.get().status == "rejected"
    good = write_csv(tmp_path / "ok.csv", [TARGET_HEADINGS, target_row(1)])
    assert run("importdata", "targets", str(good), "--department", "NOPE")[0] == 2
    assert (
        run("importdata", "targets", str(tmp_path / "missing.csv"), "--department", "SCJGJ")[0] == 2
    )
    assert (
        run("importdata", "targets", str(good), "--department", "SCJGJ", "--user", "nobody")[0] == 2
    )
    assert Target.objects.count() == 0


def test_user_option_is_checked(org, tmp_path):
    path = write_csv(tmp_path / "ok.csv", [TARGET_HEADINGS, target_row(1)])
    with pytest.raises(Exception, match="权限|只能修改"):
        call_command(
            "importdata",
            "targets",
            str(path),
            "--department",
            "SCJGJ",
            "--user",
            "gaj_admin",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert (
        run("importdata", "targets", str(path), "--department", "SCJGJ", "--user", "scjgj_admin")[0]
        == 0
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_is_unchanged(org, tmp_path, fmt):
    path = write_csv(tmp_path / "ok.csv", [TARGET_HEADINGS] + [target_row(i) for i in range(1, 6)])
    assert run("importdata", "targets", str(path), "--department", "SCJGJ")[0] == 0
    out = tmp_path / f"out.{fmt}"
    code, text = run("exportdata", "targets", str(out), "--department", "SCJGJ")
    assert code == 0 and "已导出 5 行" in text
    code, text = run("importdata", "targets", str(out), "--department", "SCJGJ")
    assert code == 0 and "未变 5" in text and "新增 0" in text and "修改 0" in text


def test_export_rejects_other_suffix(org, tmp_path):
    assert run("exportdata", "targets", str(tmp_path / "out.pdf"), "--department", "SCJGJ")[0] == 2


def test_console_command_exit_status(tmp_path):
    """The real ``shuangsuiji import`` process on a fresh SQLite database."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SHUANGSUIJI_DATA"] = str(tmp_path / "data")
    setup = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shuangsuiji.settings'); django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from shuangsuiji.core.models import Jurisdiction, Department;"
        "p = Jurisdiction.objects.create(code='652800', name='巴州', level='prefecture');"
        "Jurisdiction.objects.create(code='652801', name='库尔勒市', level='county', parent=p);"
        "Department.objects.create(jurisdiction=p, code='SCJGJ', name='州市场监督管理局')"
    )
    subprocess.run([sys.executable, "-c", setup], env=env, check=True)
    cli = [sys.executable, "-m", "shuangsuiji"]
    good = write_csv(tmp_path / "good.csv", [TARGET_HEADINGS, target_row(1)])
    bad = write_csv(tmp_path / "bad.csv", [TARGET_HEADINGS, target_row(2, 成立日期="?")])
    result = subprocess.run(
        [*cli, "import", "targets", str(bad), "--department", "SCJGJ"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert "成立日期" in result.stdout and (tmp_path / "bad.csv.errors.xlsx").exists()
    result = subprocess.run(
        [*cli, "import", "targets", str(good), "--department", "SCJGJ"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "导入" in result.stderr  # the progress bar
