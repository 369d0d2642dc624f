"""Per-learner accommodations on an exam, and their history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.base import Base, TimestampMixin, utcnow
from proctor_web.models.exam import Exam
from proctor_web.models.user import User


class AllowanceKey(enum.StrEnum):
    ADDITIONAL_TIME_GRANTED = "additional_time_granted"
    REVIEW_POLICY_EXCEPTION = "review_policy_exception"


#: Accepted as input only: converted to minutes per exam, never stored.
TIME_MULTIPLIER = "time_multiplier"


class Allowance(TimestampMixin, Base):
    __tablename__ = "allowances"
    __table_args__ = (
        UniqueConstraint("user_id", "exam_id", "key"),
        CheckConstraint(
            "key IN ('additional_time_granted', 'review_policy_exception')", name="key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    exam: Mapped[Exam] = relationship(lazy="joined", innerjoin=True)


class AllowanceHistory(Base):
    __tablename__ = "allowance_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    allowance_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    exam_id: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
