"""Local accounts: checking a password, changing it, ending sessions, (de)activating, and
the time zone a person's browser last reported (for the times in their emails).

Every change that should lock a person out (a new password, deactivation, signing out)
rotates the user's session token, which every session and remember-me cookie carries
(``User.get_id``), so old cookies stop working on every device at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from proctor_web import timezones
from proctor_web.errors import BadRequest
from proctor_web.models import User
from proctor_web.services.courses import MIN_PASSWORD_LENGTH, find_user

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _dummy_password_hash() -> str:
    """A hash made like real ones (same method and cost), of a password nobody knows."""
    import secrets

    return generate_password_hash(secrets.token_urlsafe(24))


def verify_password(password_hash: str | None, password: str) -> bool:
    """The one slow password check; an account without a password costs the same."""
    if not password_hash:
        check_password_hash(_dummy_password_hash(), password)
        return False
    return check_password_hash(password_hash, password)


def authenticate(username: str, password: str) -> User | None:
    """The account these credentials open, or None.

    An unknown username costs one hash check like a wrong password does, so the time an
    answer takes does not tell which usernames exist. Inactive accounts are returned (the
    caller says why they cannot sign in only to whoever knows the password).
    """
    user = find_user(username) if username else None
    if not verify_password(user.password_hash if user is not None else None, password):
        return None
    return user


def end_sessions(user: User, reason: str) -> None:
    """Invalidate every session and remember-me cookie of ``user`` (flush left to caller)."""
    user.rotate_session_token()
    log.info("sessions of user %s ended: %s", user.username, reason)


def change_password(user: User, password: str, now: datetime) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            _("%(field)s: at least %(minimum)d characters.", field="password",
              minimum=MIN_PASSWORD_LENGTH),
            field="password",
        )
    user.set_password(password)
    user.modified = now
    end_sessions(user, "password changed")


def set_active(user: User, active: bool, now: datetime) -> None:
    user.is_active_account = active
    user.modified = now
    if not active:
        end_sessions(user, "account deactivated")
    log.info("user %s %s", user.username, "activated" if active else "deactivated")


def remember_time_zone(user: User, name: str) -> str:
    """Keep the zone ``name`` (an IANA name the browser reported) on ``user``'s account, so
    the emails written to them later show times in it; return it.

    Written only when it changes (the browser reports it on every new session). An unknown
    name is a ``BadRequest`` and changes nothing.
    """
    zone = timezones.valid_zone(name)
    if zone is None:
        raise BadRequest(_("Unknown time zone."), field="timezone")
    if user.time_zone != zone:
        user.time_zone = zone
        log.info("user %s reports time zone %s", user.username, zone)
    return zone
