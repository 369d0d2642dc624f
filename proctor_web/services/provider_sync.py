"""Keeping providers told: exam pushes, the provider-event outbox, user retirement.

Start, stop, error and remove notifications are queued as ``ProviderEvent`` rows in the same
transaction as the status change (``queue_event``), so they exist exactly when the change
does. They are delivered after commit by ``services.outbox`` (``init_app`` hooks into
the session, and ``flask proctor sweep`` calls ``deliver_pending``); a delivery that fails
for a reason that may pass (network, timeout, 5xx) stays pending with an exponential
backoff and is retried until it gets through. Events of one attempt are delivered in
order: a later event waits while an earlier one is still pending.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.backends.base import ExamData, ProctoringBackend
from proctor_web.backends.software_secure import SoftwareSecureBackend
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
)
from proctor_web.models.attempt import IN_PROGRESS, INCOMPLETE, PRE_STARTED, AttemptStatus
from proctor_web.services.domain_events import AttemptChanged, AttemptRemoved, ExamSaved
from proctor_web.services.exams import backend_for, exam_data
from proctor_web.services.obscured_ids import obscured_user_id
from proctor_web.services.outbox import mark_for_delivery, register_kind

log = logging.getLogger(__name__)

S = AttemptStatus


def _registry():
    return current_app.extensions["proctor_backends"]


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


def on_exam_saved(event: ExamSaved) -> None:
    """Subscriber of ``domain_events.exam_saved``: tell the exam's provider.

    A provider that keeps exams (``needs_exam_sync``, a network call) is pushed after
    commit, in the background (outbox kind ``exam_push``), never inside the staff's
    request; the sweep re-pushes whatever did not get there (``sync_exams`` compares what
    was pushed). Other backends answer ``on_exam_saved`` locally, so it runs here.
    """
    exam = event.exam
    if event.withdrawn:
        if not exam.external_id:
            return  # its provider never heard of it: nothing to withdraw
    elif backend_for(exam) is None:
        return
    target = _push_target(exam)
    if target is None:
        return
    backend, data = target
    if backend.needs_exam_sync:
        db.session.flush()
        mark_for_delivery(db.session(), "exam_push", exam.id)
        return
    record_exam_push(exam, backend.name, data, backend.on_exam_saved(data), event.now)


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


# Exams ------------------------------------------------------------------------------------


def _exam_hash(exam: Exam) -> str:
    return _data_hash(exam_data(exam))


def _data_hash(data: ExamData) -> str:
    return hashlib.sha256(json.dumps(data.__dict__, sort_keys=True,
                                     default=str).encode()).hexdigest()


def _push_target(exam: Exam) -> tuple[ProctoringBackend, ExamData] | None:
    """The provider to push ``exam`` to and what to push, or None when none should know it.

    An exam that is no longer proctored (switched to timed) still goes to the provider that
    knew it, marked unproctored and inactive: from the provider's side it is withdrawn.
    """
    data = exam_data(exam)
    if exam.has_backend:
        backend = backend_for(exam)
    elif exam.external_id and exam.backend:
        backend = _registry().get(exam.backend)
        data = replace(data, is_proctored=False, is_active=False)
    else:
        return None
    return None if backend is None else (backend, data)


def push_exam(exam: Exam, now: datetime) -> None:
    """Push ``exam`` to its provider now, raising ``BackendError`` if it does not get there."""
    target = _push_target(exam)
    if target is None:
        return
    backend, data = target
    record_exam_push(exam, backend.name, data, backend.save_exam(data), now)


def record_exam_push(exam: Exam, backend_name: str, pushed: ExamData,
                     external_id: str | None, now: datetime) -> None:
    """Remember that the provider now holds ``pushed`` under ``external_id`` (flush only).

    The hash is of what was pushed (with the provider's id), so an exam edited while the
    provider was being called still differs from it and is pushed again by the sweep.
    """
    if external_id and external_id != exam.external_id:
        exam.external_id = external_id
        db.session.flush()
    state = db.session.get(ExamSyncState, exam.id)
    if state is None:
        state = ExamSyncState(exam_id=exam.id, backend=backend_name, synced_hash="")
        db.session.add(state)
    state.backend = backend_name
    state.synced_hash = _data_hash(replace(pushed, external_id=exam.external_id))
    state.synced_at = now
    db.session.flush()


def ensure_exam_pushed(exam: Exam, now: datetime) -> None:
    """Before registering an attempt: an exam its provider does not know yet is pushed."""
    backend = backend_for(exam)
    if backend is not None and backend.needs_exam_sync and not exam.external_id:
        push_exam(exam, now)


def register_outbox() -> None:
    """Exam pushes run as background work after the commit that saved the exam."""
    register_kind("exam_push", _deliver_exam_pushes, None)


def _deliver_exam_pushes(now: datetime, exam_ids: list[int] | None) -> int:
    if exam_ids is None:
        return 0  # the sweep calls ``sync_exams`` itself and reports its own figures
    return sync_exams(now, exam_ids)[0]


def sync_exams(now: datetime, exam_ids: list[int] | None = None) -> tuple[int, int]:
    """Re-push every proctored exam (or those of ``exam_ids``) whose provider copy may be
    stale; (pushed, failed).

    Exams are pushed when saved, but that push must not fail the save, so a provider outage
    leaves exams behind; this is the retry. Only backends that keep exams are considered.
    A job, not a service: it commits before each call to a provider and records each push
    in its own short transaction, so no transaction (on SQLite: no write lock) stays open
    while a provider is slow or down.
    """

    names = [b.name for b in _registry().all() if b.needs_exam_sync]
    if not names:
        return 0, 0
    # Proctored exams, and exams a provider knows that have since become timed (they are
    # withdrawn there: see ``_push_target``).
    query = select(Exam.id).where(
        Exam.backend.in_(names),
        (Exam.is_proctored.is_(True)) | (Exam.is_practice_exam.is_(True))
        | Exam.external_id.is_not(None),
    ).order_by(Exam.id)
    if exam_ids is not None:
        query = query.where(Exam.id.in_(exam_ids))
    pushed = failed = 0
    for exam_id in db.session.execute(query).scalars().all():
        exam = db.session.get(Exam, exam_id)
        target = _push_target(exam) if exam is not None else None
        if exam is None or target is None:
            continue
        backend, data = target
        state = db.session.get(ExamSyncState, exam.id)
        if exam.external_id and state is not None and state.synced_hash == _data_hash(data):
            continue
        db.session.commit()  # no transaction open while the provider is called
        try:
            external_id = backend.save_exam(data)
        except BackendError as error:
            failed += 1
            log.warning("exam %s still not pushed to %s: %s", exam_id, backend.name,
                        error.message)
            continue
        exam = db.session.get(Exam, exam_id)
        if exam is not None:
            record_exam_push(exam, backend.name, data, external_id, now)
            db.session.commit()
            pushed += 1
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
    """Ask each provider the user met to forget them; ``{backend: forgotten}``.

    Every provider is asked whatever the others answer. One that cannot be asked (not
    configured, unreachable, an answer that is not a boolean) counts as ``False`` and is
    logged: the caller answers edx-proctoring's 500 when any value is ``False``.
    """
    results: dict[str, bool] = {}
    for name in backends_used_by(user):
        try:
            backend = _registry().get(name)
            results[name] = bool(backend.retire_user(obscured_user_id(user.id, name)))
        except BackendError as error:
            results[name] = False
            log.warning("user %s not retired at %s: %s", user.id, name, error.message)
        else:
            if not results[name]:
                log.warning("user %s: %s answered false to the retirement", user.id, name)
    return results


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
        # Only an attempt of this course's proctored exams (this provider's): a provider id
        # from another course must not open its review video or its provider page here.
        exam_ids = [e.id for e in proctored]
        live = db.session.execute(
            select(Attempt.attempt_code).where(Attempt.external_id == attempt_external_id,
                                               Attempt.exam_id.in_(exam_ids))
        ).scalars().first()
        code = live or db.session.execute(
            select(AttemptHistory.attempt_code)
            .where(AttemptHistory.external_id == attempt_external_id,
                   AttemptHistory.exam_id.in_(exam_ids))
            .order_by(AttemptHistory.id.desc()).limit(1)
        ).scalar_one_or_none()
        if code is None:
            raise NotFound(_("No attempt of this course has the provider id %(external_id)s.",
                             external_id=repr(attempt_external_id)))
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


def rpnow_launch_applies(attempt: Attempt) -> bool:
    """True when RPNow's launch link means something for this attempt.

    Only an attempt taken under proctoring, on an exam whose backend is RPNow-class
    (``SoftwareSecureBackend`` or a subclass), and only before the exam ends.
    """
    exam = attempt.exam
    if not exam.has_backend or not attempt.taking_as_proctored:
        return False
    try:
        backend = _registry().get(exam.backend)
    except BackendNotConfigured:
        return False
    return isinstance(backend, SoftwareSecureBackend) and (
        AttemptStatus(attempt.status) in INCOMPLETE)


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
