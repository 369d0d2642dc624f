"""The JSON API's reads beyond one attempt: the running exam, an exam with the learner's
attempt, proctoring settings, active exams and onboarding status."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.errors import (
    NotFound,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.i18n import human_duration, provider_name
from proctor_web.models import (
    Allowance,
    Attempt,
    AttemptStatus,
    Exam,
    ExamType,
    User,
)
from proctor_web.services import (
    allowances,
    courses,
    exams,
    onboarding,
    onboarding_profiles,
    timing,
)
from proctor_web.services.learner.loading import (
    AttemptView,
    allowed_minutes_for,
    load_active_attempt_view,
    load_attempt_view,
    load_current_attempt_view,
    refresh,
)
from proctor_web.services.learner.payloads import (
    attempt_payload,
    clock,
    clock_for,
    exam_fields,
    exam_path,
    iso,
)

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType


def check_may_read_exam(exam: Exam, user: User) -> None:
    if not (courses.is_enrolled(user, exam.course_id) or courses.can_manage(user, exam.course_id)):
        raise PermissionDenied(_("You are not enrolled in the course of this exam."))


def subject_user(current: User, user_id: Any, course_id: str | None) -> User:
    """Whom a read is about: yourself, or (course staff only) the learner named by user_id."""
    if user_id in (None, ""):
        return current
    from proctor_web.services.validation import parse_int

    wanted = parse_int(user_id, "user_id", minimum=1)
    if wanted == current.id:
        return current
    allowed = current.is_staff if course_id is None else courses.can_manage(current, course_id)
    if not allowed:
        raise PermissionDenied(_("Only course staff can ask about another user's exams."))
    user = db.session.get(User, wanted)
    if user is None:
        raise NotFound(_("User %(id)s does not exist.", id=wanted))
    return user


def _read_payload(attempt: Attempt | None, now: datetime) -> dict[str, Any]:
    if attempt is None:
        return {}
    return attempt_payload(refresh(load_attempt_view(attempt.id), now), now)


def active_payload(user: User, now: datetime) -> dict[str, Any]:
    """The learner's running exam's timer payload, or just the clock when nothing runs."""
    return _running_payload(user, now) or clock_for(None, now)


def _running_payload(user: User, now: datetime) -> dict[str, Any]:
    """The timer payload of the learner's exam in progress, empty when none runs (or it ran
    out on this read)."""
    view = load_active_attempt_view(user.id)  # one SELECT, as the poll's
    return running_payload(refresh(view, now) if view is not None else None, now)


def running_payload(view: AttemptView | None, now: datetime) -> dict[str, Any]:
    """The timer payload of an up-to-date view of the learner's exam in progress; empty
    when there is none or it no longer runs."""
    payload = attempt_payload(view, now) if view is not None else {}
    if payload and payload["attempt_status"] not in ("started", "ready_to_submit"):
        payload = {}
    return payload


def timer_payload(user: User, now: datetime) -> dict[str, Any]:
    """GET ``proctored_exam/attempt``: the running exam's timer payload; with none running,
    edx-proctoring's explicit ``in_timed_exam: false, is_proctored: false`` (clients test
    those fields) plus the clock."""
    return _timer_fields(_running_payload(user, now), now)


def settled_timer_payload(view: AttemptView | None, now: datetime) -> dict[str, Any]:
    """``timer_payload`` from a view of the exam in progress that ``refresh`` would leave
    as it is (``loading.is_settled``), such as the poll's read-only snapshot; None when
    nothing runs."""
    return _timer_fields(running_payload(view, now), now)


def _timer_fields(running: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The running exam's payload, or edx's explicit "no timed exam" with the clock."""
    return running or {"in_timed_exam": False, "is_proctored": False, **clock_for(None, now)}


def _prerequisites() -> dict[str, Any]:
    # No credit requirements here: every exam's prerequisites are satisfied. The misspelled
    # key is the one Open edX's client reads.
    return {"are_prerequisites_satisifed": True, "satisfied_prerequisites": [],
            "failed_prerequisites": [], "pending_prerequisites": [],
            "declined_prerequisites": []}


def exam_and_attempt(
    user: User, course_id: str, content_id: str | None, now: datetime
) -> dict[str, Any]:
    """edx-proctoring's ``attempt/course_id/<cid>?content_id=``: the exam, the learner's
    attempt on it, and their running attempt anywhere."""
    exam_json: dict[str, Any] = {}
    if content_id:
        exam = exams.find_exam(course_id, content_id)
        if exam is not None and exam.is_active:
            check_may_read_exam(exam, user)
            kind = exams.exam_type(exam)
            view = load_current_attempt_view(exam.id, user.id)  # with its timer facts
            if view is not None and view.attempt.status == S.ONBOARDING_RESET:
                view = None
            view = refresh(view, now) if view is not None else None
            attempt_json = attempt_payload(view, now) if view is not None else {}
            due = exams.due_date_for(exam)
            minutes = (
                int(allowed_minutes_for(view, now)) if view is not None else
                timing.allowed_minutes(exam.time_limit_mins,
                                       allowances.extra_minutes(user.id, exam.id), now, due)
            )
            exam_json = {
                **exam_fields(exam),
                "type": kind.value,
                "total_time": human_duration(minutes),
                "passed_due_date": due is not None and due <= now,
                "attempt": attempt_json,
                "prerequisite_status": _prerequisites(),
                "use_legacy_attempt_api": True,
            }
            if kind is T.PROCTORED:
                candidates = onboarding.onboarding_exams(course_id)
                exam_json["onboarding_link"] = (
                    exam_path(candidates[0].course_id, candidates[0].content_id)
                    if candidates else None
                )
    active = _running_payload(user, now)
    running = active or exam_json.get("attempt") or None
    return {
        "exam": exam_json,
        "active_attempt": active,
        "timer_ends": running.get("timer_ends") if running else None,
        "server_time": iso(now),
    }


def proctoring_settings(exam: Exam, now: datetime, locale: str = "en") -> dict[str, Any]:
    """edx-proctoring's settings/exam_id/<id>/: who to contact and the provider's setup."""
    config = current_app.config
    course = exams.course_of(exam)
    backend = exams.backend_for(exam)
    escalation = course.proctoring_escalation_email if course else None
    settings: dict[str, Any] = {
        "platform_name": config["PLATFORM_NAME"],
        "contact_us": config["CONTACT_EMAIL"],
        "link_urls": None,
        "exam_proctoring_backend": {},
        "proctoring_escalation_email": escalation,
        **clock(now),
    }
    if backend is not None:
        provider = backend.get_proctoring_config(locale) or {}
        settings.update({
            "exam_proctoring_backend": {
                "name": provider.get("name") or provider_name(backend),
                "download_url": provider.get("download_url")
                or backend.get_software_download_url(),
                "instructions": list(provider.get("instructions") or []),
                "rules": dict(provider.get("rules") or {}),
            },
            "provider_name": provider_name(backend),
            "provider_tech_support_email": backend.tech_support_email,
            "provider_tech_support_phone": backend.tech_support_phone,
            "provider_tech_support_url": backend.help_center_article_url or None,
            "learner_notification_from_email": backend.learner_notification_from_email,
            "integration_specific_email": backend.integration_specific_email,
        })
    return settings


def active_exams_for_user(user: User, course_id: str, now: datetime) -> list[dict[str, Any]]:
    """The learner's exams in progress in one course, with their allowances."""
    items = []
    running = db.session.execute(
        select(Attempt)
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(
            Attempt.user_id == user.id,
            Exam.course_id == course_id,
            Attempt.status.in_([S.STARTED.value, S.READY_TO_SUBMIT.value]),
        )
        .order_by(Attempt.id)
    ).unique().scalars().all()
    for attempt in running:
        payload = _read_payload(attempt, now)
        allowances = db.session.execute(
            select(Allowance).where(Allowance.user_id == user.id,
                                    Allowance.exam_id == attempt.exam_id)
        ).unique().scalars().all()
        items.append({
            "exam": exam_fields(attempt.exam),
            "attempt": payload,
            "allowances": [{"key": a.key, "value": a.value} for a in allowances],
        })
    return items


def onboarding_status(user: User, course_id: str, now: datetime,
                      valid_days: int) -> dict[str, Any]:
    """edx-proctoring's user_onboarding/status for one learner in one course."""
    candidates = onboarding.onboarding_exams(course_id)
    if not candidates:
        raise NotFound(_("There is no onboarding exam in course %(course_id)s.",
                         course_id=repr(course_id)))
    data = onboarding_profiles.learner_onboarding(user, course_id, now)
    open_exams = [e for e in candidates if not (e.due_date and e.due_date <= now)]
    link_exam = open_exams[0] if open_exams else candidates[0]
    backend = exams.backend_for(link_exam)
    return {
        "onboarding_status": data.status,
        "onboarding_link": exam_path(link_exam.course_id, link_exam.content_id),
        "expiration_date": iso(data.expiration_date),
        "onboarding_past_due": not open_exams,
        "onboarding_release_date": None,
        "review_requirements_url": (backend.help_center_article_url or None) if backend else None,
        **clock(now),
    }
