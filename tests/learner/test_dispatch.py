"""The choice of page: the pure dispatch, and every (exam type, situation) page rendered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template

from proctor_web.models import AttemptStatus, ExamType
from proctor_web.services import exams
from proctor_web.services.learner import pages, payloads
from proctor_web.services.learner.situations import TEMPLATES, Facts, Situation, situation_for

T, X = ExamType, Situation


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (Facts(T.TIMED), X.ENTRANCE),
        (Facts(T.TIMED, status="created"), X.ENTRANCE),
        (Facts(T.TIMED, past_due=True), X.EXPIRED),
        (Facts(T.TIMED, status="started", past_due=True), X.STARTED),
        (Facts(T.TIMED, status="verified"), X.SUBMITTED),
        (Facts(T.PROCTORED, status="created"), X.INSTRUCTIONS),
        (Facts(T.PROCTORED, status="created", provider_has_instructions=False),
         X.INSTRUCTIONS_EXAM_CODE),
        (Facts(T.PROCTORED, confirming_decline=True), X.ENTRANCE),
        (Facts(T.PROCTORED, confirming_decline=True, allows_opt_out=True), X.CONFIRM_DECLINE),
        (Facts(T.PROCTORED, status="download_software_clicked", past_due=True), X.EXPIRED),
        (Facts(T.PROCTORED, status="error", ready_to_resume=True), X.READY_TO_RESUME),
        (Facts(T.PROCTORED, status="error"), X.ERROR),
        (Facts(T.PROCTORED, status="timed_out"), X.SUBMITTED),
        (Facts(T.PROCTORED, status="onboarding_pending"), X.ONBOARDING_PENDING),
        (Facts(T.PRACTICE, past_due=True), X.ENTRANCE),
        (Facts(T.PRACTICE, status="onboarding_reset"), X.ENTRANCE),
        (Facts(T.ONBOARDING, status="second_review_required"), X.SECOND_REVIEW),
        (Facts(T.PROCTORED, status="verified", past_due=True, viewable_past_due=True,
               is_status_acknowledged=True), X.REVIEW_CONTENT),
        (Facts(T.PROCTORED, status="verified", past_due=True, viewable_past_due=True),
         X.VERIFIED),
        (Facts(T.PROCTORED, manages_course=True, status="started"), X.STAFF_PREVIEW),
        (Facts(T.PROCTORED, user_active=False), X.INACTIVE_ACCOUNT),
        (Facts(T.PROCTORED, enrolled=False), X.ENROLLMENT_MISSING),
    ],
)
def test_situation_for(facts: Facts, expected: Situation) -> None:
    assert situation_for(facts) == expected


def test_every_reachable_pair_has_a_template() -> None:
    statuses = [None, *[s.value for s in AttemptStatus if s.value != "expired"]]
    for kind in ExamType:
        for status in statuses:
            for past_due in (False, True):
                for extra in ({}, {"ready_to_resume": True}, {"confirming_decline": True,
                              "allows_opt_out": True}, {"provider_has_instructions": False},
                              {"manages_course": True}, {"enrolled": False},
                              {"user_active": False},
                              {"viewable_past_due": True, "is_status_acknowledged": True}):
                    situation = situation_for(Facts(kind, status=status, past_due=past_due,
                                                    **extra))
                    assert (kind, situation) in TEMPLATES, (kind, status, past_due, extra)


KIND_NAMES = {T.TIMED: "timed", T.PROCTORED: "proctored", T.PRACTICE: "practice",
              T.ONBOARDING: "onboarding"}
STATUS_FOR = {
    X.INSTRUCTIONS: "created",
    X.INSTRUCTIONS_EXAM_CODE: "download_software_clicked",
    X.READY_TO_START: "ready_to_start",
    X.STARTED: "started",
    X.READY_TO_SUBMIT: "ready_to_submit",
    X.SUBMITTED: "submitted",
    X.SECOND_REVIEW: "second_review_required",
    X.VERIFIED: "verified",
    X.REJECTED: "rejected",
    X.ERROR: "error",
    X.READY_TO_RESUME: "error",
    X.ONBOARDING_MISSING: "onboarding_missing",
    X.ONBOARDING_PENDING: "onboarding_pending",
    X.ONBOARDING_FAILED: "onboarding_failed",
    X.ONBOARDING_EXPIRED: "onboarding_expired",
    X.DECLINED: "declined",
    X.REVIEW_CONTENT: "submitted",
}


@pytest.mark.parametrize(("kind", "situation"), sorted(TEMPLATES), ids=lambda v: str(v))
def test_every_pair_renders_from_real_data(app, factory, now, monkeypatch, kind, situation):
    """Data in the database -> exam_page picks the situation -> its template renders."""
    course = factory.course(allow_proctoring_opt_out=True,
                            proctoring_escalation_email="exams@course.example")
    fields = {"content_url": "/static/sample-exam/index.html"}
    if situation in (X.EXPIRED, X.REVIEW_CONTENT):
        fields["due_date"] = now - timedelta(days=1)
    exam = factory.exam(KIND_NAMES[kind], **fields)
    onboarding_exam = factory.exam("onboarding")  # for the onboarding links
    assert onboarding_exam.id
    if situation is X.STAFF_PREVIEW:
        user = factory.course_staff()
    elif situation is X.ENROLLMENT_MISSING:
        user = factory.user()
    else:
        user = factory.learner()
    if situation is X.INACTIVE_ACCOUNT:
        user.is_active_account = False
    if situation is X.REVIEW_CONTENT:
        monkeypatch.setitem(app.config, "EXAM_VIEWABLE_PAST_DUE", True)
    if situation is X.INSTRUCTIONS_EXAM_CODE:
        backend = exams.backend_for(exam)
        monkeypatch.setattr(backend, "get_proctoring_config", lambda locale="en": {
            "name": "Desktop Proctor", "instructions": [], "download_url": "/dl"})
        monkeypatch.setattr(backend, "is_ready", lambda *args: False)
    status = STATUS_FOR.get(situation)
    if kind is T.TIMED and situation is X.ENTRANCE:
        status = "created"
    if status is not None:
        started = 1 if status in ("started", "ready_to_submit") else None
        factory.attempt(
            exam, user, status, started_minutes_ago=started,
            ready_to_resume=situation is X.READY_TO_RESUME,
            is_status_acknowledged=situation is X.REVIEW_CONTENT,
            taking_as_proctored=exam.has_backend and status != "declined",
        )
    if situation is X.INSTRUCTIONS:
        monkeypatch.setattr(exams.backend_for(exam), "is_ready", lambda *args: False)
    assert course.course_id == exam.course_id

    with app.test_request_context("/"):
        page = pages.exam_page(exam, user, now,
                                 confirming_decline=situation is X.CONFIRM_DECLINE)
        assert page.situation is situation
        html = render_template(page.template, page=page, exam=exam, attempt=page.attempt,
                               payload=page.payload,
                               page_url=payloads.exam_path(exam.course_id, exam.content_id),
                               **page.context)
    assert f'data-situation="{situation.value}"' in html
    assert '<h1 id="page-title" tabindex="-1">' in html
    # A learner who declined proctoring takes the exam as an open exam (edx-proctoring
    # renders the content for them too), untimed.
    shows_content = situation in (X.STARTED, X.REVIEW_CONTENT, X.DECLINED) or (
        situation is X.STAFF_PREVIEW)
    assert ("/static/sample-exam/index.html" in html) == shows_content
    assert ('id="timer"' in html) == (situation in (X.STARTED, X.READY_TO_SUBMIT))
