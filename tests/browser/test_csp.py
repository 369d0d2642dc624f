"""The main pages work under the strict Content-Security-Policy: their scripts run, their
styles apply, and Chromium reports no violation (the ``page`` fixture fails a test on any)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_COURSE_ID, watch_csp_violations
from tests.browser.test_learner_flows import exam_url, situation

DASH = f"/courses/{DEMO_COURSE_ID}/instructor/"


def _policy(response) -> str:
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy, policy
    return policy


def test_the_violation_watch_sees_a_violation(live_server, browser):
    """The watch itself works: an inline script on one of our pages is reported."""
    context = browser.new_context()
    try:
        page = context.new_page()
        violations = watch_csp_violations(page)
        page.goto(live_server.path("/login"))
        page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "document.title = 'inline'";
            document.body.appendChild(script);
        }""")
        page.wait_for_timeout(300)
        assert violations and "inline" not in page.title()
    finally:
        context.close()


def test_learner_pages_run_under_the_policy(live_server, page, login, fresh_learner):
    _policy(page.goto(live_server.path("/login")))
    username, password = fresh_learner()
    login(page, username, password)
    _policy(page.goto(live_server.path("/")))
    expect(page.get_by_role("link", name="Timed Midterm", exact=True)).to_be_visible()

    _policy(page.goto(exam_url(live_server, "timed-exam")))
    page.get_by_role("button", name="Start my timed exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    # The timer is drawn by a script module: it ran.
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:(29|30):\d\d$"))
    expect(page.frame_locator("iframe.exam-content").get_by_role("heading", level=1)
           ).to_have_text("Sample exam: Proctoring 101")
    page.locator("#timer-toggle").click()  # handled by the script, not inline
    page.get_by_role("button", name="End my exam").click()
    assert situation(page) == "ready_to_submit"

    _policy(page.goto(exam_url(live_server, "proctored-exam")))
    assert situation(page) == "entrance"
    _policy(page.goto(live_server.path("/static/mock-proctoring-software.html")))
    expect(page.locator(".ok").first).to_have_css("font-weight", "600")  # the stylesheet applies


def test_instructor_pages_run_under_the_policy(live_server, page, login):
    login(page, "instructor")
    for rest in ("", "attempts", "allowances", "exams", "onboarding"):
        response = page.goto(live_server.path(DASH + rest))
        assert response.status == 200, rest
        _policy(response)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
