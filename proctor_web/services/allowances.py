"""Allowances: extra time and review-policy exceptions, with every change kept in history."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select

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
            _("%(field)s: a time multiplier is a number such as 1.5, got %(value)s.",
              field="value", value=repr(multiplier)),
            field="allowance_value",
        ) from None
    if not factor.is_finite() or factor <= 1 or factor > 10:
        raise BadRequest(
            _("%(field)s: a time multiplier must be greater than 1 and at most 10.",
              field="value"),
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
            _("%(field)s: expected one of %(choices)s; got %(value)s.",
              field="allowance_type",
              choices="additional_time_granted, review_policy_exception, time_multiplier",
              value=repr(key)),
            field="allowance_type",
        ) from None
    text = str(value if value is not None else "").strip()
    if allowance_key is AllowanceKey.ADDITIONAL_TIME_GRANTED:
        if not text.isdigit() or int(text) < 1 or int(text) > MAX_EXTRA_MINUTES:
            raise BadRequest(
                _("%(field)s: extra time is a whole number of minutes from 1 to %(maximum)d, "
                  "got %(value)s.", field="value", maximum=MAX_EXTRA_MINUTES, value=repr(value)),
                field="allowance_value",
            )
        return allowance_key.value, str(int(text))
    if not text:
        raise BadRequest(_("%(field)s: the review policy exception needs some text.",
                           field="value"), field="allowance_value")
    if len(text) > 255:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="value",
                           maximum=255), field="allowance_value")
    if not exam.is_proctored or exam.is_practice_exam:
        raise BadRequest(
            _("A review policy exception applies to proctored exams only."),
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
        raise InvalidTransition(_("The exam '%(name)s' is not active.", name=exam.exam_name))
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
        raise NotFound(_("%(username)s has no %(key)s allowance on this exam.",
                         username=user.username, key=key))
    _archive(allowance, "delete", actor, now)
    db.session.delete(allowance)
    db.session.flush()


@dataclass
class BulkResult:
    exam_id: int
    user: str
    ok: bool
    message: str = ""
    user_id: int | None = None
    field: str = ""


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
                results.append(BulkResult(exam.id, user.username, False, error.message, user.id,
                                          str(error.extra.get("field", ""))))
            else:
                results.append(BulkResult(exam.id, user.username, True, "", user.id))
    return results


ALLOWANCE_TYPES = (
    AllowanceKey.ADDITIONAL_TIME_GRANTED.value,
    TIME_MULTIPLIER,
    AllowanceKey.REVIEW_POLICY_EXCEPTION.value,
)


def check_value_shape(key: str, value: object) -> None:
    """Refuse a type or value that cannot be right for any exam, before touching anything."""
    if key not in ALLOWANCE_TYPES:
        raise BadRequest(
            _("%(field)s: expected one of %(choices)s; got %(value)s.",
              field="allowance_type", choices=", ".join(ALLOWANCE_TYPES), value=repr(key)),
            field="allowance_type",
        )
    if key == TIME_MULTIPLIER:
        minutes_from_multiplier(1, str(value if value is not None else ""))
        return
    text = str(value if value is not None else "").strip()
    if key == AllowanceKey.ADDITIONAL_TIME_GRANTED.value:
        if not text.isdigit() or not 1 <= int(text) <= MAX_EXTRA_MINUTES:
            raise BadRequest(
                _("%(field)s: extra time is a whole number of minutes from 1 to %(maximum)d, "
                  "got %(value)s.", field="value", maximum=MAX_EXTRA_MINUTES, value=repr(value)),
                field="allowance_value",
            )
        return
    if not text:
        raise BadRequest(_("%(field)s: the review policy exception needs some text.",
                           field="value"), field="allowance_value")
    if len(text) > 255:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="value",
                           maximum=255), field="allowance_value")


def split_list(value: object) -> list[str]:
    """Comma-, semicolon- or line-separated input ("a, b" or a list) as distinct items."""
    if value is None:
        return []
    parts: list[str] = []
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        for chunk in str(item).replace(";", ",").replace("\n", ",").split(","):
            chunk = chunk.strip()
            if chunk and chunk not in parts:
                parts.append(chunk)
    return parts


def grant_allowances(
    course_id: str,
    exam_ids: object,
    user_infos: object,
    key: str,
    value: object,
    actor: User | None,
    now: datetime,
) -> list[BulkResult]:
    """One allowance for several learners of a course on several of its exams.

    Bad shape (type, value, no exams, no learners) raises before anything changes. Then each
    learner and exam succeeds or fails on its own: a learner not enrolled in the course or an
    exam of another course is a failed row, never a lookup outside the course.
    """
    from proctor_web.models import CourseMembership

    check_value_shape(key, value)
    wanted_exams = split_list(exam_ids)
    if not wanted_exams:
        raise BadRequest(_("%(field)s: choose at least one exam.", field="exam_ids"),
                         field="exam_ids")
    bad = [e for e in wanted_exams if not e.isdigit()]
    if bad:
        raise BadRequest(_("%(field)s: expected exam ids, got %(value)s.", field="exam_ids",
                           value=", ".join(bad)), field="exam_ids")
    wanted_users = split_list(user_infos)
    if not wanted_users:
        raise BadRequest(_("%(field)s: enter at least one username or email.",
                           field="user_info"), field="user_info")
    if len(wanted_users) * len(wanted_exams) > 5000:
        raise BadRequest(_("Too many learners and exams at once; at most %(maximum)d pairs.",
                           maximum=5000),
                         field="user_info")

    ids = [int(e) for e in wanted_exams]
    found_exams = {
        exam.id: exam
        for exam in db.session.execute(
            select(Exam).where(Exam.id.in_(ids), Exam.course_id == course_id)
        ).scalars()
    }
    lowered = [u.lower() for u in wanted_users]
    numbers = [int(u) for u in wanted_users if u.isdigit() and len(u) < 18]
    members = db.session.execute(
        select(User)
        .join(CourseMembership, CourseMembership.user_id == User.id)
        .where(
            CourseMembership.course_id == course_id,
            CourseMembership.is_active.is_(True),
            User.username.in_(wanted_users)
            | func.lower(User.email).in_(lowered)
            | User.id.in_(numbers),
        )
    ).scalars().all()
    # Like ``courses.resolve_user``: an id, then a username, then an email.
    by_id = {str(u.id): u for u in members}
    by_name = {u.username: u for u in members}
    by_email = {u.email.lower(): u for u in members if u.email}

    results: list[BulkResult] = []
    users: list[User] = []
    for info in wanted_users:
        user = by_id.get(info) or by_name.get(info) or by_email.get(info.lower())
        if user is None:
            for exam_id in ids:
                results.append(BulkResult(exam_id, info, False,
                                          _("No learner %(user)s in this course.",
                                            user=repr(info)),
                                          field="user_info"))
        elif user not in users:
            users.append(user)
    exam_list: list[Exam] = []
    for exam_id in ids:
        if exam_id in found_exams:
            exam_list.append(found_exams[exam_id])
        else:
            for user in users:
                results.append(BulkResult(exam_id, user.username, False,
                                          _("Exam %(id)s is not in this course.", id=exam_id),
                                          user.id,
                                          "exam_ids"))
    results.extend(set_allowances_bulk(exam_list, users, key, value, actor, now))
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
