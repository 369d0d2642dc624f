"""Allowances: extra time and review-policy exceptions, with every change kept in history."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from sqlalchemy import select

from proctor_web.errors import BadRequest, InvalidTransition, NotFound, ProctorError
from proctor_web.extensions import db
from proctor_web.models import (
    TIME_MULTIPLIER,
    Allowance,
    AllowanceHistory,
    AllowanceKey,
    Exam,
    User,
)

log = logging.getLogger(__name__)

MAX_EXTRA_MINUTES = 60 * 24 * 7


def _get(user_id: int, exam_id: int, key: str) -> Allowance | None:
    return db.session.execute(
        select(Allowance).where(
            Allowance.user_id == user_id, Allowance.exam_id == exam_id, Allowance.key == key
        )
    ).scalar_one_or_none()


def extra_minutes(user_id: int, exam_id: int) -> int:
    allowance = _get(user_id, exam_id, AllowanceKey.ADDITIONAL_TIME_GRANTED)
    return int(allowance.value) if allowance is not None else 0


def review_policy_exception(user_id: int, exam_id: int) -> str | None:
    allowance = _get(user_id, exam_id, AllowanceKey.REVIEW_POLICY_EXCEPTION)
    return allowance.value if allowance is not None else None


def minutes_from_multiplier(time_limit_mins: int, multiplier: str | float) -> int:
    """Extra minutes a time multiplier gives on one exam: limit x (m - 1), rounded."""
    try:
        factor = Decimal(str(multiplier).strip())
    except InvalidOperation:
        raise BadRequest(
            f"value: a time multiplier is a number such as 1.5, got {multiplier!r}.",
            field="allowance_value",
        ) from None
    if not factor.is_finite() or factor <= 1 or factor > 10:
        raise BadRequest(
            "value: a time multiplier must be greater than 1 and at most 10.",
            field="allowance_value",
        )
    extra = (Decimal(time_limit_mins) * (factor - 1)).quantize(Decimal(1), ROUND_HALF_EVEN)
    return int(extra)


def clean_value(key: str, value: object, exam: Exam) -> tuple[str, str]:
    """Validate an allowance for one exam; a multiplier becomes stored extra minutes."""
    if key == TIME_MULTIPLIER:
        return AllowanceKey.ADDITIONAL_TIME_GRANTED.value, str(
            minutes_from_multiplier(exam.time_limit_mins, str(value))
        )
    try:
        allowance_key = AllowanceKey(key)
    except ValueError:
        raise BadRequest(
            f"allowance_type: expected one of additional_time_granted, "
            f"review_policy_exception, time_multiplier; got {key!r}.",
            field="allowance_type",
        ) from None
    text = str(value if value is not None else "").strip()
    if allowance_key is AllowanceKey.ADDITIONAL_TIME_GRANTED:
        if not text.isdigit() or int(text) < 1 or int(text) > MAX_EXTRA_MINUTES:
            raise BadRequest(
                f"value: extra time is a whole number of minutes from 1 to {MAX_EXTRA_MINUTES}, "
                f"got {value!r}.",
                field="allowance_value",
            )
        return allowance_key.value, str(int(text))
    if not text:
        raise BadRequest("value: the review policy exception needs some text.",
                         field="allowance_value")
    if len(text) > 255:
        raise BadRequest("value: at most 255 characters.", field="allowance_value")
    if not exam.is_proctored or exam.is_practice_exam:
        raise BadRequest(
            "A review policy exception applies to proctored exams only.",
            field="allowance_type",
        )
    return allowance_key.value, text


def _archive(allowance: Allowance, action: str, actor: User | None, now: datetime) -> None:
    db.session.add(
        AllowanceHistory(
            allowance_id=allowance.id,
            user_id=allowance.user_id,
            exam_id=allowance.exam_id,
            key=allowance.key,
            value=allowance.value,
            action=action,
            actor_id=actor.id if actor else None,
            recorded_at=now,
        )
    )


def set_allowance(
    exam: Exam, user: User, key: str, value: object, actor: User | None, now: datetime
) -> Allowance:
    """Add or change one allowance; the old value goes to history."""
    if not exam.is_active:
        raise InvalidTransition(f"The exam '{exam.exam_name}' is not active.")
    stored_key, stored_value = clean_value(key, value, exam)
    allowance = _get(user.id, exam.id, stored_key)
    if allowance is None:
        allowance = Allowance(user_id=user.id, exam_id=exam.id, key=stored_key,
                              value=stored_value, created=now, modified=now)
        db.session.add(allowance)
        db.session.flush()
        _archive(allowance, "create", actor, now)
    elif allowance.value != stored_value:
        allowance.value = stored_value
        allowance.modified = now
        _archive(allowance, "update", actor, now)
    db.session.flush()
    log.info("allowance %s=%s for user %s on exam %s by %s", stored_key, stored_value,
             user.id, exam.id, actor.username if actor else "-")
    return allowance


def delete_allowance(exam: Exam, user: User, key: str, actor: User | None,
                     now: datetime) -> None:
    allowance = _get(user.id, exam.id, key)
    if allowance is None:
        raise NotFound(f"{user.username} has no {key} allowance on this exam.")
    _archive(allowance, "delete", actor, now)
    db.session.delete(allowance)
    db.session.flush()


@dataclass
class BulkResult:
    exam_id: int
    user: str
    ok: bool
    message: str = ""


def set_allowances_bulk(
    exams: Iterable[Exam],
    users: Iterable[User],
    key: str,
    value: object,
    actor: User | None,
    now: datetime,
) -> list[BulkResult]:
    """Apply one allowance to many learners and exams; each pair succeeds or fails alone."""
    results: list[BulkResult] = []
    for exam in exams:
        for user in users:
            try:
                with db.session.begin_nested():
                    set_allowance(exam, user, key, value, actor, now)
            except ProctorError as error:
                results.append(BulkResult(exam.id, user.username, False, error.message))
            else:
                results.append(BulkResult(exam.id, user.username, True))
    return results


def allowances_for_course(course_id: str) -> list[Allowance]:
    return list(
        db.session.execute(
            select(Allowance)
            .join(Exam, Allowance.exam_id == Exam.id)
            .where(Exam.course_id == course_id)
            .order_by(Allowance.user_id, Allowance.exam_id, Allowance.key)
        ).scalars()
    )


def history_for(user_id: int, exam_id: int) -> list[AllowanceHistory]:
    return list(
        db.session.execute(
            select(AllowanceHistory)
            .where(AllowanceHistory.user_id == user_id, AllowanceHistory.exam_id == exam_id)
            .order_by(AllowanceHistory.id)
        ).scalars()
    )
