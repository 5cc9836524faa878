import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The org fixture creates six users; PBKDF2 makes that seconds per test on a busy machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
