"""Staff removal of attempts a provider keeps a record of: the provider deletes first.

A REST provider (``backend.confirms_removal``) holds the session, recordings and review of
an attempt. When course staff remove such an attempt, edx-proctoring 6.1.4 asks the
provider to delete its record before deleting ours, and keeps ours when the provider does
not confirm: otherwise the learner could start afresh while the provider still reviews
(and later reports on) the old session. So:

1. ``records_to_confirm`` picks, among the attempts to remove, those whose provider must
   confirm (plain data, read while the caller's transaction is still open);
2. the caller ends its transaction, so no database lock is held across the network;
3. ``confirm_removed`` sends each DELETE: ``{"status": "deleted"}`` or a 404 (already gone)
   confirm; anything else (5xx, timeout, another answer) raises ``ProviderRemovalFailed``
   (502) and the caller removes nothing;
4. the caller removes the attempts with ``provider_confirmed=True`` for the confirmed ones,
   so the outbox records the removal as delivered instead of sending it again.

Other removals (a learner's practice reset, onboarding cleanup) stay best-effort through
the outbox, as do all other provider events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from proctor_web.errors import BackendError
from proctor_web.models import Attempt

log = logging.getLogger(__name__)


class ProviderRemovalFailed(BackendError):
    """The provider did not confirm deleting its record; ours is kept."""

    status = 502


@dataclass(frozen=True)
class ProviderRecord:
    """What it takes to ask a provider to delete its record of one attempt."""

    attempt_id: int
    backend: str
    exam_external_id: str | None
    attempt_external_id: str


def records_to_confirm(attempts: Iterable[Attempt]) -> list[ProviderRecord]:
    """The attempts among ``attempts`` whose provider must confirm their removal first."""
    registry = current_app.extensions["proctor_backends"]
    records: list[ProviderRecord] = []
    for attempt in attempts:
        exam = attempt.exam
        if not (attempt.taking_as_proctored and attempt.external_id and exam.backend):
            continue
        try:
            backend = registry.get(exam.backend)
        except BackendError:
            # A provider we cannot even name cannot confirm anything: refuse, keep the row.
            raise ProviderRemovalFailed(_(
                "The proctoring provider %(name)s of this attempt is not configured, so it "
                "cannot confirm deleting its record; nothing was removed.",
                name=repr(exam.backend),
            )) from None
        if backend.confirms_removal:
            records.append(ProviderRecord(attempt.id, backend.name, exam.external_id,
                                          attempt.external_id))
    return records


def confirm_removed(records: Iterable[ProviderRecord]) -> frozenset[int]:
    """Ask each provider to delete its record; the ids of the attempts it confirmed.

    Call it with no transaction open. Raises ``ProviderRemovalFailed`` at the first record
    not confirmed (records before it stay deleted at the provider: asking again later
    gets a 404, which confirms).
    """
    registry = current_app.extensions["proctor_backends"]
    confirmed: set[int] = set()
    for record in records:
        backend = registry.get(record.backend)
        try:
            removed = backend.remove_exam_attempt(record.exam_external_id,
                                                  record.attempt_external_id)
        except BackendError as error:
            log.warning("attempt %s kept: %s did not confirm its removal: %s",
                        record.attempt_id, record.backend, error.message)
            raise ProviderRemovalFailed(_(
                "%(provider)s did not confirm deleting its record of attempt %(id)s "
                "(%(reason)s). Nothing was removed; try again later.",
                provider=backend.display_name, id=record.attempt_id, reason=error.message,
            )) from None
        if not removed:
            log.warning("attempt %s kept: %s answered its removal with something other "
                        "than 'deleted'", record.attempt_id, record.backend)
            raise ProviderRemovalFailed(_(
                "%(provider)s did not confirm deleting its record of attempt %(id)s (it did "
                "not answer 'deleted'). Nothing was removed; try again later.",
                provider=backend.display_name, id=record.attempt_id,
            ))
        confirmed.add(record.attempt_id)
        log.info("attempt %s: %s confirmed deleting its record", record.attempt_id,
                 record.backend)
    return frozenset(confirmed)
