"""The transition table: for each action, the statuses it applies to, who may ask for it,
a guard, and the status it leads to. Data, not if-chains: ``engine`` reads it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from proctor_web.i18n import N_
from proctor_web.models import (
    Attempt,
    AttemptStatus,
)
from proctor_web.models.attempt import (
    IN_PROGRESS,
    INCOMPLETE,
    PRE_STARTED,
    REVIEWABLE,
    VIRTUAL_STATUSES,
)
from proctor_web.services import exams
from proctor_web.services.attempts.actors import Action, ActorKind

log = logging.getLogger(__name__)
S = AttemptStatus


#: A guard returns the reason the rule does not apply to this attempt, or None. The reason
#: is an untranslated message (marked with ``N_``): history keeps it in English, and it is
#: translated only when it is refused to a person.
Guard = Callable[[Attempt], str | None]

L, ST, P, SY = ActorKind.LEARNER, ActorKind.STAFF, ActorKind.PROVIDER, ActorKind.SYSTEM


@dataclass(frozen=True)
class Rule:
    sources: frozenset[AttemptStatus]
    #: None keeps the status (the action changes flags or creates a sibling attempt).
    target: AttemptStatus | None
    actors: frozenset[ActorKind]
    guard: Guard | None = None


def _unproctored_or_set_up(attempt: Attempt) -> str | None:
    if attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED) and attempt.taking_as_proctored:
        return N_("the proctoring software has not reported that it is ready yet")
    return None


def _resumable(attempt: Attempt) -> str | None:
    if attempt.is_sample_attempt:
        return N_("practice attempts are retried by the learner, not resumed")
    return None if attempt.is_resumable else N_("this attempt cannot be resumed")


def _ready_to_resume(attempt: Attempt) -> str | None:
    if attempt.ready_to_resume and not attempt.resumed:
        return None
    return N_("course staff have not allowed this attempt to resume")


def _may_opt_out(attempt: Attempt) -> str | None:
    if attempt.is_sample_attempt or not attempt.exam.is_proctored:
        return N_("only proctored exams can be taken without proctoring")
    if not exams.allows_opt_out(attempt.exam):
        return N_("this course does not allow taking proctored exams without proctoring")
    return None


def _sample(attempt: Attempt) -> str | None:
    return None if attempt.is_sample_attempt else N_("only practice attempts can be retried")


_ANY_STORED = frozenset(s for s in S if s not in VIRTUAL_STATUSES)

#: The lifecycle. Read it as: ``action`` moves an attempt from any of ``sources`` to
#: ``target`` when asked by one of ``actors`` and the guard has no objection.
TRANSITIONS: dict[Action, Rule] = {
    # Creation is not a move of an existing attempt; see ``create_attempt``.
    Action.CREATE: Rule(frozenset(), S.CREATED, frozenset({L, ST})),
    Action.DECLINE: Rule(PRE_STARTED, S.DECLINED, frozenset({L, SY}), _may_opt_out),
    Action.CLICK_DOWNLOAD_SOFTWARE: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED}), S.DOWNLOAD_SOFTWARE_CLICKED,
        frozenset({L}),
    ),
    Action.READY: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED}), S.READY_TO_START, frozenset({P, SY})
    ),
    Action.START: Rule(
        frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START, S.READY_TO_SUBMIT}),
        S.STARTED,
        frozenset({L}),
        _unproctored_or_set_up,
    ),
    Action.STOP: Rule(frozenset({S.STARTED}), S.READY_TO_SUBMIT, frozenset({L})),
    Action.SUBMIT: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({L})),
    # A learner at the submit page is done; a failing ping there must not turn their work
    # into an error (edx-proctoring PR #654).
    Action.ERROR: Rule(PRE_STARTED | {S.STARTED}, S.ERROR, frozenset({L, ST, P, SY})),
    Action.EXPIRE: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({SY})),
    Action.VERIFY: Rule(REVIEWABLE - {S.VERIFIED}, S.VERIFIED, frozenset({P, ST})),
    # A failing review ends an attempt wherever it stands, as in edx-proctoring (any
    # incomplete -> completed move is legal there): the provider saw enough.
    Action.REJECT: Rule((REVIEWABLE - {S.REJECTED}) | INCOMPLETE, S.REJECTED,
                        frozenset({P, ST})),
    Action.REQUIRE_SECOND_REVIEW: Rule(
        INCOMPLETE | {S.SUBMITTED, S.TIMED_OUT}, S.SECOND_REVIEW_REQUIRED, frozenset({P})
    ),
    # A review of an attempt never submitted (a passing one included, as in edx-proctoring
    # >= 6.1.2) cannot vouch for it: it errors wherever the attempt stands.
    Action.REVIEW_ERROR: Rule(
        INCOMPLETE | {S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.TIMED_OUT}, S.ERROR, frozenset({P})
    ),
    Action.MARK_READY_TO_RESUME: Rule(frozenset({S.ERROR}), None, frozenset({ST}), _resumable),
    Action.RESUME: Rule(frozenset({S.ERROR}), None, frozenset({L}), _ready_to_resume),
    Action.RESET_PRACTICE: Rule(
        frozenset(
            {S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.REJECTED, S.ERROR, S.TIMED_OUT}
        ),
        S.ONBOARDING_RESET,
        frozenset({L}),
        _sample,
    ),
    Action.REMOVE: Rule(_ANY_STORED, None, frozenset({ST, SY})),
    # The proctoring tool ends a session it watches: the work is submitted as it stands.
    Action.TERMINATE: Rule(IN_PROGRESS, S.SUBMITTED, frozenset({P})),
    Action.PAUSE: Rule(IN_PROGRESS, None, frozenset({P})),
    Action.UNPAUSE: Rule(IN_PROGRESS, None, frozenset({P})),
    Action.ADD_TIME: Rule(INCOMPLETE, None, frozenset({P, ST})),
    Action.FLAG: Rule(_ANY_STORED, None, frozenset({P})),
}

#: Actions that change the attempt's clock or only record something, keeping its status.
CLOCK_ACTIONS = frozenset({Action.PAUSE, Action.UNPAUSE, Action.ADD_TIME, Action.FLAG})
