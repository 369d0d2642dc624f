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
from sqlalchemy import Engine, Select, bindparam, or_, select
from sqlalchemy.orm import make_transient_to_detached

from proctor_web.backends.base import ProctoringBackend
from proctor_web.database import SINGLE_STATEMENT_READ
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
    User,
)
from proctor_web.models.attempt import IN_PROGRESS
from proctor_web.raw_select import RawSelect
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


def _timer_facts() -> tuple[Any, Any, Any]:
    """The attempt's extra minutes, its course's end and its last software click, as scalar
    subqueries correlated to the attempt row: one round trip whatever the data size. Written
    over the tables, so that the poll's snapshot query stays a plain Core statement."""
    attempts_t, allowances_t = Attempt.__table__, Allowance.__table__
    exams_t, courses_t, history_t = Exam.__table__, Course.__table__, AttemptHistory.__table__
    extra = (
        select(allowances_t.c.value)
        .where(
            allowances_t.c.user_id == attempts_t.c.user_id,
            allowances_t.c.exam_id == attempts_t.c.exam_id,
            allowances_t.c.key == AllowanceKey.ADDITIONAL_TIME_GRANTED.value,
        )
        .correlate(attempts_t)
        .scalar_subquery()
    )
    exam_row = exams_t.alias("timer_exam")
    course_end = (
        select(courses_t.c.end_date)
        .join(exam_row, exam_row.c.course_id == courses_t.c.course_id)
        .where(exam_row.c.id == attempts_t.c.exam_id)
        .correlate(attempts_t)
        .scalar_subquery()
    )
    clicked = (
        select(history_t.c.created_at)
        .where(
            history_t.c.attempt_id == attempts_t.c.id,
            history_t.c.action == Action.CLICK_DOWNLOAD_SOFTWARE.value,
        )
        .order_by(history_t.c.id.desc())
        .limit(1)
        .correlate(attempts_t)
        .scalar_subquery()
    )
    return extra, course_end, clicked


@functools.cache
def _attempt_view_columns() -> Select:
    """Built once: the poll runs it on every request, and building it costs more than running
    it."""
    return select(Attempt, *_timer_facts())


@functools.cache
def _attempt_view_query() -> Select:
    return _attempt_view_columns().where(Attempt.id == bindparam("attempt_id"))


@functools.cache
def _active_attempt_view_query() -> Select:
    return _attempt_view_columns().where(
        Attempt.user_id == bindparam("user_id"),
        Attempt.status.in_([s.value for s in IN_PROGRESS]),
    ).order_by(Attempt.started_at.desc()).limit(1)


@functools.cache
def _locked_attempt_view_query() -> Select:
    return _attempt_view_query().with_for_update(of=Attempt)


def load_attempt_view(attempt_id: int, lock: bool = False) -> AttemptView:
    """The attempt (with its user and exam) and its timer facts: one SELECT. With ``lock``
    (a write follows), the attempt's row is locked by that SELECT, so the lifecycle does
    not read it again before changing it."""
    view = _view(_locked_attempt_view_query() if lock else _attempt_view_query(),
                 attempt_id=attempt_id)
    if view is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
    if lock:
        attempts.note_locked_on_load(view.attempt)
    return view


@functools.cache
def _current_attempt_view_query() -> Select:
    return _attempt_view_columns().where(
        Attempt.exam_id == bindparam("exam_id"), Attempt.user_id == bindparam("user_id"),
    ).order_by(Attempt.id.desc()).limit(1)


def load_current_attempt_view(exam_id: int, user_id: int) -> AttemptView | None:
    """The attempt a learner's page is about (the newest on this exam, as
    ``attempts.current_attempt``) with its timer facts: one SELECT."""
    return _view(_current_attempt_view_query(), exam_id=exam_id, user_id=user_id)


def load_active_attempt_view(user_id: int) -> AttemptView | None:
    """The learner's exam in progress, if any, with its timer facts: one SELECT (the same
    query as ``load_attempt_view``, chosen by learner and status instead of by id)."""
    return _view(_active_attempt_view_query(), user_id=user_id)


def _view(query: Select, **params: Any) -> AttemptView | None:
    row = db.session.execute(query, params).unique().first()
    if row is None:
        return None
    attempt, extra_value, end, clicked_at = row
    return AttemptView(attempt, _int_or_zero(extra_value), end, clicked_at)


# The poll's read-only snapshot -------------------------------------------------------------
#
# The timer poll is the hottest request: every learner, every minute, and almost always it
# changes nothing. Loading three ORM entities costs several times the SQL itself, so the poll
# first reads the same row with a plain Core SELECT and builds *detached* copies of the
# attempt, its exam and its learner from it. They answer every column and property the
# payload reads; anything not in the row (a relationship, a collection) raises
# DetachedInstanceError instead of being loaded or guessed. Nothing is ever written through
# them: when the read would change something (``is_settled`` is false) or the learner's
# account needs a write, the poll loads the ORM view instead.


def _columns(model: type[Any], prefix: str) -> list[Any]:
    return [prop.columns[0].label(prefix + prop.key) for prop in model.__mapper__.column_attrs]


def _snapshot_select() -> Select:
    """The attempt, its exam, its learner and its timer facts, in one row of plain columns."""
    extra, course_end, clicked = _timer_facts()
    attempts_t, exams_t, users_t = Attempt.__table__, Exam.__table__, User.__table__
    return (
        select(
            *_columns(Attempt, "a_"), *_columns(Exam, "e_"), *_columns(User, "u_"),
            extra.label("x_extra"), course_end.label("x_course_end"),
            clicked.label("x_clicked"),
        )
        .select_from(
            attempts_t.join(exams_t, exams_t.c.id == attempts_t.c.exam_id)
            .join(users_t, users_t.c.id == attempts_t.c.user_id)
        )
    )


@functools.cache
def _snapshot_query() -> RawSelect:
    attempts_t = Attempt.__table__
    return RawSelect(
        _snapshot_select().where(attempts_t.c.id == bindparam("attempt_id")),
        variables=("attempt_id",),
    )


@functools.cache
def _active_snapshot_query() -> RawSelect:
    """As ``_active_attempt_view_query``; the statuses as equalities, since ``RawSelect``
    takes no expanding ``IN``."""
    attempts_t = Attempt.__table__
    return RawSelect(
        _snapshot_select()
        .where(attempts_t.c.user_id == bindparam("user_id"),
               or_(*(attempts_t.c.status == status.value for status in sorted(IN_PROGRESS))))
        .order_by(attempts_t.c.started_at.desc())
        .limit(1),
        variables=("user_id",),
    )


@functools.cache
def _snapshot_keys() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return tuple(
        tuple(prop.key for prop in model.__mapper__.column_attrs)
        for model in (Attempt, Exam, User)
    )  # type: ignore[return-value]


def _detached(model: type[Any], values: dict[str, Any]) -> Any:
    """An instance holding ``values`` as if loaded, in no session: reads only."""
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    return instance


def peek_attempt_view(attempt_id: int) -> AttemptView | None:
    """The same facts as ``load_attempt_view`` from one Core SELECT on the driver's cursor
    (``RawSelect``), as detached read-only copies (see above); None when there is no such
    attempt."""
    return _peek(_snapshot_query(), attempt_id=attempt_id)


def peek_active_attempt_view(user_id: int) -> AttemptView | None:
    """As ``load_active_attempt_view`` (the learner's exam in progress), the same way as
    ``peek_attempt_view``; None when nothing runs."""
    return _peek(_active_snapshot_query(), user_id=user_id)


def _peek(query: RawSelect, **values: Any) -> AttemptView | None:
    # The session's configured bind, without creating a session only to ask it.
    bind = db.session.session_factory.kw.get("bind") or db.engine
    if isinstance(bind, Engine):  # a connection of its own for one SELECT, in no session
        with bind.connect().execution_options(**{SINGLE_STATEMENT_READ: True}) as connection:
            row = query.one(connection, **values)
    else:  # a session bound to one connection (a test's transaction): read through it
        row = query.one(bind, **values)
    if row is None:
        return None
    attempt_keys, exam_keys, user_keys = _snapshot_keys()
    exam = _detached(Exam, {key: row["e_" + key] for key in exam_keys})
    user = _detached(User, {key: row["u_" + key] for key in user_keys})
    attempt = _detached(Attempt, {key: row["a_" + key] for key in attempt_keys})
    attempt.__dict__["exam"] = exam
    attempt.__dict__["user"] = user
    return AttemptView(attempt, _int_or_zero(row["x_extra"]), row["x_course_end"],
                       row["x_clicked"])


def is_settled(view: AttemptView, now: datetime) -> bool:
    """Whether ``refresh`` would leave this view as it is: its time has not run out, and no
    provider reports the learner's setup complete."""
    return not timing.has_run_out(view.attempt, now) and _reports_ready(view, now) is None


def _reports_ready(view: AttemptView, now: datetime) -> ProctoringBackend | None:
    """The exam's provider when it reports the learner's setup complete now (providers we may
    ask: ``is_ready`` is a local check; REST providers call the ready webhook instead)."""
    attempt = view.attempt
    if not attempt.taking_as_proctored or attempt.status not in (
            S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED):
        return None
    backend = exams.backend_for(attempt.exam)
    if backend is None:
        return None
    since = (
        (now - view.software_clicked_at).total_seconds()
        if view.software_clicked_at is not None
        else None
    )
    external_id = attempt.external_id or attempt.attempt_code
    return backend if backend.is_ready(attempt.exam.external_id, external_id, since) else None


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
    if not changed:
        backend = _reports_ready(view, now)
        if backend is not None:
            attempts.apply_action(attempt, Action.READY, Actor.provider(backend.name), now,
                                  "setup reported complete")
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
