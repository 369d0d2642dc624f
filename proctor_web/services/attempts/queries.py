"""Finding attempts and their history (reads only)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.errors import (
    NotFound,
)
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    AttemptStatus,
    Exam,
    User,
)
from proctor_web.models.attempt import (
    IN_PROGRESS,
)

log = logging.getLogger(__name__)
S = AttemptStatus


def get_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    return attempt


def get_attempt_by_external_id(external_id: str, backend: str | None = None) -> Attempt | None:
    """The attempt a provider knows by ``external_id``; with ``backend``, only one of that
    provider's exams (two providers may hand out the same id)."""
    query = select(Attempt).where(Attempt.external_id == external_id)
    if backend is not None:
        query = query.join(Exam, Attempt.exam_id == Exam.id).where(Exam.backend == backend)
    return db.session.execute(query.order_by(Attempt.id.desc())).scalars().first()


def get_attempt_by_code(attempt_code: str) -> Attempt | None:
    return db.session.execute(
        select(Attempt).where(Attempt.attempt_code == attempt_code)
    ).scalar_one_or_none()


def find_archived_attempt(attempt_code: str) -> AttemptHistory | None:
    """The last history row of a removed attempt, so a late review can still be filed."""
    return db.session.execute(
        select(AttemptHistory)
        .where(AttemptHistory.attempt_code == attempt_code)
        .order_by(AttemptHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def submitted_at_in_history(attempt_code: str) -> datetime | None:
    """When the attempt with this code (live or removed) was last submitted, from its
    history rows; None if it never was."""
    return db.session.execute(
        select(AttemptHistory.created_at)
        .where(AttemptHistory.attempt_code == attempt_code,
               AttemptHistory.to_status == AttemptStatus.SUBMITTED.value,
               AttemptHistory.ignored.is_(False))
        .order_by(AttemptHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def current_attempt(exam: Exam, user: User) -> Attempt | None:
    """The attempt a learner's page is about: the newest one on this exam."""
    return db.session.execute(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)
        .order_by(Attempt.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def attempts_for(exam: Exam, user: User) -> list[Attempt]:
    return list(
        db.session.execute(
            select(Attempt)
            .where(Attempt.exam_id == exam.id, Attempt.user_id == user.id)
            .order_by(Attempt.id)
        ).scalars()
    )


def history_of(attempt_id: int) -> list[AttemptHistory]:
    return list(
        db.session.execute(
            select(AttemptHistory)
            .where(AttemptHistory.attempt_id == attempt_id)
            .order_by(AttemptHistory.id)
        ).scalars()
    )


def active_attempt(user: User) -> Attempt | None:
    """The learner's exam in progress, if any (there should be at most one)."""
    return db.session.execute(
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.status.in_([s.value for s in IN_PROGRESS]))
        .order_by(Attempt.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def statuses(values: Iterable[str]) -> list[AttemptStatus]:
    return [S(v) for v in values]
