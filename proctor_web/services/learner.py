"""The learner's side of an exam: which page fits, what the timer says, what a click does.

Three parts, each used by both the HTML pages and the JSON API so the two never disagree:

- ``situation_for(facts)``: a pure function from plain facts (exam type, attempt status,
  dates, the learner's account and enrollment) to a ``Situation``; ``TEMPLATES`` maps
  (exam type, situation) to the interstitial template. No if-chains in templates.
- ``attempt_payload(view, now)``: the timer/attempt JSON (edx-proctoring's field names plus
  ``timer_ends`` and ``server_time``), built from an ``AttemptView`` that one SQL query loads.
- ``refresh(view, now)``: what every read of an attempt does first: submit it if its time ran
  out, and ask a provider we may poll whether the learner's setup is complete.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import aliased

from proctor_web.backends.base import ProctoringBackend
from proctor_web.errors import (
    BackendError,
    BadRequest,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.i18n import (
    accessibility_time_string,
    human_duration,
    humanized_exam_type,
    provider_name,
)
from proctor_web.lti_proctoring import oidc as lti_proctoring
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
from proctor_web.models.attempt import PRE_STARTED
from proctor_web.services import (
    allowances,
    attempts,
    courses,
    exams,
    onboarding,
    onboarding_profiles,
    timing,
)
from proctor_web.services.attempts import Action, Actor

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType

API_PREFIX = "/api/edx_proctoring/v1"


class Situation(enum.StrEnum):
    STAFF_PREVIEW = "staff_preview"
    INACTIVE_ACCOUNT = "inactive_account"
    ENROLLMENT_MISSING = "enrollment_missing"
    ENTRANCE = "entrance"
    CONFIRM_DECLINE = "confirm_decline"
    EXPIRED = "expired"
    INSTRUCTIONS = "instructions"
    INSTRUCTIONS_EXAM_CODE = "instructions_exam_code"
    READY_TO_START = "ready_to_start"
    STARTED = "started"
    READY_TO_SUBMIT = "ready_to_submit"
    SUBMITTED = "submitted"
    SECOND_REVIEW = "second_review"
    VERIFIED = "verified"
    REJECTED = "rejected"
    ERROR = "error"
    READY_TO_RESUME = "ready_to_resume"
    ONBOARDING_MISSING = "onboarding_missing"
    ONBOARDING_PENDING = "onboarding_pending"
    ONBOARDING_FAILED = "onboarding_failed"
    ONBOARDING_EXPIRED = "onboarding_expired"
    DECLINED = "declined"
    REVIEW_CONTENT = "review_content"


X = Situation

#: Situations every exam type shows with the same page.
_COMMON: dict[Situation, str] = {
    X.STAFF_PREVIEW: "staff_preview",
    X.INACTIVE_ACCOUNT: "inactive_account",
    X.ENROLLMENT_MISSING: "enrollment_missing",
    X.STARTED: "started",
    X.READY_TO_RESUME: "ready_to_resume",
}
#: Situations of the provider-backed types (proctored, practice, onboarding).
_PROVIDER_STEPS: dict[Situation, str] = {
    X.INSTRUCTIONS: "instructions",
    X.INSTRUCTIONS_EXAM_CODE: "instructions_exam_code",
    X.READY_TO_START: "ready_to_start",
}

#: (exam type, situation) -> template name under ``learner/interstitials/``.
TEMPLATES: dict[tuple[ExamType, Situation], str] = {
    **{(T.TIMED, s): name for s, name in _COMMON.items()},
    (T.TIMED, X.ENTRANCE): "timed_entrance",
    (T.TIMED, X.EXPIRED): "timed_expired",
    (T.TIMED, X.READY_TO_SUBMIT): "timed_ready_to_submit",
    (T.TIMED, X.SUBMITTED): "timed_submitted",
    (T.TIMED, X.ERROR): "error",
    (T.TIMED, X.REVIEW_CONTENT): "review_content",
    **{(T.PROCTORED, s): name for s, name in {**_COMMON, **_PROVIDER_STEPS}.items()},
    (T.PROCTORED, X.ENTRANCE): "proctored_entrance",
    (T.PROCTORED, X.CONFIRM_DECLINE): "proctored_confirm_decline",
    (T.PROCTORED, X.EXPIRED): "proctored_expired",
    (T.PROCTORED, X.READY_TO_SUBMIT): "proctored_ready_to_submit",
    (T.PROCTORED, X.SUBMITTED): "proctored_submitted",
    (T.PROCTORED, X.SECOND_REVIEW): "proctored_second_review",
    (T.PROCTORED, X.VERIFIED): "proctored_verified",
    (T.PROCTORED, X.REJECTED): "proctored_rejected",
    (T.PROCTORED, X.ERROR): "error",
    (T.PROCTORED, X.DECLINED): "proctored_declined",
    (T.PROCTORED, X.ONBOARDING_MISSING): "onboarding_missing",
    (T.PROCTORED, X.ONBOARDING_PENDING): "onboarding_pending",
    (T.PROCTORED, X.ONBOARDING_FAILED): "onboarding_failed",
    (T.PROCTORED, X.ONBOARDING_EXPIRED): "onboarding_expired",
    (T.PROCTORED, X.REVIEW_CONTENT): "review_content",
    **{(T.PRACTICE, s): name for s, name in {**_COMMON, **_PROVIDER_STEPS}.items()},
    (T.PRACTICE, X.ENTRANCE): "practice_entrance",
    (T.PRACTICE, X.READY_TO_SUBMIT): "proctored_ready_to_submit",
    (T.PRACTICE, X.SUBMITTED): "practice_retry",
    (T.PRACTICE, X.SECOND_REVIEW): "practice_retry",
    (T.PRACTICE, X.REJECTED): "practice_retry",
    (T.PRACTICE, X.VERIFIED): "practice_verified",
    (T.PRACTICE, X.ERROR): "practice_error",
    **{(T.ONBOARDING, s): name for s, name in {**_COMMON, **_PROVIDER_STEPS}.items()},
    (T.ONBOARDING, X.ENTRANCE): "onboarding_entrance",
    (T.ONBOARDING, X.EXPIRED): "proctored_expired",
    (T.ONBOARDING, X.READY_TO_SUBMIT): "onboarding_ready_to_submit",
    (T.ONBOARDING, X.SUBMITTED): "onboarding_submitted",
    (T.ONBOARDING, X.SECOND_REVIEW): "onboarding_submitted",
    (T.ONBOARDING, X.VERIFIED): "onboarding_verified",
    (T.ONBOARDING, X.REJECTED): "onboarding_rejected",
    (T.ONBOARDING, X.ERROR): "onboarding_error",
}


def template_for(exam_type: ExamType, situation: Situation) -> str:
    try:
        return f"learner/interstitials/{TEMPLATES[(exam_type, situation)]}.html"
    except KeyError:
        # The mapping covers every pair situation_for can produce; the test suite checks it.
        raise NotFound(_(
            "No page for a %(exam_type)s exam in situation %(situation)s.",
            exam_type=exam_type.value, situation=situation.value,
        )) from None


@dataclass(frozen=True)
class Facts:
    """Everything the choice of page depends on, as plain values."""

    exam_type: ExamType
    status: str | None = None
    ready_to_resume: bool = False
    is_status_acknowledged: bool = False
    past_due: bool = False
    user_active: bool = True
    enrolled: bool = True
    manages_course: bool = False
    provider_has_instructions: bool = True
    allows_opt_out: bool = False
    viewable_past_due: bool = False
    confirming_decline: bool = False


_BY_STATUS: dict[str, Situation] = {
    S.READY_TO_START: X.READY_TO_START,
    S.STARTED: X.STARTED,
    S.READY_TO_SUBMIT: X.READY_TO_SUBMIT,
    S.SUBMITTED: X.SUBMITTED,
    S.TIMED_OUT: X.SUBMITTED,
    S.SECOND_REVIEW_REQUIRED: X.SECOND_REVIEW,
    S.VERIFIED: X.VERIFIED,
    S.REJECTED: X.REJECTED,
    S.ERROR: X.ERROR,
    S.DECLINED: X.DECLINED,
    S.ONBOARDING_MISSING: X.ONBOARDING_MISSING,
    S.ONBOARDING_PENDING: X.ONBOARDING_PENDING,
    S.ONBOARDING_FAILED: X.ONBOARDING_FAILED,
    S.ONBOARDING_EXPIRED: X.ONBOARDING_EXPIRED,
}
_REVIEWED = frozenset({S.SUBMITTED, S.TIMED_OUT, S.VERIFIED, S.REJECTED, S.SECOND_REVIEW_REQUIRED})


def situation_for(facts: Facts) -> Situation:
    """The one page a person should see. Pure: no database, no request, no clock."""
    if facts.manages_course:
        return X.STAFF_PREVIEW
    if not facts.user_active:
        return X.INACTIVE_ACCOUNT
    if not facts.enrolled:
        return X.ENROLLMENT_MISSING
    status = facts.status
    if status == S.ONBOARDING_RESET:
        status = None  # a retried practice attempt: its successor is the one that counts
    kind = facts.exam_type
    pre_started = status is None or status in PRE_STARTED
    # Practice exams stay open after the due date: nothing is at stake.
    if facts.past_due and pre_started and kind is not T.PRACTICE:
        return X.EXPIRED
    if status is None:
        if facts.confirming_decline and kind is T.PROCTORED and facts.allows_opt_out:
            return X.CONFIRM_DECLINE
        return X.ENTRANCE
    if status == S.ERROR and facts.ready_to_resume:
        return X.READY_TO_RESUME
    if status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED):
        if kind is T.TIMED:
            return X.ENTRANCE
        if facts.confirming_decline and kind is T.PROCTORED and facts.allows_opt_out:
            return X.CONFIRM_DECLINE
        return X.INSTRUCTIONS if facts.provider_has_instructions else X.INSTRUCTIONS_EXAM_CODE
    if (
        status in _REVIEWED
        and facts.viewable_past_due
        and facts.past_due
        and facts.is_status_acknowledged
        and kind in (T.TIMED, T.PROCTORED)
    ):
        return X.REVIEW_CONTENT
    situation = _BY_STATUS[S(status)]
    if (kind, situation) not in TEMPLATES:
        # Statuses only an operator override can give this exam type: the nearest page.
        situation = _FALLBACK[situation]
    return situation


#: Where a status an exam type never reaches by itself lands (operator overrides).
_FALLBACK: dict[Situation, Situation] = {
    X.READY_TO_START: X.ENTRANCE,  # timed exams have no setup step
    X.VERIFIED: X.SUBMITTED,
    X.REJECTED: X.SUBMITTED,
    X.SECOND_REVIEW: X.SUBMITTED,
    X.DECLINED: X.SUBMITTED,
    X.ONBOARDING_MISSING: X.ERROR,
    X.ONBOARDING_PENDING: X.ERROR,
    X.ONBOARDING_FAILED: X.ERROR,
    X.ONBOARDING_EXPIRED: X.ERROR,
}


# Loading ----------------------------------------------------------------------------------


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
def _attempt_view_query() -> Select:
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
    return select(Attempt, extra, course_end, clicked).where(
        Attempt.id == bindparam("attempt_id")
    )


def load_attempt_view(attempt_id: int) -> AttemptView:
    """The attempt (with its user and exam) and its timer facts: one SELECT."""
    row = db.session.execute(
        _attempt_view_query(), {"attempt_id": attempt_id}
    ).unique().first()
    if row is None:
        raise NotFound(_("Attempt %(id)s does not exist.", id=attempt_id))
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


# The learner's page -----------------------------------------------------------------------


@dataclass
class ExamPage:
    exam: Exam
    exam_type: ExamType
    situation: Situation
    template: str
    attempt: Attempt | None
    payload: dict[str, Any] | None
    context: dict[str, Any] = field(default_factory=dict)


def _provider_info(
    backend: ProctoringBackend | None, locale: str, attempt: Attempt | None = None
) -> dict[str, Any]:
    """What the provider says about itself and, during setup, about this attempt.

    The attempt's own download link matters: it is how the provider's system check knows
    which attempt to report ready. A provider that cannot be reached does not break the
    page; the learner gets our generic wording instead.
    """
    if backend is None:
        return {"name": "", "instructions": [], "rules": {}, "download_url": None,
                "tech_support": {}, "javascript": None, "unavailable": False}
    try:
        config = backend.get_proctoring_config(locale) or {}
    except BackendError as error:
        log.warning("%s config unavailable for the learner page: %s", backend.name,
                    error.message)
        config = {"unavailable": True}
    info = {
        "name": config.get("name") or provider_name(backend),
        "instructions": list(config.get("instructions") or []),
        "rules": dict(config.get("rules") or {}),
        "download_url": config.get("download_url") or backend.get_software_download_url(),
        "tech_support": backend.tech_support(),
        "javascript": backend.get_javascript(),
        "ping_interval": backend.ping_interval,
        "unavailable": bool(config.get("unavailable")),
    }
    if (
        attempt is not None
        and attempt.external_id
        and attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED)
    ):
        try:
            details = backend.get_attempt(attempt.exam.external_id, attempt.external_id,
                                          locale) or {}
        except BackendError as error:
            log.warning("%s attempt %s unavailable for the learner page: %s", backend.name,
                        attempt.external_id, error.message)
            details = {}
        if details.get("download_url"):
            info["download_url"] = details["download_url"]
        if details.get("instructions"):
            info["instructions"] = list(details["instructions"])
    return info


def exam_page(
    exam: Exam, user: User, now: datetime, *, locale: str = "en",
    confirming_decline: bool = False,
) -> ExamPage:
    """Read everything the learner's page needs, applying expiry and readiness first."""
    if not exam.is_active:
        raise NotFound(_("The exam '%(name)s' is not available.", name=exam.exam_name))
    kind = exams.exam_type(exam)
    manages = courses.can_manage(user, exam.course_id)
    enrolled = courses.is_enrolled(user, exam.course_id)
    course = exams.course_of(exam)
    due = timing.effective_due_date(exam, course.end_date if course else None)
    backend = exams.backend_for(exam)
    view: AttemptView | None = None
    attempt = None
    if not manages and enrolled and user.is_active:
        newest = attempts.current_attempt(exam, user)
        if newest is not None:
            view = refresh(load_attempt_view(newest.id), now)
            attempt = view.attempt
    provider = _provider_info(backend, locale, attempt)
    facts = Facts(
        exam_type=kind,
        status=attempt.status if attempt else None,
        ready_to_resume=bool(attempt and attempt.is_ready_to_resume),
        is_status_acknowledged=bool(attempt and attempt.is_status_acknowledged),
        past_due=due is not None and due <= now,
        user_active=user.is_active,
        enrolled=enrolled,
        manages_course=manages,
        # Providers without step-by-step instructions but with desktop software (RPNow) get
        # the page with the exam code to paste into their software.
        # (When the provider cannot be reached we cannot tell, so the general page it is.)
        provider_has_instructions=bool(provider["instructions"]) or not provider["download_url"]
        or provider["unavailable"],
        allows_opt_out=bool(course and course.allow_proctoring_opt_out),
        viewable_past_due=current_app.config["EXAM_VIEWABLE_PAST_DUE"],
        confirming_decline=confirming_decline,
    )
    situation = situation_for(facts)
    payload = attempt_payload(view, now) if view is not None else None
    if view is not None:
        total_minutes = allowed_minutes_for(view, now)
    else:
        total_minutes = timing.allowed_minutes(
            exam.time_limit_mins,
            0 if manages else allowances.extra_minutes(user.id, exam.id),
            now, due,
        )
    policy = exams.get_review_policy(exam)
    context: dict[str, Any] = {
        "total_minutes": total_minutes,
        "due_date": due,
        "past_due": facts.past_due,
        "provider": provider,
        "allows_opt_out": facts.allows_opt_out and kind is T.PROCTORED,
        "escalation_email": (course.proctoring_escalation_email if course else None)
        or current_app.config["CONTACT_EMAIL"],
        "contact_email": current_app.config["CONTACT_EMAIL"],
        "review_policy": policy.review_policy if policy else None,
        "course": course,
        "viewable_past_due": facts.viewable_past_due and facts.past_due,
        "onboarding_link": None,
        # An LTI proctoring tool that asked to hear of the end gets LtiEndAssessment.
        "lti_end_assessment_url": lti_proctoring.end_page_path(attempt),
    }
    if situation in (X.ONBOARDING_MISSING, X.ONBOARDING_FAILED, X.ONBOARDING_EXPIRED,
                     X.ONBOARDING_PENDING):
        candidates = onboarding.onboarding_exams(exam.course_id)
        if candidates:
            context["onboarding_link"] = exam_path(candidates[-1].course_id,
                                                   candidates[-1].content_id)
    return ExamPage(exam, kind, situation, template_for(kind, situation), attempt, payload,
                    context)



# Acting on the page -----------------------------------------------------------------------


class PageAction(enum.StrEnum):
    """What the learner's forms post; each maps onto the lifecycle."""

    ENTER = "enter"  # take the exam: create (and, for timed exams, start) the attempt
    DECLINE = "decline"
    CLICK_DOWNLOAD_SOFTWARE = "click_download_software"
    START = "start"
    STOP = "stop"
    SUBMIT = "submit"
    RESET_ATTEMPT = "reset_attempt"
    RESUME = "resume"
    ACKNOWLEDGE = "acknowledge"


def check_may_take(exam: Exam, user: User) -> None:
    """Only active, enrolled learners take exams; course staff preview them."""
    if courses.can_manage(user, exam.course_id):
        raise PermissionDenied(
            _("Course staff can preview this exam but cannot take it as a learner.")
        )
    if not user.is_active:
        raise PermissionDenied(_("This account is inactive."))
    if not courses.is_enrolled(user, exam.course_id):
        raise PermissionDenied(_("You are not enrolled in this course."))
    if not exam.is_active:
        raise NotFound(_("The exam '%(name)s' is not available.", name=exam.exam_name))


def check_not_past_due(exam: Exam, now: datetime) -> None:
    """No attempt begins (or starts its clock) after the due date, as in edx-proctoring:
    its allowed time would be cut to nothing. Practice exams stay open."""
    if exam.is_practice_exam:
        return
    due = exams.due_date_for(exam)
    if due is not None and due <= now:
        raise PermissionDenied(_("The due date of '%(name)s' has passed; it can no longer be "
                                 "taken.", name=exam.exam_name))


def create_attempt(
    exam: Exam, user: User, now: datetime, *, start_clock: bool = False,
    attempt_proctored: bool | None = None,
) -> Attempt:
    """Create (or resume) the learner's attempt, as the page's "enter" and the API's POST do.

    A learner whose errored attempt course staff marked ready to resume gets the resumed
    attempt; a timed attempt sitting in ``created`` starts when the clock is asked for.
    """
    check_may_take(exam, user)
    check_not_past_due(exam, now)
    actor = Actor.learner(user)
    existing = attempts.current_attempt(exam, user)
    if existing is not None and existing.is_ready_to_resume:
        return attempts.apply_action(existing, Action.RESUME, actor, now)
    proctored_exam = exam.is_proctored or exam.is_practice_exam
    if (
        existing is not None
        and start_clock
        and not proctored_exam
        and existing.status == S.CREATED
    ):
        return attempts.apply_action(existing, Action.START, actor, now)
    if exam.is_practice_exam:
        attempt_proctored = True
    return attempts.create_attempt(
        exam, user, actor, now,
        taking_as_proctored=attempt_proctored if proctored_exam else None,
        start_clock=start_clock and not (proctored_exam and attempt_proctored is not False),
    )


def decline(exam: Exam, user: User, now: datetime) -> Attempt:
    """Take a proctored exam without proctoring (where the course allows it)."""
    check_may_take(exam, user)
    existing = attempts.current_attempt(exam, user)
    if existing is None:
        return attempts.create_attempt(exam, user, Actor.learner(user), now,
                                       taking_as_proctored=False)
    return attempts.apply_action(existing, Action.DECLINE, Actor.learner(user), now)


def acknowledge_status(attempt: Attempt, user: User, now: datetime) -> Attempt:
    """The learner has seen their review outcome (edx-proctoring's review_status PUT)."""
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only act on your own exam attempts."))
    if not current_app.config["EXAM_VIEWABLE_PAST_DUE"]:
        raise NotFound(_("Exam content is not viewable after the due date on this site."))
    if not attempt.is_status_acknowledged:
        attempt.is_status_acknowledged = True
        attempt.modified = now
        db.session.flush()
        log.info("attempt %s review status acknowledged by %s", attempt.id, user.username)
    return attempt


_PAGE_TO_LIFECYCLE: Mapping[PageAction, Action] = {
    PageAction.CLICK_DOWNLOAD_SOFTWARE: Action.CLICK_DOWNLOAD_SOFTWARE,
    PageAction.START: Action.START,
    PageAction.STOP: Action.STOP,
    PageAction.SUBMIT: Action.SUBMIT,
    PageAction.RESET_ATTEMPT: Action.RESET_PRACTICE,
    PageAction.RESUME: Action.RESUME,
}


def perform(exam: Exam, user: User, action: str, now: datetime) -> Attempt:
    """One form post on the learner's page."""
    try:
        page_action = PageAction(action)
    except ValueError:
        raise BadRequest(_(
            "Unknown action %(action)s. Known actions: %(known)s.",
            action=repr(action), known=", ".join(a.value for a in PageAction),
        )) from None
    if page_action is PageAction.ENTER:
        return create_attempt(exam, user, now, start_clock=not exam.has_backend,
                              attempt_proctored=True if exam.has_backend else None)
    if page_action is PageAction.DECLINE:
        return decline(exam, user, now)
    check_may_take(exam, user)
    attempt = attempts.current_attempt(exam, user)
    if attempt is None:
        raise InvalidTransition(_("You have not begun this exam yet."))
    if page_action is PageAction.ACKNOWLEDGE:
        return acknowledge_status(attempt, user, now)
    attempts.expire_if_due(attempt, now)
    return attempts.apply_action(attempt, _PAGE_TO_LIFECYCLE[page_action],
                                 Actor.learner(user), now)


# The JSON API's reads and writes ----------------------------------------------------------


def clock_for(attempt: Attempt | None, now: datetime) -> dict[str, str | None]:
    ends = (timing.ends_at(attempt, now)
            if attempt is not None and attempt.is_in_progress else None)
    return {"timer_ends": iso(ends), "server_time": iso(now)}


def check_owner(attempt: Attempt, user: User) -> None:
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only see and change your own exam attempts."))


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
    payload = _read_payload(attempts.active_attempt(user), now)
    if payload and payload["attempt_status"] not in ("started", "ready_to_submit"):
        payload = {}  # it ran out on this read
    return payload or {"timer_ends": None, "server_time": iso(now)}


def timer_payload(user: User, now: datetime) -> dict[str, Any]:
    """GET ``proctored_exam/attempt``: the running exam's timer payload; with none running,
    edx-proctoring's explicit ``in_timed_exam: false, is_proctored: false`` (clients test
    those fields) plus the clock."""
    payload = active_payload(user, now)
    if "attempt_id" not in payload:
        payload = {"in_timed_exam": False, "is_proctored": False, **payload}
    return payload


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
            newest = attempts.current_attempt(exam, user)
            if newest is not None and newest.status == S.ONBOARDING_RESET:
                newest = None
            attempt_json = _read_payload(newest, now)
            due = exams.due_date_for(exam)
            minutes = (
                int(allowed_minutes_for(load_attempt_view(newest.id), now)) if newest else
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
    active = _read_payload(attempts.active_attempt(user), now)
    if active and active["attempt_status"] not in ("started", "ready_to_submit"):
        active = {}
    running = active or exam_json.get("attempt") or None
    return {
        "exam": exam_json,
        "active_attempt": active,
        "timer_ends": running.get("timer_ends") if running else None,
        "server_time": iso(now),
    }


#: The PUT actions of edx-proctoring's attempt endpoint, onto our lifecycle.
API_ACTIONS: Mapping[str, Action] = {
    "start": Action.START,
    "stop": Action.STOP,
    "submit": Action.SUBMIT,
    "click_download_software": Action.CLICK_DOWNLOAD_SOFTWARE,
    "reset_attempt": Action.RESET_PRACTICE,
    "decline": Action.DECLINE,
    "error": Action.ERROR,
    "mark_ready_to_resume": Action.MARK_READY_TO_RESUME,
}
#: Accepted and ignored: Open edX's special-exams client may send it.
NO_OP_ACTIONS = frozenset({"ping"})


def update_attempt(
    attempt: Attempt, user: User, action: str, now: datetime, *, detail: str = "",
    user_id: Any = None,
) -> dict[str, Any]:
    """PUT attempt/<id>: one action by the owner (or, to mark it ready to resume, staff)."""
    if not action:
        raise BadRequest(_("%(field)s: this field is required.", field="action"), field="action")
    if action not in API_ACTIONS and action not in NO_OP_ACTIONS:
        raise BadRequest(
            _("Unknown action %(action)s. Known actions: %(known)s.", action=repr(action),
              known=", ".join(sorted([*API_ACTIONS, *NO_OP_ACTIONS]))),
            field="action",
        )
    if action == "mark_ready_to_resume":
        if user_id in (None, ""):
            raise PermissionDenied(_(
                "Only course staff can mark an attempt ready to resume, naming the learner "
                "with %(field)s.", field="user_id",
            ))
        if not courses.can_manage(user, attempt.exam.course_id):
            raise PermissionDenied(_("Only course staff can mark an attempt ready to resume."))
        from proctor_web.services.validation import parse_int

        if parse_int(user_id, "user_id", minimum=1) != attempt.user_id:
            raise BadRequest(_("%(field)s does not match the attempt's learner.",
                                 field="user_id"), field="user_id")
        attempts.apply_action(attempt, Action.MARK_READY_TO_RESUME, Actor.staff(user), now)
        return {"exam_attempt_id": attempt.id, **clock_for(attempt, now)}
    if user_id not in (None, "") and str(user_id) != str(user.id):
        raise PermissionDenied(_("%(field)s may only be given by course staff marking an "
                                 "attempt ready to resume.", field="user_id"))
    check_owner(attempt, user)
    attempts.expire_if_due(attempt, now)
    if action in NO_OP_ACTIONS:
        return {"exam_attempt_id": attempt.id, **clock_for(attempt, now)}
    if action == "error" and attempt.status not in (
        S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START, S.STARTED
    ):
        # A learner at the submit page, or already done, is not thrown into an error by a
        # failing ping: nothing changes, as edx-proctoring answers for submitted attempts.
        log.info("attempt %s: ignored browser error in status %s: %s", attempt.id,
                 attempt.status, detail)
        return {"exam_attempt_id": False, **clock_for(attempt, now)}
    result = attempts.apply_action(attempt, API_ACTIONS[action], Actor.learner(user), now,
                                   detail[:2000] if action == "error" else "")
    return {"exam_attempt_id": result.id, **clock_for(result, now)}


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
