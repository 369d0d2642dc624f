"""CSV exports of a course's attempts, streamed row by row.

Rows are read with ``yield_per`` and written as they come, so memory stays flat however
large the course. Cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptIncident, Exam, Review, ReviewComment, User

BATCH = 1000

ATTEMPT_COLUMNS = (
    "course_id", "exam_id", "exam_name", "content_id", "user_id", "username", "email",
    "attempt_id", "attempt_code", "status", "taking_as_proctored", "is_sample_attempt",
    "allowed_time_limit_mins", "started_at", "completed_at", "ready_to_resume", "created",
    "modified",
)
VIOLATION_COLUMNS = (
    "course_id", "exam_name", "username", "email", "attempt_code", "allowed_time_limit_mins",
    "is_sample_attempt", "started_at", "completed_at", "status", "review_status", "provider",
    "user_id",
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(v) for v in values])
    return buffer.getvalue()


def attempts_csv(course_id: str) -> Iterator[str]:
    """Every current attempt of the course, one CSV line at a time."""
    yield _line(ATTEMPT_COLUMNS)
    rows = db.session.execute(
        select(
            Exam.course_id, Exam.id, Exam.exam_name, Exam.content_id, User.id, User.username,
            User.email, Attempt.id, Attempt.attempt_code, Attempt.status,
            Attempt.taking_as_proctored, Attempt.is_sample_attempt,
            Attempt.allowed_time_limit_mins, Attempt.started_at, Attempt.completed_at,
            Attempt.ready_to_resume, Attempt.created, Attempt.modified,
        )
        .select_from(Attempt)
        .join(User, User.id == Attempt.user_id)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Exam.course_id == course_id)
        .order_by(Attempt.id)
        .execution_options(yield_per=BATCH)
    )
    for row in rows:
        yield _line(row)


def _comment_statuses(course_id: str) -> list[str]:
    return list(
        db.session.execute(
            select(ReviewComment.status)
            .join(Review, Review.id == ReviewComment.review_id)
            .join(Exam, Exam.id == Review.exam_id)
            .where(Exam.course_id == course_id)
            .distinct()
            .order_by(ReviewComment.status)
        ).scalars()
    )


def violation_report_csv(course_id: str, include_practice: bool = False) -> Iterator[str]:
    """One line per proctored attempt with its review status and comments by kind.

    Comments are grouped in ``"<status> Comments"`` columns (edx-proctoring's report shape);
    they are fetched once per batch of attempts, not once per attempt.
    """
    statuses = _comment_statuses(course_id)
    yield _line(VIOLATION_COLUMNS + tuple(f"{s or 'Other'} Comments" for s in statuses)
                + ("Proctoring Tool Incidents",))
    query = (
        select(
            Exam.course_id, Exam.exam_name, User.username, User.email, Attempt.attempt_code,
            Attempt.allowed_time_limit_mins, Attempt.is_sample_attempt, Attempt.started_at,
            Attempt.completed_at, Attempt.status, Review.review_status, Exam.backend,
            User.id, Review.id.label("review_id"),
        )
        .select_from(Attempt)
        .join(User, User.id == Attempt.user_id)
        .join(Exam, Exam.id == Attempt.exam_id)
        .outerjoin(Review, Review.attempt_code == Attempt.attempt_code)
        .where(Exam.course_id == course_id, Attempt.taking_as_proctored.is_(True))
        .order_by(Attempt.id)
        .execution_options(yield_per=BATCH)
    )
    if not include_practice:
        query = query.where(Attempt.is_sample_attempt.is_(False))
    result = db.session.execute(query)
    for batch in result.partitions():
        review_ids = [row.review_id for row in batch if row.review_id is not None]
        comments: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        if review_ids and statuses:
            for review_id, status, text in db.session.execute(
                select(ReviewComment.review_id, ReviewComment.status, ReviewComment.comment)
                .where(ReviewComment.review_id.in_(review_ids))
                .order_by(ReviewComment.id)
            ):
                comments[review_id][status].append(text)
        incidents = _incidents_by_code([row.attempt_code for row in batch])
        for row in batch:
            values = list(row[:-1])
            by_status = comments.get(row.review_id, {}) if row.review_id else {}
            values.extend("; ".join(by_status.get(s, [])) for s in statuses)
            values.append("; ".join(incidents.get(row.attempt_code, [])))
            yield _line(values)


def _incidents_by_code(codes: list[str]) -> dict[str, list[str]]:
    """What proctoring tools reported (LTI ACS), one short line per incident, per attempt."""
    found: dict[str, list[str]] = defaultdict(list)
    if not codes:
        return found
    for incident in db.session.execute(
        select(AttemptIncident).where(AttemptIncident.attempt_code.in_(codes))
        .order_by(AttemptIncident.id)
    ).scalars():
        moment = (incident.incident_time or incident.created_at).isoformat()
        severity = f" severity {incident.severity:.2f}" if incident.severity is not None else ""
        reason = ": ".join(filter(None, [incident.reason_code, incident.reason_msg]))
        found[incident.attempt_code].append(
            f"{moment} {incident.action}{severity}" + (f" {reason}" if reason else ""))
    return found
