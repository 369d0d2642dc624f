"""Creating attempts: the learner's own, the declined siblings of a declined exam, and the
outcome of registering a proctored one with its provider (``services.registration``)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from proctor_web.errors import (
    AttemptAlreadyExists,
    InvalidTransition,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ReviewPolicy,
    User,
)
from proctor_web.models.attempt import (
    PRE_STARTED,
)
from proctor_web.services import courses, exams
from proctor_web.services.attempts.actors import Action, Actor, ActorKind
from proctor_web.services.attempts.engine import _change, _count_learner, _lock, _record, transition
from proctor_web.services.attempts.queries import current_attempt
from proctor_web.services.domain_events import (
    AttemptCreated,
    announce,
    attempt_created,
)

log = logging.getLogger(__name__)
S = AttemptStatus


def new_attempt_code() -> str:
    return str(uuid.uuid4()).upper()


def create_attempt(
    exam: Exam,
    user: User,
    actor: Actor,
    now: datetime,
    *,
    taking_as_proctored: bool | None = None,
    start_clock: bool = False,
    resume_from: Attempt | None = None,
) -> Attempt:
    """Create the learner's attempt on ``exam``.

    ``taking_as_proctored=False`` on a proctored exam is the learner declining proctoring.
    ``start_clock`` starts a timed exam at once. Proctored attempts are registered with the
    provider before this returns; if the provider refuses because onboarding is missing,
    the attempt is kept in that onboarding status so the learner's page can explain it.
    """
    if actor.kind is ActorKind.LEARNER and actor.user_id != user.id:
        raise PermissionDenied(_("You can only create exam attempts for yourself."))
    if not user.is_active:
        raise PermissionDenied(_("This account is inactive; it cannot take exams."))
    if not courses.is_enrolled(user, exam.course_id):
        raise PermissionDenied(_(
            "%(username)s is not enrolled in %(course_id)s, so cannot take its exams.",
            username=user.username, course_id=exam.course_id,
        ))
    if not exam.is_active:
        raise InvalidTransition(_("The exam '%(name)s' is not active.", name=exam.exam_name))
    existing = current_attempt(exam, user)
    # A second attempt only ever comes from resuming an errored one or retrying practice.
    if existing is not None and resume_from is None and existing.status != S.ONBOARDING_RESET:
        raise AttemptAlreadyExists(
            _("%(username)s already has an attempt (%(status)s) on this exam.",
              username=user.username, status=existing.status),
            attempt_id=existing.id,
        )

    proctored = exam.is_proctored or exam.is_practice_exam
    declining = proctored and taking_as_proctored is False
    if declining and (exam.is_practice_exam or not exams.allows_opt_out(exam)):
        raise InvalidTransition(
            _("This exam must be taken with proctoring; it cannot be declined."))
    as_proctored = proctored and not declining
    if start_clock and as_proctored:
        raise InvalidTransition(
            _("A proctored exam starts once the proctoring software is ready."))

    policy = db.session.execute(
        select(ReviewPolicy).where(ReviewPolicy.exam_id == exam.id)
    ).scalar_one_or_none()
    attempt = Attempt(
        user=user,
        exam=exam,
        attempt_code=new_attempt_code(),
        status=S.CREATED.value,
        taking_as_proctored=as_proctored,
        is_sample_attempt=exam.is_practice_exam,
        review_policy_id=policy.id if policy else None,
        time_remaining_seconds=resume_from.time_remaining_seconds if resume_from else None,
        created=now,
        modified=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        raise AttemptAlreadyExists(
            _("%(username)s already has an attempt on this exam.", username=user.username)
        ) from None
    if existing is None:
        _count_learner(exam, +1)
    _record(attempt, Action.CREATE, None, S.CREATED.value, actor, now,
            f"resumes attempt {resume_from.id}" if resume_from else "")

    if declining:
        _change(attempt, Action.DECLINE, S.CREATED, S.DECLINED, actor, now, "declined proctoring")
        _cascade_decline(attempt, actor, now)
        return attempt

    if as_proctored:
        # Registration with the provider (``services.registration``): at once for a backend
        # that answers locally, else after this transaction commits.
        announce(attempt_created, AttemptCreated(
            attempt, actor, now, resume_from.id if resume_from else None))
        if attempt.status != S.CREATED:
            return attempt

    if start_clock:
        transition(attempt, Action.START, actor, now)
    return attempt


def refuse_registration(attempt: Attempt, onboarding_status: str, external_id: str | None,
                        message: str, actor: Actor, now: datetime) -> Attempt:
    """The provider refused to register ``attempt`` because the learner's onboarding is not
    in order: it is kept in that onboarding status, so the learner's page can explain."""
    attempt.external_id = external_id
    _change(attempt, Action.CREATE, S.CREATED, S(onboarding_status), actor, now,
            f"provider refused: {message}")
    return attempt


def withdraw_resume(attempt: Attempt, actor: Actor, now: datetime, reason: str) -> None:
    """The attempt that was to resume ``attempt`` could not be set up: ``attempt`` is ready
    to resume again, so the learner can try once more."""
    attempt = _lock(attempt)
    attempt.resumed = False
    attempt.ready_to_resume = True
    _record(attempt, Action.MARK_READY_TO_RESUME, attempt.status, attempt.status, actor, now,
            reason)
    db.session.flush()


def _cascade_decline(declined: Attempt, actor: Actor, now: datetime) -> None:
    """Declining one proctored exam declines the course's other proctored exams.

    Only exams the learner has not started are touched: unlike edx-proctoring we never
    pull an exam in progress out from under a learner.
    """
    others = db.session.execute(
        select(Exam).where(
            Exam.course_id == declined.exam.course_id,
            Exam.id != declined.exam_id,
            Exam.is_active.is_(True),
            Exam.is_proctored.is_(True),
            Exam.is_practice_exam.is_(False),
        ).order_by(Exam.id)
    ).scalars()
    cascade_actor = Actor(ActorKind.SYSTEM, actor.user, "decline cascade")
    for exam in others:
        existing = current_attempt(exam, declined.user)
        if existing is None:
            attempt = Attempt(
                user=declined.user,
                exam=exam,
                attempt_code=new_attempt_code(),
                status=S.CREATED.value,
                taking_as_proctored=False,
                is_sample_attempt=False,
                created=now,
                modified=now,
            )
            db.session.add(attempt)
            db.session.flush()
            _count_learner(exam, +1)
            _record(attempt, Action.CREATE, None, S.CREATED.value, cascade_actor, now,
                    f"declined with attempt {declined.id}")
            _change(attempt, Action.DECLINE, S.CREATED, S.DECLINED, cascade_actor, now,
                    f"declined with attempt {declined.id}")
        elif existing.status in PRE_STARTED:
            transition(existing, Action.DECLINE, cascade_actor, now,
                       f"declined with attempt {declined.id}")
