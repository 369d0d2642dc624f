"""Provider reviews: store them, keep their history, and move the attempt accordingly.

A review arrives for an attempt code. The attempt may be live, or archived (removed since:
only its history rows remain); an archived attempt's review is stored and changes nothing
else. The outcome maps to a status by the first rule that matches:

1. a passing status (the backend's ``passing_statuses``) -> verified, unless the attempt was
   never submitted (still created ... ready_to_submit): then error, as edx-proctoring
   >= 6.1.2 does, since a review cannot vouch for work that was never handed in;
2. ``not_reviewed`` -> error;
3. a named human reviewer, or ``REQUIRE_FAILURE_SECOND_REVIEWS`` off -> rejected;
4. an onboarding attempt on a backend that supports onboarding -> rejected;
5. otherwise -> second_review_required.

Suspicious reviews without a human reviewer alert the course staff.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from proctor_web.backends.base import REVIEW_STATUSES, NormalisedReview, ProctoringBackend
from proctor_web.errors import BadRequest, NotFound, PreconditionFailed
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceHistory,
    Attempt,
    AttemptHistory,
    AttemptStatus,
    EmailMessage,
    Exam,
    Review,
    ReviewComment,
    ReviewHistory,
    User,
)
from proctor_web.models.attempt import INCOMPLETE
from proctor_web.services import attempts, notifications
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.domain_events import AttemptRemoved

log = logging.getLogger(__name__)

#: Reviews are stored in RPNow's words, as edx-proctoring stores them.
STORED_STATUS: dict[str, str] = {
    "passed": "Clean",
    "violation": "Rules Violation",
    "suspicious": "Suspicious",
    "not_reviewed": "Not Reviewed",
}
STANDARD_STATUS: dict[str, str] = {stored: ours for ours, stored in STORED_STATUS.items()}


@dataclass(frozen=True)
class ReviewTarget:
    """Who a review is about: a live attempt, or the last history row of a removed one."""

    attempt_code: str
    attempt: Attempt | None
    archived: AttemptHistory | None
    exam: Exam | None
    user_id: int | None
    external_id: str | None


@dataclass(frozen=True)
class ReviewOutcome:
    review: Review
    updated: bool
    #: The action applied to the live attempt, or None (archived attempt).
    action: Action | None
    attempt_status: str | None


def find_target(attempt_code: str) -> ReviewTarget:
    """The attempt a review is for, live or archived; NotFound if it never existed."""
    attempt = attempts.get_attempt_by_code(attempt_code)
    if attempt is not None:
        return _live_target(attempt)
    archived = attempts.find_archived_attempt(attempt_code)
    if archived is None:
        raise NotFound(_("No exam attempt has the code %(code)s.", code=repr(attempt_code)))
    exam = db.session.get(Exam, archived.exam_id)
    external_id = archived.external_id or db.session.execute(
        select(AttemptHistory.external_id)
        .where(AttemptHistory.attempt_code == attempt_code,
               AttemptHistory.external_id.is_not(None))
        .order_by(AttemptHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return ReviewTarget(attempt_code, None, archived, exam, archived.user_id, external_id)


def _live_target(attempt: Attempt) -> ReviewTarget:
    return ReviewTarget(attempt.attempt_code, attempt, None, attempt.exam, attempt.user_id,
                        attempt.external_id)


def find_target_by_external_id(external_id: str, backend: str | None = None) -> ReviewTarget:
    """The live attempt (of ``backend``'s exams first, when given) or archived one."""
    attempt = None
    if backend is not None:
        attempt = attempts.get_attempt_by_external_id(external_id, backend=backend)
    attempt = attempt or attempts.get_attempt_by_external_id(external_id)
    if attempt is not None:
        return _live_target(attempt)
    code = db.session.execute(
        select(AttemptHistory.attempt_code)
        .where(AttemptHistory.external_id == external_id)
        .order_by(AttemptHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if code is None:
        raise NotFound(_("No exam attempt has the provider id %(external_id)s.",
                         external_id=repr(external_id)))
    return find_target(code)


def get_review(attempt_code: str) -> Review | None:
    return db.session.execute(
        select(Review).where(Review.attempt_code == attempt_code)
    ).scalar_one_or_none()


def _archive(review: Review, action: str, now: datetime) -> None:
    db.session.add(
        ReviewHistory(
            review_id=review.id,
            attempt_code=review.attempt_code,
            review_status=review.review_status,
            raw_data=review.raw_data,
            encrypted_video_url=review.encrypted_video_url,
            reviewed_by_id=review.reviewed_by_id,
            student_id=review.student_id,
            exam_id=review.exam_id,
            action=action,
            recorded_at=now,
        )
    )


def _action_for(
    review: NormalisedReview, backend: ProctoringBackend, attempt: Attempt,
    reviewer: User | None,
) -> Action:
    if backend.is_passing(review.status):
        if AttemptStatus(attempt.status) in INCOMPLETE:
            return Action.REVIEW_ERROR
        return Action.VERIFY
    if review.status == "not_reviewed":
        return Action.REVIEW_ERROR
    if reviewer is not None or not current_app.config["REQUIRE_FAILURE_SECOND_REVIEWS"]:
        return Action.REJECT
    if backend.supports_onboarding and attempt.is_sample_attempt:
        return Action.REJECT
    return Action.REQUIRE_SECOND_REVIEW


def _fill_review(
    stored: Review, target: ReviewTarget, exam: Exam, reviewer: User | None,
    backend: ProctoringBackend, review: NormalisedReview, now: datetime,
) -> None:
    stored.review_status = STORED_STATUS[review.status]
    stored.is_attempt_active = target.attempt is not None
    stored.student_id = target.user_id
    stored.exam_id = exam.id
    stored.reviewed_by_id = reviewer.id if reviewer else None
    stored.raw_data = json.dumps(review.payload or {}, sort_keys=True, default=str)
    if review.video_url:
        stored.encrypted_video_url = backend.encrypt_video_url(review.video_url)
    stored.modified = now


def _insert_first_review(
    target: ReviewTarget, exam: Exam, reviewer: User | None, backend: ProctoringBackend,
    review: NormalisedReview, now: datetime,
) -> Review | None:
    """Insert the attempt's first review; None if a concurrent request inserted it first.

    The unique attempt code decides the race; the savepoint keeps the rest of this
    transaction (the callback receipt) usable after losing it.
    """
    candidate = Review(attempt_code=target.attempt_code, created=now)
    _fill_review(candidate, target, exam, reviewer, backend, review, now)
    try:
        with db.session.begin_nested():
            db.session.add(candidate)
    except IntegrityError:
        log.info("a concurrent first review of %s won; this one updates it", target.attempt_code)
        return None
    return candidate


def record_review(
    target: ReviewTarget,
    backend: ProctoringBackend,
    review: NormalisedReview,
    now: datetime,
    *,
    review_url: str = "",
) -> ReviewOutcome:
    """Store ``review`` for ``target`` and apply its outcome; flushes, never commits.

    Raises ``PreconditionFailed`` (412) when the exam is no longer proctored and
    ``BadRequest`` for an unknown status or a second review while updates are disabled.
    """
    exam = target.exam
    if exam is None or not exam.has_backend:
        raise PreconditionFailed(_("The exam of this attempt is no longer proctored."))
    if review.status not in REVIEW_STATUSES:
        raise BadRequest(_("Unknown review status %(status)s.", status=repr(review.status)))

    reviewer = None
    if review.reviewed_by:
        reviewer = db.session.execute(
            select(User).where(User.email == review.reviewed_by)
        ).scalars().first()
        if reviewer is not None and not reviewer.is_staff:
            log.warning("review of %s names non-staff reviewer %s", target.attempt_code,
                        reviewer.username)

    existing = get_review(target.attempt_code)
    stored: Review | None = None
    if existing is None:
        stored = _insert_first_review(target, exam, reviewer, backend, review, now)
        if stored is None:
            # Another request stored the first review between our read and our insert:
            # this one is now a second review of the same attempt, handled as such.
            existing = get_review(target.attempt_code)
            if existing is None:
                raise PreconditionFailed(_("The review could not be stored; send it again."))
    if existing is not None:
        if not current_app.config["ALLOW_REVIEW_UPDATES"]:
            raise BadRequest(
                _("A review for attempt %(code)s already exists and updates are off.",
                  code=target.attempt_code)
            )
        _archive(existing, "update", now)
        stored = existing
        _fill_review(stored, target, exam, reviewer, backend, review, now)
    db.session.flush()
    for comment in review.comments:
        db.session.add(
            ReviewComment(
                review_id=stored.id,
                start_time=int(comment.get("start") or 0),
                stop_time=int(comment.get("stop") or 0),
                duration=int(comment.get("duration") or 0),
                comment=str(comment.get("comment") or ""),
                status=str(comment.get("status") or ""),
                created_at=now,
            )
        )
    db.session.flush()

    action: Action | None = None
    status: str | None = None
    if target.attempt is not None:
        action = _action_for(review, backend, target.attempt, reviewer)
        attempt = attempts.apply_action(
            target.attempt, action, Actor.provider(backend.name), now,
            f"{backend.name} review: {review.status}"
            + (f" by {review.reviewed_by}" if review.reviewed_by else ""),
        )
        status = attempt.status
    else:
        log.info("review %s stored for archived attempt %s", review.status, target.attempt_code)

    if review.status == "suspicious" and reviewer is None:
        student = db.session.get(User, target.user_id) if target.user_id else None
        submitted_at = (target.attempt.completed_at if target.attempt is not None
                        else attempts.submitted_at_in_history(target.attempt_code))
        notifications.queue_review_alert(exam, student, review.status, review_url, now,
                                         submitted_at=submitted_at)
    return ReviewOutcome(stored, existing is not None, action, status)


def on_attempt_removed(event: AttemptRemoved) -> None:
    """Subscriber of ``domain_events.attempt_removed``: its review now belongs to history."""
    mark_attempt_inactive(event.attempt.attempt_code)


def mark_attempt_inactive(attempt_code: str) -> None:
    """An attempt is being removed: its review, if any, now belongs to an archived attempt."""
    db.session.execute(
        update(Review).where(Review.attempt_code == attempt_code).values(is_attempt_active=False)
    )


def retire_user_data(user: User, now: datetime) -> None:
    """Blank a retired user's personal data in our records, keeping the records themselves."""
    blank = {"value": ""}
    db.session.execute(update(Allowance).where(Allowance.user_id == user.id).values(**blank))
    db.session.execute(
        update(AllowanceHistory).where(AllowanceHistory.user_id == user.id).values(**blank)
    )
    review_ids = select(Review.id).where(Review.student_id == user.id)
    db.session.execute(
        update(Review).where(Review.student_id == user.id)
        .values(raw_data="", encrypted_video_url=None)
    )
    db.session.execute(
        update(ReviewHistory).where(ReviewHistory.student_id == user.id)
        .values(raw_data="", encrypted_video_url=None)
    )
    db.session.execute(
        update(ReviewComment).where(ReviewComment.review_id.in_(review_ids))
        .values(comment="", status="")
    )
    # Unsent mail to a retired user is dropped, not sent later to a blanked address.
    db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.user_id == user.id, EmailMessage.status == "pending")
        .values(status="refused", last_error="user retired")
    )
    db.session.execute(
        update(EmailMessage).where(EmailMessage.user_id == user.id)
        .values(html_body="", text_body="", recipient="")
    )
    if user.retired_at is None:
        user.retired_at = now
    db.session.flush()
    log.info("personal proctoring data of user %s blanked", user.id)


def review_url(exam: Exam, external_id: str | None) -> str:
    """Where course staff open a review: our dashboard redirect for the exam and attempt."""
    site = current_app.config["SITE_URL"].rstrip("/")
    url = f"{site}/api/edx_proctoring/v1/instructor/{exam.course_id}/{exam.id}"
    return url + (f"?attempt={external_id}" if external_id else "")


def handle_review_callback(
    target: ReviewTarget, backend: ProctoringBackend, body: Any, now: datetime
) -> ReviewOutcome | None:
    """A provider's review callback: validate, deduplicate, store and apply.

    Returns None for a repeat of a callback already handled (a no-op). The caller has
    authenticated the provider and checked that the attempt belongs to its backend.
    """
    from proctor_web.services.provider_callbacks import claim_receipt

    if target.exam is None or not target.exam.has_backend:
        raise PreconditionFailed(_("The exam of this attempt is no longer proctored."))
    review = backend.on_review_callback(body)
    if not claim_receipt(backend.name, "reviewed", target.attempt_code, body, now):
        return None
    return record_review(target, backend, review, now,
                         review_url=review_url(target.exam, target.external_id))
