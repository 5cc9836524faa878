"""The import bench on a small file as a test: a SQLite database FILE (the test database is in
memory, where the apply cannot use its worker thread), several chunks through bulk.Pipeline,
and the bench's own checks (every row a target and an entry)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not (ROOT / "bench" / "import_targets.py").exists(), reason="no bench")
def test_bench_sqlite_file_database_through_the_pipeline(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "SHUANGSUIJI_DATA": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "bench/import_targets.py", "--rows", "12000", "--formats", "csv"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    [result] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["database"] == "sqlite" and result["rows"] == 12000
    assert "wait_writer" in result["apply_phases"]  # the writes ran in the worker thread
