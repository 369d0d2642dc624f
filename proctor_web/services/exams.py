"""Exams: create, update, deactivate, register a course's list, review policies."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.backends import get_backend
from proctor_web.backends.base import ExamData, ProctoringBackend
from proctor_web.errors import AlreadyExists, BadRequest, NotFound
from proctor_web.extensions import db
from proctor_web.models import Course, Exam, ExamType, ReviewPolicy, ReviewPolicyHistory, User
from proctor_web.services import courses, timing
from proctor_web.services.domain_events import ExamSaved, announce, exam_saved
from proctor_web.services.validation import (
    column_length,
    optional_text,
    parse_bool,
    parse_datetime,
    parse_positive_int,
    require_text,
)

log = logging.getLogger(__name__)

#: Fields a caller may set on an exam, with their parsers.
EXAM_FIELDS = (
    "exam_name",
    "time_limit_mins",
    "due_date",
    "is_proctored",
    "is_practice_exam",
    "is_active",
    "hide_after_due",
    "backend",
    "external_id",
    "content_url",
)


def clean_exam_fields(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate exam fields from any caller (form, JSON, CLI) into typed values."""
    cleaned: dict[str, Any] = {}
    if not partial or "exam_name" in data:
        cleaned["exam_name"] = require_text(data.get("exam_name"), "exam_name", max_length=2000)
    if not partial or "time_limit_mins" in data:
        cleaned["time_limit_mins"] = parse_positive_int(
            data.get("time_limit_mins"), "time_limit_mins", maximum=60 * 24 * 14
        )
    if "due_date" in data:
        cleaned["due_date"] = parse_datetime(data.get("due_date"), "due_date")
    for flag in ("is_proctored", "is_practice_exam", "is_active", "hide_after_due"):
        if flag in data:
            cleaned[flag] = parse_bool(data.get(flag), flag)
    if "backend" in data and data.get("backend") not in (None, ""):
        name = str(data["backend"])
        registry = current_app.extensions["proctor_backends"]
        if name not in registry.names:
            raise BadRequest(
                _("%(field)s: %(value)s is not configured; choose one of %(choices)s.",
                  field="backend", value=repr(name), choices=", ".join(registry.names)),
                field="backend",
            )
        cleaned["backend"] = name
    for text_field in ("external_id", "content_url"):
        if text_field in data:
            cleaned[text_field] = optional_text(data.get(text_field), text_field,
                                                max_length=column_length(Exam, text_field))
    if cleaned.get("content_url") and not str(cleaned["content_url"]).startswith(
        ("https://", "http://", "/")
    ):
        raise BadRequest(_("%(field)s: must be an http(s) URL or a path on this site.",
                           field="content_url"),
                         field="content_url")
    return cleaned


def get_exam(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        raise NotFound(_("Exam %(id)s does not exist.", id=exam_id))
    return exam


def find_exam(course_id: str, content_id: str) -> Exam | None:
    return db.session.execute(
        select(Exam).where(Exam.course_id == course_id, Exam.content_id == content_id)
    ).scalar_one_or_none()


def get_exam_by_content_id(course_id: str, content_id: str) -> Exam:
    exam = find_exam(course_id, content_id)
    if exam is None:
        raise NotFound(_("No exam %(content_id)s in course %(course_id)s.",
                         content_id=repr(content_id), course_id=repr(course_id)))
    return exam


def course_exams(course_id: str, active_only: bool = True) -> list[Exam]:
    query = select(Exam).where(Exam.course_id == course_id)
    if active_only:
        query = query.where(Exam.is_active.is_(True))
    return list(db.session.execute(query.order_by(Exam.id)).scalars())


def create_exam(
    course_id: str, content_id: str, data: Mapping[str, Any], actor: User | None, now: datetime
) -> Exam:
    course_id = require_text(course_id, "course_id", max_length=255)
    content_id = require_text(content_id, "content_id", max_length=255)
    fields = clean_exam_fields(data, partial=False)
    if find_exam(course_id, content_id) is not None:
        raise AlreadyExists(
            _("An exam with %(field)s %(content_id)s already exists in course %(course_id)s.",
              field="content_id", content_id=repr(content_id), course_id=repr(course_id))
        )
    courses.ensure_course(course_id, now)
    fields.setdefault("backend", current_app.extensions["proctor_backends"].default_name)
    exam = Exam(course_id=course_id, content_id=content_id, created=now, modified=now, **fields)
    db.session.add(exam)
    db.session.flush()
    log.info("exam %s created in %s by %s", exam.id, course_id, actor.username if actor else "-")
    announce(exam_saved, ExamSaved(exam, now))
    return exam


def update_exam(exam: Exam, data: Mapping[str, Any], actor: User | None, now: datetime) -> Exam:
    fields = clean_exam_fields(data, partial=True)
    changed = {k: v for k, v in fields.items() if getattr(exam, k) != v}
    was_with_provider = exam.has_backend
    for key, value in changed.items():
        setattr(exam, key, value)
    if changed:
        exam.modified = now
        db.session.flush()
        log.info("exam %s updated (%s) by %s", exam.id, ", ".join(sorted(changed)),
                 actor.username if actor else "-")
        announce(exam_saved, ExamSaved(
            exam, now, withdrawn=was_with_provider and not exam.has_backend))
    return exam


def deactivate_exam(exam: Exam, actor: User | None, now: datetime) -> Exam:
    return update_exam(exam, {"is_active": False}, actor, now)


def register_exams(
    course_id: str, items: Iterable[Mapping[str, Any]], actor: User | None, now: datetime
) -> list[Exam]:
    """Make the course's exam list match ``items``: upsert by content_id, deactivate the rest.

    Every item is validated before anything changes, so a bad item changes nothing.
    """
    course_id = require_text(course_id, "course_id", max_length=255)
    prepared: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise BadRequest(_("exam #%(number)d: must be an object.", number=index + 1))
        try:
            content_id = require_text(item.get("content_id"), "content_id", max_length=255)
            fields = clean_exam_fields(item, partial=False)
        except BadRequest as error:
            raise BadRequest(_("exam #%(number)d: %(message)s", number=index + 1,
                                   message=error.message)) from None
        if content_id in seen:
            raise BadRequest(_("exam #%(number)d: %(field)s %(content_id)s appears twice.",
                               number=index + 1, field="content_id",
                               content_id=repr(content_id)))
        seen.add(content_id)
        prepared.append((content_id, {**item, **fields}))

    courses.ensure_course(course_id, now)
    registered: list[Exam] = []
    for content_id, fields in prepared:
        exam = find_exam(course_id, content_id)
        clean = {k: v for k, v in fields.items() if k in EXAM_FIELDS}
        clean.setdefault("is_active", True)
        if exam is None:
            exam = create_exam(course_id, content_id, clean, actor, now)
        else:
            update_exam(exam, clean, actor, now)
        registered.append(exam)
    for exam in course_exams(course_id, active_only=True):
        if exam.content_id not in seen:
            update_exam(exam, {"is_active": False, "is_proctored": False}, actor, now)
    return registered


# Review policies --------------------------------------------------------------------------


def _archive_policy(policy: ReviewPolicy, action: str, now: datetime) -> None:
    db.session.add(
        ReviewPolicyHistory(
            original_id=policy.id,
            exam_id=policy.exam_id,
            set_by_user_id=policy.set_by_user_id,
            review_policy=policy.review_policy,
            action=action,
            recorded_at=now,
        )
    )


def get_review_policy(exam: Exam) -> ReviewPolicy | None:
    return db.session.execute(
        select(ReviewPolicy).where(ReviewPolicy.exam_id == exam.id)
    ).scalar_one_or_none()


def set_review_policy(
    exam: Exam, text: str | None, actor: User | None, now: datetime
) -> ReviewPolicy | None:
    """Create, change or (with empty text) remove the exam's review policy, keeping history."""
    text = (text or "").strip()
    policy = get_review_policy(exam)
    if not text:
        if policy is not None:
            _archive_policy(policy, "delete", now)
            db.session.delete(policy)
            db.session.flush()
        return None
    if policy is None:
        policy = ReviewPolicy(
            exam_id=exam.id, review_policy=text, set_by_user_id=actor.id if actor else None,
            created=now, modified=now,
        )
        db.session.add(policy)
    elif policy.review_policy != text:
        _archive_policy(policy, "update", now)
        policy.review_policy = text
        policy.set_by_user_id = actor.id if actor else None
        policy.modified = now
    db.session.flush()
    db.session.refresh(exam, ["review_policy"])
    announce(exam_saved, ExamSaved(exam, now))
    return policy


# Backends and derived facts ---------------------------------------------------------------


def backend_for(exam: Exam) -> ProctoringBackend | None:
    """The exam's provider backend; timed exams have none."""
    if not exam.has_backend:
        return None
    return get_backend(exam.backend)


def exam_type(exam: Exam) -> ExamType:
    backend = backend_for(exam)
    return exam.exam_type(bool(backend and backend.supports_onboarding))


def due_date_for(exam: Exam) -> datetime | None:
    course = courses.get_course(exam.course_id)
    return timing.effective_due_date(exam, course.end_date if course else None)


def allows_opt_out(exam: Exam) -> bool:
    course = courses.get_course(exam.course_id)
    return bool(course and course.allow_proctoring_opt_out)


def exam_data(exam: Exam) -> ExamData:
    policy = get_review_policy(exam)
    return ExamData(
        id=exam.id,
        course_id=exam.course_id,
        content_id=exam.content_id,
        exam_name=exam.exam_name,
        time_limit_mins=exam.time_limit_mins,
        is_proctored=exam.is_proctored,
        is_practice_exam=exam.is_practice_exam,
        is_active=exam.is_active,
        hide_after_due=exam.hide_after_due,
        due_date=exam.due_date.isoformat() if exam.due_date else None,
        external_id=exam.external_id,
        backend=exam.backend or "",
        review_policy=policy.review_policy if policy else None,
    )


def course_of(exam: Exam) -> Course | None:
    return courses.get_course(exam.course_id)
