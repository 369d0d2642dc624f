"""The home page says where the learner stands on each exam, and offers the one action that
fits (``services/learner/home.py`` and ``main/index.html``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from proctor_web.extensions import db
from proctor_web.models import Attempt, ExamType, utcnow
from proctor_web.services.learner.home import state_for

T = ExamType


def _attempt(status, **fields):
    values = {"status": status, "taking_as_proctored": True, "ready_to_resume": False}
    values.update(fields)
    return Attempt(**values)


@pytest.mark.parametrize(("kind", "status", "fields", "expected"), [
    (T.TIMED, None, {}, "not_started"),
    (T.PROCTORED, "created", {}, "setting_up"),
    (T.PROCTORED, "ready_to_start", {}, "setting_up"),
    (T.TIMED, "submitted", {"taking_as_proctored": False}, "submitted"),
    (T.PROCTORED, "submitted", {}, "under_review"),
    (T.PROCTORED, "second_review_required", {}, "under_review"),
    (T.PROCTORED, "verified", {}, "verified"),
    (T.PROCTORED, "rejected", {}, "rejected"),
    (T.PRACTICE, "rejected", {}, "completed"),  # nobody reviews practice
    (T.PRACTICE, "submitted", {}, "completed"),
    (T.PROCTORED, "error", {}, "error"),
    (T.PROCTORED, "error", {"ready_to_resume": True}, "ready_to_resume"),
    (T.PROCTORED, "declined", {}, "declined"),
    (T.PROCTORED, "onboarding_missing", {}, "onboarding_needed"),
    (T.PRACTICE, "onboarding_reset", {}, "not_started"),
])
def test_state_for(kind, status, fields, expected):
    attempt = _attempt(status, **fields) if status else None
    assert state_for(kind, attempt, None, utcnow()).state == expected


def test_past_due_exams_not_started_are_closed_but_practice_stays_open():
    now = utcnow()
    due = now - timedelta(days=1)
    assert state_for(T.PROCTORED, None, due, now).state == "closed"
    assert state_for(T.PRACTICE, None, due, now).state == "not_started"
    assert state_for(T.PROCTORED, None, now + timedelta(days=1), now).due_date is not None


def test_in_progress_counts_the_time_left():
    now = utcnow()
    attempt = _attempt("started", started_at=now - timedelta(minutes=10),
                       allowed_time_limit_mins=30)
    state = state_for(T.TIMED, attempt, None, now)
    assert state.state == "in_progress" and 1190 <= state.seconds_left <= 1200


def test_home_page_shows_each_exams_state_and_action(factory, sign_in, client):
    course = factory.course(proctoring_escalation_email="help@c.example")
    learner = factory.learner()
    now = utcnow()
    factory.exam("timed", content_id="t1", exam_name="Quiz One",
                 due_date=now + timedelta(days=3))
    running = factory.exam("timed", content_id="t2", exam_name="Quiz Two")
    rejected = factory.exam("proctored", content_id="p1", exam_name="Final")
    factory.attempt(running, learner, "started", started_at=now - timedelta(minutes=5),
                    allowed_time_limit_mins=60)
    factory.attempt(rejected, learner, "rejected")
    db.session.commit()
    assert course
    sign_in(learner)
    html = client.get("/").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert re.search(r"Quiz One Timed exam · 60 minutes Not started Due \w+ \d+, 20\d\d", text)
    assert re.search(r"Quiz Two .* In progress 5\d minutes left Continue the exam", text)
    assert "Final Proctored exam · 60 minutes Did not pass review " \
           "Contact your course team: help@c.example See what to do" in text
    assert 'aria-label="Start: Quiz One"' in html
