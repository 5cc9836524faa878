"""The real thing: `shuangsuiji serve` as a process, answering HTTP with its own static assets."""

import os
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_http_and_serves_its_own_assets(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "SHUANGSUIJI_DATA": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "shuangsuiji", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert "登录" in page
        # Every asset comes from the app itself (government intranets have no internet).
        assert (
            "http://" not in page.replace(f"http://127.0.0.1:{port}", "") and "https://" not in page
        )
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/vendor/bootstrap/bootstrap.min.css"
        ) as r:
            assert r.status == 200 and b"Bootstrap" in r.read(2000)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/htmx/htmx.min.js") as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(10)
