"""Grade publishing to LMSs over LTI Assignment and Grade Services (AGS).

``LtiGradeSettings`` is an exam's choice to publish its proctoring outcome and the scores it
gives. ``LtiScoreOutbox`` holds each score to send, written in the transaction of the
attempt's status change and delivered after commit (retried by the sweep), so a platform
outage delays a score but never loses it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proctor_web.models.base import Base, TimestampMixin


class LtiGradeSettings(TimestampMixin, Base):
    __tablename__ = "lti_grade_settings"
    __table_args__ = (
        CheckConstraint("score_maximum > 0", name="score_maximum_positive"),
        CheckConstraint(
            "score_verified >= 0 AND score_verified <= score_maximum "
            "AND score_rejected >= 0 AND score_rejected <= score_maximum",
            name="scores_in_range",
        ),
    )

    exam_id: Mapped[int] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    publish: Mapped[bool] = mapped_column(default=False)
    score_verified: Mapped[float] = mapped_column(Float, default=100.0)
    score_rejected: Mapped[float] = mapped_column(Float, default=0.0)
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)


_STATUS_CHECK = "status IN ('pending', 'delivered', 'refused', 'dead')"


class LtiScoreOutbox(Base):
    """One score for one learner on one resource link, waiting for (or past) delivery."""

    __tablename__ = "lti_score_outbox"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_lti_score_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The attempt may be reset (deleted) before its score is delivered: keep the score.
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), index=True
    )
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True
    )
    attempt_status: Mapped[str] = mapped_column(String(64))
    # The score as the platform receives it (JSON), frozen when the status changed.
    payload: Mapped[str] = mapped_column(Text)
    lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
