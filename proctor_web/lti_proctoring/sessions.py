"""The proctoring session of one attempt with its tool, and the value that binds it.

``session_data`` is random, stored, and bound to (user, resource link, attempt number): the
tool must echo it unchanged in LtiStartAssessment, which is how we know the start comes
from the launch we made for this learner and not from a forged or replayed form.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select

from proctor_web.backends.lti import LtiBackend
from proctor_web.extensions import db
from proctor_web.models import Attempt, LtiProctoringSession, User
from proctor_web.services.obscured_ids import obscured_user_id


def sub_for(user: User, backend: LtiBackend) -> str:
    """The learner's id at this tool: stable, and telling the tool nothing about ours."""
    return obscured_user_id(user.id, backend.name)


def attempt_number(attempt: Attempt) -> int:
    """1 for the learner's first attempt on this exam, 2 for the next (resumed, retried)."""
    return db.session.execute(
        select(func.count()).select_from(Attempt).where(
            Attempt.exam_id == attempt.exam_id, Attempt.user_id == attempt.user_id,
            Attempt.id <= attempt.id,
        )
    ).scalar_one()


def for_attempt(attempt_id: int) -> LtiProctoringSession | None:
    return db.session.execute(
        select(LtiProctoringSession).where(LtiProctoringSession.attempt_id == attempt_id)
    ).scalar_one_or_none()


def by_session_data(value: str) -> LtiProctoringSession | None:
    return db.session.execute(
        select(LtiProctoringSession).where(LtiProctoringSession.session_data == value)
    ).scalar_one_or_none()


def find(backend: LtiBackend, sub: str, resource_link_id: str,
         number: int) -> LtiProctoringSession | None:
    return db.session.execute(
        select(LtiProctoringSession).where(
            LtiProctoringSession.backend == backend.name,
            LtiProctoringSession.sub == sub,
            LtiProctoringSession.resource_link_id == resource_link_id,
            LtiProctoringSession.attempt_number == number,
        ).order_by(LtiProctoringSession.id.desc()).limit(1)
    ).scalar_one_or_none()


def open_session(attempt: Attempt, backend: LtiBackend, now: datetime) -> LtiProctoringSession:
    """The attempt's session, created at its first launch (flushes; caller commits)."""
    existing = for_attempt(attempt.id)
    if existing is not None:
        return existing
    session = LtiProctoringSession(
        attempt=attempt,
        user_id=attempt.user_id,
        backend=backend.name,
        sub=sub_for(attempt.user, backend),
        resource_link_id=attempt.exam.content_id,
        attempt_number=attempt_number(attempt),
        session_data=secrets.token_urlsafe(32),
        created=now,
        modified=now,
    )
    db.session.add(session)
    db.session.flush()
    return session
