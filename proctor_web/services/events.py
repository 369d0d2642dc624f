"""What happens outside the attempt row when its status changes.

``services.attempts`` calls these after every recorded change; this is where provider
notifications and status emails are queued (issue 4).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proctor_web.models import Attempt
    from proctor_web.services.attempts import Action, Actor


def attempt_changed(
    attempt: Attempt,
    from_status: str,
    to_status: str,
    action: Action,
    actor: Actor,
    now: datetime,
) -> None:
    """Called once per recorded status change, after the history row is written."""


def attempt_removed(attempt: Attempt, actor: Actor, now: datetime) -> None:
    """Called before an attempt row is deleted (staff reset, onboarding cleanup)."""
