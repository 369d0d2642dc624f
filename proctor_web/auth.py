"""Sign-in wiring and the permission helpers views use to authorise."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import current_app, g, session
from flask_babel import gettext as _
from flask_login import LoginManager

from proctor_web.errors import NotAuthenticated, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import User


def init_login_manager(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(session_id: str) -> User | None:
        return user_for_session_id(session_id)

    @manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, request, url_for

        from proctor_web.errors import wants_json

        if wants_json():
            raise NotAuthenticated(_("Authentication credentials were not provided."))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def user_for_session_id(session_id: str) -> User | None:
    """The active user whose ``get_id()`` this is; None once the token has been rotated.

    Sessions (and remember-me cookies) keep ``<id>:<session token>``; logging out, a
    password change or deactivation replaces the token, so every copy of an old cookie,
    wherever it was captured, stops working at once.
    """
    user_id = session_user_id(session_id)
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and session_matches(user, session_id) else None


def session_user_id(session_id: str | None) -> int | None:
    """The user id a session names (not yet checked against the user's token)."""
    if not session_id:
        return None
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or not token or len(user_id) > 18:
        return None
    return int(user_id)


def session_matches(user: User, session_id: str) -> bool:
    """Whether ``session_id`` is this active user's current ``<id>:<token>``."""
    token = session_id.partition(":")[2]
    if not user.is_active or not user.session_token:
        return False
    return hmac.compare_digest(token.encode(), user.session_token.encode())


def signed_in_user_id() -> int | None:
    """The user id the request's session names, read without a query (None: anonymous)."""
    return session_user_id(session.get("_user_id"))


def adopt_signed_in_user(candidate: User) -> bool:
    """Take ``candidate``, a user some query already loaded (the owner of an attempt), as
    the signed-in user when the session is theirs, sparing Flask-Login's loader its query.

    The same checks as the loader (session protection, the session token, an active
    account); when any fails, nothing is adopted and ``current_user`` loads as usual.
    True too when this request already signed ``candidate`` in.
    """
    loaded = g.get("_login_user")
    if loaded is not None:
        return loaded.is_authenticated and loaded.id == candidate.id
    session_id = session.get("_user_id")
    if (
        session_user_id(session_id) != candidate.id
        or current_app.login_manager._session_protection_failed()  # type: ignore[attr-defined]
        or not session_matches(candidate, session_id)
    ):
        return False
    g._login_user = candidate  # where Flask-Login keeps the request's user
    return True


def is_safe_next(target: str | None) -> bool:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not (
        target.startswith("//")
    )


def require_course_staff(user: User, course_id: str) -> None:
    from proctor_web.services import courses

    if not courses.can_manage(user, course_id):
        raise PermissionDenied(_("You must be course staff to do this."))
