"""Test-wide set-up: a private data folder, and the fixtures every app's tests use."""

import os
import tempfile

os.environ.setdefault("SHUANGSUIJI_DATA", tempfile.mkdtemp(prefix="ssj-test-"))
# Playwright's sync API runs an event loop in the test thread; the ORM calls made around it are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Property tests explore the same examples on every run, so CI never fails by chance; run with
# HYPOTHESIS_PROFILE=explore to search afresh.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["shuangsuiji.core.tests.fixtures"]
