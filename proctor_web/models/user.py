"""People and their place in courses.

A user is a local account today; ``UserIdentity`` rows tie the same person to identities an
LMS asserts over LTI 1.3 (issuer + subject), so launches can find or create users later
without a schema change.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from proctor_web.models.base import Base, TimestampMixin


class CourseRole(enum.StrEnum):
    LEARNER = "learner"
    STAFF = "staff"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column("is_active", default=True)
    retired_at: Mapped[datetime | None]
    #: Part of every session's user id (``get_id``): replacing it ends every session and
    #: remember-me cookie of this user at once (logout, password change, deactivation).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    #: The language this person last used on our pages (``en``, ``es``); their emails are
    #: written in it. None until they use one (the site's default then applies).
    locale: Mapped[str | None] = mapped_column(String(16))
    #: The time zone (IANA name) this person's browser last reported on our pages; their
    #: emails show times in it, UTC beside. None until one is reported (UTC alone then).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    memberships: Mapped[list[CourseMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts at login
        return self.is_active_account

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the current session token."""
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


#: "Forgot your password?" finds accounts by address whatever its case: an index on the
#: lower-cased address, so that lookup does not scan the table (migration 0014).
Index("ix_users_email_lower", func.lower(User.email))


class UserIdentity(TimestampMixin, Base):
    """An identity asserted by an external platform (LTI 1.3 ``iss`` + ``sub``)."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))


class Course(TimestampMixin, Base):
    """A course of the LMS, keyed by its opaque id (``course-v1:Org+Course+Run``)."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    proctoring_escalation_email: Mapped[str | None] = mapped_column(String(254))
    allow_proctoring_opt_out: Mapped[bool] = mapped_column(default=False)
    end_date: Mapped[datetime | None]
    lti_context_id: Mapped[str | None] = mapped_column(String(255), index=True)


class CourseMembership(TimestampMixin, Base):
    __tablename__ = "course_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint("role IN ('learner', 'staff')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default=CourseRole.LEARNER.value)
    enrollment_mode: Mapped[str] = mapped_column(String(50), default="verified")
    is_active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
