import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The shared `org` fixture creates six users; the default PBKDF2 hashing makes that ~8 s a test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
