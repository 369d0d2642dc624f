"""Provider plumbing: OAuth clients of provider service accounts, outboxes, webhook receipts.

The two outboxes (provider events, emails) are written in the same transaction as the change
that causes them and delivered by background work after commit; a failed delivery stays
pending with a later ``next_attempt_at`` until a retry or the sweep gets it through (or it
becomes a dead letter after ``OUTBOX_MAX_TRIES`` tries), so an outage loses nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proctor_web.models.base import Base, TimestampMixin, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    #: The provider refused the event for good (a 4xx); kept for operators, not retried.
    REFUSED = "refused"
    #: Dead letter: still failing after ``OUTBOX_MAX_TRIES`` tries; kept until an operator
    #: retries it (instructor overview, ``flask proctor outbox --retry``).
    DEAD = "dead"


_DELIVERY_CHECK = "status IN ('pending', 'delivered', 'refused', 'dead')"


class OAuthClient(TimestampMixin, Base):
    """A provider's service account, allowed to call our callbacks for one backend only."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    #: sha256 hex of the secret; secrets are long random strings, so a fast hash suffices.
    secret_hash: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)


class ProviderEvent(Base):
    """One start/stop/error/remove notification for a provider, delivered after commit."""

    __tablename__ = "provider_events"
    __table_args__ = (
        CheckConstraint(_DELIVERY_CHECK, name="status"),
        CheckConstraint("kind IN ('start', 'stop', 'error', 'remove')", name="kind"),
        Index("ix_provider_events_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    attempt_id: Mapped[int | None]
    attempt_code: Mapped[str] = mapped_column(String(255), index=True)
    exam_external_id: Mapped[str | None] = mapped_column(String(255))
    attempt_external_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class EmailMessage(Base):
    """A rendered email waiting to be sent (or sent), so a failed send is retried, not lost."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint(_DELIVERY_CHECK, name="status"),
        Index("ix_email_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Template name (``attempt_verified`` ...), for operators and tests.
    template: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(index=True)
    attempt_id: Mapped[int | None]
    subject: Mapped[str] = mapped_column(String(255))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class WebhookReceipt(Base):
    """One row per accepted provider callback; the unique key makes a repeat a no-op."""

    __tablename__ = "webhook_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of backend, callback kind, target and the canonical JSON body.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    backend: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExamSyncState(Base):
    """What we last pushed successfully to an exam's provider, so the sweep re-pushes changes
    that failed to reach it when the exam was saved."""

    __tablename__ = "exam_sync_state"

    exam_id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(100))
    synced_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
