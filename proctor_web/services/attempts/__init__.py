"""The attempt lifecycle: one transition table, and the only code that changes a status.

The package's public face; each part does one job:

- ``actors``: who acts (``Actor``, ``ActorKind``) and what they ask for (``Action``);
- ``transitions``: the table (``TRANSITIONS``), data the engine reads;
- ``engine``: locking, checking, entering a status, history rows, ``attempt_changed``;
- ``lifecycle``: ``apply_action`` (the single entry point), removal, expiry;
- ``creation``: new attempts, declined siblings, the outcome of provider registration;
- ``clock``: pause, unpause, extra time and flags from a proctoring tool;
- ``queries``: finding attempts and their history.

The lifecycle announces (``services.domain_events``) and knows nobody who listens: provider
sync, notifications, reviews, registration and LTI grades subscribe in ``create_app``.
"""

from proctor_web.services.attempts.actors import Action, Actor, ActorKind
from proctor_web.services.attempts.clock import add_time
from proctor_web.services.attempts.creation import (
    create_attempt,
    new_attempt_code,
    refuse_registration,
    withdraw_resume,
)
from proctor_web.services.attempts.engine import (
    compute_allowed_minutes,
    note_locked_on_load,
    recount_learners,
    set_attempt_status,
)
from proctor_web.services.attempts.lifecycle import (
    apply_action,
    expire_if_due,
    remove_attempt,
    sweep_expired,
)
from proctor_web.services.attempts.queries import (
    active_attempt,
    attempts_for,
    current_attempt,
    find_archived_attempt,
    get_attempt,
    get_attempt_by_code,
    get_attempt_by_external_id,
    history_of,
    statuses,
    submitted_at_in_history,
)
from proctor_web.services.attempts.transitions import TRANSITIONS, Rule

__all__ = [
    "TRANSITIONS", "Action", "Actor", "ActorKind", "Rule", "active_attempt", "add_time",
    "apply_action", "attempts_for", "compute_allowed_minutes", "create_attempt",
    "current_attempt", "expire_if_due", "find_archived_attempt", "get_attempt",
    "get_attempt_by_code", "get_attempt_by_external_id", "history_of", "new_attempt_code",
    "note_locked_on_load",
    "recount_learners", "refuse_registration", "remove_attempt", "set_attempt_status",
    "statuses", "submitted_at_in_history", "sweep_expired", "withdraw_resume",
]
