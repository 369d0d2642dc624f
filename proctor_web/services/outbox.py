"""Delivering the outboxes (provider events, emails) without holding a transaction open.

Rows are written by ``provider_sync.queue_event`` and ``notifications.queue_email`` in the
transaction of their cause, and remembered with ``mark_for_delivery``. Once that transaction
commits their ids are handed to background work (``init_app``, ``proctor_web.tasks``: a
thread of this process or a Celery worker), which delivers them through ``KINDS``; the sweep
(beat, or ``flask proctor sweep``) retries what is still pending. A row still failing after
``OUTBOX_MAX_TRIES`` tries becomes a dead letter (status ``dead``).

Delivery is a job, not a service: it commits, in three steps per batch, so no transaction
(and on SQLite no write lock) stays open while a provider or an SMTP server is called:

1. **claim**: in one short transaction, pick the due rows and lease them (push their
   ``next_attempt_at`` ``CLAIM_LEASE`` ahead), so a concurrent sweep or after-commit
   delivery skips them; commit;
2. **call** the provider or SMTP server with a plain copy of each row, no session involved;
3. **record** each outcome in its own short transaction: delivered, refused (final), or
   pending again with a backoff; commit.

A process that dies between 1 and 3 leaves its rows pending: they are retried once the lease
passes (at-least-once, as any outbox). Events of one attempt keep their order: a later event
waits while an earlier one is pending (a lease counts), and when an earlier event of this
batch fails, the later ones of the same attempt are handed back unsent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session, aliased

from proctor_web.backends.base import ProctoringBackend, ProviderUnavailable
from proctor_web.database import immediate_transactions
from proctor_web.errors import BackendError, BackendNotConfigured
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, EmailMessage, ProviderEvent, utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
#: Longer than any provider or SMTP call may take (their timeouts are seconds).
CLAIM_LEASE = timedelta(minutes=5)
_PENDING_KEY = "proctor_web.outbox.pending"


def backoff(tries: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at an hour: quick recovery without hammering an outage."""
    return min(BACKOFF_BASE * (2 ** max(tries - 1, 0)), BACKOFF_MAX)


def max_tries() -> int:
    """Tries before a row that keeps failing becomes a dead letter (``OUTBOX_MAX_TRIES``)."""
    return int(current_app.config.get("OUTBOX_MAX_TRIES") or 8)


def mark_for_delivery(session: Session, kind: str, row_id: int) -> None:
    """Remember an outbox row so it is delivered as soon as its transaction commits."""
    session.info.setdefault(_PENDING_KEY, []).append((kind, row_id))


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    final: bool = True  # False: worth another try later
    error: str = ""


# Provider events --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventClaim:
    """A plain copy of a leased provider event: enough to call the provider sessionless."""

    row_id: int
    backend: str
    kind: str
    attempt_code: str
    exam_external_id: str | None
    attempt_external_id: str
    due_at: datetime  # its next_attempt_at before the lease, given back if it must wait

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.attempt_external_id)


_SENDERS: dict[str, Callable[[ProctoringBackend, EventClaim], Any]] = {
    "start": lambda b, e: b.start_exam_attempt(e.exam_external_id, e.attempt_external_id),
    "stop": lambda b, e: b.stop_exam_attempt(e.exam_external_id, e.attempt_external_id),
    "error": lambda b, e: b.mark_erroneous_exam_attempt(e.exam_external_id,
                                                        e.attempt_external_id),
    "remove": lambda b, e: b.remove_exam_attempt(e.exam_external_id, e.attempt_external_id),
}


def claim_events(now: datetime, ids: Iterable[int] | None = None,
                 limit: int = 500) -> list[EventClaim]:
    """Lease the due events (or just ``ids``) that no earlier event of their attempt holds
    back, oldest first; commits."""
    query = (
        select(ProviderEvent)
        .where(ProviderEvent.status == DeliveryStatus.PENDING.value)
        .order_by(ProviderEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    wanted = set(ids) if ids is not None else None
    if wanted is not None:
        # The asked-for rows themselves, whatever the backlog of other attempts' events (a
        # task must never depend on being among the oldest ``limit``), each unless an
        # earlier event of its attempt that is not in this batch still waits.
        earlier = aliased(ProviderEvent)
        held_back = exists().where(
            earlier.backend == ProviderEvent.backend,
            earlier.attempt_external_id == ProviderEvent.attempt_external_id,
            earlier.id < ProviderEvent.id,
            earlier.status == DeliveryStatus.PENDING.value,
            earlier.id.not_in(wanted) | (earlier.next_attempt_at > now),
        )
        query = query.where(ProviderEvent.id.in_(wanted), ~held_back)
    blocked: set[tuple[str, str]] = set()
    claims: list[EventClaim] = []
    for row in db.session.execute(query).scalars().all():
        key = (row.backend, row.attempt_external_id)
        if key in blocked:
            continue
        if row.next_attempt_at > now or (wanted is not None and row.id not in wanted):
            blocked.add(key)  # an earlier event (maybe leased by another worker) goes first
            continue
        claims.append(EventClaim(row.id, row.backend, row.kind, row.attempt_code,
                                 row.exam_external_id, row.attempt_external_id,
                                 row.next_attempt_at))
        row.next_attempt_at = now + CLAIM_LEASE
    db.session.commit()
    return claims


def call_provider(claim: EventClaim) -> Outcome:
    """Send one event; touches no database."""
    try:
        backend = current_app.extensions["proctor_backends"].get(claim.backend)
        _SENDERS[claim.kind](backend, claim)
    except (ProviderUnavailable, BackendNotConfigured) as error:
        return Outcome(delivered=False, final=False, error=error.message)
    except BackendError as error:
        # The provider understood and said no: retrying will not change its mind.
        return Outcome(delivered=False, final=True, error=error.message)
    return Outcome(delivered=True)


def record_event(claim: EventClaim, outcome: Outcome, now: datetime,
                 held_back: Iterable[EventClaim] = ()) -> None:
    """Store one event's outcome (and hand back ``held_back`` claims); commits."""
    row = db.session.get(ProviderEvent, claim.row_id, populate_existing=True)
    if row is not None and row.status == DeliveryStatus.PENDING.value:
        row.tries += 1
        if outcome.delivered:
            row.status = DeliveryStatus.DELIVERED.value
            row.delivered_at = now
            row.last_error = ""
            log.info("provider event %s (%s %s) delivered to %s", row.id, row.kind,
                     row.attempt_code, row.backend)
        elif outcome.final:
            row.status = DeliveryStatus.REFUSED.value
            row.last_error = outcome.error
            log.error("provider event %s (%s %s) refused by %s: %s", row.id, row.kind,
                      row.attempt_code, row.backend, outcome.error)
        elif row.tries >= max_tries():
            row.status = DeliveryStatus.DEAD.value
            row.last_error = outcome.error
            log.error("provider event %s (%s %s) dead after %s tries: %s", row.id, row.kind,
                      row.attempt_code, row.tries, outcome.error)
        else:
            row.last_error = outcome.error
            row.next_attempt_at = now + backoff(row.tries)
            log.warning("provider event %s (%s %s) failed, retry at %s: %s", row.id,
                        row.kind, row.attempt_code, row.next_attempt_at.isoformat(),
                        outcome.error)
    for later in held_back:
        waiting = db.session.get(ProviderEvent, later.row_id, populate_existing=True)
        if waiting is not None and waiting.status == DeliveryStatus.PENDING.value:
            waiting.next_attempt_at = later.due_at
    db.session.commit()


def deliver_pending(now: datetime, ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Deliver pending provider events that are due (or just ``ids``); returns how many.

    A provider never hears "stop" before "start": see the module's notes on order.
    """
    with immediate_transactions():  # each step's transaction writes
        claims = claim_events(now, ids, limit)
        delivered = 0
        failed: set[tuple[str, str]] = set()
        for index, claim in enumerate(claims):
            if claim.key in failed:
                continue  # handed back when its predecessor's failure was recorded
            outcome = call_provider(claim)
            held_back: list[EventClaim] = []
            if not outcome.delivered and not outcome.final:
                failed.add(claim.key)
                held_back = [c for c in claims[index + 1:] if c.key == claim.key]
            record_event(claim, outcome, now, held_back)
            delivered += outcome.delivered
        sent_keys = {claim.key for claim in claims} - failed
        later = utcnow()  # they were queued while ours were at the provider: after ``now``
        followers = _due_followers(later, sent_keys) if sent_keys and ids is not None else []
    if followers:
        # Later events of these attempts: their own delivery found them held back by our
        # lease, so they go now, in order, rather than at the next sweep.
        delivered += deliver_pending(later, ids=followers, limit=limit)
    return delivered


def _due_followers(now: datetime, keys: set[tuple[str, str]]) -> list[int]:
    """Pending, due events of the given (backend, attempt) pairs; ends its read."""
    rows = db.session.execute(
        select(ProviderEvent.id, ProviderEvent.backend, ProviderEvent.attempt_external_id)
        .where(ProviderEvent.status == DeliveryStatus.PENDING.value,
               ProviderEvent.next_attempt_at <= now,
               ProviderEvent.attempt_external_id.in_({external for _, external in keys}))
        .order_by(ProviderEvent.id)
    ).all()
    db.session.commit()
    return [row.id for row in rows if (row.backend, row.attempt_external_id) in keys]


# Emails -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailClaim:
    row_id: int
    template: str
    recipient: str
    subject: str
    text_body: str
    html_body: str


def claim_emails(now: datetime, ids: Iterable[int] | None = None,
                 limit: int = 200) -> list[EmailClaim]:
    """Lease the due messages (or just ``ids``), oldest first; commits."""
    query = (
        select(EmailMessage)
        .where(
            EmailMessage.status == DeliveryStatus.PENDING.value,
            EmailMessage.next_attempt_at <= now,
        )
        .order_by(EmailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(EmailMessage.id.in_(list(ids)))
    claims = []
    for message in db.session.execute(query).scalars().all():
        claims.append(EmailClaim(message.id, message.template, message.recipient,
                                 message.subject, message.text_body, message.html_body))
        message.next_attempt_at = now + CLAIM_LEASE
    db.session.commit()
    return claims


def smtp_send(message: EmailClaim) -> Outcome:
    """Send one message through the configured SMTP server; touches no database."""
    config = current_app.config
    mime = MimeMessage()
    mime["Subject"] = message.subject
    mime["From"] = config["MAIL_DEFAULT_SENDER"]
    mime["To"] = message.recipient
    mime["Message-ID"] = make_msgid(domain="proctor-web")
    mime["X-Proctor-Template"] = message.template
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    timeout = float(config["MAIL_TIMEOUT_SECONDS"])
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]),
                          timeout=timeout) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(mime)
    except (OSError, smtplib.SMTPException) as error:
        return Outcome(delivered=False, final=False,
                       error=f"{error.__class__.__name__}: {error}"[:1000])
    return Outcome(delivered=True)


def record_email(claim: EmailClaim, outcome: Outcome, now: datetime) -> None:
    """Store one message's outcome; commits."""
    message = db.session.get(EmailMessage, claim.row_id, populate_existing=True)
    if message is not None and message.status == DeliveryStatus.PENDING.value:
        message.tries += 1
        if outcome.delivered:
            message.status = DeliveryStatus.DELIVERED.value
            message.sent_at = now
            message.last_error = ""
            log.info("email %s (%s) sent to %s", message.id, message.template,
                     message.recipient)
        elif message.tries >= max_tries():
            message.status = DeliveryStatus.DEAD.value
            message.last_error = outcome.error
            log.error("email %s (%s to %s) dead after %s tries: %s", message.id,
                      message.template, message.recipient, message.tries, outcome.error)
        else:
            message.last_error = outcome.error
            message.next_attempt_at = now + backoff(message.tries)
            log.warning("email %s (%s to %s) not sent, retry at %s: %s", message.id,
                        message.template, message.recipient,
                        message.next_attempt_at.isoformat(), message.last_error)
    db.session.commit()


def send_pending(now: datetime, ids: Iterable[int] | None = None, limit: int = 200) -> int:
    """Send due messages (or just ``ids``); returns how many went out."""
    sent = 0
    with immediate_transactions():  # each step's transaction writes
        for claim in claim_emails(now, ids, limit):
            outcome = smtp_send(claim)
            record_email(claim, outcome, now)
            sent += outcome.delivered
    return sent


# Outbox kinds and after commit --------------------------------------------------------


@dataclass(frozen=True)
class OutboxKind:
    """How to deliver one kind of outbox row: ``deliver(now, ids)`` claims, calls and
    records (committing) the due rows among ``ids`` (None: every due row) and returns how
    many went through; ``model`` is the row's class (``status``, ``tries``,
    ``next_attempt_at``, ``last_error`` columns), or None for a job keyed by another
    row's id that keeps its own record of what is done (exam pushes: ``ExamSyncState``),
    which has no dead letters."""

    name: str
    deliver: Callable[[datetime, list[int] | None], int]
    model: type | None


#: Every outbox kind, by the name given to ``mark_for_delivery``; others (LTI scores) add
#: theirs with ``register_kind`` and are then dispatched, retried and dead-lettered alike.
KINDS: dict[str, OutboxKind] = {}


def register_kind(name: str, deliver: Callable[[datetime, list[int] | None], int],
                  model: type | None) -> None:
    KINDS[name] = OutboxKind(name, deliver, model)


def row_kinds() -> dict[str, OutboxKind]:
    """The kinds whose rows carry a delivery status (and so can be dead letters)."""
    return {name: kind for name, kind in KINDS.items() if kind.model is not None}


register_kind("provider", lambda now, ids: deliver_pending(now, ids=ids), ProviderEvent)
register_kind("email", lambda now, ids: send_pending(now, ids=ids), EmailMessage)

_listening = False
_hand_over: Callable[[Flask, list[tuple[str, int]]], None] | None = None


def init_app(app: Flask, hand_over: Callable[[Flask, list[tuple[str, int]]], None]) -> None:
    """Hand outbox rows to ``hand_over`` (the background dispatcher,
    ``proctor_web.tasks.dispatch.enqueue``: an in-process thread, a Celery worker, or, with
    ``BACKGROUND_MODE = "sync"``, this process after the response) once the transaction
    that wrote them commits.

    In a request the rows are handed over once the response has been sent
    (``call_on_close``): enqueueing never delays an answer. Elsewhere (CLI) rows wait for
    ``flask proctor sweep`` or beat. The session listeners are global, so they are installed
    once whatever the number of apps.
    """
    global _listening, _hand_over
    _hand_over = hand_over
    if _listening:
        return
    _listening = True

    @event.listens_for(Session, "after_commit")
    def _after_commit(session: Session) -> None:
        pending = session.info.pop(_PENDING_KEY, None)
        if not pending or not has_request_context():
            return
        queued = g.setdefault("outbox_after_commit", [])
        first = not queued
        queued.extend(pending)
        if first:
            from flask import after_this_request

            flask_app = current_app._get_current_object()  # type: ignore[attr-defined]

            @after_this_request
            def _schedule(response):  # noqa: ANN001, ANN202
                items = list(g.get("outbox_after_commit", []))
                handler = _hand_over
                if handler is not None:
                    response.call_on_close(lambda: handler(flask_app, items))
                return response

    @event.listens_for(Session, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)


def deliver_items(items: list[tuple[str, int]], now: datetime) -> None:
    """Deliver the given outbox rows now, each outcome committed in its own transaction."""
    try:
        by_kind: dict[str, list[int]] = {}
        for kind, row_id in items:
            by_kind.setdefault(kind, []).append(row_id)
        for kind, ids in by_kind.items():
            if kind in KINDS:
                KINDS[kind].deliver(now, ids)
            else:
                log.error("no deliverer registered for outbox kind %r", kind)
    except Exception:  # the sweep will retry; never break the response that triggered us
        db.session.rollback()
        log.exception("delivery after commit failed; the sweep will retry")
