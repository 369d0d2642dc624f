"""Provider reviews of attempts, their comments, and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.base import Base, TimestampMixin, utcnow


class Review(TimestampMixin, Base):
    """One provider review per attempt code; the attempt itself may be archived since."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_code: Mapped[str] = mapped_column(String(255), unique=True)
    is_attempt_active: Mapped[bool] = mapped_column(default=True)
    #: Stored in the provider's words (``Clean``, ``Rules Violation``, ``Suspicious``,
    #: ``Not Reviewed``), as edx-proctoring does, so exports read the same.
    review_status: Mapped[str] = mapped_column(String(64))
    raw_data: Mapped[str] = mapped_column(Text, default="")
    encrypted_video_url: Mapped[bytes | None] = mapped_column(LargeBinary)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    exam_id: Mapped[int | None] = mapped_column(
        ForeignKey("exams.id", ondelete="SET NULL"), index=True
    )

    comments: Mapped[list[ReviewComment]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewComment.id"
    )


class ReviewComment(Base):
    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    start_time: Mapped[int] = mapped_column(default=0)
    stop_time: Mapped[int] = mapped_column(default=0)
    duration: Mapped[int] = mapped_column(default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    review: Mapped[Review] = relationship(back_populates="comments")


class ReviewHistory(Base):
    """The state of a review before each update or delete (keeps the review id, unlike edx)."""

    __tablename__ = "review_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(index=True)
    attempt_code: Mapped[str] = mapped_column(String(255), index=True)
    review_status: Mapped[str] = mapped_column(String(64))
    raw_data: Mapped[str] = mapped_column(Text, default="")
    encrypted_video_url: Mapped[bytes | None] = mapped_column(LargeBinary)
    reviewed_by_id: Mapped[int | None]
    student_id: Mapped[int | None]
    exam_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
