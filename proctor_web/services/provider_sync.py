"""Telling providers what happened to their attempts: the subscriber of the lifecycle's
``attempt_changed`` / ``attempt_removed`` events decides which notification a provider gets
(start, stop, error, remove) and queues it as an outbox row in the same transaction;
``outbox`` delivers it after commit."""

from __future__ import annotations

import logging
from datetime import datetime

from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    DeliveryStatus,
    ProviderEvent,
)
from proctor_web.models.attempt import IN_PROGRESS, PRE_STARTED, AttemptStatus
from proctor_web.services.domain_events import AttemptChanged, AttemptRemoved
from proctor_web.services.exams import backend_for
from proctor_web.services.outbox import mark_for_delivery

log = logging.getLogger(__name__)

S = AttemptStatus


# Subscribers of the domain events ---------------------------------------------------------


def provider_event_for(attempt: Attempt, from_status: str, to_status: str,
                       actor_kind: str) -> str | None:
    """Which notification, if any, the provider should get for a status change."""
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
        and actor_kind != "provider"
    ):
        return "error"
    return None


def on_attempt_changed(event: AttemptChanged) -> None:
    """Subscriber of ``domain_events.attempt_changed``: queue the provider's notification."""
    attempt = event.attempt
    kind = provider_event_for(attempt, event.from_status, event.to_status, event.actor_kind)
    if kind is None:
        return
    backend = backend_for(attempt.exam)
    if backend is not None:
        queue_event(backend.name, kind, attempt, event.now)


def on_attempt_removed(event: AttemptRemoved) -> None:
    """Subscriber of ``domain_events.attempt_removed``: the provider forgets the session."""
    attempt = event.attempt
    if not (attempt.taking_as_proctored and attempt.external_id):
        return
    backend = backend_for(attempt.exam)
    if backend is not None:
        queue_event(backend.name, "remove", attempt, event.now,
                    delivered_at=event.now if event.provider_confirmed else None)


# Queueing ---------------------------------------------------------------------------------


def queue_event(
    backend_name: str,
    kind: str,
    attempt: Attempt,
    now: datetime,
    *,
    delivered_at: datetime | None = None,
) -> ProviderEvent | None:
    """Queue a provider notification about ``attempt``; nothing to do without its ids.

    ``delivered_at``: the provider was already told, synchronously (a confirmed removal);
    the row is kept as the record of it and is not sent again.
    """
    if not attempt.external_id:
        return None
    row = ProviderEvent(
        backend=backend_name,
        kind=kind,
        attempt_id=attempt.id,
        attempt_code=attempt.attempt_code,
        exam_external_id=attempt.exam.external_id,
        attempt_external_id=attempt.external_id,
        status=(DeliveryStatus.DELIVERED if delivered_at else DeliveryStatus.PENDING).value,
        tries=1 if delivered_at else 0,
        next_attempt_at=now,
        delivered_at=delivered_at,
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    if delivered_at is None:
        mark_for_delivery(db.session(), "provider", row.id)
    return row
