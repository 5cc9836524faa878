"""``shuangsuiji verify`` / ``verify-assign`` as real processes: exit 0 PASS, 1 differs, 2
unreadable, and no database needed (nothing migrates, nothing connects)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol.tests.helpers import build_assign, build_draw, draw_vector, draw_vectors

ROOT = Path(__file__).resolve().parents[3]


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def env(tmp_path):
    """No usable database: a SQLite path in a folder that does not exist."""
    e = dict(os.environ)
    e["SHUANGSUIJI_DATA"] = str(tmp_path / "data")
    e["DATABASE_URL"] = "sqlite:////nonexistent/ssj/none.sqlite3"
    return e


def run(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shuangsuiji", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("name", [v["name"] for v in draw_vectors()])
def test_verify_pass_tampered_unreadable(tmp_path, env, name):
    case = build_draw(draw_vector(name))
    f = {
        "record": write(tmp_path, "release.json", case.release_bytes),
        "population": write(tmp_path, "population.tsv", case.population),
        "excluded": write(tmp_path, "excluded.tsv", case.excluded),
        "announcement": write(tmp_path, "announcement.json", case.announcement_bytes),
    }
    args = [f["record"], f["population"], f["excluded"], "--announcement", f["announcement"]]
    if case.strata is not None:
        args += ["--strata", write(tmp_path, "strata.tsv", case.strata)]
    ok = run(env, "verify", *args)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "结果：通过 (PASS)" in ok.stdout

    case.release["selected"][0]["score"] = "0" * 64
    tampered = write(tmp_path, "tampered.json", case.release_bytes)
    bad = run(env, "verify", tampered, *args[1:])
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "不符 (FAIL)" in bad.stdout and "score 不符" in bad.stdout

    junk = write(tmp_path, "junk.json", b"this is not JSON")
    unreadable = run(env, "verify", junk, *args[1:])
    assert unreadable.returncode == 2, unreadable.stdout + unreadable.stderr
    assert "无法读取 (UNREADABLE)" in unreadable.stdout
    assert not (Path(env["SHUANGSUIJI_DATA"]) / "shuangsuiji.sqlite3").exists()


def test_verify_usage_and_missing_file(tmp_path, env):
    usage = run(env, "verify")
    assert usage.returncode == 2 and "usage: verify" in usage.stderr
    missing = run(env, "verify", "/nonexistent/r.json", "/nonexistent/p.tsv", "/nonexistent/e.tsv")
    assert missing.returncode == 2 and "无法读取文件" in missing.stdout
    helped = run(env, "verify", "--help")
    assert helped.returncode == 0 and "--announcement" in helped.stdout


def test_verify_assign_pass_tampered_unreadable(tmp_path, env):
    case = build_assign()
    f = [
        write(tmp_path, "record.json", case.record_bytes),
        write(tmp_path, "teams.tsv", case.inputs.teams_bytes),
        write(tmp_path, "need.tsv", case.inputs.need_bytes),
        write(tmp_path, "eligibility.tsv", case.inputs.eligibility_bytes),
    ]
    opts = [
        "--announcement", write(tmp_path, "a.json", case.announcement_bytes),
        "--draw", write(tmp_path, "draw.json", D.dumps(case.draw_release)),
    ]  # fmt: skip
    ok = run(env, "verify-assign", *f, *opts)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "结果：通过 (PASS)" in ok.stdout

    case.record["assign_seed"] = "0" * 64
    bad = run(env, "verify-assign", write(tmp_path, "bad.json", case.record_bytes), *f[1:], *opts)
    assert bad.returncode == 1, bad.stdout + bad.stderr

    junk = run(env, "verify-assign", write(tmp_path, "junk.json", b"\xff\xfe"), *f[1:])
    assert junk.returncode == 2, junk.stdout + junk.stderr


def test_verify_with_unreachable_postgres(tmp_path, env):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
    ok = run(
        env,
        "verify",
        write(tmp_path, "r.json", case.release_bytes),
        write(tmp_path, "p.tsv", case.population),
        write(tmp_path, "e.tsv", case.excluded),
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_call_command_raises_with_status(tmp_path, capsys):
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    args = [
        write(tmp_path, "r.json", case.release_bytes),
        write(tmp_path, "p.tsv", case.population),
        write(tmp_path, "e.tsv", case.excluded),
    ]
    call_command("verify", *args)
    assert "PASS" in capsys.readouterr().out
    with pytest.raises(CommandError) as exc:
        call_command("verify", write(tmp_path, "j.json", b"{"), *args[1:])
    assert exc.value.returncode == 2
