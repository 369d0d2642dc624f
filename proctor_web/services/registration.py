"""Registering a proctored attempt with its provider, with no database lock held meanwhile.

The lifecycle (``services.attempts.create_attempt``) announces ``attempt_created`` for every
new proctored attempt; ``on_attempt_created`` (subscribed by ``create_app``) answers it:

- a backend that registers locally (``registers_locally``: mock, null, LTI) is asked at once,
  in the creating transaction;
- any other (REST, RPNow: a network call) is only remembered on the session. The view that
  created the attempt commits, then calls ``register_pending``, which for each attempt:

  1. reads what to send (``_plan``) and ends its transaction;
  2. calls the provider (``_call``), pushing the exam first if the provider does not know it
     yet, with no transaction open (on SQLite: no write lock);
  3. records the answer in a new short transaction: the provider's id; the onboarding status
     a refusal names; or, when the provider failed, the attempt is removed again (its
     history keeps both rows) and ``RegistrationFailed`` (503) tells the learner to try
     again. An attempt that was resuming an errored one gives that one back.

An attempt left unregistered by a process that died between the two steps is registered by
the sweep (``register_stranded``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.backends import backend_registry
from proctor_web.backends.base import (
    AttemptRegistration,
    BackendError,
    ExamData,
    OnboardingRequired,
    ProctoringBackend,
    RegistrationFailed,
)
from proctor_web.extensions import db
from proctor_web.models import Attempt, Exam, ReviewPolicy, utcnow
from proctor_web.models.attempt import AttemptStatus
from proctor_web.services import allowances, attempts, exam_sync
from proctor_web.services.attempts import Actor
from proctor_web.services.domain_events import AttemptCreated
from proctor_web.services.exams import backend_for, exam_data
from proctor_web.services.obscured_ids import obscured_user_id

log = logging.getLogger(__name__)

_PENDING_KEY = "proctor_web.registration.pending"
#: How old an unregistered attempt must be before the sweep takes it over from its request.
STRANDED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Pending:
    attempt_id: int
    actor: Actor
    resumes_attempt_id: int | None


@dataclass(frozen=True)
class Plan:
    """What to send, read while the creating transaction was open."""

    registration: AttemptRegistration
    exam_push: ExamData | None  # the exam, when its provider must learn of it first


@dataclass(frozen=True)
class Answer:
    external_id: str | None = None
    pushed_exam: ExamData | None = None
    pushed_exam_id: str | None = None
    refusal: OnboardingRequired | None = None
    failure: BackendError | None = None


# The subscriber ---------------------------------------------------------------------------


def on_attempt_created(event: AttemptCreated) -> None:
    """Subscriber of ``domain_events.attempt_created``."""
    attempt = event.attempt
    backend = backend_for(attempt.exam)
    if backend is None:
        return
    if not backend.registers_locally:
        db.session.info.setdefault(_PENDING_KEY, []).append(
            Pending(attempt.id, event.actor, event.resumes_attempt_id))
        return
    answer = _call(backend, _plan(attempt, backend, event.now))
    if answer.failure is not None:
        raise _failed(backend, answer.failure)  # the creating transaction rolls back whole
    _record(attempt, backend, answer, event.actor, event.now)


# After commit -----------------------------------------------------------------------------


def register_pending() -> list[Attempt]:
    """Register the attempts the committed transaction created (a job: it commits).

    Called by a view right after its commit. Raises ``RegistrationFailed`` once the failed
    attempt is removed and that removal committed."""
    pending: list[Pending] = db.session.info.pop(_PENDING_KEY, [])
    registered = []
    for item in pending:
        attempt = _register(item, give_up=True)
        if attempt is not None:
            registered.append(attempt)
    return registered


def register_stranded(now: datetime) -> int:
    """The sweep's part: register attempts whose request died before registering them.
    A provider still failing leaves them for the next sweep. Returns how many settled."""
    remote = [b.name for b in backend_registry().all() if not b.registers_locally]
    if not remote:
        return 0
    ids = db.session.execute(
        select(Attempt.id).join(Exam, Exam.id == Attempt.exam_id).where(
            Attempt.status == AttemptStatus.CREATED.value,
            Attempt.taking_as_proctored.is_(True),
            Attempt.external_id.is_(None),
            Attempt.created <= now - STRANDED_AFTER,
            Exam.backend.in_(remote),
        ).order_by(Attempt.id)
    ).scalars().all()
    db.session.commit()
    settled = 0
    for attempt_id in ids:
        if _register(Pending(attempt_id, Actor.system("sweep"), None), give_up=False):
            settled += 1
    return settled


def _register(item: Pending, *, give_up: bool) -> Attempt | None:
    attempt = db.session.get(Attempt, item.attempt_id)
    backend = backend_for(attempt.exam) if attempt is not None else None
    if attempt is None or backend is None or not _unregistered(attempt):
        db.session.commit()
        return None
    plan = _plan(attempt, backend, utcnow())
    db.session.commit()  # nothing open while the provider answers
    answer = _call(backend, plan)
    attempt = db.session.get(Attempt, item.attempt_id, populate_existing=True)
    if attempt is None or not _unregistered(attempt):
        db.session.commit()  # removed or registered meanwhile (another request, the sweep)
        return None
    now = utcnow()
    if answer.failure is None:
        _record(attempt, backend, answer, item.actor, now)
        db.session.commit()
        return attempt
    _record_push(attempt, backend, answer, now)
    if not give_up:
        db.session.commit()
        log.warning("attempt %s still not registered with %s: %s", attempt.attempt_code,
                    backend.name, answer.failure.message)
        return None
    reason = f"the provider could not register it: {answer.failure.message}"
    attempts.remove_attempt(attempt, Actor.system("registration"), now, reason)
    if item.resumes_attempt_id is not None:
        resumed = db.session.get(Attempt, item.resumes_attempt_id)
        if resumed is not None:
            attempts.withdraw_resume(resumed, Actor.system("registration"), now,
                                     "the resumed attempt could not be registered")
    db.session.commit()
    raise _failed(backend, answer.failure)


def _unregistered(attempt: Attempt) -> bool:
    return attempt.status == AttemptStatus.CREATED.value and not attempt.external_id


# The three steps --------------------------------------------------------------------------


def _plan(attempt: Attempt, backend: ProctoringBackend, now: datetime) -> Plan:
    exam = attempt.exam
    user = attempt.user
    config = current_app.config
    site = config["SITE_URL"].rstrip("/")
    policy = db.session.get(ReviewPolicy, attempt.review_policy_id) \
        if attempt.review_policy_id else None
    data = exam_data(exam)
    return Plan(
        registration=AttemptRegistration(
            attempt_code=attempt.attempt_code,
            exam=data,
            user_id=user.id,
            obscured_user_id=obscured_user_id(user.id, backend.name),
            full_name=user.full_name,
            email=user.email,
            allowed_time_limit_mins=attempts.compute_allowed_minutes(attempt, now),
            is_sample_attempt=attempt.is_sample_attempt,
            review_policy=policy.review_policy if policy else config["DEFAULT_REVIEW_POLICY"],
            review_policy_exception=allowances.review_policy_exception(user.id, exam.id),
            lms_host=site,
            launch_url=f"{site}/api/edx_proctoring/proctoring_launch_callback/start_exam/"
            f"{attempt.attempt_code}",
        ),
        # An exam its provider has not heard of yet (its push has not got there) goes
        # first, so the registration carries the provider's id for it.
        exam_push=data if backend.needs_exam_sync and not exam.external_id else None,
    )


def _call(backend: ProctoringBackend, plan: Plan) -> Answer:
    """The provider's answer; touches no database."""
    registration = plan.registration
    pushed_id = None
    try:
        if plan.exam_push is not None:
            pushed_id = backend.save_exam(plan.exam_push)
            registration = replace(registration,
                                   exam=replace(registration.exam, external_id=pushed_id))
        external_id = backend.register_exam_attempt(registration)
    except OnboardingRequired as refusal:
        return Answer(pushed_exam=plan.exam_push, pushed_exam_id=pushed_id, refusal=refusal)
    except BackendError as failure:
        return Answer(pushed_exam=plan.exam_push if pushed_id else None,
                      pushed_exam_id=pushed_id, failure=failure)
    return Answer(external_id=external_id, pushed_exam=plan.exam_push,
                  pushed_exam_id=pushed_id)


def _record_push(attempt: Attempt, backend: ProctoringBackend, answer: Answer,
                 now: datetime) -> None:
    if answer.pushed_exam is not None:
        exam_sync.record_exam_push(attempt.exam, backend.name, answer.pushed_exam,
                                       answer.pushed_exam_id, now)


def _record(attempt: Attempt, backend: ProctoringBackend, answer: Answer, actor: Actor,
            now: datetime) -> None:
    _record_push(attempt, backend, answer, now)
    if answer.refusal is not None:
        attempts.refuse_registration(attempt, answer.refusal.onboarding_status,
                                     answer.refusal.external_id, answer.refusal.message,
                                     actor, now)
        return
    attempt.external_id = answer.external_id
    db.session.flush()


def _failed(backend: ProctoringBackend, failure: BackendError) -> RegistrationFailed:
    log.warning("attempt not registered with %s: %s", backend.name, failure.message)
    error = RegistrationFailed(
        _("The proctoring service (%(provider)s) could not set up your exam session just "
          "now. Nothing was saved: please try again in a few minutes.",
          provider=backend.display_name),
        retry=True,
    )
    error.__cause__ = failure
    return error
