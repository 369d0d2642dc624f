"""The fake provider's real browser worker, served by the mock backend, in a proctored exam.

The worker (proctor_web/testing/fake_provider/worker.js) asks the fake provider's stand-in
desktop application over HTTP, so the tests steer it there: refuse the start (no camera),
stop answering pings (closed), take a while to upload at the end. Every page the learner
sees on the way is checked by axe.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web.backends.mock import MockBackend
from proctor_web.services import attempts, courses, exams
from proctor_web.testing.fake_provider import create_fake_provider, serve_in_background
from tests.browser.conftest import DEMO_COURSE_ID, end_exam
from tests.browser.test_learner_a11y import AXE_OPTIONS
from tests.browser.test_learner_worker import _proctored_exam, _to_ready_to_start

BACKEND = "mock_desktop"
TIME_LIMIT_SECONDS = 30 * 60


@pytest.fixture(scope="module")
def provider(live_server):
    """A fake provider on loopback, and a mock backend serving its worker pointed at it.

    The backend stays registered after the module: the exams made here stay in the session's
    database, and later tests' instructor pages load their backend.
    """
    with serve_in_background(create_fake_provider({"LMS_URL": live_server.url})) as server:
        registry = live_server.app.extensions["proctor_backends"]
        registry._backends[BACKEND] = MockBackend(BACKEND, {
            "ready_after_seconds": 0, "ping_interval": 2, "worker": True,
            "desktop_app_url": server.url})
        yield server.url


@pytest.fixture
def desktop(provider):
    """Steers and reads the stand-in desktop application; a fresh one for each test."""

    class Desktop:
        def set(self, **settings) -> None:
            requests.post(f"{provider}/_control/config", json=settings, timeout=5) \
                .raise_for_status()

        def session(self, attempt_external_id: str) -> dict | None:
            state = requests.get(f"{provider}/_control/state", timeout=5).json()
            return state["desktop_sessions"].get(attempt_external_id)

    requests.post(f"{provider}/_control/reset", timeout=5).raise_for_status()
    return Desktop()


@pytest.fixture
def axe_clean():
    axe = Axe()

    def check(page) -> None:
        results = axe.run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, results.generate_report()

    return check


def _learner_at_ready_to_start(live_server, page, login, fresh_learner, name: str):
    username, password = fresh_learner()
    content_id = f"{name}-{username}"
    _proctored_exam(live_server, BACKEND, content_id)
    login(page, username, password)
    _to_ready_to_start(page, live_server, content_id)
    return username, content_id


def _attempt(live_server, username: str, content_id: str):
    with live_server.app.app_context():
        exam = exams.find_exam(DEMO_COURSE_ID, content_id)
        attempt = attempts.current_attempt(exam, courses.get_user(username))
        history = attempts.history_of(attempt.id)
        return attempt, history


def _utc(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_worker_starts_the_session_and_keeps_pinging(live_server, page, login, shot,
                                                         fresh_learner, desktop, axe_clean):
    username, content_id = _learner_at_ready_to_start(live_server, page, login, fresh_learner,
                                                      "desktop-start")
    # The page's module script may still be loading: wait until it has run.
    page.wait_for_function("window.proctorWeb !== undefined")
    worker_url = page.evaluate("window.proctorWeb.state.worker_url")
    assert worker_url == f"/proctoring/workers/{BACKEND}.js"
    axe_clean(page)
    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    attempt, _ = _attempt(live_server, username, content_id)
    assert attempt.status == "started"
    session = desktop.session(attempt.external_id)
    assert session["status"] == "running" and session["starts"] == 1
    # The first ping goes after half of the 2 s interval, then one every 2 s.
    page.wait_for_timeout(3500)
    assert desktop.session(attempt.external_id)["pings"] >= 1
    assert page.locator("article.exam-page").get_attribute("data-situation") == "started"
    axe_clean(page)
    shot(page, "provider-worker-01-started")


def test_a_refused_start_tells_the_learner_and_keeps_the_clock_stopped(
        live_server, page, login, shot, fresh_learner, desktop, axe_clean):
    username, content_id = _learner_at_ready_to_start(live_server, page, login, fresh_learner,
                                                      "desktop-refuse")
    desktop.set(DESKTOP_APP="no_camera")
    page.get_by_role("button", name="Start my exam").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The proctoring software did not start")
    expect(alert).to_contain_text("examAttemptStartFailed: camera not found")
    axe_clean(page)
    shot(page, "provider-worker-02-start-refused")
    assert page.locator("article.exam-page").get_attribute("data-situation") == "ready_to_start"
    attempt, _ = _attempt(live_server, username, content_id)
    assert (attempt.status, attempt.started_at) == ("ready_to_start", None)
    assert desktop.session(attempt.external_id) is None

    # Once the camera is back, the same button starts the exam.
    desktop.set(DESKTOP_APP="running")
    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")


def test_a_failing_ping_ends_in_error_with_the_time_used_saved(
        live_server, page, login, shot, fresh_learner, desktop, axe_clean):
    username, content_id = _learner_at_ready_to_start(live_server, page, login, fresh_learner,
                                                      "desktop-ping")
    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    page.wait_for_timeout(1500)  # one good ping or so
    desktop.set(DESKTOP_APP="closed")  # the learner quit the proctoring application
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "error", timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your exam stopped because of an error")
    axe_clean(page)
    shot(page, "provider-worker-03-ping-failed")

    attempt, history = _attempt(live_server, username, content_id)
    assert attempt.status == "error" and attempt.is_resumable
    error = history[-1]
    assert (error.action, error.actor_kind) == ("error", "learner")
    assert "pingFailed: the proctoring application is not running" in error.reason
    # The time used is kept: what is left is the limit less the time from start to error.
    used = _utc(error.created_at) - _utc(attempt.started_at)
    assert timedelta(seconds=1) < used < timedelta(seconds=30)
    expected = TIME_LIMIT_SECONDS - used.total_seconds()
    assert abs(attempt.time_remaining_seconds - expected) <= 2


def test_the_end_of_the_exam_waits_for_the_worker_before_submitting(
        live_server, page, login, shot, fresh_learner, desktop, axe_clean):
    username, content_id = _learner_at_ready_to_start(live_server, page, login, fresh_learner,
                                                      "desktop-end")
    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    desktop.set(DESKTOP_STOP_DELAY_SECONDS=1.5)  # uploading the recording takes a while
    end_exam(page)
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                                "ready_to_submit")
    axe_clean(page)
    page.get_by_role("button", name="Yes, submit my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "submitted", timeout=20_000)
    expect(page.get_by_role("alert")).to_be_hidden()  # the end was confirmed: no warning
    axe_clean(page)
    shot(page, "provider-worker-04-submitted")

    attempt, _ = _attempt(live_server, username, content_id)
    assert attempt.status == "submitted"
    session = desktop.session(attempt.external_id)
    assert session["status"] == "stopped"
    asked, answered = _utc(session["stop_requested_at"]), _utc(session["stopped_at"])
    assert answered - asked >= timedelta(seconds=1.4)
    # endExamAttempt was sent, and answered, before the submission reached us.
    assert answered <= _utc(attempt.completed_at)
