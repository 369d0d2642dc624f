"""The timer/attempt JSON in edx-proctoring's field names (plus ``timer_ends`` and
``server_time``), and the learner-facing paths."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import current_app

from proctor_web.i18n import accessibility_time_string, human_duration, humanized_exam_type
from proctor_web.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ExamType,
)
from proctor_web.services import (
    exams,
    timing,
)
from proctor_web.services.learner.loading import AttemptView, allowed_minutes_for, refresh

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType

API_PREFIX = "/api/edx_proctoring/v1"


def exam_path(course_id: str, content_id: str) -> str:
    return f"/courses/{quote(course_id, safe='')}/exams/{quote(content_id, safe='')}"


def poll_path(attempt_id: int) -> str:
    return f"{API_PREFIX}/proctored_exam/attempt/{attempt_id}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def clock(now: datetime) -> dict[str, str | None]:
    """``server_time`` every payload carries; ``timer_ends`` is added where an attempt runs."""
    return {"server_time": iso(now)}


def attempt_payload(view: AttemptView, now: datetime) -> dict[str, Any]:
    """The timer/attempt JSON: edx-proctoring's field names, plus our absolute clock."""
    attempt = view.attempt
    exam = attempt.exam
    config = current_app.config
    backend = exams.backend_for(exam) if attempt.taking_as_proctored else None
    allowed = allowed_minutes_for(view, now)
    remaining = timing.remaining_seconds(attempt, now)
    ends = timing.ends_at(attempt, now) if attempt.is_in_progress else None
    limits = timing.thresholds(
        allowed, config["LOW_THRESHOLD_PCT"], config["CRITICALLY_LOW_THRESHOLD_PCT"]
    )
    exam_type = exams.exam_type(exam)
    payload: dict[str, Any] = {
        "id": attempt.id,
        "attempt_id": attempt.id,
        "status": attempt.status,
        "attempt_status": attempt.status,
        "attempt_code": attempt.attempt_code,
        "external_id": attempt.external_id,
        "course_id": exam.course_id,
        "content_id": exam.content_id,
        "exam_id": exam.id,
        "type": exam_type.value,
        "exam_type": humanized_exam_type(exam_type.value),
        "exam_display_name": exam.exam_name,
        "exam_url_path": exam_path(exam.course_id, exam.content_id),
        "exam_started_poll_url": poll_path(attempt.id),
        "in_timed_exam": True,
        "taking_as_proctored": attempt.taking_as_proctored,
        "is_sample_attempt": attempt.is_sample_attempt,
        "allowed_time_limit_mins": attempt.allowed_time_limit_mins,
        "total_time": human_duration(allowed),
        "time_remaining_seconds": remaining,
        "accessibility_time_string": accessibility_time_string(remaining),
        "low_threshold_sec": limits.low_seconds,
        "critically_low_threshold_sec": limits.critical_seconds,
        "started_at": iso(attempt.started_at),
        "completed_at": iso(attempt.completed_at),
        "created": iso(attempt.created),
        "modified": iso(attempt.modified),
        "review_policy_id": attempt.review_policy_id,
        "is_status_acknowledged": attempt.is_status_acknowledged,
        "is_resumable": attempt.is_resumable,
        "ready_to_resume": attempt.ready_to_resume,
        "resumed": attempt.resumed,
        "attempt_ready_to_resume": attempt.is_ready_to_resume,
        "use_legacy_attempt_api": True,
        "user": {
            "id": attempt.user.id,
            "username": attempt.user.username,
            "email": attempt.user.email,
        },
        "proctored_exam": exam_fields(exam),
        "timer_ends": iso(ends),
        # A proctoring tool paused the clock: ``timer_ends`` moves on with every read.
        "timer_paused": timing.is_paused(attempt),
        "server_time": iso(now),
    }
    if backend is not None:
        payload["desktop_application_js_url"] = backend.get_javascript() or ""
        payload["ping_interval"] = int(backend.ping_interval or config["PING_INTERVAL_SECONDS"])
        if attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED):
            payload["software_download_url"] = backend.get_software_download_url() or ""
    else:
        payload["desktop_application_js_url"] = ""
        payload["ping_interval"] = int(config["PING_INTERVAL_SECONDS"])
    return payload


def exam_fields(exam: Exam) -> dict[str, Any]:
    return {
        "id": exam.id,
        "course_id": exam.course_id,
        "content_id": exam.content_id,
        "external_id": exam.external_id,
        "exam_name": exam.exam_name,
        "time_limit_mins": exam.time_limit_mins,
        "is_proctored": exam.is_proctored,
        "is_practice_exam": exam.is_practice_exam,
        "is_active": exam.is_active,
        "due_date": iso(exam.due_date),
        "hide_after_due": exam.hide_after_due,
        "backend": exam.backend,
    }


def poll(view: AttemptView, now: datetime) -> dict[str, Any]:
    """GET attempt by id: refresh, then the payload. Two queries when nothing changes."""
    return attempt_payload(refresh(view, now), now)


def clock_for(attempt: Attempt | None, now: datetime) -> dict[str, str | None]:
    ends = (timing.ends_at(attempt, now)
            if attempt is not None and attempt.is_in_progress else None)
    return {"timer_ends": iso(ends), "server_time": iso(now)}
