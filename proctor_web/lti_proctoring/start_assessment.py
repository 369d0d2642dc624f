"""LtiStartAssessment: the tool says the learner's proctoring setup is complete.

The browser form-posts one field, ``JWT``, signed by the tool. Every check below refuses
with a message naming what is wrong, before anything changes; only when all pass is the
nonce used up, the attempt moved to ``ready_to_start`` (by the provider, with a history
row), and what the tool told us (verified identity, end_assessment_return) stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.lti_proctoring import claims as c
from proctor_web.lti_proctoring import sessions
from proctor_web.lti_proctoring.common import (
    LtiRefusal,
    backend_for_client,
    issuer,
    unverified_claims,
    use_once,
    verify_tool_jwt,
)
from proctor_web.models import LtiProctoringSession
from proctor_web.models.attempt import PRE_STARTED, AttemptStatus
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor

log = logging.getLogger(__name__)

REQUIRED = ("iss", "aud", "exp", "iat", "nonce")


def _check_equal(claims: Mapping[str, Any], name: str, expected: Any, label: str) -> None:
    if claims.get(name) != expected:
        raise LtiRefusal(_("The %(claim)s claim must be %(value)s, got %(got)s.",
                           claim=label, value=repr(expected), got=repr(claims.get(name))))


def validate(token: str, now: datetime) -> tuple[LtiProctoringSession, dict[str, Any]]:
    """Check an LtiStartAssessment JWT; return its session and claims. Changes nothing."""
    if not token:
        raise LtiRefusal(_("The form has no JWT field: the tool must post LtiStartAssessment "
                           "as a single JWT parameter."))
    backend = backend_for_client(unverified_claims(token).get("iss"))
    claims = verify_tool_jwt(backend, token, audience=issuer(backend), required=REQUIRED)
    _check_equal(claims, c.MESSAGE_TYPE, c.START_ASSESSMENT, "message_type")
    _check_equal(claims, c.VERSION, c.LTI_VERSION, "version")
    _check_equal(claims, c.DEPLOYMENT_ID, backend.deployment_id, "deployment_id")
    session_data = claims.get(c.SESSION_DATA)
    session = sessions.by_session_data(session_data) if isinstance(session_data, str) else None
    if session is None or session.backend != backend.name:
        raise LtiRefusal(_("The session_data claim does not match any proctoring session we "
                           "started with %(tool)s.", tool=backend.display_name))
    link = claims.get(c.RESOURCE_LINK)
    link_id = link.get("id") if isinstance(link, Mapping) else None
    if link_id != session.resource_link_id:
        raise LtiRefusal(_("The resource_link id %(got)s is not the exam of this session "
                           "(%(expected)s).", got=repr(link_id),
                           expected=repr(session.resource_link_id)))
    number = claims.get(c.ATTEMPT_NUMBER)
    if isinstance(number, bool) or number != session.attempt_number:
        raise LtiRefusal(_("The attempt_number %(got)s is not the attempt of this session "
                           "(%(expected)s).", got=repr(number), expected=session.attempt_number))
    if session.attempt.status not in PRE_STARTED:
        raise LtiRefusal(_("This attempt is %(status)s: its proctoring setup cannot start "
                           "any more.", status=session.attempt.status))
    return session, claims


def accept(token: str, now: datetime) -> LtiProctoringSession:
    """Validate, then apply: the attempt becomes ready to start (flushes; caller commits)."""
    session, claims = validate(token, now)
    backend_name = session.backend
    exp = datetime.fromtimestamp(int(claims["exp"]), UTC)
    use_once(claims["iss"], "nonce", claims.get("nonce"), exp, now)
    attempt = session.attempt
    if attempt.status != AttemptStatus.READY_TO_START:
        attempts.apply_action(attempt, Action.READY, Actor.provider(backend_name), now,
                              "LtiStartAssessment accepted")
    verified = claims.get(c.VERIFIED_USER)
    if isinstance(verified, Mapping):
        # The spec excludes iss and sub from it; keep only what identifies a person.
        kept = {k: v for k, v in verified.items() if k not in ("iss", "sub")}
        session.verified_user = json.dumps(kept, sort_keys=True)
    session.end_assessment_return = claims.get(c.END_ASSESSMENT_RETURN) is True
    presentation = claims.get(c.LAUNCH_PRESENTATION)
    return_url = presentation.get("return_url") if isinstance(presentation, Mapping) else None
    if isinstance(return_url, str) and return_url.startswith(("https://", "http://")):
        session.tool_return_url = return_url[:2000]
    session.assessment_started_at = now
    session.modified = now
    log.info("attempt %s: LtiStartAssessment from %s accepted", attempt.id, backend_name)
    return session
