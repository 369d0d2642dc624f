"""Loading an attempt for the learner in one query (``AttemptView``), and ``refresh``: what
every read does first (submit it if its time ran out, ask a provider we may poll whether
the learner's setup is complete)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import aliased

from proctor_web.errors import (
    NotFound,
)
from proctor_web.extensions import db
from proctor_web.models import (
    Allowance,
    AllowanceKey,
    Attempt,
    AttemptHistory,
    AttemptStatus,
    Course,
    Exam,
    ExamType,
)
from proctor_web.models.attempt import IN_PROGRESS
from proctor_web.services import (
    attempts,
    exams,
    timing,
)
from proctor_web.services.attempts import Action, Actor

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType


@dataclass
class AttemptView:
    """An attempt with the few facts its timer needs, loaded in one query."""

    attempt: Attempt
    extra_minutes: int = 0
    course_end: datetime | None = None
    software_clicked_at: datetime | None = None

    @property
    def exam(self) -> Exam:
        return self.attempt.exam

    @property
    def due_date(self) -> datetime | None:
        return timing.effective_due_date(self.exam, self.course_end)


@functools.cache
def _attempt_view_columns() -> Select:
    """Built once: the poll runs it on every request, and building it costs more than running
    it. The scalar subqueries make it one round trip whatever the data size."""
    extra = (
        select(Allowance.value)
        .where(
            Allowance.user_id == Attempt.user_id,
            Allowance.exam_id == Attempt.exam_id,
            Allowance.key == AllowanceKey.ADDITIONAL_TIME_GRANTED.value,
        )
        .correlate(Attempt)
        .scalar_subquery()
    )
    exam_row = aliased(Exam)
    course_end = (
        select(Course.end_date)
        .join(exam_row, exam_row.course_id == Course.course_id)
        .where(exam_row.id == Attempt.exam_id)
        .correlate(Attempt)
        .scalar_subquery()
    )
    clicked = (
        select(AttemptHistory.created_at)
        .where(
            AttemptHistory.attempt_id == Attempt.id,
            AttemptHistory.action == Action.CLICK_DOWNLOAD_SOFTWARE.value,
        )
        .order_by(AttemptHistory.id.desc())
        .limit(1)
        .correlate(Attempt)
        .scalar_subquery()
    )
    return select(Attempt, extra, course_end, clicked)


@functools.cache
def _attempt_view_query() -> Select:
    return _attempt_view_columns().where(Attempt.id == bindparam("attempt_id"))


@functools.cache
def _active_attempt_view_query() -> Select:
    return _attempt_view_columns().where(
        Attempt.user_id == bindparam("user_id"),
        Attempt.status.in_([s.value for s in IN_PROGRESS]),
    ).order_by(Attempt.started_at.desc()).limit(1)


def load_attempt_view(attempt_id: int) -> AttemptView:
    """The attempt (with its user and exam) and its timer facts: one SELECT."""
    row = db.session.execute(
        _attempt_view_query(), {"attempt_id": attempt_id}
    ).unique().first()
    if row is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    attempt, extra_value, end, clicked_at = row
    return AttemptView(attempt, _int_or_zero(extra_value), end, clicked_at)


def load_active_attempt_view(user_id: int) -> AttemptView | None:
    """The learner's exam in progress, if any, with its timer facts: one SELECT (the same
    query as ``load_attempt_view``, chosen by learner and status instead of by id)."""
    row = db.session.execute(
        _active_attempt_view_query(), {"user_id": user_id}
    ).unique().first()
    if row is None:
        return None
    attempt, extra_value, end, clicked_at = row
    return AttemptView(attempt, _int_or_zero(extra_value), end, clicked_at)


def _int_or_zero(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


# Reading an attempt -----------------------------------------------------------------------


def refresh(view: AttemptView, now: datetime) -> AttemptView:
    """Apply what time and the provider have decided since the last read.

    Expiry on read (the sweep does the same for attempts nobody looks at), and readiness for
    providers we may ask (``backend.is_ready``); REST providers call the ready webhook instead.
    Returns a freshly loaded view when anything changed.
    """
    attempt = view.attempt
    changed = attempts.expire_if_due(attempt, now)
    if (
        not changed
        and attempt.taking_as_proctored
        and attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED)
    ):
        backend = exams.backend_for(attempt.exam)
        if backend is not None:
            since = (
                (now - view.software_clicked_at).total_seconds()
                if view.software_clicked_at is not None
                else None
            )
            if backend.is_ready(
                attempt.exam.external_id, attempt.external_id or attempt.attempt_code, since
            ):
                attempts.apply_action(
                    attempt, Action.READY, Actor.provider(backend.name), now,
                    "setup reported complete",
                )
                changed = True
    return load_attempt_view(attempt.id) if changed else view


def allowed_minutes_for(view: AttemptView, now: datetime) -> int:
    """Frozen at the first start; before it, what a start now would give."""
    attempt = view.attempt
    if attempt.allowed_time_limit_mins is not None:
        return attempt.allowed_time_limit_mins
    return timing.allowed_minutes(
        view.exam.time_limit_mins, view.extra_minutes, now, view.due_date,
        resume_seconds=attempt.time_remaining_seconds,
    )
