"""Fixtures shared by every app's tests: a small jurisdiction with two departments and one user
of each role, logged-in clients, and a Playwright page in Debian's Chromium."""

import shutil

import pytest
from django.test import Client

from shuangsuiji.core.models import Department, Jurisdiction, User

PASSWORD = "test-pass-2026"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The default hasher costs ~1 s per user; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Org:
    """Everything the permission tests need: two departments and one user per role."""

    def __init__(self):
        self.prefecture = Jurisdiction.objects.create(
            code="652800", name="巴音郭楞蒙古自治州", level="prefecture"
        )
        self.korla = Jurisdiction.objects.create(
            code="652801", name="库尔勒市", level="county", parent=self.prefecture
        )
        self.luntai = Jurisdiction.objects.create(
            code="652822", name="轮台县", level="county", parent=self.prefecture
        )
        self.scjgj = Department.objects.create(
            jurisdiction=self.prefecture,
            code="SCJGJ",
            name="州市场监督管理局",
            hosts_office=True,
            sort_order=1,
        )
        self.gaj = Department.objects.create(
            jurisdiction=self.prefecture, code="GAJ", name="州公安局", sort_order=2
        )

        def user(username, role, department=None):
            return User.objects.create_user(
                username=username,
                password=PASSWORD,
                full_name=username,
                role=role,
                jurisdiction=self.prefecture,
                department=department,
            )

        self.office = user("office", User.Role.OFFICE, self.scjgj)
        self.scjgj_admin = user("scjgj_admin", User.Role.DEPT_ADMIN, self.scjgj)
        self.scjgj_head = user("scjgj_head", User.Role.DEPT_HEAD, self.scjgj)
        self.gaj_admin = user("gaj_admin", User.Role.DEPT_ADMIN, self.gaj)
        self.inspector = user("inspector", User.Role.INSPECTOR, self.scjgj)
        self.auditor = user("auditor", User.Role.AUDITOR)

    def client(self, user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def org(db) -> Org:
    return Org()


@pytest.fixture(scope="session")
def browser_instance():
    if not shutil.which("chromium") and not shutil.os.path.exists("/usr/bin/chromium"):
        pytest.fail("Debian's Chromium (/usr/bin/chromium) is missing: run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser_instance):
    context = browser_instance.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login form."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('登录')")
    page.wait_for_url(f"{live_server.url}/")
