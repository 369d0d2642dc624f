"""Our own RSA key pairs for LTI 1.3: the tool side and the platform side sign with them.

Keys are rotated, never edited: a new key signs from the moment it is created, and the
retired ones stay published in the key set for a grace period so that messages signed just
before a rotation still verify at the other end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proctor_web.models.base import Base, TimestampMixin


class LtiKey(TimestampMixin, Base):
    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<LtiKey {self.kid}>"
