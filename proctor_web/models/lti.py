"""LTI 1.3 tool side: the platforms (LMSs) that launch us and what their launches tell us.

A platform is registered once (issuer + client id) with its endpoints; its deployments are
the installs of our tool it may launch from. Contexts map the platform's courses onto ours,
resource links map the platform's placements onto our exams and remember the grade-service
(AGS) and roster-service (NRPS) endpoints the launches announce.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proctor_web.models.base import Base, TimestampMixin


class LtiPlatform(TimestampMixin, Base):
    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    is_active: Mapped[bool] = mapped_column(default=True)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="LtiDeployment.id"
    )

    def __repr__(self) -> str:
        return f"<LtiPlatform {self.issuer} {self.client_id}>"


class LtiDeployment(TimestampMixin, Base):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiContext(TimestampMixin, Base):
    """A platform's course (LTI context) and the course it is here."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[str] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255), default="")
    # Names and Role Provisioning Services: the context's membership URL, when offered.
    nrps_memberships_url: Mapped[str | None] = mapped_column(String(1024))
    roster_synced_at: Mapped[datetime | None]

    platform: Mapped[LtiPlatform] = relationship()


class LtiResourceLink(TimestampMixin, Base):
    """A placement of our tool in a platform's course, and the exam it opens."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[int] = mapped_column(
        ForeignKey("lti_contexts.id", ondelete="CASCADE"), index=True
    )
    resource_link_id: Mapped[str] = mapped_column(String(255))
    exam_id: Mapped[int | None] = mapped_column(
        ForeignKey("exams.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255), default="")
    # Assignment and Grade Services, as the latest launch announced them.
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    ags_scopes: Mapped[str] = mapped_column(Text, default="")  # space-separated

    platform: Mapped[LtiPlatform] = relationship()
    context: Mapped[LtiContext] = relationship()


class LtiLoginState(Base):
    """One OIDC login we started: the ``state`` we sent and the ``nonce`` the id_token must
    carry back. Used up by the launch that answers it; expired rows are swept at login."""

    __tablename__ = "lti_login_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    # The platform's postMessage storage frame, when it offered one (lti_storage_target).
    storage_target: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LtiNonce(Base):
    """A nonce an accepted launch carried: the database refuses it a second time."""

    __tablename__ = "lti_nonces"
    __table_args__ = (UniqueConstraint("platform_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)
