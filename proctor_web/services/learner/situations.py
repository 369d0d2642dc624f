"""Which page fits: ``situation_for(facts)``, a pure function from plain facts (exam type,
attempt status, dates, the learner's account and enrollment) to a ``Situation``, and
``TEMPLATES``, the table from (exam type, situation) to the interstitial template."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from flask_babel import gettext as _

from proctor_web.errors import (
    NotFound,
)
from proctor_web.models import (
    AttemptStatus,
    ExamType,
)
from proctor_web.models.attempt import PRE_STARTED

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType


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
    (T.PRACTICE, X.READY_TO_SUBMIT): "practice_ready_to_submit",  # nobody reviews practice
    (T.PRACTICE, X.SUBMITTED): "practice_retry",
    (T.PRACTICE, X.SECOND_REVIEW): "practice_retry",
    (T.PRACTICE, X.REJECTED): "practice_retry",
    (T.PRACTICE, X.VERIFIED): "practice_verified",
    (T.PRACTICE, X.ERROR): "practice_error",
    **{(T.ONBOARDING, s): name for s, name in {**_COMMON, **_PROVIDER_STEPS}.items()},
    (T.ONBOARDING, X.ENTRANCE): "onboarding_entrance",
    (T.ONBOARDING, X.READY_TO_START): "onboarding_ready_to_start",  # what the check records
    (T.ONBOARDING, X.STARTED): "onboarding_started",  # an identity check, not questions
    (T.ONBOARDING, X.EXPIRED): "proctored_expired",
    (T.ONBOARDING, X.READY_TO_SUBMIT): "onboarding_ready_to_submit",
    (T.ONBOARDING, X.SUBMITTED): "onboarding_submitted",
    (T.ONBOARDING, X.SECOND_REVIEW): "onboarding_submitted",
    (T.ONBOARDING, X.VERIFIED): "onboarding_verified",
    (T.ONBOARDING, X.REJECTED): "onboarding_rejected",
    (T.ONBOARDING, X.ERROR): "onboarding_error",
}


class Step(enum.StrEnum):
    """The steps of the proctored flow, as the step indicator shows them."""

    SET_UP = "set_up"
    SYSTEM_CHECK = "system_check"
    RULES = "rules"
    EXAM = "exam"
    SUBMITTED = "submitted"
    REVIEW = "review"


#: Where each situation of a provider-backed exam stands in its flow. Situations outside the
#: flow (staff preview, onboarding missing, expired, declined ...) show no indicator, nor does
#: the running exam (the timer bar says where the learner is, and the questions need room).
STEP_OF: dict[Situation, Step] = {
    X.ENTRANCE: Step.SET_UP,
    X.CONFIRM_DECLINE: Step.SET_UP,
    X.INSTRUCTIONS: Step.SYSTEM_CHECK,
    X.INSTRUCTIONS_EXAM_CODE: Step.SYSTEM_CHECK,
    X.READY_TO_START: Step.RULES,
    X.READY_TO_SUBMIT: Step.EXAM,
    X.READY_TO_RESUME: Step.EXAM,
    X.ERROR: Step.EXAM,
    X.SUBMITTED: Step.SUBMITTED,
    X.SECOND_REVIEW: Step.REVIEW,
    X.VERIFIED: Step.REVIEW,
    X.REJECTED: Step.REVIEW,
}
_ALL_STEPS = tuple(Step)
#: Nobody reviews a practice exam: its flow ends when it is submitted.
_PRACTICE_STEPS = tuple(step for step in Step if step is not Step.REVIEW)


@dataclass(frozen=True)
class FlowStep:
    step: Step
    state: str  # "done", "current" or "todo"


def flow_for(exam_type: ExamType, situation: Situation) -> list[FlowStep]:
    """The step indicator of a page: every step with its state, or [] for no indicator."""
    if exam_type is T.TIMED or situation not in STEP_OF:
        return []
    steps = _PRACTICE_STEPS if exam_type is T.PRACTICE else _ALL_STEPS
    current = STEP_OF[situation]
    if current not in steps:
        current = steps[-1]
    position = steps.index(current)
    return [FlowStep(step, "done" if i < position else "current" if i == position else "todo")
            for i, step in enumerate(steps)]


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
