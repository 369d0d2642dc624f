"""Review storage and the review -> attempt status rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from proctor_web.backends.base import NormalisedReview
from proctor_web.errors import BadRequest, NotFound, PreconditionFailed
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    EmailMessage,
    Review,
    ReviewComment,
    ReviewHistory,
)
from proctor_web.services import attempts, exams, reviews


def _review(status: str, reviewed_by: str | None = None) -> NormalisedReview:
    return NormalisedReview(status=status, reviewed_by=reviewed_by, payload={"status": status},
                            comments=[{"comment": "c", "status": status}])


def _record(attempt, review, now):
    target = reviews.find_target(attempt.attempt_code)
    return reviews.record_review(target, exams.backend_for(attempt.exam), review, now,
                                 review_url="https://site/review")


@pytest.mark.parametrize(("status", "expected"), [
    ("passed", "verified"),
    ("violation", "second_review_required"),
    ("suspicious", "second_review_required"),
    ("not_reviewed", "error"),
])
def test_review_outcomes(factory, now, status, expected):
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted",
                              external_id="x", started_minutes_ago=10)
    outcome = _record(attempt, _review(status), now)
    assert outcome.attempt_status == expected
    stored = db.session.execute(select(Review)).scalar_one()
    assert stored.review_status == reviews.STORED_STATUS[status]
    assert stored.student_id == attempt.user_id and stored.exam_id == attempt.exam_id
    assert db.session.execute(select(ReviewComment.comment)).scalars().all() == ["c"]


def test_named_staff_reviewer_rejects_directly(factory, now):
    reviewer = factory.user("reviewer", is_staff=True)
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted")
    outcome = _record(attempt, _review("violation", reviewed_by=reviewer.email), now)
    assert outcome.attempt_status == "rejected"
    assert db.session.execute(select(Review)).scalar_one().reviewed_by_id == reviewer.id
    # A human reviewed it: no alert to course staff even though it failed.
    assert db.session.execute(select(EmailMessage).where(
        EmailMessage.template == "review_needs_attention")).first() is None


def test_without_second_reviews_a_failure_rejects(app, factory, now, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_FAILURE_SECOND_REVIEWS", False)
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted")
    assert _record(attempt, _review("suspicious"), now).attempt_status == "rejected"


def test_failed_onboarding_attempt_is_rejected(factory, now):
    attempt = factory.attempt(factory.exam("onboarding"), factory.learner(), "submitted")
    assert _record(attempt, _review("violation"), now).attempt_status == "rejected"


def test_update_archives_the_previous_review(factory, now):
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted")
    _record(attempt, _review("suspicious"), now)
    outcome = _record(attempt, _review("passed"), now)
    assert outcome.updated and outcome.attempt_status == "verified"
    assert [h.review_status for h in db.session.execute(select(ReviewHistory)).scalars()] == [
        "Suspicious"]


def test_update_refused_when_updates_are_off(app, factory, now, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_REVIEW_UPDATES", False)
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted")
    _record(attempt, _review("passed"), now)
    with pytest.raises(BadRequest, match="already exists"):
        _record(attempt, _review("violation"), now)


def test_unknown_code_and_unproctored_exam(factory, now):
    with pytest.raises(NotFound):
        reviews.find_target("NOPE")
    exam = factory.exam("proctored")
    attempt = factory.attempt(exam, factory.learner(), "submitted")
    exam.is_proctored = False
    target = reviews.find_target(attempt.attempt_code)
    with pytest.raises(PreconditionFailed):
        reviews.record_review(target, exams.backend_for(factory.exam("proctored")),
                              _review("passed"), now)


def test_retirement_blanks_personal_data_but_keeps_records(factory, now):
    from proctor_web.services import allowances  # noqa: F401  (the table exists)

    learner = factory.learner()
    exam = factory.exam("proctored")
    attempt = factory.attempt(exam, learner, "submitted")
    db.session.add(Allowance(user_id=learner.id, exam_id=exam.id, key="review_policy_exception",
                             value="Needs a reader", created=now, modified=now))
    _record(attempt, _review("suspicious"), now)
    _record(attempt, _review("violation"), now)
    reviews.retire_user_data(learner, now)

    review = db.session.execute(select(Review)).scalar_one()
    assert review.raw_data == "" and review.review_status == "Rules Violation"
    assert {c.comment for c in db.session.execute(select(ReviewComment)).scalars()} == {""}
    assert {h.raw_data for h in db.session.execute(select(ReviewHistory)).scalars()} == {""}
    assert db.session.execute(select(Allowance.value)).scalar_one() == ""
    assert learner.retired_at == now


def test_suspicious_review_alert_says_when_the_attempt_was_submitted(factory, now):
    staff = factory.course_staff(username="watcher")
    staff.time_zone = "America/Bogota"
    attempt = factory.attempt(factory.exam("proctored"), factory.learner(), "submitted",
                              external_id="x", started_minutes_ago=10)
    attempt.completed_at = now - timedelta(minutes=2)
    _record(attempt, _review("suspicious"), now)
    alert = db.session.execute(select(EmailMessage).where(
        EmailMessage.recipient == staff.email)).scalar_one()
    assert alert.template == "review_needs_attention"
    assert ("Submitted: November 22, 2026, 6:58 AM Colombia Time (11:58 UTC)"
            in alert.text_body), alert.text_body


def test_alert_for_an_archived_attempt_says_when_it_was_submitted(factory, now):
    """Staff reset the attempt before its review came in: the alert still tells when it was
    submitted, from the attempt's history."""
    staff = factory.course_staff(username="watcher")
    learner = factory.learner()
    exam = factory.exam("proctored")
    attempt = factory.attempt(exam, learner, "started", external_id="x", started_minutes_ago=10)
    attempts.apply_action(attempt, attempts.Action.SUBMIT, attempts.Actor.learner(learner),
                          now - timedelta(minutes=2))
    code = attempt.attempt_code
    attempts.remove_attempt(attempt, attempts.Actor.system("test"), now, "reset by staff")
    db.session.flush()
    target = reviews.find_target(code)
    assert target.attempt is None
    reviews.record_review(target, exams.backend_for(exam), _review("suspicious"), now,
                          review_url="https://site/review")
    alert = db.session.execute(select(EmailMessage).where(
        EmailMessage.recipient == staff.email)).scalar_one()
    assert "Submitted: November 22, 2026, 11:58:00 AM UTC" in alert.text_body, alert.text_body
