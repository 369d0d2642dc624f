"""Writes course staff make on attempts from the dashboard and the API: reset, resume,
verify or reject one attempt, and reset every attempt of a learner on an exam. Each goes
through the attempt lifecycle, so every change keeps its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.errors import BadRequest, NotFound
from proctor_web.models import Attempt, Exam, User
from proctor_web.services.attempts import (
    Action,
    Actor,
    apply_action,
    attempts_for,
    remove_attempt,
)

STAFF_ACTIONS = ("reset", "resume", "verify", "reject")
#: Actions whose reason is required (they change a learner's result or remove their work).
REASON_REQUIRED = frozenset({"reset", "verify", "reject"})


def clean_reason(action: str, reason: Any) -> str:
    text = str(reason or "").strip()
    if len(text) > 2000:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field="reason",
                           maximum=2000), field="reason")
    if action in REASON_REQUIRED and not text:
        raise BadRequest(_("%(field)s: say why; it is kept in the attempt's history.",
                           field="reason"),
                         field="reason")
    return text


def staff_action(attempt: Attempt, action: str, staff: User, reason: Any, now: datetime,
                 *, provider_confirmed: frozenset[int] = frozenset()) -> None:
    """Reset, resume, verify or reject one attempt on behalf of course staff.

    ``provider_confirmed``: ids of attempts whose provider already confirmed deleting its
    record (``services.removal``; the view asks before a reset).
    """
    if action not in STAFF_ACTIONS:
        raise BadRequest(_("%(field)s: expected one of %(choices)s, got %(value)s.",
                           field="action", choices=", ".join(STAFF_ACTIONS),
                           value=repr(action)))
    text = clean_reason(action, reason)
    actor = Actor.staff(staff)
    if action == "reset":
        remove_attempt(attempt, actor, now, text or "reset by course staff",
                       provider_confirmed=attempt.id in provider_confirmed)
    elif action == "resume":
        apply_action(attempt, Action.MARK_READY_TO_RESUME, actor, now, text)
    elif action == "verify":
        apply_action(attempt, Action.VERIFY, actor, now, text)
    else:
        apply_action(attempt, Action.REJECT, actor, now, text)


def attempts_to_reset(exam: Exam, user: User) -> list[Attempt]:
    """Every attempt of ``user`` on ``exam`` (edx's reset_attempts); 404 if none."""
    rows = attempts_for(exam, user)
    if not rows:
        raise NotFound(_("%(username)s has no attempt on exam %(id)s.",
                         username=user.username, id=exam.id))
    return rows


def reset_attempts(exam: Exam, user: User, staff: User, now: datetime, reason: str = "", *,
                   provider_confirmed: frozenset[int] = frozenset()) -> int:
    """Remove every attempt of ``user`` on ``exam`` (edx's reset_attempts); 404 if none."""
    rows = attempts_to_reset(exam, user)
    for attempt in rows:
        remove_attempt(attempt, Actor.staff(staff), now,
                       reason or "attempts reset by course staff",
                       provider_confirmed=attempt.id in provider_confirmed)
    return len(rows)
