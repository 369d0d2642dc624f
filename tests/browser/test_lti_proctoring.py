"""A learner takes a proctored exam whose proctoring is an LTI tool, in Chromium: the fake LTI
tool runs as its own process, the launches go through real OIDC redirects and auto-posted
forms, and the tool pauses the exam through our Assessment Control Service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import start_system_check
from tests.conftest import scratch_database
from tests.integration.test_lti_proctoring_e2e import (  # noqa: F401  (fixtures)
    Live,
    serve_live,
    tool_url,
)


@pytest.fixture
def live(tool_url: str, tmp_path: Path, postgres_available: bool) -> Iterator[Live]:  # noqa: F811
    # On PostgreSQL: in a real browser the click's form post and the tool's authentication
    # request overlap, and SQLite here still opens writers with a deferred BEGIN, which
    # fails one of them with "database is locked" (fixed by BEGIN IMMEDIATE for writers and
    # the retry of GETs that write, from the SQLite work). The end-to-end test covers both.
    with (
        scratch_database("postgresql", tmp_path, "lti_browser", postgres_available) as url,
        serve_live(tool_url, url) as live,
    ):
        yield live


EXAM_PATH = "/courses/course-v1%3ALtiX%2BProctor%2B2026/exams/midterm"


def act(page, action: str) -> None:
    page.locator(f"form.action-form[data-action='{action}'] button").first.click()


def situation_is(page, wanted: str, timeout: int = 10_000) -> None:
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", wanted, timeout=timeout)


def test_learner_takes_an_exam_proctored_by_an_lti_tool(live: Live, page, shot):  # noqa: F811
    page.goto(f"{live.url}/login")
    page.fill("#username", "lena")
    page.fill("#password", "lena-password-1")
    page.click("button[type=submit]")
    page.goto(live.url + EXAM_PATH)
    act(page, "enter")
    situation_is(page, "instructions")
    shot(page, "lti-tool-01-instructions")

    # The system check opens the tool in a new tab, through its OIDC login and our auth
    # endpoint; the auto-post page submits itself (a static script, no inline JavaScript).
    with page.context.expect_page() as opened:
        start_system_check(page)
    tool = opened.value
    expect(tool.locator("#start-assessment button")).to_be_visible()
    assert tool.url == f"{live.tool_url}/launch"
    shot(tool, "lti-tool-02-system-check")
    tool.click("#start-assessment button")
    # LtiStartAssessment accepted: the tool's tab lands on our exam page, ready to start.
    situation_is(tool, "ready_to_start")
    tool.close()
    situation_is(page, "ready_to_start", timeout=20_000)  # the first tab moves on by polling

    act(page, "start")
    situation_is(page, "started")
    assert live.control(action="pause")["body"] == {"status": "paused"}
    page.reload()
    timer = page.locator("#timer")
    expect(timer).to_have_attribute("data-paused", "true")
    expect(page.locator("#timer-paused")).to_be_visible()
    shown = page.locator("#timer-value").inner_text()
    page.wait_for_timeout(2_500)
    assert page.locator("#timer-value").inner_text() == shown  # the clock stands still
    shot(page, "lti-tool-03-paused")
    assert live.control(action="resume")["body"] == {"status": "running"}
    page.reload()
    expect(timer).to_have_attribute("data-paused", "false")
    expect(page.locator("#timer-paused")).to_be_hidden()

    act(page, "stop")
    situation_is(page, "ready_to_submit")
    act(page, "submit")
    # The tool asked for LtiEndAssessment: the page sends the browser on to it.
    expect(page.locator("#ended")).to_be_visible()
    assert page.url == f"{live.tool_url}/launch"
    shot(page, "lti-tool-04-end-assessment")
    ends = live.tool_state()["ends"]
    assert len(ends) == 1
    # The tool's way back (launch_presentation.return_url) is the exam page, now quiet.
    page.click("#back")
    situation_is(page, "submitted")
    expect(page.locator("#lti-end-assessment")).to_have_count(0)
