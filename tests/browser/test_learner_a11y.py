"""Accessibility: axe-core finds no WCAG 2.2 AA violation on any interstitial, and a learner
can take an exam with the keyboard alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import Attempt, ExamType, utcnow
from proctor_web.services import attempts, courses, exams
from proctor_web.services.learner import pages, payloads
from proctor_web.services.learner.situations import TEMPLATES, Situation
from tests.browser.test_learner_flows import exam_url

AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
A11Y_COURSE = "course-v1:AxeX+A11Y+2026"
ENCODED = "course-v1%3AAxeX%2BA11Y%2B2026"
X = Situation

STATUS = {
    X.INSTRUCTIONS: "created", X.INSTRUCTIONS_EXAM_CODE: "download_software_clicked",
    X.READY_TO_START: "ready_to_start", X.STARTED: "started",
    X.READY_TO_SUBMIT: "ready_to_submit", X.SUBMITTED: "submitted",
    X.SECOND_REVIEW: "second_review_required", X.VERIFIED: "verified",
    X.REJECTED: "rejected", X.ERROR: "error", X.READY_TO_RESUME: "error",
    X.ONBOARDING_MISSING: "onboarding_missing", X.ONBOARDING_PENDING: "onboarding_pending",
    X.ONBOARDING_FAILED: "onboarding_failed", X.ONBOARDING_EXPIRED: "onboarding_expired",
    X.DECLINED: "declined", X.REVIEW_CONTENT: "submitted",
}
FLAGS = {
    ExamType.TIMED: (False, False), ExamType.PROCTORED: (True, False),
    ExamType.PRACTICE: (False, True), ExamType.ONBOARDING: (True, True),
}
#: One (exam type, situation) per interstitial template.
PAGES = sorted({name: pair for pair, name in sorted(TEMPLATES.items())}.items())


def _arrange(live_server, kind: ExamType, situation: Situation, *usernames: str):
    """An exam in the a11y course whose page shows ``situation`` to the returned user."""
    learner, staff, outsider = (courses.get_user(name) for name in usernames)
    now = utcnow()
    proctored, practice = FLAGS[kind]
    fields = {"exam_name": f"{kind.value.title()} exam ({situation.value})",
              "time_limit_mins": 30, "is_proctored": proctored, "is_practice_exam": practice,
              "content_url": "/static/sample-exam/index.html"}
    if kind is not ExamType.TIMED:
        fields["backend"] = "mock_exam_code" if situation is X.INSTRUCTIONS_EXAM_CODE else "mock"
    if situation in (X.EXPIRED, X.REVIEW_CONTENT):
        fields["due_date"] = now - timedelta(days=1)
    content_id = f"{kind.value}-{situation.value}"
    exam = exams.find_exam(A11Y_COURSE, content_id) or exams.create_exam(
        A11Y_COURSE, content_id, fields, None, now)
    user = {X.STAFF_PREVIEW: staff, X.ENROLLMENT_MISSING: outsider}.get(situation, learner)
    status = STATUS.get(situation)
    if kind is ExamType.TIMED and situation is X.ENTRANCE:
        status = "created"
    if status and attempts.current_attempt(exam, user) is None:
        started = now - timedelta(minutes=1) if status in ("started", "ready_to_submit") else None
        db.session.add(Attempt(
            user=user, exam=exam, attempt_code=attempts.new_attempt_code(), status=status,
            started_at=started, allowed_time_limit_mins=30 if started else None,
            taking_as_proctored=exam.has_backend and status != "declined",
            is_sample_attempt=exam.is_practice_exam,
            ready_to_resume=situation is X.READY_TO_RESUME,
            is_resumable=situation is X.ERROR,
            is_status_acknowledged=situation is X.REVIEW_CONTENT,
            created=now, modified=now))
    db.session.commit()
    return content_id, user.username


@pytest.fixture(scope="module")
def a11y_people(live_server) -> dict[str, str]:
    now = utcnow()
    with live_server.app.app_context():
        course = courses.ensure_course(A11Y_COURSE, now, "Accessibility Course")
        course.allow_proctoring_opt_out = True
        course.proctoring_escalation_email = "exams@a11y.example"
        people = {}
        for name, role in (("a11y_learner", "learner"), ("a11y_staff", "staff"),
                           ("a11y_outsider", None)):
            user = courses.find_user(name) or courses.create_user(name, f"{name}-pass", now)
            if role:
                courses.enroll(user, A11Y_COURSE, now, role=role)
            people[name] = name
        db.session.commit()
    return people


def test_every_interstitial_has_no_axe_violations(live_server, page, login, shot, a11y_people,
                                                   browser):
    axe = Axe()
    live_server.app.config["EXAM_VIEWABLE_PAST_DUE"] = True
    signed_in = None
    failures = []
    titles: dict[tuple[ExamType, str], str] = {}
    try:
        for template, (kind, situation) in PAGES:
            if situation is X.INACTIVE_ACCOUNT:
                continue  # an inactive account cannot sign in; checked below
            with live_server.app.app_context():
                content_id, username = _arrange(
                    live_server, kind, situation, *a11y_people.values())
            if username != signed_in:
                page.context.clear_cookies()
                login(page, username, f"{username}-pass")
                signed_in = username
            query = "?confirm=decline" if situation is X.CONFIRM_DECLINE else ""
            page.goto(live_server.path(f"/courses/{ENCODED}/exams/{content_id}{query}"))
            expect(page.locator("article.exam-page")).to_have_attribute(
                "data-situation", situation.value)
            # Its own <h1>, and a <title> that leads with it (or says the exam is running).
            heading = page.locator("h1")
            expect(heading).to_have_count(1)
            title = page.title()
            if situation is not X.STARTED and not title.startswith(heading.inner_text()):
                failures.append(f"{template}: title {title!r} vs heading {heading.inner_text()!r}")
            if (kind, title) in titles:
                failures.append(f"{template}: same title as {titles[(kind, title)]}: {title!r}")
            titles[(kind, title)] = template
            results = axe.run(page, options=AXE_OPTIONS)
            shot(page, f"a11y-{template}")
            if results.violations_count:
                failures.append(f"{template}: {results.generate_report()}")
        # The inactive-account page, rendered by the app and checked in the same browser.
        with live_server.app.app_context():
            html = _render_inactive(live_server)
        page.goto(live_server.path("/healthz"))
        page.set_content(html)
        results = axe.run(page, options=AXE_OPTIONS)
        shot(page, "a11y-inactive_account")
        if results.violations_count:
            failures.append(f"inactive_account: {results.generate_report()}")
    finally:
        live_server.app.config["EXAM_VIEWABLE_PAST_DUE"] = False
    assert not failures, "\n".join(failures)


def _render_inactive(live_server) -> str:
    from flask import render_template

    now = utcnow()
    user = courses.find_user("a11y_inactive") or courses.create_user("a11y_inactive", None, now)
    courses.enroll(user, A11Y_COURSE, now)
    user.is_active_account = False
    db.session.commit()
    exam = exams.find_exam(A11Y_COURSE, "timed-entrance")
    with live_server.app.test_request_context("/"):
        page = pages.exam_page(exam, user, now)
        assert page.situation is X.INACTIVE_ACCOUNT
        return render_template(page.template, page=page, exam=exam, attempt=None, payload=None,
                               page_url=payloads.exam_path(exam.course_id, exam.content_id),
                               **page.context)


def test_a_timed_exam_by_keyboard_alone(live_server, page, login, shot, fresh_learner):
    username, password = fresh_learner()
    login(page, username, password)
    page.goto(exam_url(live_server, "timed-exam"))
    # The first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")

    def tab_to(name: str) -> None:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == name:
                return
        raise AssertionError(f"{name!r} cannot be reached with Tab")

    tab_to("Start my timed exam")
    shot(page, "keyboard-01-focus-on-start")
    page.keyboard.press("Enter")
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "started")
    tab_to("Hide timer")
    page.keyboard.press("Enter")
    expect(page.locator("#timer-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#timer-toggle")).to_have_text("Hide timer")
    expect(page.locator("#timer-value")).to_be_hidden()
    page.keyboard.press("Space")
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:[23]\d:\d\d$"))
    tab_to("End my exam")
    page.keyboard.press("Enter")
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation",
                                                               "ready_to_submit")
    tab_to("Yes, submit my exam")
    shot(page, "keyboard-02-focus-on-submit")
    page.keyboard.press("Enter")
    expect(page.locator("article.exam-page")).to_have_attribute("data-situation", "submitted")
