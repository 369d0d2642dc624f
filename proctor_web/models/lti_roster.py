"""The record of roster syncs from LMSs (LTI Names and Role Provisioning Services)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proctor_web.models.base import Base


class LtiRosterSync(Base):
    """One sync of a context's roster, successful or not: who asked, what changed."""

    __tablename__ = "lti_roster_syncs"
    __table_args__ = (Index("ix_lti_roster_syncs_context_started", "context_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    # "sweep", or the username of the staff member who pressed the button.
    requested_by: Mapped[str] = mapped_column(String(150), default="")
    members_seen: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    deactivated: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
