"""Domain events: what the lifecycle and the exam service announce, knowing nobody who listens.

``services.attempts`` sends ``attempt_created`` for a new proctored attempt,
``attempt_changed`` after every recorded status change and
``attempt_removed`` before an attempt row is deleted; ``services.exams`` sends
``exam_saved`` when an exam (or its review policy) is created or changed; ``services.reviews``
sends ``review_recorded`` when a provider's review is stored. Subscribers are connected by
``proctor_web.subscriptions.connect`` (called from ``create_app``); they only queue work
(outbox rows) in the sender's transaction, so a rolled-back change notifies nobody.

The signals are blinker signals (Flask ships blinker). Each carries one frozen dataclass
as its sender, so a subscriber's argument is typed and the event can be logged or tested
as plain data. This module imports nothing from the services: everything may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blinker import Namespace

if TYPE_CHECKING:  # types only: this module must stay at the bottom of the import graph
    from proctor_web.models import Attempt, Exam

_events = Namespace()

#: sender: ``AttemptCreated`` (proctored attempts only: they need registering)
attempt_created = _events.signal("attempt-created")
#: sender: ``AttemptChanged``
attempt_changed = _events.signal("attempt-changed")
#: sender: ``AttemptRemoved``
attempt_removed = _events.signal("attempt-removed")
#: sender: ``ExamSaved``
exam_saved = _events.signal("exam-saved")
#: sender: ``ReviewRecorded``
review_recorded = _events.signal("review-recorded")


@dataclass(frozen=True)
class AttemptCreated:
    """A proctored attempt just created (status ``created``), to register with its provider.

    ``actor`` is the ``services.attempts.Actor`` who created it; ``resumes_attempt_id`` the
    errored attempt it resumes, if any."""

    attempt: Attempt
    actor: Any
    now: datetime
    resumes_attempt_id: int | None = None


@dataclass(frozen=True)
class AttemptChanged:
    """One recorded status change, sent after its history row is written."""

    attempt: Attempt
    from_status: str
    to_status: str
    action: str
    actor_kind: str  # "learner", "staff", "provider", "system"
    now: datetime


@dataclass(frozen=True)
class AttemptRemoved:
    """An attempt about to be deleted (staff reset, onboarding cleanup).

    ``provider_confirmed``: the provider already deleted its record (staff removal waits for
    that), so what the provider would be told is written as delivered, for the record only.
    """

    attempt: Attempt
    now: datetime
    provider_confirmed: bool = False


@dataclass(frozen=True)
class ExamSaved:
    """An exam created or changed. ``withdrawn``: it just stopped being proctored."""

    exam: Exam
    now: datetime
    withdrawn: bool = False


@dataclass(frozen=True)
class ReviewRecorded:
    """A provider's review stored for ``attempt`` (first or updated)."""

    attempt: Attempt
    review_status: str
    now: datetime


def announce(signal: Any, event: object) -> None:
    """Send ``event`` to every subscriber of ``signal``; a subscriber's error propagates, so
    the sender's transaction rolls back with it rather than losing half of a change."""
    signal.send(event)
