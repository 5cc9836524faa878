"""Test-wide set-up: a private data folder, and the fixtures every app's tests use."""

import os
import tempfile

os.environ.setdefault("SHUANGSUIJI_DATA", tempfile.mkdtemp(prefix="ssj-test-"))
# Playwright's sync API runs an event loop in the test thread; the ORM calls made around it are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["shuangsuiji.core.tests.fixtures"]
