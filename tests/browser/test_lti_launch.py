"""LTI 1.3 in a real browser: an LMS on http://127.0.0.1 frames proctor_web on
http://localhost (two sites), Chromium blocks third-party cookies, and nobody signs in
locally. The instructor launches into the dashboard; the learner takes the timed exam."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import jsonify, make_response, request
from playwright.sync_api import expect

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.models import Exam, utcnow
from tests.browser.conftest import LiveServer, live_server_config
from tests.browser.lti_servers import NO_COOKIES_AGENT, registered_lms, serve_tool

CLIENT_ID = "proctor-web-browser"
DEPLOYMENT_ID = "deployment-1"
#: Chromium's own switch for "third-party cookies are blocked" (3PCD testing mode).


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """proctor_web served on 127.0.0.1 and reached as http://localhost:<port>."""
    database = tmp_path_factory.mktemp("lti-browser") / "proctor_lti.sqlite3"
    app = create_app(live_server_config("sqlite:///" + str(database)))

    @app.get("/test-support/cookies/set")
    def set_probe_cookies():
        response = make_response("<!doctype html><title>probe</title><p>set</p>")
        response.set_cookie("plain", "1", samesite="None", secure=True)
        response.set_cookie("partitioned", "1", samesite="None", secure=True,
                            partitioned=True)
        return response

    @app.get("/test-support/cookies/show")
    def show_probe_cookies():
        return jsonify(sorted(name for name in ("plain", "partitioned")
                              if name in request.cookies))

    def probes_may_be_framed_anywhere(response):
        if request.path.startswith("/test-support/cookies/"):
            response.headers["Content-Security-Policy"] = "frame-ancestors *"
        return response

    # after_request hooks run last-registered first: at the front of the list, this one runs
    # after the app's own Content-Security-Policy hook.
    app.after_request_funcs.setdefault(None, []).insert(0, probes_may_be_framed_anywhere)

    with app.app_context():
        db.create_all()
    with serve_tool(app, "lti-tool") as server:
        yield server


@pytest.fixture(scope="module")
def lms(tool: LiveServer):
    with registered_lms(tool, CLIENT_ID, DEPLOYMENT_ID, "Browser test LMS", "bio-101",
                        {"title": "Biology 101", "label": "BIO101"}) as platform:
        yield platform


def _shot(page, artifacts_dir: Path, name: str) -> None:
    folder = artifacts_dir / "lti"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _exam_in_lms_course(tool: LiveServer, content_id: str) -> None:
    """An exam of the course the LMS's bio-101 becomes, named by the custom parameter."""
    from proctor_web.lti.tool.provisioning import _course_id_for
    from proctor_web.services import courses, exams

    with tool.app.app_context():
        platform = registration.find_platform(
            registration.all_platforms()[0].issuer, CLIENT_ID)
        course_id = _course_id_for(platform, "bio-101")
        courses.ensure_course(course_id, utcnow(), "Biology 101")
        if exams.find_exam(course_id, content_id) is None:
            exams.create_exam(course_id, content_id, {
                "exam_name": "Cookieless quiz", "time_limit_mins": 10}, None, utcnow())
        db.session.commit()


def _open_course(page, lms, **query: str):
    from urllib.parse import urlencode

    page.goto(f"{lms.url}/course/bio-101?{urlencode(query)}")
    return page.frame_locator("#tool-frame")


def test_third_party_cookies_are_really_blocked_in_the_frame(tool, lms, lms_page) -> None:
    lms_page.goto(f"{lms.url}/_control/platform")  # any page of the LMS's site
    lms_page.set_content(
        f"<!doctype html><title>LMS</title><iframe id='probe' title='probe' "
        f"src='{tool.path('/test-support/cookies/set')}'></iframe>")
    frame = lms_page.frame_locator("#probe")
    expect(frame.locator("p")).to_have_text("set")
    lms_page.locator("#probe").evaluate(
        "(el, url) => { el.src = url; }", tool.path("/test-support/cookies/show"))
    expect(frame.locator("body")).to_contain_text("[")
    stored = json.loads(frame.locator("body").inner_text())
    # A plain SameSite=None cookie is refused in the frame; a partitioned one is kept.
    assert "plain" not in stored
    assert stored == ["partitioned"]


def test_instructor_sets_up_the_link_and_lands_on_the_dashboard(
    tool, lms, lms_page, artifacts_dir
) -> None:
    frame = _open_course(lms_page, lms, user_id="teacher-1", roles="Instructor",
                         name="Tess Teacher", resource_link_id="rl-timed",
                         resource_link_title="Timed quiz")
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Choose the exam this link opens")
    # In the frame: no site header, no "your courses".
    expect(frame.locator("header.site-header")).to_have_count(0)
    _shot(lms_page, artifacts_dir, "lti-01-instructor-link-setup")
    frame.locator("#exam_name").fill("Timed quiz")
    frame.locator("#time_limit_mins").fill("10")
    frame.get_by_role("button", name="Create the exam").click()
    expect(frame.get_by_role("navigation", name="Instructor dashboard")).to_be_visible()
    _shot(lms_page, artifacts_dir, "lti-02-instructor-dashboard")
    with tool.app.app_context():
        exam = db.session.query(Exam).filter_by(exam_name="Timed quiz").one()
        exam.content_url = "/static/sample-exam/index.html"
        db.session.commit()

    # The next launch of the same link goes straight to the dashboard.
    frame = _open_course(lms_page, lms, user_id="teacher-1", roles="Instructor",
                         resource_link_id="rl-timed")
    expect(frame.get_by_role("navigation", name="Instructor dashboard")).to_be_visible()
    expect(frame.locator("body")).to_contain_text("Biology 101")


def test_learner_takes_the_timed_exam_in_the_frame_without_signing_in(
    tool, lms, lms_page, artifacts_dir
) -> None:
    frame = _open_course(lms_page, lms, user_id="learner-1", roles="Learner",
                         name="Lee Learner", resource_link_id="rl-timed")
    expect(frame.get_by_role("button", name="Start my timed exam")).to_be_visible()
    expect(frame.locator("header.site-header")).to_have_count(0)
    expect(frame.get_by_role("link", name="Your courses")).to_have_count(0)
    _shot(lms_page, artifacts_dir, "lti-03-learner-entrance")

    frame.get_by_role("button", name="Start my timed exam").click()
    expect(frame.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    content = frame.frame_locator("iframe.exam-content")
    content.get_by_label("The clock of the exam server").check()
    content.locator("#q4").fill("To stay calm.")
    _shot(lms_page, artifacts_dir, "lti-04-learner-answering")

    frame.get_by_role("button", name="End my exam").click()
    frame.get_by_role("button", name="Yes, submit my exam").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Your exam has been submitted")
    _shot(lms_page, artifacts_dir, "lti-05-learner-submitted")

    # The LMS heard the frame's size and the exam's status.
    messages = lms_page.locator("#messages li").all_inner_texts()
    assert any('"lti.frameResize"' in m for m in messages)
    assert any('"submitted"' in m and "proctor_web.exam_status" in m for m in messages)
    # No local sign-in ever happened: the learner has no password.
    with tool.app.app_context():
        from proctor_web.models import User

        user = db.session.query(User).filter_by(full_name="Lee Learner").one()
        assert user.password_hash is None

    # "Back to the course" returns to the LMS with lti_msg.
    frame.locator("#lti-back").click()
    expect(frame.locator("body")).to_contain_text("Back from the exam tool.")
    returns = requests.get(f"{lms.url}/_control/state", timeout=10).json()["returns"]
    assert returns[-1]["lti_msg"] == "Back from the exam tool."
    _shot(lms_page, artifacts_dir, "lti-06-back-in-the-lms")



@pytest.fixture
def cookieless_lms_page(blocking_browser, tool):
    """A browser that keeps no cookie of ours at all, partitioned or not (as some do in
    frames): the tool never receives a Cookie header from it."""
    context = blocking_browser.new_context(viewport={"width": 1100, "height": 900},
                                           locale="en-US", user_agent=NO_COOKIES_AGENT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_a_browser_keeping_no_cookie_uses_platform_storage_and_the_frame_token(
    tool, lms, cookieless_lms_page, artifacts_dir
) -> None:
    page = cookieless_lms_page
    _exam_in_lms_course(tool, "cookieless-quiz")
    frame = _open_course(page, lms, user_id="learner-2", roles="Learner",
                         name="Cody Cookieless", resource_link_id="rl-cookieless",
                         custom_content_id="cookieless-quiz",
                         storage_target="_parent")
    # Login, storage put, authorization, launch, storage get, launch again: give it time.
    expect(frame.get_by_role("button", name="Start my timed exam")).to_be_visible(
        timeout=20_000)
    messages = page.locator("#messages li").all_inner_texts()
    # The OIDC state went through the LMS's storage, since no cookie could hold it.
    assert any('"lti.put_data"' in m for m in messages)
    assert any('"lti.get_data"' in m for m in messages)
    _shot(page, artifacts_dir, "lti-07-cookieless-entrance")

    frame.get_by_role("button", name="Start my timed exam").click()
    expect(frame.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    # Time runs out while the page is open: the page's own script reloads it, and the
    # session must survive that too.
    with tool.app.app_context():
        from datetime import timedelta

        from proctor_web.models import Attempt

        attempt = db.session.query(Attempt).order_by(Attempt.id.desc()).first()
        attempt.started_at = utcnow() - timedelta(minutes=10, seconds=-4)
        db.session.commit()
    tool_frame = next(f for f in page.frames if f.url.startswith(tool.url))
    tool_frame.evaluate("() => window.location.reload()")
    expect(frame.locator("article.exam-page")).to_have_attribute(
        "data-situation", "submitted", timeout=20_000)
    expect(frame.get_by_text("Time ran out, so your answers were submitted automatically.")
           ).to_be_visible()
    _shot(page, artifacts_dir, "lti-08-cookieless-timed-out")
    # The browser did offer cookies; the tool never saw one, and the flow went on regardless.
    assert tool.app.config["COOKIES_SEEN_FROM_COOKIELESS_BROWSER"] > 0


AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def test_lti_pages_have_no_axe_violations(tool, lms, lms_page, artifacts_dir) -> None:
    from urllib.parse import urlencode

    from axe_playwright_python.sync_playwright import Axe

    from proctor_web.services import courses

    axe = Axe()
    failures: list[str] = []
    page = lms_page

    def check(name: str) -> None:
        results = axe.run(page, options=AXE_OPTIONS)
        _shot(page, artifacts_dir, f"lti-a11y-{name}")
        if results.violations_count:
            failures.append(f"{name}: {results.generate_report()}")

    def top_level_launch(**query: str) -> None:
        page.goto(f"{lms.url}/launch?{urlencode({'context_id': 'bio-101', **query})}")

    top_level_launch(user_id="teacher-2", roles="Instructor", resource_link_id="rl-axe")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the exam this link opens")
    check("link-setup")
    top_level_launch(user_id="teacher-2", roles="Instructor",
                     message_type="LtiDeepLinkingRequest")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Add an exam to")
    check("deep-link")
    top_level_launch(user_id="learner-3", resource_link_id="rl-axe")
    expect(page.get_by_role("heading", level=1)).to_have_text("This exam is not set up yet")
    check("not-ready")
    top_level_launch(user_id="learner-3", expires_in="-600")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "The launch from your course did not work")
    check("refused")

    with tool.app.app_context():
        if courses.find_user("lti-admin") is None:
            courses.create_user("lti-admin", "lti-admin-pass", utcnow(), is_staff=True)
            db.session.commit()
    page.context.clear_cookies()  # leave the launched learner's session
    page.goto(tool.path("/login"))
    page.fill("#username", "lti-admin")
    page.fill("#password", "lti-admin-pass")
    page.click("button[type=submit]")
    page.goto(tool.path("/lti/platforms"))
    expect(page.get_by_role("heading", level=1)).to_have_text("LMS platforms (LTI 1.3)")
    check("platforms")
    page.get_by_role("link", name="Register a platform").click()
    page.fill("#issuer", "https://lms.example.org")
    page.fill("#client_id", "abc")
    page.fill("#deployment_ids", "1")
    page.fill("#auth_login_url", "https://lms.example.org/auth")
    page.fill("#auth_token_url", "not a url")
    page.fill("#key_set_url", "https://lms.example.org/jwks")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#auth_token_url-error")).to_be_visible()
    check("platform-form-error")
    assert not failures, "\n".join(failures)
