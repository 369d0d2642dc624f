"""Onboarding: whether a learner has an approved identity profile with the course's provider.

An onboarding exam is a proctored practice exam on a backend that supports onboarding. A
verified onboarding counts for ``ONBOARDING_VALID_DAYS`` days in every course that uses the
same backend.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptStatus, Exam, User
from proctor_web.models.attempt import IN_PROGRESS, PRE_STARTED
from proctor_web.services import exams

S = AttemptStatus


class OnboardingStatus(enum.StrEnum):
    """What instructors see per learner (edx-proctoring's dashboard vocabulary)."""

    NOT_STARTED = "not_started"
    SETUP_STARTED = "setup_started"
    ONBOARDING_STARTED = "onboarding_started"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    OTHER_COURSE_APPROVED = "other_course_approved"
    REJECTED = "rejected"
    ERROR = "error"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LearnerOnboarding:
    """A learner's onboarding in one course: ``status`` is an attempt status or
    ``other_course_approved``; None when they have never tried."""

    status: str | None
    expiration_date: datetime | None
    attempt: Attempt | None


def onboarding_exams(course_id: str) -> list[Exam]:
    """Active onboarding exams of the course, newest first."""
    candidates = db.session.execute(
        select(Exam)
        .where(
            Exam.course_id == course_id,
            Exam.is_active.is_(True),
            Exam.is_proctored.is_(True),
            Exam.is_practice_exam.is_(True),
        )
        .order_by(Exam.id.desc())
    ).scalars()
    result = []
    for exam in candidates:
        backend = exams.backend_for(exam)
        if backend is not None and backend.supports_onboarding:
            result.append(exam)
    return result


def _valid_days() -> timedelta:
    return timedelta(days=current_app.config["ONBOARDING_VALID_DAYS"])


def verified_elsewhere(user: User, backend_name: str, now: datetime,
                       exclude_course: str) -> Attempt | None:
    """The newest verified onboarding in another course with the same backend, still valid."""
    return db.session.execute(
        select(Attempt)
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(
            Attempt.user_id == user.id,
            Attempt.status == S.VERIFIED.value,
            Attempt.taking_as_proctored.is_(True),
            Exam.is_proctored.is_(True),
            Exam.is_practice_exam.is_(True),
            Exam.backend == backend_name,
            Exam.course_id != exclude_course,
            Attempt.modified >= now - _valid_days(),
        )
        .order_by(Attempt.modified.desc())
        .limit(1)
    ).scalar_one_or_none()


def learner_onboarding(user: User, course_id: str, now: datetime) -> LearnerOnboarding:
    exams_here = onboarding_exams(course_id)
    if not exams_here:
        return LearnerOnboarding(None, None, None)
    attempts = list(
        db.session.execute(
            select(Attempt)
            .where(
                Attempt.user_id == user.id,
                Attempt.exam_id.in_([e.id for e in exams_here]),
                Attempt.taking_as_proctored.is_(True),
            )
            .order_by(Attempt.modified.desc(), Attempt.id.desc())
        ).scalars()
    )
    for attempt in attempts:
        if attempt.status == S.VERIFIED.value:
            expires = attempt.modified + _valid_days()
            if expires > now:
                return LearnerOnboarding(S.VERIFIED.value, expires, attempt)
    backend_name = exams_here[0].backend or ""
    elsewhere = verified_elsewhere(user, backend_name, now, course_id)
    if elsewhere is not None:
        return LearnerOnboarding(
            OnboardingStatus.OTHER_COURSE_APPROVED.value, elsewhere.modified + _valid_days(),
            elsewhere,
        )
    if attempts:
        latest = attempts[0]
        if latest.status == S.VERIFIED.value:
            return LearnerOnboarding(OnboardingStatus.EXPIRED.value, None, latest)
        return LearnerOnboarding(latest.status, None, latest)
    return LearnerOnboarding(None, None, None)


def instructor_status(onboarding: LearnerOnboarding) -> OnboardingStatus:
    """The dashboard's word for a learner's onboarding."""
    status = onboarding.status
    if status is None:
        return OnboardingStatus.NOT_STARTED
    if status in (s.value for s in PRE_STARTED):
        return OnboardingStatus.SETUP_STARTED
    if status in (s.value for s in IN_PROGRESS):
        return OnboardingStatus.ONBOARDING_STARTED
    if status in (S.SUBMITTED.value, S.SECOND_REVIEW_REQUIRED.value):
        return OnboardingStatus.SUBMITTED
    if status == S.ONBOARDING_RESET.value:
        return OnboardingStatus.NOT_STARTED
    try:
        return OnboardingStatus(status)
    except ValueError:
        return OnboardingStatus.ERROR
