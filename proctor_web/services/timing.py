"""Every rule about time: allowed minutes, remaining seconds, due dates, thresholds.

The server is the source of truth. An attempt's end is fixed when it first starts
(``started_at + allowed_time_limit_mins``); only a proctoring tool's pause or extra time
(LTI Assessment Control) moves it later, so the clock the learner sees and the moment we
submit are the same instant.
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


def ends_at(attempt: Attempt, now: datetime | None = None) -> datetime | None:
    """When the attempt runs out: its allowed minutes, extra time granted while it ran, and
    every pause (an open pause counts up to ``now``: the end moves while the clock stands)."""
    if attempt.started_at is None or attempt.allowed_time_limit_mins is None:
        return None
    end = attempt.started_at + timedelta(
        minutes=attempt.allowed_time_limit_mins,
        seconds=(attempt.extra_seconds or 0) + (attempt.paused_seconds or 0),
    )
    if attempt.paused_at is not None and now is not None and now > attempt.paused_at:
        end += now - attempt.paused_at
    return end


def is_paused(attempt: Attempt) -> bool:
    return attempt.paused_at is not None


def remaining_seconds(attempt: Attempt, now: datetime) -> int:
    """Whole seconds left on a started attempt; 0 before the start and after the end.

    A paused attempt keeps what it had when the pause began."""
    end = ends_at(attempt)
    if end is None:
        return 0
    at = attempt.paused_at if attempt.paused_at is not None else now
    return max(0, math.floor((end - at).total_seconds()))


def has_run_out(attempt: Attempt, now: datetime) -> bool:
    if is_paused(attempt):
        return False
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
