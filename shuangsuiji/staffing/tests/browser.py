"""The inspector draw's commit–reveal steps in a real browser (staffing and flows tests)."""


def commit_run_in_browser(page, run_url: str) -> str:
    """Make this department's secret in the page and commit it; the secret."""
    page.goto(run_url)
    page.click("#generate")
    secret = page.inner_text("[data-ssj-secret]").strip()
    assert len(secret) == 64
    page.click("#submit-commit")
    page.wait_for_selector("text=已提交本部门的承诺")
    return secret


def reveal_run_in_browser(page, run_url: str) -> None:
    """Reveal the secret this browser kept since its commit."""
    page.goto(run_url)
    assert len(page.input_value("#reveal")) == 64  # kept in this browser since the commit
    page.click("#submit-reveal")
    page.wait_for_selector("text=已揭示本部门的随机值")
