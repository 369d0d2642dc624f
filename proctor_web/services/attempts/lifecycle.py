"""What people, providers and the system ask of an attempt: ``apply_action`` (the single
entry point for status changes), removal, and expiry."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.errors import (
    InvalidTransition,
)
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptStatus,
)
from proctor_web.models.attempt import (
    IN_PROGRESS,
)
from proctor_web.services import timing
from proctor_web.services.attempts.actors import Action, Actor, ActorKind
from proctor_web.services.attempts.clock import _control_clock
from proctor_web.services.attempts.creation import _cascade_decline, create_attempt
from proctor_web.services.attempts.engine import (
    _change,
    _check_actor,
    _lock,
    _record,
    _remove,
    admit,
    transition,
)
from proctor_web.services.attempts.transitions import CLOCK_ACTIONS, TRANSITIONS

log = logging.getLogger(__name__)
S = AttemptStatus


def apply_action(
    attempt: Attempt,
    action: Action | str,
    actor: Actor,
    now: datetime,
    reason: str = "",
) -> Attempt:
    """Move ``attempt`` by ``action``; the single entry point for status changes."""
    try:
        action = Action(action)
    except ValueError:
        raise InvalidTransition(_(
            "Unknown action %(action)s. Known actions: %(known)s",
            action=repr(action),
            known=", ".join(a.value for a in Action if a not in _SPECIAL_ACTIONS),
        )) from None
    if action in _SPECIAL_ACTIONS or action is Action.ADD_TIME:
        raise InvalidTransition(_("'%(action)s' is not an action on an existing attempt.",
                                  action=action.value))
    if action not in _KEEPING_STATUS:
        attempt, changed = transition(attempt, action, actor, now, reason)
        if changed and action is Action.DECLINE and actor.kind is ActorKind.LEARNER:
            _cascade_decline(attempt, actor, now)
        return attempt

    attempt, current = admit(attempt, action, actor, now)
    if current is None:
        return attempt
    if action is Action.MARK_READY_TO_RESUME:
        attempt.ready_to_resume = True
        attempt.is_resumable = False
        _record(attempt, action, current, current, actor, now, reason)
        db.session.flush()
        return attempt
    if action is Action.RESUME:
        return _resume(attempt, actor, now, reason)
    if action is Action.RESET_PRACTICE:
        return _reset_practice(attempt, actor, now, reason)
    if action is Action.REMOVE:
        _remove(attempt, actor, now, reason)
        return attempt
    _control_clock(attempt, action, actor, now, reason)
    return attempt


_SPECIAL_ACTIONS = frozenset({Action.CREATE, Action.SET_STATUS})
#: Actions that keep the status: they change flags, the clock, or create a sibling attempt.
_KEEPING_STATUS = frozenset({Action.MARK_READY_TO_RESUME, Action.RESUME, Action.RESET_PRACTICE,
                             Action.REMOVE}) | CLOCK_ACTIONS


# Flag-only and sibling-creating actions ---------------------------------------------------


def _resume(attempt: Attempt, actor: Actor, now: datetime, reason: str) -> Attempt:
    attempt.resumed = True
    attempt.ready_to_resume = False
    _record(attempt, Action.RESUME, attempt.status, attempt.status, actor, now,
            reason or "resumed in a new attempt")
    db.session.flush()
    return create_attempt(
        attempt.exam, attempt.user, actor, now,
        taking_as_proctored=attempt.taking_as_proctored if attempt.exam.is_proctored else None,
        resume_from=attempt,
    )


def _reset_practice(attempt: Attempt, actor: Actor, now: datetime, reason: str) -> Attempt:
    current = S(attempt.status)
    _change(attempt, Action.RESET_PRACTICE, current, S.ONBOARDING_RESET, actor, now, reason)
    return create_attempt(attempt.exam, attempt.user, actor, now, taking_as_proctored=True)


def remove_attempt(
    attempt: Attempt, actor: Actor, now: datetime, reason: str = "", *,
    provider_confirmed: bool = False,
) -> None:
    """Delete an attempt (staff reset). History keeps it findable by its code.

    ``provider_confirmed``: the provider already confirmed deleting its record
    (``services.removal``), so the outbox notes the removal as delivered, not to be sent.
    """
    if not provider_confirmed:
        apply_action(attempt, Action.REMOVE, actor, now, reason)
        return
    # The same checks as apply_action (REMOVE accepts any stored status and has no guard).
    _check_actor(attempt, TRANSITIONS[Action.REMOVE], Action.REMOVE, actor)
    _remove(_lock(attempt), actor, now, reason, provider_confirmed=True)


# Expiry -----------------------------------------------------------------------------------


def expire_if_due(attempt: Attempt, now: datetime) -> bool:
    """Submit an attempt whose time has run out. Called on every read of an attempt."""
    if not timing.has_run_out(attempt, now):
        return False
    apply_action(attempt, Action.EXPIRE, Actor.system("timer"), now, "time ran out")
    return True


def sweep_expired(now: datetime, batch_size: int = 200) -> list[int]:
    """Submit every attempt in progress whose time is over, read or not."""
    expired: list[int] = []
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Attempt)
            .where(
                Attempt.status.in_([s.value for s in IN_PROGRESS]),
                Attempt.id > last_id,
            )
            .order_by(Attempt.id)
            .limit(batch_size)
        ).scalars().all()
        if not batch:
            return expired
        for attempt in batch:
            last_id = attempt.id
            if expire_if_due(attempt, now):
                expired.append(attempt.id)
