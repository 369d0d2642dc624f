"""A running attempt's clock: pause, unpause, extra time, and flags from a proctoring tool."""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _

from proctor_web.errors import (
    InvalidTransition,
)
from proctor_web.extensions import db
from proctor_web.i18n import N_
from proctor_web.models import (
    Attempt,
    AttemptStatus,
)
from proctor_web.services.attempts.actors import Action, Actor
from proctor_web.services.attempts.engine import (
    _check_actor,
    _close_pause,
    _lock,
    _record,
    _refuse_or_ignore,
)
from proctor_web.services.attempts.transitions import TRANSITIONS

log = logging.getLogger(__name__)
S = AttemptStatus


def _control_clock(
    attempt: Attempt, action: Action, actor: Actor, now: datetime, reason: str,
    seconds: int = 0,
) -> None:
    """Pause, unpause, extra time or a flag: the status stays, the history says what happened.

    A pause that is already running (or an unpause of a running clock) changes nothing and
    is recorded as ignored, like any repeated provider event.
    """
    if action is Action.PAUSE:
        if attempt.paused_at is not None:
            _refuse_or_ignore(attempt, action, actor, now, N_("the clock is already paused"))
            return
        attempt.paused_at = now
    elif action is Action.UNPAUSE:
        if attempt.paused_at is None:
            _refuse_or_ignore(attempt, action, actor, now, N_("the clock is not paused"))
            return
        _close_pause(attempt, now)
    elif action is Action.ADD_TIME:
        attempt.extra_seconds = (attempt.extra_seconds or 0) + seconds
    attempt.modified = now
    _record(attempt, action, attempt.status, attempt.status, actor, now, reason)
    db.session.flush()


def add_time(attempt: Attempt, seconds: int, actor: Actor, now: datetime,
             reason: str = "") -> Attempt:
    """Give an attempt ``seconds`` more (a proctoring tool's ``update``), through the table."""
    if seconds <= 0:
        raise InvalidTransition(_("Extra time must be a positive number of seconds."))
    rule = TRANSITIONS[Action.ADD_TIME]
    _check_actor(attempt, rule, Action.ADD_TIME, actor)
    attempt = _lock(attempt)
    if S(attempt.status) not in rule.sources:
        return _refuse_or_ignore(
            attempt, Action.ADD_TIME, actor, now,
            N_("cannot %(action)s an attempt that is %(status)s"),
            {"action": "add time to", "status": attempt.status},
        )
    _control_clock(attempt, Action.ADD_TIME, actor, now,
                   reason or f"{seconds} seconds added", seconds=seconds)
    return attempt
