"""Keeping providers told: exam pushes, the provider-event outbox, user retirement.

Start, stop, error and remove notifications are queued as ``ProviderEvent`` rows in the same
transaction as the status change (``queue_event``), so they exist exactly when the change
does. They are delivered after commit (``deliver_after_commit`` hooks into the session, and
``flask proctor sweep`` calls ``deliver_pending``); a delivery that fails for a reason that
may pass (network, timeout, 5xx) stays pending with an exponential backoff and is retried
until it gets through. Events of one attempt are delivered in order: a later event waits
while an earlier one is still pending.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from proctor_web.backends.base import ProctoringBackend, ProviderUnavailable
from proctor_web.errors import BackendError, BackendNotConfigured, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    DeliveryStatus,
    Exam,
    ExamSyncState,
    ProviderEvent,
    User,
    WebhookReceipt,
    utcnow,
)

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
_PENDING_KEY = "proctor_web.outbox.pending"


def backoff(tries: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at an hour: quick recovery without hammering an outage."""
    return min(BACKOFF_BASE * (2 ** max(tries - 1, 0)), BACKOFF_MAX)


def _registry():
    return current_app.extensions["proctor_backends"]


# Queueing ---------------------------------------------------------------------------------


def queue_event(
    backend_name: str,
    kind: str,
    attempt: Attempt,
    now: datetime,
) -> ProviderEvent | None:
    """Queue a provider notification about ``attempt``; nothing to do without its ids."""
    if not attempt.external_id:
        return None
    row = ProviderEvent(
        backend=backend_name,
        kind=kind,
        attempt_id=attempt.id,
        attempt_code=attempt.attempt_code,
        exam_external_id=attempt.exam.external_id,
        attempt_external_id=attempt.external_id,
        status=DeliveryStatus.PENDING.value,
        tries=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    mark_for_delivery(db.session(), "provider", row.id)
    return row


def mark_for_delivery(session: Session, kind: str, row_id: int) -> None:
    """Remember an outbox row so it is delivered as soon as its transaction commits."""
    session.info.setdefault(_PENDING_KEY, []).append((kind, row_id))


# Delivery ---------------------------------------------------------------------------------


_SENDERS: dict[str, Callable[[ProctoringBackend, ProviderEvent], Any]] = {
    "start": lambda b, e: b.start_exam_attempt(e.exam_external_id, e.attempt_external_id),
    "stop": lambda b, e: b.stop_exam_attempt(e.exam_external_id, e.attempt_external_id),
    "error": lambda b, e: b.mark_erroneous_exam_attempt(e.exam_external_id,
                                                        e.attempt_external_id),
    "remove": lambda b, e: b.remove_exam_attempt(e.exam_external_id, e.attempt_external_id),
}


def deliver_event(row: ProviderEvent, now: datetime) -> bool:
    """Try one event; record the outcome on the row (flush only). True when delivered."""
    row.tries += 1
    try:
        backend = _registry().get(row.backend)
        _SENDERS[row.kind](backend, row)
    except (ProviderUnavailable, BackendNotConfigured) as error:
        row.last_error = error.message
        row.next_attempt_at = now + backoff(row.tries)
        log.warning("provider event %s (%s %s) failed, retry at %s: %s", row.id, row.kind,
                    row.attempt_code, row.next_attempt_at.isoformat(), error.message)
        db.session.flush()
        return False
    except BackendError as error:
        # The provider understood and said no: retrying will not change its mind.
        row.status = DeliveryStatus.REFUSED.value
        row.last_error = error.message
        log.error("provider event %s (%s %s) refused by %s: %s", row.id, row.kind,
                  row.attempt_code, row.backend, error.message)
        db.session.flush()
        return False
    row.status = DeliveryStatus.DELIVERED.value
    row.delivered_at = now
    row.last_error = ""
    log.info("provider event %s (%s %s) delivered to %s", row.id, row.kind, row.attempt_code,
             row.backend)
    db.session.flush()
    return True


def deliver_pending(now: datetime, ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Deliver pending events that are due (or just ``ids``), oldest first; returns how many.

    An event waits while an older event of the same attempt is still pending, so a provider
    never hears "stop" before "start".
    """
    query = (
        select(ProviderEvent)
        .where(ProviderEvent.status == DeliveryStatus.PENDING.value)
        .order_by(ProviderEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    wanted = set(ids) if ids is not None else None
    delivered = 0
    blocked: set[tuple[str, str]] = set()
    for row in db.session.execute(query).scalars().all():
        key = (row.backend, row.attempt_external_id)
        if key in blocked:
            continue
        due = row.next_attempt_at <= now
        if not due or (wanted is not None and row.id not in wanted):
            blocked.add(key)
            continue
        if deliver_event(row, now):
            delivered += 1
        elif row.status == DeliveryStatus.PENDING.value:
            blocked.add(key)
    return delivered


_listening = False


def init_app(app: Flask) -> None:
    """Deliver outbox rows right after the transaction that wrote them commits.

    In a request, delivery runs once the response has been sent (``call_on_close``), in its
    own transaction; elsewhere (CLI) rows wait for ``flask proctor sweep``. The session
    listeners are global, so they are installed once whatever the number of apps.
    """
    global _listening
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
                response.call_on_close(lambda: _deliver_now(flask_app, items))
                return response

    @event.listens_for(Session, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)


def _deliver_now(app: Flask, items: list[tuple[str, int]]) -> None:
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        deliver_items(items, utcnow())
    else:
        with app.app_context():
            deliver_items(items, utcnow())


def deliver_items(items: list[tuple[str, int]], now: datetime) -> None:
    """Deliver the given outbox rows and commit the outcome (its own transaction)."""
    from proctor_web.lti import grades
    from proctor_web.services import notifications

    try:
        provider_ids = [row_id for kind, row_id in items if kind == "provider"]
        email_ids = [row_id for kind, row_id in items if kind == "email"]
        score_ids = [row_id for kind, row_id in items if kind == "lti_score"]
        if provider_ids:
            deliver_pending(now, ids=provider_ids)
        if email_ids:
            notifications.send_pending(now, ids=email_ids)
        if score_ids:
            grades.deliver_pending(now, ids=score_ids)
        db.session.commit()
    except Exception:  # the sweep will retry; never break the response that triggered us
        db.session.rollback()
        log.exception("delivery after commit failed; the sweep will retry")


# Exams ------------------------------------------------------------------------------------


def _exam_hash(exam: Exam) -> str:
    from proctor_web.services.exams import exam_data

    data = exam_data(exam).__dict__
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def push_exam(exam: Exam, now: datetime) -> None:
    """Push ``exam`` to its provider now, raising ``BackendError`` if it does not get there."""
    from proctor_web.services.exams import backend_for, exam_data

    backend = backend_for(exam)
    if backend is None:
        return
    external_id = backend.save_exam(exam_data(exam))
    if external_id and external_id != exam.external_id:
        exam.external_id = external_id
        db.session.flush()
    state = db.session.get(ExamSyncState, exam.id)
    if state is None:
        state = ExamSyncState(exam_id=exam.id, backend=backend.name, synced_hash="")
        db.session.add(state)
    state.backend = backend.name
    state.synced_hash = _exam_hash(exam)
    state.synced_at = now
    db.session.flush()


def ensure_exam_pushed(exam: Exam, now: datetime) -> None:
    """Before registering an attempt: an exam its provider does not know yet is pushed."""
    from proctor_web.services.exams import backend_for

    backend = backend_for(exam)
    if backend is not None and backend.needs_exam_sync and not exam.external_id:
        push_exam(exam, now)


def sync_exams(now: datetime) -> tuple[int, int]:
    """Re-push every proctored exam whose provider copy may be stale; (pushed, failed).

    Exams are pushed when saved, but that push must not fail the save, so a provider outage
    leaves exams behind; this is the retry. Only backends that keep exams are considered.
    """
    names = [b.name for b in _registry().all() if b.needs_exam_sync]
    if not names:
        return 0, 0
    exams_ = db.session.execute(
        select(Exam).where(
            Exam.backend.in_(names),
            (Exam.is_proctored.is_(True)) | (Exam.is_practice_exam.is_(True)),
        ).order_by(Exam.id)
    ).scalars().all()
    pushed = failed = 0
    for exam in exams_:
        state = db.session.get(ExamSyncState, exam.id)
        if exam.external_id and state is not None and state.synced_hash == _exam_hash(exam):
            continue
        try:
            with db.session.begin_nested():
                push_exam(exam, now)
            pushed += 1
        except BackendError as error:
            failed += 1
            log.warning("exam %s still not pushed to %s: %s", exam.id, exam.backend,
                        error.message)
    return pushed, failed


# Users ------------------------------------------------------------------------------------


def backends_used_by(user: User) -> list[str]:
    """Names of the backends of every exam the user attempted, archived attempts included."""
    live = select(Exam.backend).join(Attempt, Attempt.exam_id == Exam.id).where(
        Attempt.user_id == user.id, Attempt.taking_as_proctored.is_(True)
    )
    archived = select(Exam.backend).join(AttemptHistory, AttemptHistory.exam_id == Exam.id).where(
        AttemptHistory.user_id == user.id
    )
    names = {name for (name,) in db.session.execute(live.union(archived)) if name}
    return sorted(names)


def retire_backend_user(user: User) -> dict[str, bool]:
    """Ask each provider the user met to forget them; {backend: forgotten}.

    Raises ``BackendError`` naming the backends that failed, after trying all of them.
    """
    from proctor_web.services.attempts import obscured_user_id

    results: dict[str, bool] = {}
    failures: list[str] = []
    for name in backends_used_by(user):
        try:
            backend = _registry().get(name)
        except BackendNotConfigured:
            results[name] = False
            failures.append(_("%(name)s: not configured", name=name))
            continue
        try:
            results[name] = bool(backend.retire_user(obscured_user_id(user.id, name)))
        except BackendError as error:
            results[name] = False
            failures.append(f"{name}: {error.message}")
    if failures:
        raise RetirementFailed(_("Could not retire the user everywhere: %(failures)s",
                                 failures="; ".join(failures)), results=results)
    return results


class RetirementFailed(BackendError):
    status = 500


def instructor_dashboard_url(
    course_id: str,
    exam_id: int | None,
    user: User,
    *,
    attempt_external_id: str | None = None,
    show_configuration: bool = False,
) -> str:
    """The provider dashboard URL for a course (or one exam, or one attempt's review)."""
    from proctor_web.errors import BadRequest, NotFound
    from proctor_web.models import Review
    from proctor_web.services.attempts import obscured_user_id
    from proctor_web.services.exams import course_exams

    exams_ = course_exams(course_id, active_only=False)
    if exam_id is not None:
        exams_ = [e for e in exams_ if e.id == exam_id]
        if not exams_:
            raise NotFound(_("No exam %(id)s in course %(course_id)s.", id=exam_id,
                             course_id=course_id))
    proctored = [e for e in exams_ if e.is_proctored]
    if not proctored:
        raise NotFound(_("This course has no proctored exams."))
    names = {e.backend for e in proctored}
    if len(names) > 1:
        raise BadRequest(_("The course's exams use different proctoring providers; "
                           "open the dashboard of one exam instead."))
    backend = _registry().get(names.pop())
    exam = proctored[0] if exam_id is not None else None
    video: bytes | None = None
    if attempt_external_id:
        live = db.session.execute(
            select(Attempt.attempt_code).where(Attempt.external_id == attempt_external_id)
        ).scalars().first()
        code = live or db.session.execute(
            select(AttemptHistory.attempt_code)
            .where(AttemptHistory.external_id == attempt_external_id)
            .order_by(AttemptHistory.id.desc()).limit(1)
        ).scalar_one_or_none()
        if code is not None:
            review = db.session.execute(
                select(Review).where(Review.attempt_code == code)
            ).scalar_one_or_none()
            video = review.encrypted_video_url if review is not None else None
    elif not backend.has_dashboard:
        raise NotFound(_("%(provider)s has no instructor dashboard.",
                         provider=backend.display_name))
    url = backend.get_instructor_url(
        course_id,
        {"id": obscured_user_id(user.id, backend.name), "full_name": user.full_name,
         "email": user.email},
        exam_external_id=exam.external_id if exam is not None else None,
        attempt_external_id=attempt_external_id,
        show_configuration_dashboard=show_configuration,
        encrypted_video_review_url=video,
    )
    if not url:
        raise NotFound(_("%(provider)s has nothing to show for this.",
                         provider=backend.display_name))
    return url


def require_global_staff(user: User) -> None:
    if not user.is_staff:
        raise PermissionDenied(_("Only global staff may retire users."))


# Inbound callbacks ------------------------------------------------------------------------


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


def handle_launch(attempt: Attempt, now: datetime) -> Attempt:
    """RPNow's app opened the exam: set-up is done, or (re-opened mid-exam) the exam is over."""
    from proctor_web.models.attempt import IN_PROGRESS, PRE_STARTED, AttemptStatus
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
