"""LTI Proctoring Services, platform side: the sessions we run with proctoring tools, the
one-time values tools send us, and the incidents they report.

A session binds the opaque ``session_data`` we hand the tool in LtiStartProctoring to one
user, one resource link (the exam) and one attempt number; the tool must echo it back in
LtiStartAssessment and name the same triple in every Assessment Control Service call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.attempt import Attempt
from proctor_web.models.base import Base, TimestampMixin, utcnow


class LtiProctoringSession(TimestampMixin, Base):
    __tablename__ = "lti_proctoring_sessions"
    __table_args__ = (
        Index("ix_lti_proctoring_sessions_lookup", "backend", "sub", "resource_link_id",
              "attempt_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(String(100))
    #: The user's id at this tool (``sub``): stable per backend, reveals nothing of ours.
    sub: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    attempt_number: Mapped[int]
    session_data: Mapped[str] = mapped_column(String(128), unique=True)
    assessment_started_at: Mapped[datetime | None]
    end_assessment_return: Mapped[bool] = mapped_column(default=False)
    tool_return_url: Mapped[str | None] = mapped_column(String(2000))
    #: JSON of the identity claims the tool verified, when it sent them.
    verified_user: Mapped[str | None] = mapped_column(Text)
    end_sent_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"<LtiProctoringSession {self.id} attempt={self.attempt_id}>"


class LtiUsedValue(Base):
    """A nonce or ``jti`` a tool has used; the unique key makes a replay fail to insert.

    Rows are kept until the token carrying them has expired, after which the token itself
    would be refused, so they can be purged.
    """

    __tablename__ = "lti_used_values"
    __table_args__ = (UniqueConstraint("client_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AttemptIncident(Base):
    """What a proctoring tool told us about an attempt (ACS flag, pause, terminate ...).

    Append-only, and like the attempt history without a foreign key, so incidents outlive
    a reset attempt and stay findable by its code.
    """

    __tablename__ = "attempt_incidents"
    __table_args__ = (
        CheckConstraint("severity IS NULL OR (severity >= 0 AND severity <= 1)",
                        name="severity_range"),
        Index("ix_attempt_incidents_attempt", "attempt_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int]
    attempt_code: Mapped[str] = mapped_column(String(255), index=True)
    exam_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    incident_time: Mapped[datetime | None]
    severity: Mapped[float | None] = mapped_column(Float)
    reason_code: Mapped[str] = mapped_column(String(255), default="")
    reason_msg: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
