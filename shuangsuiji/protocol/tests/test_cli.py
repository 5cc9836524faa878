"""``python -m shuangsuiji.protocol verify …`` / ``verify-assign …``: exit status 0/1/2, and the
package runs without Django (a third party can run it anywhere)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from shuangsuiji.protocol import __main__ as cli
from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol.verify import main_verify, main_verify_assign

from .helpers import build_assign, build_draw, draw_vector

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]


def write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def draw_files(tmp_path):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    return case, {
        "record": write(tmp_path, "release.json", case.release_bytes),
        "population": write(tmp_path, "population.tsv", case.population),
        "excluded": write(tmp_path, "excluded.tsv", case.excluded),
        "announcement": write(tmp_path, "announcement.json", case.announcement_bytes),
        "strata": write(tmp_path, "strata.tsv", case.strata),
    }


def run_module(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shuangsuiji.protocol", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_verify_command_pass_fail_unreadable(draw_files, tmp_path):
    case, f = draw_files
    ok = run_module("verify", f["record"], f["population"], f["excluded"],
                    "--announcement", f["announcement"], "--strata", f["strata"])  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "结果：通过 (PASS)" in ok.stdout
    case.release["selected"][0]["score"] = "0" * 64
    bad = write(tmp_path, "bad.json", case.release_bytes)
    differs = run_module("verify", bad, f["population"], f["excluded"])
    assert differs.returncode == 1
    assert "score 不符" in differs.stdout and "warning" in differs.stdout
    broken = write(tmp_path, "broken.json", b'{"a":1,"a":2}')
    assert run_module("verify", broken, f["population"], f["excluded"]).returncode == 2


def test_missing_file_and_usage_errors(draw_files, capsys):
    _, f = draw_files
    assert main_verify([f["record"], "/nonexistent/population.tsv", f["excluded"]]) == 2
    assert "无法读取文件 (cannot read) /nonexistent/population.tsv" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2
    with pytest.raises(SystemExit) as exc:
        main_verify([f["record"]])  # argparse: missing arguments
    assert exc.value.code == 2


def test_main_functions_can_be_wired_elsewhere(draw_files, capsys):
    _, f = draw_files
    assert main_verify([f["record"], f["population"], f["excluded"], "--strata", f["strata"]]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "announcement" in out  # the warning without the announcement


def test_verify_assign_command(tmp_path):
    case = build_assign()
    files = [
        write(tmp_path, "record.json", case.record_bytes),
        write(tmp_path, "teams.tsv", case.inputs.teams_bytes),
        write(tmp_path, "need.tsv", case.inputs.need_bytes),
        write(tmp_path, "eligibility.tsv", case.inputs.eligibility_bytes),
    ]
    extra = ["--announcement", write(tmp_path, "a.json", case.announcement_bytes),
             "--draw", write(tmp_path, "d.json", D.dumps(case.draw_release))]  # fmt: skip
    done = run_module("verify-assign", *files, *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "source=fc3d  issue=2027061  value=747" in done.stdout
    case.record["teams"]["T0001"]["leader"] = None
    files[0] = write(tmp_path, "record.json", case.record_bytes)
    assert main_verify_assign([*files, *extra]) == 1


def test_the_package_imports_no_django():
    code = (
        "import sys\n"
        "import shuangsuiji.protocol.verify, shuangsuiji.protocol.merkle, shuangsuiji.protocol.__main__\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_only_the_standard_library_is_imported():
    allowed = set(sys.stdlib_module_names)
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed | {"__future__"}, f"{path.name}: {name}"
