"""Inbound provider callbacks: de-duplicating receipts, the ready callback, and the RPNow
launch callback (which applies only to attempts of an RPNow-class exam)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.backends import get_backend
from proctor_web.backends.software_secure import SoftwareSecureBackend
from proctor_web.errors import BackendNotConfigured
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    WebhookReceipt,
)
from proctor_web.models.attempt import IN_PROGRESS, INCOMPLETE, PRE_STARTED, AttemptStatus

log = logging.getLogger(__name__)



def receipt_key(backend: str, kind: str, target: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{backend}\n{kind}\n{target}\n{canonical}".encode()).hexdigest()


def claim_receipt(backend: str, kind: str, target: str, body: Any, now: datetime) -> bool:
    """Record a callback as handled; False if an identical one was handled before.

    The unique key makes this safe under concurrency too: of two identical callbacks racing,
    one inserts and the other gets False (after waiting for the first to commit).
    """
    from sqlalchemy.exc import IntegrityError

    key = receipt_key(backend, kind, target, body)
    seen = db.session.execute(
        select(WebhookReceipt.id).where(WebhookReceipt.dedupe_key == key)
    ).first()
    if seen is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(WebhookReceipt(dedupe_key=key, backend=backend, kind=kind,
                                          target=target[:255], received_at=now))
    except IntegrityError:
        return False
    return True


def handle_ready_callback(
    attempt: Attempt, backend_name: str, body: Any, now: datetime
) -> bool:
    """The provider reports the learner's set-up complete; False for an ignored repeat."""
    from proctor_web.errors import BadRequest
    from proctor_web.services.attempts import Action, Actor, apply_action

    if not isinstance(body, dict):
        raise BadRequest(_("The body must be a JSON object."))
    status = body.get("status", "ready")
    if status != "ready":
        raise BadRequest(_("'%(field)s' must be '%(expected)s', got %(value)s.", field="status",
                           expected="ready", value=repr(status)))
    if not claim_receipt(backend_name, "ready", attempt.external_id or "", body, now):
        return False
    apply_action(attempt, Action.READY, Actor.provider(backend_name), now,
                 "provider reported the proctoring software ready")
    return True


def rpnow_launch_applies(attempt: Attempt) -> bool:
    """True when RPNow's launch link means something for this attempt.

    Only an attempt taken under proctoring, on an exam whose backend is RPNow-class
    (``SoftwareSecureBackend`` or a subclass), and only before the exam ends.
    """
    exam = attempt.exam
    if not exam.has_backend or not attempt.taking_as_proctored:
        return False
    try:
        backend = get_backend(exam.backend)
    except BackendNotConfigured:
        return False
    return isinstance(backend, SoftwareSecureBackend) and (
        AttemptStatus(attempt.status) in INCOMPLETE)


def handle_launch(attempt: Attempt, now: datetime) -> Attempt:
    """RPNow's app opened the exam: set-up is done, or (re-opened mid-exam) the exam is over."""
    from proctor_web.models.attempt import AttemptStatus
    from proctor_web.services.attempts import Action, Actor, ActorKind, apply_action

    status = AttemptStatus(attempt.status)
    if status in PRE_STARTED and status is not AttemptStatus.READY_TO_START:
        return apply_action(attempt, Action.READY, Actor.provider(attempt.exam.backend or ""),
                            now, "RPNow launched the exam")
    if status in IN_PROGRESS:
        # Re-opening the launch link ends the session; it is the learner's own app asking.
        return apply_action(attempt, Action.SUBMIT,
                            Actor(ActorKind.LEARNER, attempt.user, "rpnow launch"), now,
                            "RPNow launch link opened again during the exam")
    return attempt
