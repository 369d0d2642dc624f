"""Exams and their review policies."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.base import Base, TimestampMixin, utcnow


class ExamType(enum.StrEnum):
    TIMED = "timed"
    PROCTORED = "proctored"
    PRACTICE = "practice"
    ONBOARDING = "onboarding"


class Exam(TimestampMixin, Base):
    __tablename__ = "exams"
    __table_args__ = (
        UniqueConstraint("course_id", "content_id"),
        CheckConstraint("time_limit_mins > 0", name="time_limit_positive"),
        Index("ix_exams_course_active", "course_id", "is_active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.course_id", ondelete="CASCADE"))
    content_id: Mapped[str] = mapped_column(String(255), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    exam_name: Mapped[str] = mapped_column(Text)
    time_limit_mins: Mapped[int]
    due_date: Mapped[datetime | None]
    is_proctored: Mapped[bool] = mapped_column(default=False)
    is_practice_exam: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    hide_after_due: Mapped[bool] = mapped_column(default=False)
    backend: Mapped[str | None] = mapped_column(String(100))
    content_url: Mapped[str | None] = mapped_column(String(2000))
    #: Learners with at least one attempt on this exam, kept by services.attempts so the
    #: dashboard's total does not have to count a large course's attempts on every page.
    learners_with_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    review_policy: Mapped[ReviewPolicy | None] = relationship(
        back_populates="exam", cascade="all, delete-orphan", uselist=False
    )

    def is_past_due(self, now: datetime) -> bool:
        return self.due_date is not None and self.due_date <= now

    @property
    def has_backend(self) -> bool:
        """Timed exams never talk to a provider, whatever backend name they carry."""
        return self.is_proctored or self.is_practice_exam

    def exam_type(self, supports_onboarding: bool) -> ExamType:
        """The learner-facing type; onboarding needs a backend that supports it."""
        if not self.is_proctored and not self.is_practice_exam:
            return ExamType.TIMED
        if self.is_proctored and self.is_practice_exam:
            return ExamType.ONBOARDING if supports_onboarding else ExamType.PRACTICE
        if self.is_practice_exam:
            # edx-proctoring labels this combination "proctored" and renders nothing; an
            # unproctored practice exam is a practice exam.
            return ExamType.PRACTICE
        return ExamType.PROCTORED

    def __repr__(self) -> str:
        return f"<Exam {self.id} {self.course_id} {self.content_id}>"


class ReviewPolicy(TimestampMixin, Base):
    """Notes for the provider's reviewers; one per exam, enforced by the database."""

    __tablename__ = "review_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), unique=True)
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_policy: Mapped[str] = mapped_column(Text)

    exam: Mapped[Exam] = relationship(back_populates="review_policy")


class ReviewPolicyHistory(Base):
    """Every earlier version of a policy; attempts may point at a row here."""

    __tablename__ = "review_policy_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    original_id: Mapped[int] = mapped_column(index=True)
    exam_id: Mapped[int] = mapped_column(index=True)
    set_by_user_id: Mapped[int | None]
    review_policy: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
