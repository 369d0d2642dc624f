"""Writes course staff make on attempts from the dashboard and the API: reset, resume,
verify or reject one attempt, and reset every attempt of a learner on an exam. Each goes
through the attempt lifecycle, so every change keeps its history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proctor_web.errors import AlreadyExists, BadRequest, InvalidTransition, NotFound
from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptStatus, Exam, User
from proctor_web.models.attempt import REVIEWABLE
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


# Reviews ----------------------------------------------------------------------------------

REVIEW_DECISIONS = ("verify", "reject")
#: Statuses each decision applies to: a finished attempt that has not that outcome yet.
DECIDABLE = {
    "verify": REVIEWABLE - {AttemptStatus.VERIFIED},
    "reject": REVIEWABLE - {AttemptStatus.REJECTED},
}
#: At most this many attempts in one bulk decision (a page of the list is 25).
BULK_LIMIT = 200


def can_decide(attempt: Attempt, decision: str) -> bool:
    return AttemptStatus(attempt.status) in DECIDABLE[decision]


def clean_decision(decision: Any) -> str:
    text = str(decision or "").strip()
    if text not in REVIEW_DECISIONS:
        raise BadRequest(_("%(field)s: expected one of %(choices)s, got %(value)s.",
                           field="decision", choices=", ".join(REVIEW_DECISIONS),
                           value=repr(text)), field="decision")
    return text


def decide_review(attempt: Attempt, decision: Any, staff: User, reason: Any,
                  now: datetime) -> str:
    """Verify or reject one finished attempt from its review page; returns the decision.

    Narrower than the lifecycle, which lets a reject end an attempt still running (a
    provider saw enough): from a review, staff decide finished attempts only."""
    decision = clean_decision(decision)
    if not can_decide(attempt, decision):
        raise InvalidTransition(
            _("Only finished attempts that are not verified yet can be verified.")
            if decision == "verify" else
            _("Only finished attempts that are not rejected yet can be rejected."))
    staff_action(attempt, decision, staff, reason, now)
    return decision


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk decision did to one attempt. ``problem``: None when done; "gone" (no such
    attempt in the course, or reset since), "not_decidable" (its status does not take this
    decision) or "refused" (the lifecycle refused; ``message`` says why)."""

    attempt_id: int
    attempt: Attempt | None
    problem: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _attempt_ids(values: Sequence[Any]) -> list[int]:
    ids: list[int] = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit():
            raise BadRequest(_("%(field)s: expected an attempt id, got %(value)s.",
                               field="attempt_ids", value=repr(value)), field="attempt_ids")
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise BadRequest(_("Choose at least one attempt."), field="attempt_ids")
    if len(ids) > BULK_LIMIT:
        raise BadRequest(_("%(field)s: at most %(maximum)d attempts at a time.",
                           field="attempt_ids", maximum=BULK_LIMIT), field="attempt_ids")
    return ids


def bulk_review(course_id: str, attempt_ids: Sequence[Any], decision: Any, staff: User,
                reason: Any, now: datetime) -> list[BulkOutcome]:
    """Verify or reject several attempts of the course with one reason, each through the
    lifecycle (one history row each). An attempt that cannot take the decision is reported
    and left as it is; the others are still decided. A bad form (no attempt, no reason, an
    unknown decision) refuses the whole request."""
    decision = clean_decision(decision)
    ids = _attempt_ids(attempt_ids)
    text = clean_reason(decision, reason)
    found = {
        attempt.id: attempt for attempt in db.session.execute(
            select(Attempt).where(Attempt.id.in_(ids))
            .options(joinedload(Attempt.user), joinedload(Attempt.exam))
        ).unique().scalars()
        if attempt.exam.course_id == course_id
    }
    outcomes = []
    for attempt_id in ids:
        attempt = found.get(attempt_id)
        if attempt is None:
            outcomes.append(BulkOutcome(attempt_id, None, "gone"))
            continue
        if not can_decide(attempt, decision):
            outcomes.append(BulkOutcome(attempt_id, attempt, "not_decidable"))
            continue
        try:
            # A savepoint per attempt: one refusal undoes its own attempt only.
            with db.session.begin_nested():
                staff_action(attempt, decision, staff, text, now)
        except (BadRequest, InvalidTransition, AlreadyExists, NotFound) as error:
            outcomes.append(BulkOutcome(attempt_id, attempt, "refused", error.message))
            continue
        outcomes.append(BulkOutcome(attempt_id, attempt))
    return outcomes
