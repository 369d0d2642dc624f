"""What happens outside the attempt row when its status changes.

``services.attempts`` calls these after every recorded change. They only queue work, in the
same transaction as the change: provider notifications (``provider_sync.queue_event``),
status emails (``notifications.queue_status_email``) and LMS scores (``lti.grades``).
Delivery happens after commit, and the sweep retries whatever failed, so a rolled-back
change never notifies anyone and a committed one always does eventually.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from proctor_web.models.attempt import IN_PROGRESS, PRE_STARTED, AttemptStatus

if TYPE_CHECKING:
    from proctor_web.models import Attempt
    from proctor_web.services.attempts import Action, Actor

S = AttemptStatus


def _provider_event(attempt: Attempt, from_status: str, to_status: str, actor: Actor) -> str | None:
    """Which notification, if any, the provider should get for this change."""
    from proctor_web.services.attempts import ActorKind

    if not attempt.taking_as_proctored or not attempt.external_id:
        return None
    # "Continue working" (ready_to_submit -> started) is not a new start for the provider.
    if to_status == S.STARTED and from_status in PRE_STARTED:
        return "start"
    if to_status in (S.SUBMITTED, S.TIMED_OUT) and from_status in IN_PROGRESS:
        return "stop"
    # A learner retrying a practice exam they submitted withdraws that session from review:
    # edx-proctoring deletes it at the provider. Best-effort here (the learner's own request
    # never waits on the provider), unlike staff removal (services.removal).
    if to_status == S.ONBOARDING_RESET and from_status == S.SUBMITTED:
        return "remove"
    # A provider's own review error or error report needs no echo back to it.
    if (
        to_status == S.ERROR
        and (from_status in PRE_STARTED or from_status == S.STARTED)
        and actor.kind is not ActorKind.PROVIDER
    ):
        return "error"
    return None


def attempt_changed(
    attempt: Attempt,
    from_status: str,
    to_status: str,
    action: Action,
    actor: Actor,
    now: datetime,
) -> None:
    """Called once per recorded status change, after the history row is written."""
    from proctor_web.lti import grades
    from proctor_web.services import notifications, provider_sync
    from proctor_web.services.exams import backend_for

    kind = _provider_event(attempt, from_status, to_status, actor)
    if kind is not None:
        backend = backend_for(attempt.exam)
        if backend is not None:
            provider_sync.queue_event(backend.name, kind, attempt, now)
    notifications.queue_status_email(attempt, to_status, now)
    grades.queue_outcome(attempt, to_status, now)


def attempt_removed(
    attempt: Attempt, actor: Actor, now: datetime, *, provider_confirmed: bool = False
) -> None:
    """Called before an attempt row is deleted (staff reset, onboarding cleanup).

    ``provider_confirmed``: the provider already deleted its record (staff removal waits
    for that), so the outbox row is written as delivered, for the record only.
    """
    from proctor_web.lti import grades
    from proctor_web.services import provider_sync, reviews
    from proctor_web.services.exams import backend_for

    reviews.mark_attempt_inactive(attempt.attempt_code)
    grades.queue_removal(attempt, now)
    if attempt.taking_as_proctored and attempt.external_id:
        backend = backend_for(attempt.exam)
        if backend is not None:
            provider_sync.queue_event(backend.name, "remove", attempt, now,
                                      delivered_at=now if provider_confirmed else None)
