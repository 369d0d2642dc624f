"""The whole proctored flow for a learner who only ever came in through the LMS: Chromium
with third-party cookies blocked, the LMS on http://127.0.0.1 frames proctor_web on
http://localhost, and the exam is proctored by the fake LTI proctoring tool (its own
process). System check (LtiStartProctoring -> tool -> LtiStartAssessment back to us), start,
answer, submit, LtiEndAssessment; nobody ever signs in locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.models import Attempt, LtiProctoringSession, User, utcnow
from tests.browser.conftest import LiveServer, live_server_config, start_system_check
from tests.browser.lti_servers import NO_COOKIES_AGENT, registered_lms, serve_tool
from tests.integration.test_lti_proctoring_e2e import (  # noqa: F401  (fixture)
    CLIENT_ID as TOOL_CLIENT_ID,
)
from tests.integration.test_lti_proctoring_e2e import (  # noqa: F401  (fixture)
    DEPLOYMENT_ID as TOOL_DEPLOYMENT_ID,
)
from tests.integration.test_lti_proctoring_e2e import tool_url  # noqa: F401  (fixture)

LMS_CLIENT_ID = "proctor-web-proctored"
LMS_DEPLOYMENT_ID = "deployment-p"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory,
               tool_url: str) -> Iterator[LiveServer]:  # noqa: F811
    """proctor_web on 127.0.0.1, reached as http://localhost:<port>, with the fake LTI
    proctoring tool as its ``lti`` backend."""
    database = tmp_path_factory.mktemp("lti-proctored") / "proctor_lti_p.sqlite3"
    config = live_server_config("sqlite:///" + str(database))
    config["BACKENDS"] = {
        "DEFAULT": "lti", "null": {},
        "lti": {"verbose_name": "Fake LTI Proctoring", "client_id": TOOL_CLIENT_ID,
                "deployment_id": TOOL_DEPLOYMENT_ID,
                "tool_login_url": f"{tool_url}/login", "tool_launch_url": f"{tool_url}/launch",
                "tool_key_set_url": f"{tool_url}/jwks.json", "share_name": True},
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()

    def point_the_tool_here(url: str) -> None:
        requests.post(f"{tool_url}/_control/reset", timeout=10)
        requests.post(f"{tool_url}/_control/configure", json={"platform_url": url}, timeout=10)

    with serve_tool(app, "lti-proctored", point_the_tool_here) as server:
        yield server


@pytest.fixture(scope="module")
def lms(app_server: LiveServer):
    with registered_lms(app_server, LMS_CLIENT_ID, LMS_DEPLOYMENT_ID, "Proctored LMS",
                        "chem-201", {"title": "Chemistry 201", "label": "CHEM201"}) as platform:
        yield platform




def _page(browser, **options):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US",
                                  **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def cookieless_lms_page(blocking_browser):
    context = _page(blocking_browser, user_agent=NO_COOKIES_AGENT)
    try:
        yield context.new_page()
    finally:
        context.close()


def _proctored_exam_in_lms_course(app_server: LiveServer, content_id: str) -> None:
    from proctor_web.lti.tool.provisioning import _course_id_for
    from proctor_web.services import courses, exams

    with app_server.app.app_context():
        platform = registration.find_platform(
            registration.all_platforms()[0].issuer, LMS_CLIENT_ID)
        course_id = _course_id_for(platform, "chem-201")
        courses.ensure_course(course_id, utcnow(), "Chemistry 201")
        exam = exams.create_exam(course_id, content_id, {
            "exam_name": "Proctored final", "time_limit_mins": 30, "is_proctored": True,
            "backend": "lti"}, None, utcnow())
        exam.content_url = "/static/sample-exam/index.html"
        db.session.commit()


def _shot(page, artifacts_dir: Path, name: str) -> None:
    folder = artifacts_dir / "lti"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def act(frame, action: str) -> None:
    frame.locator(f"form.action-form[data-action='{action}'] button").first.click()


def situation_is(frame, wanted: str, timeout: int = 15_000) -> None:
    expect(frame.locator("article.exam-page")).to_have_attribute(
        "data-situation", wanted, timeout=timeout)


def _ends(tool_url: str) -> int:  # noqa: F811
    return len(requests.get(f"{tool_url}/_control/state", timeout=10).json()["ends"])


def _check_user_and_attempt(app_server: LiveServer, name: str) -> None:
    with app_server.app.app_context():
        user = db.session.query(User).filter_by(full_name=name).one()
        assert user.password_hash is None  # never signed in locally
        attempt = db.session.query(Attempt).filter_by(user_id=user.id).one()
        assert attempt.status == "submitted"
        session = db.session.query(LtiProctoringSession).filter_by(
            attempt_id=attempt.id).one()
        assert session.assessment_started_at is not None and session.end_sent_at is not None
        db.session.remove()


def test_learner_from_the_lms_takes_the_lti_proctored_exam_without_signing_in(
    app_server, lms, lms_page, tool_url, artifacts_dir  # noqa: F811
) -> None:
    from urllib.parse import urlencode

    _proctored_exam_in_lms_course(app_server, "proctored-final")
    ends_before = _ends(tool_url)
    page = lms_page
    page.goto(f"{lms.url}/course/chem-201?" + urlencode({
        "user_id": "learner-p", "roles": "Learner", "name": "Petra Proctored",
        "resource_link_id": "rl-proctored", "custom_content_id": "proctored-final"}))
    frame = page.frame_locator("#tool-frame")
    act(frame, "enter")
    situation_is(frame, "instructions")
    _shot(page, artifacts_dir, "lti-p-01-instructions-in-lms")

    # The system check opens the tool in a new top-level tab, where the session cookie
    # partitioned under the LMS's site does not exist.
    with page.context.expect_page() as opened:
        start_system_check(frame)
    tool = opened.value
    expect(tool.locator("#start-assessment button")).to_be_visible()
    assert tool.url == f"{tool_url}/launch"
    _shot(tool, artifacts_dir, "lti-p-02-tool-system-check")
    tool.click("#start-assessment button")
    # LtiStartAssessment accepted: the tab lands on our exam page, ready to start (the
    # system check's launch kept the frame token's session as this tab's own cookie).
    situation_is(tool, "ready_to_start")
    _shot(tool, artifacts_dir, "lti-p-03-start-assessment-accepted")
    tool.close()
    situation_is(frame, "ready_to_start", timeout=20_000)  # the framed page polls
    _shot(page, artifacts_dir, "lti-p-04-ready-in-lms")

    act(frame, "start")
    situation_is(frame, "started")
    content = frame.frame_locator("iframe.exam-content")
    content.get_by_label("The clock of the exam server").check()
    content.locator("#q4").fill("To stay calm.")
    _shot(page, artifacts_dir, "lti-p-05-answering-in-lms")

    act(frame, "stop")
    situation_is(frame, "ready_to_submit")
    act(frame, "submit")
    # The tool asked for LtiEndAssessment: the framed page goes on to it and back.
    expect(frame.locator("#ended")).to_be_visible()
    _shot(page, artifacts_dir, "lti-p-06-end-assessment-in-lms")
    assert _ends(tool_url) == ends_before + 1
    frame.locator("#back").click()
    situation_is(frame, "submitted")
    _shot(page, artifacts_dir, "lti-p-07-submitted-in-lms")
    _check_user_and_attempt(app_server, "Petra Proctored")


def test_a_browser_keeping_no_cookie_of_ours_takes_the_lti_proctored_exam(
    app_server, lms, cookieless_lms_page, tool_url, artifacts_dir  # noqa: F811
) -> None:
    """Only the frame token and the signed message hint carry the learner: the tool's tab
    ends on a page saying the setup is done, and the framed page moves on by itself."""
    from urllib.parse import urlencode

    _proctored_exam_in_lms_course(app_server, "proctored-final-2")
    ends_before = _ends(tool_url)
    page = cookieless_lms_page
    page.goto(f"{lms.url}/course/chem-201?" + urlencode({
        "user_id": "learner-c", "roles": "Learner", "name": "Cleo Cookieless",
        "resource_link_id": "rl-proctored-2", "custom_content_id": "proctored-final-2",
        "storage_target": "_parent"}))
    frame = page.frame_locator("#tool-frame")
    act(frame, "enter")
    situation_is(frame, "instructions", timeout=20_000)
    with page.context.expect_page() as opened:
        start_system_check(frame)
    tool = opened.value
    tool.click("#start-assessment button")
    expect(tool.locator("#setup-complete")).to_be_visible()
    _shot(tool, artifacts_dir, "lti-p-08-cookieless-setup-complete")
    tool.close()
    situation_is(frame, "ready_to_start", timeout=20_000)
    act(frame, "start")
    situation_is(frame, "started")
    act(frame, "stop")
    situation_is(frame, "ready_to_submit")
    act(frame, "submit")
    expect(frame.locator("#ended")).to_be_visible()
    assert _ends(tool_url) == ends_before + 1
    _shot(page, artifacts_dir, "lti-p-09-cookieless-end-assessment")
    _check_user_and_attempt(app_server, "Cleo Cookieless")
    assert app_server.app.config["COOKIES_SEEN_FROM_COOKIELESS_BROWSER"] > 0
