"""Exam attempts, their statuses, and the history that outlives them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.base import Base, TimestampMixin, utcnow
from proctor_web.models.exam import Exam
from proctor_web.models.user import User


class AttemptStatus(enum.StrEnum):
    CREATED = "created"
    DOWNLOAD_SOFTWARE_CLICKED = "download_software_clicked"
    READY_TO_START = "ready_to_start"
    STARTED = "started"
    READY_TO_SUBMIT = "ready_to_submit"
    SUBMITTED = "submitted"
    SECOND_REVIEW_REQUIRED = "second_review_required"
    VERIFIED = "verified"
    REJECTED = "rejected"
    ERROR = "error"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    EXPIRED = "expired"
    ONBOARDING_MISSING = "onboarding_missing"
    ONBOARDING_PENDING = "onboarding_pending"
    ONBOARDING_FAILED = "onboarding_failed"
    ONBOARDING_EXPIRED = "onboarding_expired"
    ONBOARDING_RESET = "onboarding_reset"


S = AttemptStatus

#: Situations that are computed, never stored: ``expired`` means "the due date passed before
#: the learner finished", which the learner pages derive from the exam and the clock.
VIRTUAL_STATUSES = frozenset({S.EXPIRED})
STORED_STATUSES = tuple(s for s in S if s not in VIRTUAL_STATUSES)

ONBOARDING_ERRORS = frozenset(
    {S.ONBOARDING_MISSING, S.ONBOARDING_PENDING, S.ONBOARDING_FAILED, S.ONBOARDING_EXPIRED}
)
PRE_STARTED = frozenset({S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START})
IN_PROGRESS = frozenset({S.STARTED, S.READY_TO_SUBMIT})
INCOMPLETE = PRE_STARTED | IN_PROGRESS
COMPLETED = frozenset(
    {
        S.DECLINED,
        S.TIMED_OUT,
        S.SUBMITTED,
        S.SECOND_REVIEW_REQUIRED,
        S.VERIFIED,
        S.REJECTED,
        S.ERROR,
    }
) | ONBOARDING_ERRORS
#: Statuses a review outcome may apply to (completed -> completed is allowed: appeals).
REVIEWABLE = frozenset(
    {S.SUBMITTED, S.SECOND_REVIEW_REQUIRED, S.VERIFIED, S.REJECTED, S.ERROR, S.TIMED_OUT}
)

_STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s.value}'" for s in STORED_STATUSES))


class Attempt(TimestampMixin, Base):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        CheckConstraint(
            "allowed_time_limit_mins IS NULL OR allowed_time_limit_mins >= 0",
            name="allowed_time_non_negative",
        ),
        Index("ix_attempts_exam_user", "exam_id", "user_id"),
        Index("ix_attempts_user_status", "user_id", "status"),
        Index("ix_attempts_status_started", "status", "started_at"),
        Index("ix_attempts_exam_status", "exam_id", "status"),  # dashboard counts
        # Dashboard lists: one exam's attempts newest (or oldest) first, a page at a time;
        # user_id makes it covering (the "no newer attempt" check reads no table row).
        Index("ix_attempts_exam_id_order", "exam_id", "id", "user_id"),
        # Outside practice exams a learner has one live attempt per exam; a resumed attempt
        # (kept for the record) makes room for the attempt that resumes it.
        Index(
            "uq_attempts_one_live_per_exam",
            "exam_id",
            "user_id",
            unique=True,
            sqlite_where=text("resumed = 0 AND is_sample_attempt = 0"),
            postgresql_where=text("resumed = false AND is_sample_attempt = false"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    attempt_code: Mapped[str] = mapped_column(String(255), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    allowed_time_limit_mins: Mapped[int | None]
    taking_as_proctored: Mapped[bool] = mapped_column(default=False)
    is_sample_attempt: Mapped[bool] = mapped_column(default=False)
    review_policy_id: Mapped[int | None]
    is_status_acknowledged: Mapped[bool] = mapped_column(default=False)
    time_remaining_seconds: Mapped[int | None]
    is_resumable: Mapped[bool] = mapped_column(default=False)
    ready_to_resume: Mapped[bool] = mapped_column(default=False)
    resumed: Mapped[bool] = mapped_column(default=False)
    #: The clock can be paused by a proctoring tool (LTI ACS): while ``paused_at`` is set the
    #: attempt does not run out, and closed pauses add ``paused_seconds`` to its end.
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: Extra time granted during the attempt (LTI ACS ``update``), on top of allowances.
    extra_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    exam: Mapped[Exam] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_completed(self) -> bool:
        return self.status in COMPLETED

    @property
    def is_in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def is_pre_started(self) -> bool:
        return self.status in PRE_STARTED

    @property
    def is_ready_to_resume(self) -> bool:
        return self.status == S.ERROR and self.ready_to_resume and not self.resumed

    def __repr__(self) -> str:
        return f"<Attempt {self.id} {self.status} user={self.user_id} exam={self.exam_id}>"


class AttemptHistory(Base):
    """One row per change of an attempt, kept after the attempt itself is deleted.

    Deliberately no foreign key to ``attempts``: a reset or removed attempt stays findable
    by its code (late reviews, audits) through these rows.
    """

    __tablename__ = "attempt_history"
    __table_args__ = (Index("ix_attempt_history_attempt_time", "attempt_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int]
    attempt_code: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    exam_id: Mapped[int] = mapped_column(index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(64))
    to_status: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    ignored: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="raise")
