"""The home page's view of a learner's exams: for each exam, where the learner stands (not
started, in progress with the time left, under review, verified ...) and when it is due. One
query for all the learner's newest attempts; the wording and the one action that fits live in
the template (``main/index.html``), keyed by ``ExamState.state``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptStatus, Course, Exam, ExamType, User
from proctor_web.services import exams as exam_service
from proctor_web.services import timing

S = AttemptStatus
T = ExamType


@dataclass(frozen=True)
class ExamState:
    #: not_started, closed, setting_up, in_progress, ready_to_resume, error, submitted,
    #: under_review, verified, rejected, completed (practice), declined, onboarding_needed
    state: str
    exam_type: str
    due_date: datetime | None = None
    seconds_left: int | None = None


_SETTING_UP = {S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START}
_ONBOARDING = {S.ONBOARDING_MISSING, S.ONBOARDING_PENDING, S.ONBOARDING_FAILED,
               S.ONBOARDING_EXPIRED}
_FINISHED = {S.SUBMITTED, S.TIMED_OUT, S.SECOND_REVIEW_REQUIRED, S.VERIFIED, S.REJECTED}


def state_for(kind: ExamType, attempt: Attempt | None, due: datetime | None,
              now: datetime) -> ExamState:
    """Where a learner stands on one exam (pure, given the newest attempt)."""
    status = attempt.status if attempt is not None else None
    if status == S.ONBOARDING_RESET:
        status = None  # a retried practice attempt: as good as not started
    past_due = due is not None and due <= now

    def state(name: str, seconds_left: int | None = None) -> ExamState:
        return ExamState(name, kind.value, due, seconds_left)

    if status is None:
        return state("closed" if past_due and kind is not T.PRACTICE else "not_started")
    if status in _SETTING_UP:
        return state("closed" if past_due and kind is not T.PRACTICE else "setting_up")
    if status in (S.STARTED, S.READY_TO_SUBMIT):
        return state("in_progress", max(0, timing.remaining_seconds(attempt, now)))
    if status == S.ERROR:
        return state("ready_to_resume" if attempt.is_ready_to_resume else "error")
    if status == S.DECLINED:
        return state("declined")
    if status in _ONBOARDING:
        return state("onboarding_needed")
    if status in _FINISHED:
        if kind is T.PRACTICE:
            return state("completed")  # nobody reviews practice
        if kind is T.TIMED or not attempt.taking_as_proctored:
            return state("submitted")
        if status == S.VERIFIED:
            return state("verified")
        if status == S.REJECTED:
            return state("rejected")
        return state("under_review")
    return state("not_started")


def exam_states(user: User, course: Course, course_exams: list[Exam],
                now: datetime) -> dict[int, ExamState]:
    """Each exam's state for this learner, by exam id."""
    if not course_exams:
        return {}
    ids = [exam.id for exam in course_exams]
    newest = (
        select(func.max(Attempt.id))
        .where(Attempt.user_id == user.id, Attempt.exam_id.in_(ids))
        .group_by(Attempt.exam_id)
    )
    attempts = {attempt.exam_id: attempt for attempt in db.session.execute(
        select(Attempt).where(Attempt.id.in_(newest))).scalars()}
    return {
        exam.id: state_for(exam_service.exam_type(exam), attempts.get(exam.id),
                           timing.effective_due_date(exam, course.end_date), now)
        for exam in course_exams
    }
