"""The engine of the lifecycle: every status change goes through ``_change``.

It locks the attempt row, checks the table (``transitions``), applies the effects of entering
the new status, writes one history row, logs one line and announces ``attempt_changed``.
People asking for something the table does not allow get ``InvalidTransition``; providers
and the system repeating or sending stale events get a history row marked ``ignored``
instead, so a late callback can never drag an attempt backwards."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from proctor_web.database import transaction_notes
from proctor_web.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.i18n import N_
from proctor_web.models import (
    Attempt,
    AttemptHistory,
    AttemptStatus,
    Exam,
)
from proctor_web.models.attempt import (
    COMPLETED,
    IN_PROGRESS,
    INCOMPLETE,
    ONBOARDING_ERRORS,
    PRE_STARTED,
    VIRTUAL_STATUSES,
)
from proctor_web.services import allowances, exams, timing
from proctor_web.services.attempts.actors import Action, Actor, ActorKind
from proctor_web.services.attempts.transitions import TRANSITIONS, Rule
from proctor_web.services.domain_events import (
    AttemptChanged,
    AttemptRemoved,
    announce,
    attempt_changed,
    attempt_removed,
)

# The lifecycle logs under the package's name: one logger for operators to follow.
log = logging.getLogger("proctor_web.services.attempts")
S = AttemptStatus


_LOCKED_ON_LOAD = "attempt locked on load"


def note_locked_on_load(attempt: Attempt) -> None:
    """``attempt`` was just loaded by a ``SELECT ... FOR UPDATE OF attempts`` in the current
    transaction (a status write's view): the next ``_lock`` of it need not read it again."""
    transaction_notes(db.session())[_LOCKED_ON_LOAD] = attempt.id


def _lock(attempt: Attempt) -> Attempt:
    """Re-read the attempt under a row lock so the check and the change see the same row
    (once: not when this transaction's load of it took the lock already)."""
    notes = transaction_notes(db.session())
    if notes.pop(_LOCKED_ON_LOAD, None) == attempt.id and attempt in db.session:
        return attempt
    locked = db.session.execute(
        select(Attempt)
        .where(Attempt.id == attempt.id)
        .with_for_update(of=Attempt)
        .execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()
    if locked is None:
        raise NotFound(_("Attempt %(id)s no longer exists.", id=attempt.id))
    return locked


def _record(
    attempt: Attempt,
    action: Action,
    from_status: str | None,
    to_status: str | None,
    actor: Actor,
    now: datetime,
    reason: str = "",
    ignored: bool = False,
) -> AttemptHistory:
    row = AttemptHistory(
        attempt_id=attempt.id,
        attempt_code=attempt.attempt_code,
        user_id=attempt.user_id,
        exam_id=attempt.exam_id,
        external_id=attempt.external_id,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.user_id,
        actor_kind=actor.kind.value,
        reason=reason,
        ignored=ignored,
        created_at=now,
    )
    db.session.add(row)
    log.info(
        "attempt %s %s %s: %s -> %s by %s%s%s",
        attempt.id,
        attempt.attempt_code,
        action.value,
        from_status,
        to_status,
        actor,
        " (ignored)" if ignored else "",
        f" [{reason}]" if reason else "",
        # Fields of the JSON log line (PROCTOR_LOG_FORMAT=json).
        extra={"attempt_id": attempt.id, "user_id": attempt.user_id, "action": action.value,
               "from_status": from_status, "to_status": to_status,
               "actor": actor.kind.value, "ignored": ignored},
    )
    return row


def _check_actor(attempt: Attempt, rule: Rule, action: Action, actor: Actor) -> None:
    if actor.kind not in rule.actors:
        raise PermissionDenied(_("'%(action)s' cannot be done by a %(actor)s.",
                                 action=action.value, actor=actor.kind.value))
    if actor.kind is ActorKind.LEARNER and actor.user_id != attempt.user_id:
        raise PermissionDenied(_("You can only act on your own exam attempts."))


def _refuse_or_ignore(
    attempt: Attempt, action: Action, actor: Actor, now: datetime, why: str,
    values: dict[str, str] | None = None,
) -> Attempt:
    """``why`` is an untranslated message with ``%(name)s`` placeholders filled by ``values``:
    ignored events keep it in English in the history, people get it in their language."""
    if actor.tolerant:
        reason = why % values if values else why  # the history stays in English
        _record(attempt, action, attempt.status, attempt.status, actor, now, reason,
                ignored=True)
        db.session.flush()
        return attempt
    raise InvalidTransition(_(why, **(values or {})), status=attempt.status,
                            action=action.value)


def admit(
    attempt: Attempt, action: Action, actor: Actor, now: datetime
) -> tuple[Attempt, AttemptStatus | None]:
    """Lock ``attempt`` and check ``action`` against the table. Returns the locked attempt and
    its status, or the attempt and None when a provider's or the system's out-of-place event
    was recorded as ignored (a person's is refused with ``InvalidTransition``)."""
    rule = TRANSITIONS[action]
    _check_actor(attempt, rule, action, actor)
    attempt = _lock(attempt)
    current = S(attempt.status)
    if current not in rule.sources:
        return _refuse_or_ignore(
            attempt, action, actor, now,
            N_("cannot %(action)s an attempt that is %(status)s"),
            {"action": action.value.replace("_", " "), "status": current.value},
        ), None
    if rule.guard is not None and (objection := rule.guard(attempt)) is not None:
        return _refuse_or_ignore(attempt, action, actor, now, objection), None
    return attempt, current


def transition(
    attempt: Attempt, action: Action, actor: Actor, now: datetime, reason: str = ""
) -> tuple[Attempt, bool]:
    """A move of the table to the action's target status; (attempt, whether it changed)."""
    attempt, current = admit(attempt, action, actor, now)
    if current is None:
        return attempt, False
    target = TRANSITIONS[action].target
    assert target is not None
    if action is Action.EXPIRE and current_app.config["ALLOW_TIMED_OUT_STATE"]:
        target = S.TIMED_OUT
    if target == current:
        # A repeated click (e.g. "start system check" twice) changes nothing.
        return attempt, False
    _change(attempt, action, current, target, actor, now, reason)
    return attempt, True


def _change(
    attempt: Attempt,
    action: Action,
    current: AttemptStatus,
    target: AttemptStatus,
    actor: Actor,
    now: datetime,
    reason: str,
) -> None:
    _enter(attempt, current, target, action, now)
    attempt.status = target.value
    attempt.modified = now
    _record(attempt, action, current.value, target.value, actor, now, reason)
    db.session.flush()
    announce(attempt_changed, AttemptChanged(attempt, current.value, target.value, action.value,
                                             actor.kind.value, now))
    _after(attempt, current, target, actor, now)


def _enter(
    attempt: Attempt, current: AttemptStatus, target: AttemptStatus, action: Action, now: datetime
) -> None:
    """Field changes that come with entering ``target``."""
    if target not in IN_PROGRESS and attempt.paused_at is not None:
        _close_pause(attempt, now)
    if target is S.STARTED and attempt.started_at is None:
        # Time is frozen at the first start, never at creation (edx-proctoring PR #412).
        attempt.started_at = now
        attempt.allowed_time_limit_mins = compute_allowed_minutes(attempt, now)
    if target is S.ERROR:
        if current in IN_PROGRESS:
            attempt.time_remaining_seconds = timing.remaining_seconds(attempt, now)
        attempt.is_resumable = not (attempt.ready_to_resume or attempt.resumed)
    if target in (S.SUBMITTED, S.TIMED_OUT) and current in IN_PROGRESS:
        end = timing.ends_at(attempt)
        attempt.completed_at = min(end, now) if (action is Action.EXPIRE and end) else now
        attempt.is_resumable = False
    if target is S.DECLINED:
        attempt.taking_as_proctored = False
        attempt.external_id = None
    if target in COMPLETED and attempt.completed_at is None:
        attempt.completed_at = now


def _after(
    attempt: Attempt, current: AttemptStatus, target: AttemptStatus, actor: Actor, now: datetime
) -> None:
    """Consequences for other rows, once the change itself is recorded."""
    if target in COMPLETED and attempt.is_sample_attempt and target not in ONBOARDING_ERRORS:
        backend = exams.backend_for(attempt.exam)
        if backend is not None and backend.supports_onboarding:
            _clear_onboarding_errors(attempt.user_id, actor, now)


def compute_allowed_minutes(attempt: Attempt, now: datetime) -> int:
    exam = attempt.exam
    return timing.allowed_minutes(
        exam.time_limit_mins,
        allowances.extra_minutes(attempt.user_id, exam.id),
        now,
        exams.due_date_for(exam),
        resume_seconds=attempt.time_remaining_seconds,
    )


def _close_pause(attempt: Attempt, now: datetime) -> None:
    assert attempt.paused_at is not None
    # Whole seconds, rounded up: a learner never loses a fraction of a second to a pause.
    attempt.paused_seconds = (attempt.paused_seconds or 0) + max(
        0, math.ceil((now - attempt.paused_at).total_seconds()))
    attempt.paused_at = None


def _clear_onboarding_errors(user_id: int, actor: Actor, now: datetime) -> None:
    """A finished onboarding attempt lifts the 'onboarding missing' blocks on other exams."""
    blocked = db.session.execute(
        select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.status.in_([s.value for s in ONBOARDING_ERRORS]),
        )
    ).scalars().all()
    for attempt in blocked:
        _remove(attempt, Actor(ActorKind.SYSTEM, actor.user, "onboarding completed"), now,
                "onboarding attempt completed")


def _remove(attempt: Attempt, actor: Actor, now: datetime, reason: str,
            provider_confirmed: bool = False) -> None:
    _record(attempt, Action.REMOVE, attempt.status, None, actor, now, reason)
    announce(attempt_removed, AttemptRemoved(attempt, now, provider_confirmed))
    exam, user_id = attempt.exam, attempt.user_id
    db.session.delete(attempt)
    db.session.flush()
    others = db.session.execute(
        select(Attempt.id).where(Attempt.exam_id == exam.id, Attempt.user_id == user_id)
        .limit(1)
    ).first()
    if others is None:
        _count_learner(exam, -1)


def _count_learner(exam: Exam, delta: int) -> None:
    """Keep ``exam.learners_with_attempts`` in step, in SQL so concurrent changes add up."""
    db.session.execute(
        update(Exam)
        .where(Exam.id == exam.id)
        .values(learners_with_attempts=Exam.learners_with_attempts + delta)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(exam, ["learners_with_attempts"])


def recount_learners(exam_ids: Iterable[int] | None = None) -> None:
    """Recompute the learner counts from the attempts (after bulk loads or imports)."""
    distinct_learners = (
        select(func.count(func.distinct(Attempt.user_id)))
        .where(Attempt.exam_id == Exam.id)
        .scalar_subquery()
    )
    statement = update(Exam).values(learners_with_attempts=distinct_learners)
    if exam_ids is not None:
        statement = statement.where(Exam.id.in_(list(exam_ids)))
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.expire_all()


# Administrative status changes ------------------------------------------------------------


def set_attempt_status(
    attempt: Attempt, status: str, actor: Actor, now: datetime, reason: str = ""
) -> Attempt:
    """Operator override (CLI, admin). Follows the reference's legality rule, not the table.

    A completed attempt never becomes incomplete again; an attempt in progress sent back to
    a pre-start status is submitted instead, so nobody gets a second go by accident.
    """
    try:
        target = S(status)
    except ValueError:
        raise InvalidTransition(_(
            "Unknown status %(status)s. Known statuses: %(known)s",
            status=repr(status),
            known=", ".join(s.value for s in S if s not in VIRTUAL_STATUSES),
        )) from None
    if target in VIRTUAL_STATUSES:
        raise InvalidTransition(_("'%(status)s' is computed from dates and cannot be set.",
                                  status=target.value))
    attempt = _lock(attempt)
    current = S(attempt.status)
    if current in COMPLETED and target in INCOMPLETE:
        raise InvalidTransition(_(
            "Attempt %(id)s is %(status)s, which is final; it cannot go back to %(target)s.",
            id=attempt.id, status=current.value, target=target.value,
        ))
    if current in IN_PROGRESS and target in PRE_STARTED:
        target = S.SUBMITTED
    if target is S.TIMED_OUT and not current_app.config["ALLOW_TIMED_OUT_STATE"]:
        target = S.SUBMITTED
    if target == current:
        raise InvalidTransition(_("Attempt %(id)s is already %(status)s.", id=attempt.id,
                                  status=current.value))
    _change(attempt, Action.SET_STATUS, current, target, actor, now, reason)
    return attempt
