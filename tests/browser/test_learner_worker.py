"""The provider's browser worker: start and end prompts, and a failing ping."""

from __future__ import annotations

from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import attempts, courses, exams
from tests.browser.conftest import DEMO_COURSE_ID, start_system_check
from tests.browser.test_learner_flows import exam_url


def _proctored_exam(live_server, backend: str, content_id: str) -> None:
    with live_server.app.app_context():
        exams.create_exam(DEMO_COURSE_ID, content_id, {
            "exam_name": "Worker exam", "time_limit_mins": 30, "is_proctored": True,
            "backend": backend, "content_url": "/static/sample-exam/index.html"}, None, utcnow())
        db.session.commit()


def _to_ready_to_start(page, live_server, content_id):
    page.goto(exam_url(live_server, content_id))
    page.get_by_role("button", name="Continue to the proctored exam").click()
    with page.context.expect_page() as software:
        start_system_check(page)
    software.value.close()
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "ready_to_start", timeout=20_000)


def test_failing_ping_records_an_error_with_the_detail(live_server, page, login, shot,
                                                       fresh_learner):
    username, password = fresh_learner()
    content_id = f"worker-ping-{username}"
    _proctored_exam(live_server, "mock_worker", content_id)
    login(page, username, password)
    _to_ready_to_start(page, live_server, content_id)
    shot(page, "worker-01-ready-to-start")

    # startExamAttempt -> examAttemptStarted, so the clock starts.
    page.get_by_role("button", name="Start my exam").click()
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    shot(page, "worker-02-started")

    # The first ping (after half of the 2 s interval) fails: the page records an error and
    # moves on to the error page by itself.
    expect(page.locator("article.exam-page")).to_have_attribute(
        "data-situation", "error", timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your exam stopped because of an error")
    shot(page, "worker-03-error")
    with live_server.app.app_context():
        exam = exams.find_exam(DEMO_COURSE_ID, content_id)
        attempt = attempts.current_attempt(exam, courses.get_user(username))
        assert attempt.status == "error" and attempt.is_resumable
        assert attempt.time_remaining_seconds > 25 * 60
        last = attempts.history_of(attempt.id)[-1]
        assert (last.action, last.actor_kind) == ("error", "learner")
        assert "pingFailed: desktop app closed" in last.reason


def test_start_refused_by_the_worker_keeps_the_clock_stopped(live_server, page, login, shot,
                                                             fresh_learner):
    username, password = fresh_learner()
    content_id = f"worker-start-{username}"
    _proctored_exam(live_server, "mock_worker_nostart", content_id)
    login(page, username, password)
    _to_ready_to_start(page, live_server, content_id)
    page.get_by_role("button", name="Start my exam").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The proctoring software did not start")
    expect(alert).to_contain_text("camera not found")
    shot(page, "worker-04-start-refused")
    assert page.locator("article.exam-page").get_attribute("data-situation") == "ready_to_start"
    with live_server.app.app_context():
        exam = exams.find_exam(DEMO_COURSE_ID, content_id)
        assert attempts.current_attempt(exam, courses.get_user(username)).started_at is None
