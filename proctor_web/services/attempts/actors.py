"""Who acts on an attempt (``Actor``) and what they may ask for (``Action``)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from proctor_web.models import (
    AttemptStatus,
    User,
)

log = logging.getLogger(__name__)
S = AttemptStatus


class Action(enum.StrEnum):
    CREATE = "create"
    DECLINE = "decline"
    CLICK_DOWNLOAD_SOFTWARE = "click_download_software"
    READY = "ready"
    START = "start"
    STOP = "stop"
    SUBMIT = "submit"
    ERROR = "error"
    EXPIRE = "expire"
    VERIFY = "verify"
    REJECT = "reject"
    REQUIRE_SECOND_REVIEW = "require_second_review"
    REVIEW_ERROR = "review_error"
    MARK_READY_TO_RESUME = "mark_ready_to_resume"
    RESUME = "resume"
    RESET_PRACTICE = "reset_practice"
    REMOVE = "remove"
    SET_STATUS = "set_status"
    # A proctoring tool's controls (LTI Assessment Control Service).
    TERMINATE = "terminate"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    ADD_TIME = "add_time"
    FLAG = "flag"


class ActorKind(enum.StrEnum):
    LEARNER = "learner"
    STAFF = "staff"
    PROVIDER = "provider"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who asks for a change. Learners act on their own attempts only."""

    kind: ActorKind
    user: User | None = None
    label: str = ""

    @classmethod
    def learner(cls, user: User) -> Actor:
        return cls(ActorKind.LEARNER, user)

    @classmethod
    def staff(cls, user: User) -> Actor:
        return cls(ActorKind.STAFF, user)

    @classmethod
    def provider(cls, backend_name: str) -> Actor:
        return cls(ActorKind.PROVIDER, None, backend_name)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, None, label)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def tolerant(self) -> bool:
        """Machines resend and race; their out-of-place events are recorded, not refused."""
        return self.kind in (ActorKind.PROVIDER, ActorKind.SYSTEM)

    def __str__(self) -> str:
        if self.user is not None:
            return f"{self.kind}:{self.user.username}"
        return f"{self.kind}:{self.label}"
