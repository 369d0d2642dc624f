"""Read model of the course overview: exams with attempts per status, and stuck attempts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptStatus, Exam, ExamType
from proctor_web.models.attempt import IN_PROGRESS, INCOMPLETE, STORED_STATUSES
from proctor_web.services import exams, timing
from proctor_web.services.dashboard.course_exams import course_exam_list

S = AttemptStatus
STUCK_LIMIT = 50


@dataclass
class ExamSummary:
    exam: Exam
    type: ExamType
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


#: Why an attempt needs someone, most urgent first (the order of the list on the page).
REASONS = ("review", "error", "past_end", "setup", "ready_to_resume")


@dataclass(frozen=True)
class StuckAttempt:
    attempt: Attempt
    #: "review" (a person must verify or reject), "error" (the learner cannot go on until
    #: staff let them resume), "ready_to_resume" (allowed, the learner has not come back),
    #: "setup" (not started for longer than the exam lasts), "past_end" (running past its end)
    why: str


@dataclass
class Overview:
    exams: list[ExamSummary]
    statuses: list[str]
    stuck: list[StuckAttempt]
    more_stuck: bool
    #: Submitted proctored attempts the provider has not reviewed yet (no one to act on them).
    awaiting_provider: int = 0


def status_counts(course_id: str) -> dict[int, dict[str, int]]:
    """Attempts per exam and status, in one grouped query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        select(Attempt.exam_id, Attempt.status, func.count())
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(Exam.course_id == course_id)
        .group_by(Attempt.exam_id, Attempt.status)
    )
    for exam_id, status, count in rows:
        counts[exam_id][status] = count
    return counts


def stuck_attempts(exam_list: Sequence[Exam], now: datetime,
                   limit: int = STUCK_LIMIT) -> tuple[list[StuckAttempt], bool]:
    """Attempts someone has to look at: waiting for a second review, in error (not yet
    resumed), or not moving for longer than the exam lasts.

    The SQL narrows to candidates per exam (untouched for longer than the time limit);
    attempts in progress are then checked against their own end, which counts extra time.
    """
    if not exam_list:
        return [], False
    idle = [
        and_(Attempt.exam_id == exam.id,
             Attempt.modified < now - timedelta(minutes=exam.time_limit_mins))
        for exam in exam_list
    ]
    candidates = db.session.execute(
        select(Attempt)
        .where(
            Attempt.exam_id.in_([e.id for e in exam_list]),
            or_(
                Attempt.status == S.SECOND_REVIEW_REQUIRED.value,
                and_(Attempt.status == S.ERROR.value, Attempt.resumed.is_(False)),
                and_(Attempt.status.in_([s.value for s in INCOMPLETE]), or_(*idle)),
            ),
        )
        .order_by(Attempt.modified, Attempt.id)
        .limit(limit * 4)
    ).scalars().all()
    found: list[StuckAttempt] = []
    for attempt in candidates:
        if attempt.status == S.SECOND_REVIEW_REQUIRED.value:
            found.append(StuckAttempt(attempt, "review"))
        elif attempt.status == S.ERROR.value:
            found.append(StuckAttempt(attempt,
                                      "ready_to_resume" if attempt.ready_to_resume else "error"))
        elif attempt.status in IN_PROGRESS:
            end = timing.ends_at(attempt)
            if end is None or end <= now:
                found.append(StuckAttempt(attempt, "past_end"))
        else:
            found.append(StuckAttempt(attempt, "setup"))
    found.sort(key=lambda item: REASONS.index(item.why))  # stable: oldest first within a reason
    return found[:limit], len(found) > limit or len(candidates) == limit * 4


def overview(course_id: str, now: datetime) -> Overview:
    exam_list = course_exam_list(course_id)
    counts = status_counts(course_id)
    summaries = [ExamSummary(e, exams.exam_type(e), counts.get(e.id, {})) for e in exam_list]
    present = {status for c in counts.values() for status in c}
    statuses = [s.value for s in STORED_STATUSES if s.value in present]
    stuck, more = stuck_attempts(exam_list, now)
    awaiting = sum(item.counts.get(S.SUBMITTED.value, 0) for item in summaries
                   if item.type is ExamType.PROCTORED)
    return Overview(summaries, statuses, stuck, more, awaiting)
