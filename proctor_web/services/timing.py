"""Every rule about time: allowed minutes, remaining seconds, due dates, thresholds.

The server is the source of truth. An attempt's end is fixed when it first starts
(``started_at + allowed_time_limit_mins``); nothing computed later can move it, so the
clock the learner sees and the moment we submit are the same instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from proctor_web.models import Attempt, Exam


def allowed_minutes(
    time_limit_mins: int,
    extra_minutes: int,
    now: datetime,
    due_date: datetime | None,
    resume_seconds: int | None = None,
) -> int:
    """Minutes an attempt starting ``now`` gets.

    Limit plus extra time, or the time saved when the attempt errored if it is a resumed
    one; then cut so that the attempt cannot run past the due date.
    """
    if resume_seconds is not None:
        base = resume_seconds // 60
    else:
        base = time_limit_mins + max(extra_minutes, 0)
    if due_date is not None and now + timedelta(minutes=base) > due_date:
        base = max(math.floor((due_date - now).total_seconds() / 60), 0)
    return max(base, 0)


def ends_at(attempt: Attempt) -> datetime | None:
    if attempt.started_at is None or attempt.allowed_time_limit_mins is None:
        return None
    return attempt.started_at + timedelta(minutes=attempt.allowed_time_limit_mins)


def remaining_seconds(attempt: Attempt, now: datetime) -> int:
    """Whole seconds left on a started attempt; 0 before the start and after the end."""
    end = ends_at(attempt)
    if end is None:
        return 0
    return max(0, math.floor((end - now).total_seconds()))


def has_run_out(attempt: Attempt, now: datetime) -> bool:
    end = ends_at(attempt)
    return attempt.is_in_progress and end is not None and end <= now


def effective_due_date(exam: Exam, course_end: datetime | None) -> datetime | None:
    """The exam's due date; an exam without one is due when its course ends."""
    return exam.due_date or course_end


def is_past_due(exam: Exam, now: datetime, course_end: datetime | None = None) -> bool:
    due = effective_due_date(exam, course_end)
    return due is not None and due <= now


@dataclass(frozen=True)
class Thresholds:
    low_seconds: int
    critical_seconds: int


def thresholds(allowed_mins: int, low_pct: float, critical_pct: float) -> Thresholds:
    total = allowed_mins * 60
    return Thresholds(int(total * low_pct), int(total * critical_pct))


def humanize_minutes(minutes: int) -> tuple[int, int]:
    """(hours, minutes) of a duration, for templates to phrase in the learner's language."""
    return divmod(max(minutes, 0), 60)
