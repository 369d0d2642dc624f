"""Dead letters: outbox rows that still failed after ``OUTBOX_MAX_TRIES`` tries.

Listing and counting them (per course for instructors, all for operators) and putting them
back to pending. A service: flushes, never commits; retried rows are marked for delivery, so
the commit of the caller's transaction hands them to background work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, DeliveryStatus, Exam
from proctor_web.services import outbox


@dataclass(frozen=True)
class OutboxRow:
    kind: str
    row: Any


def _scoped(model: type, course_id: str | None, query: Any) -> Any | None:
    """``query`` limited to the rows of ``course_id``'s attempts (None: every row); None
    when rows of ``model`` cannot be tied to a course."""
    if course_id is None:
        return query
    if not hasattr(model, "attempt_id"):
        return None
    course_attempts = (select(Attempt.id).join(Exam, Exam.id == Attempt.exam_id)
                       .where(Exam.course_id == course_id))
    return query.where(model.attempt_id.in_(course_attempts))  # type: ignore[attr-defined]


def count_dead(course_id: str | None = None) -> int:
    total = 0
    for kind in outbox.row_kinds().values():
        query = _scoped(kind.model, course_id, select(func.count()).select_from(kind.model)
                        .where(kind.model.status == DeliveryStatus.DEAD.value))
        if query is not None:
            total += db.session.execute(query).scalar_one()
    return total


#: A pending row whose next try is this far in the past is late: no worker is delivering it.
OVERDUE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Undelivered:
    dead: int
    overdue: int

    @property
    def total(self) -> int:
        return self.dead + self.overdue


def _overdue(model: Any, now: datetime) -> Any:
    return (model.status == DeliveryStatus.PENDING.value) & (
        model.next_attempt_at < now - OVERDUE_AFTER)


def count_undelivered(course_id: str, now: datetime) -> Undelivered:
    """Dead rows, and pending rows late for their next try, of ``course_id``'s attempts; one
    query per kind of row."""
    dead = overdue = 0
    for kind in outbox.row_kinds().values():
        model = kind.model
        query = _scoped(model, course_id, select(
            func.count().filter(model.status == DeliveryStatus.DEAD.value),
            func.count().filter(_overdue(model, now)),
        ).select_from(model).where(model.status.in_(
            [DeliveryStatus.DEAD.value, DeliveryStatus.PENDING.value])))
        if query is not None:
            row = db.session.execute(query).one()
            dead += row[0] or 0
            overdue += row[1] or 0
    return Undelivered(dead, overdue)


def deliver_overdue(now: datetime, course_id: str) -> list[tuple[str, int]]:
    """Hand ``course_id``'s late pending rows to background work again, now; returns them as
    (kind, id). Flushes; the commit enqueues them."""
    handed: list[tuple[str, int]] = []
    session = db.session()
    for name, kind in outbox.row_kinds().items():
        query = _scoped(kind.model, course_id, select(kind.model).where(_overdue(kind.model, now)))
        if query is None:
            continue
        for row in db.session.execute(query).scalars():
            row.next_attempt_at = now
            outbox.mark_for_delivery(session, name, row.id)
            handed.append((name, row.id))
    db.session.flush()
    return handed


def list_rows(statuses: Iterable[str], course_id: str | None = None,
              limit: int = 200) -> list[OutboxRow]:
    found: list[OutboxRow] = []
    for name, kind in outbox.row_kinds().items():
        query = _scoped(kind.model, course_id, select(kind.model)
                        .where(kind.model.status.in_(list(statuses)))
                        .order_by(kind.model.id).limit(limit))
        if query is not None:
            found.extend(OutboxRow(name, row) for row in db.session.execute(query).scalars())
    return found


def retry(now: datetime, kind: str | None = None, row_id: int | None = None,
          course_id: str | None = None) -> list[tuple[str, int]]:
    """Put dead rows (all of them, or one ``kind``/``row_id``) back to pending with a fresh
    count of tries; returns them as (kind, id). Flushes; the commit enqueues them."""
    retried: list[tuple[str, int]] = []
    session = db.session()
    for name, outbox_kind in outbox.row_kinds().items():
        if kind is not None and name != kind:
            continue
        model = outbox_kind.model
        query = _scoped(model, course_id, select(model).where(
            model.status == DeliveryStatus.DEAD.value))
        if query is None:
            continue
        if row_id is not None:
            query = query.where(model.id == row_id)
        for row in db.session.execute(query).scalars():
            row.status = DeliveryStatus.PENDING.value
            row.tries = 0
            row.next_attempt_at = now
            outbox.mark_for_delivery(session, name, row.id)
            retried.append((name, row.id))
    db.session.flush()
    return retried


def retry_undelivered(now: datetime, course_id: str) -> list[tuple[str, int]]:
    """The overview's one button: dead rows back to pending, late pending rows handed over
    again, all of ``course_id``'s. Flushes; the commit enqueues them."""
    return retry(now, course_id=course_id) + deliver_overdue(now, course_id)
