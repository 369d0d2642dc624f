"""The OIDC third-party-initiated login that carries our messages to a tool.

1. ``launch_url`` (start) / ``end_url`` (end): where the learner's browser goes first, the
   tool's login-initiation URL with iss, login_hint, target_link_uri, lti_message_hint,
   client_id and lti_deployment_id.
2. The tool sends the browser back to our auth endpoint; ``authenticate`` checks that
   request field by field and builds the signed id_token the browser then form-posts to the
   tool's registered redirect URI.

``lti_message_hint`` is opaque to the tool: we sign (learner, attempt, message, a one-time
id) into it, so the auth request can only complete the launch we started, for that learner,
once, within ``HINT_MAX_AGE_SECONDS``. That is also how the auth request knows the learner
when it arrives without our session: a learner launched from an LMS has only a cookie
partitioned under the LMS's site (or none), which the tool's tab or redirect never carries.
A learner signed in here must be the hint's learner.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from proctor_web.backends.lti import LtiBackend
from proctor_web.errors import InvalidTransition, NotFound, PermissionDenied
from proctor_web.extensions import db
from proctor_web.lti import keys
from proctor_web.lti_proctoring import messages, sessions
from proctor_web.lti_proctoring.common import (
    LtiRefusal,
    backend_for_client,
    backend_named,
    issuer,
    use_once,
)
from proctor_web.models import Attempt, AttemptHistory, LtiProctoringSession, User
from proctor_web.models.attempt import COMPLETED, PRE_STARTED
from proctor_web.services import exams

log = logging.getLogger(__name__)

START, END = "start", "end"
#: A login begun more than this long ago cannot be completed.
HINT_MAX_AGE_SECONDS = 600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt="proctor_web.lti_platform.message_hint")


def _login_url(attempt: Attempt, backend: LtiBackend, message: str,
               frame_origins: Sequence[str]) -> str:
    target = backend.tool_launch_url if message == START else backend.end_assessment_target
    params = {
        "iss": issuer(backend),
        "login_hint": sessions.sub_for(attempt.user, backend),
        "target_link_uri": target,
        "lti_message_hint": _serializer().dumps({
            "a": attempt.id, "u": attempt.user_id, "m": message,
            "j": secrets.token_urlsafe(16), "o": list(frame_origins)}),
        "client_id": backend.client_id,
        "lti_deployment_id": backend.deployment_id,
    }
    separator = "&" if "?" in backend.tool_login_url else "?"
    return f"{backend.tool_login_url}{separator}{urlencode(params)}"


def _lti_backend_of(attempt: Attempt) -> LtiBackend:
    backend = exams.backend_for(attempt.exam) if attempt.taking_as_proctored else None
    if not isinstance(backend, LtiBackend):
        raise NotFound(_("This exam is not proctored by an LTI proctoring tool."))
    return backend


def launch_url(attempt: Attempt, user: User, now: datetime,
               frame_origins: Sequence[str] = ()) -> str:
    """Begin LtiStartProctoring for the learner's attempt (the system check).

    ``frame_origins``: the LMS origins that frame the learner's pages (an LTI launch's
    session), carried in the hint so the auth step's page may be framed by them too.

    Writes nothing: the browser opens this next to the form post that records the click,
    and the session is created when the tool's authentication request comes back."""
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only open the system check of your own exam."))
    backend = _lti_backend_of(attempt)
    if attempt.status not in PRE_STARTED:
        raise InvalidTransition(_("The system check is over: this attempt is %(status)s.",
                                  status=attempt.status))
    log.info("attempt %s: LtiStartProctoring login sent to %s", attempt.id, backend.name)
    return _login_url(attempt, backend, START, frame_origins)


def pending_end(attempt: Attempt) -> LtiProctoringSession | None:
    """The session whose tool still waits for LtiEndAssessment, if the attempt has ended."""
    if attempt.status not in COMPLETED:
        return None
    session = sessions.for_attempt(attempt.id)
    if session is None or not session.end_assessment_return or session.end_sent_at:
        return None
    return session


def end_page_path(attempt: Attempt | None) -> str | None:
    """Where the learner's page sends the browser to close the tool's session, if it must."""
    if attempt is None or attempt.status not in COMPLETED or not attempt.taking_as_proctored:
        return None
    if not isinstance(exams.backend_for(attempt.exam), LtiBackend):
        return None
    if pending_end(attempt) is None:
        return None
    return f"/lti/platform/end/{attempt.attempt_code}"


def end_url(attempt: Attempt, user: User, frame_origins: Sequence[str] = ()) -> str:
    """Begin LtiEndAssessment for an attempt that ended, when the tool asked for it."""
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only end the proctoring session of your own exam."))
    session = pending_end(attempt)
    if session is None:
        raise InvalidTransition(_("The proctoring tool is not waiting for the end of this "
                                  "attempt."))
    return _login_url(attempt, backend_named(session.backend), END, frame_origins)


@dataclass(frozen=True)
class AuthResponse:
    """What the auto-posting page sends: ``id_token`` and ``state`` to ``redirect_uri``."""

    redirect_uri: str
    id_token: str
    state: str | None
    #: The LMS origins that frame the learner's pages, from the hint (the auth step may
    #: run in that frame without our session).
    frame_origins: tuple[str, ...] = ()


def _one(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise LtiRefusal(_("The authentication request lacks %(field)s.", field=name))
    return value


def authenticate(params: Mapping[str, str], user: User | None, now: datetime) -> AuthResponse:
    """Check the tool's authentication request and answer it with a signed id_token."""
    backend = backend_for_client(_one(params, "client_id"))
    if "openid" not in _one(params, "scope").split():
        raise LtiRefusal(_("The authentication request's scope must include openid."))
    expectations = {"response_type": "id_token", "response_mode": "form_post", "prompt": "none"}
    for field, expected in expectations.items():
        if params.get(field) != expected:
            raise LtiRefusal(_("The authentication request's %(field)s must be %(value)s.",
                               field=field, value=expected))
    redirect_uri = _one(params, "redirect_uri")
    if redirect_uri not in backend.allowed_redirect_uris:
        raise LtiRefusal(_("The redirect_uri %(uri)s is not registered for %(tool)s.",
                           uri=redirect_uri, tool=backend.display_name))
    nonce = _one(params, "nonce")
    try:
        hint = _serializer().loads(_one(params, "lti_message_hint"),
                                   max_age=HINT_MAX_AGE_SECONDS)
        attempt_id, user_id, message = int(hint["a"]), int(hint["u"]), hint["m"]
        hint_id = hint["j"]
        origins = tuple(str(origin) for origin in hint.get("o") or ())
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LtiRefusal(_("The lti_message_hint is not one we issued, or it has expired: "
                           "start again from the exam page.")) from None
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or exams.backend_for(attempt.exam) is not backend:
        raise LtiRefusal(_("The lti_message_hint names no exam attempt proctored by "
                           "%(tool)s.", tool=backend.display_name))
    if attempt.user_id != user_id or message not in (START, END):
        raise LtiRefusal(_("The lti_message_hint is not bound to this attempt's learner."))
    if params.get("login_hint") != sessions.sub_for(attempt.user, backend) or (
        user is not None and attempt.user_id != user.id
    ):
        raise LtiRefusal(_("The login_hint does not match the signed-in learner."))
    if message == START and attempt.status not in PRE_STARTED:
        raise InvalidTransition(_("The system check is over: this attempt is %(status)s.",
                                  status=attempt.status))
    if message == END and pending_end(attempt) is None:
        raise InvalidTransition(_("The proctoring tool is not waiting for the end of "
                                  "this attempt."))
    # Every check passed: the hint is used up (it may stand for the learner only once).
    use_once(backend.client_id, "message_hint", hint_id,
             now + timedelta(seconds=HINT_MAX_AGE_SECONDS), now)
    if message == START:
        session = sessions.open_session(attempt, backend, now)
        claims = messages.start_proctoring(session, backend, nonce, now)
    else:
        session = pending_end(attempt)
        assert session is not None  # checked above
        claims = messages.end_assessment(session, backend, nonce, now, _error_log(attempt))
        session.end_sent_at = now
        session.modified = now
        db.session.flush()
    log.info("attempt %s: %s id_token issued to %s", attempt.id,
             "LtiStartProctoring" if message == START else "LtiEndAssessment", backend.name)
    return AuthResponse(redirect_uri, keys.sign_jwt(claims, now), params.get("state"),
                        origins)


def _error_log(attempt: Attempt) -> str:
    """Why the attempt errored, as our history tells it (for the errorlog claim)."""
    row = db.session.execute(
        select(AttemptHistory).where(AttemptHistory.attempt_id == attempt.id,
                                     AttemptHistory.to_status == "error")
        .order_by(AttemptHistory.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        return ""
    return f"{row.action} by {row.actor_kind}: {row.reason}".strip(": ")
