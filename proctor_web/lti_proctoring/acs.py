"""The Assessment Control Service: a proctoring tool acts on an attempt it watches.

``POST assessment_control_url`` with a bearer token from our token endpoint and a body of
media type ``application/vnd.ims.lti-ap.v1.control+json`` naming the user (``sub``), the
resource link and the attempt number. Actions:

- ``pause`` / ``resume``: the attempt's clock stops and starts again; paused time does not
  count, and an attempt cannot run out while paused.
- ``update``: extra time, ``extra_time`` in minutes (as 1EdTech's own reference library,
  celtic-project LTI-PHP, reads it), added to the attempt's end.
- ``terminate``: the session ends; the work is submitted, or the attempt goes to ``error``
  when the reason code is one the backend lists as an error (and before the exam started).
- ``flag``: an incident for the reviewers, nothing else changes.

Every control leaves an incident row (append-only, shown to course staff and in the
violations report) and a history row on the attempt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.backends.lti import LtiBackend
from proctor_web.errors import BadRequest, NotFound
from proctor_web.extensions import db
from proctor_web.lti_proctoring import sessions
from proctor_web.lti_proctoring.common import backend_for_client
from proctor_web.models import Attempt, AttemptIncident, AttemptStatus
from proctor_web.models.attempt import COMPLETED, IN_PROGRESS
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor

log = logging.getLogger(__name__)
S = AttemptStatus

#: The largest extra time one update may grant (a week, in minutes), against typos.
MAX_EXTRA_MINUTES = 7 * 24 * 60


def acs_status(attempt: Attempt) -> str:
    """The spec's status words for where the attempt stands."""
    if attempt.status == S.ERROR:
        return "terminated"
    if attempt.status in COMPLETED:
        return "complete"
    if attempt.status in IN_PROGRESS:
        return "paused" if attempt.paused_at is not None else "running"
    return "none"


def _text(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(_("'%(field)s' must be a string.", field=name))
    return value[:limit]


def _incident_time(body: Mapping[str, Any]) -> datetime | None:
    value = body.get("incident_time")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(_("'incident_time' must be an ISO-8601 date and time.")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _severity(body: Mapping[str, Any]) -> float | None:
    value = body.get("incident_severity")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        0 <= value <= 1 and math.isfinite(value)
    ):
        raise BadRequest(_("'incident_severity' must be a number from 0 to 1."))
    return float(value)


def _extra_seconds(body: Mapping[str, Any]) -> int:
    """``extra_time`` is in minutes; we keep seconds, so a fraction of a minute counts."""
    value = body.get("extra_time")
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        0 < value <= MAX_EXTRA_MINUTES
    ):
        raise BadRequest(_("'update' needs 'extra_time', a positive number of minutes up to "
                           "%(max)s.", max=MAX_EXTRA_MINUTES))
    return math.ceil(value * 60)


def parse(body: Any, backend: LtiBackend) -> dict[str, Any]:
    """The control request in plain values; ``BadRequest`` names the first problem."""
    if not isinstance(body, Mapping):
        raise BadRequest(_("The control request must be a JSON object."))
    user = body.get("user")
    sub = user.get("sub") if isinstance(user, Mapping) else None
    if not isinstance(sub, str) or not sub:
        raise BadRequest(_("'user' must be an object with the learner's 'sub'."))
    link = body.get("resource_link")
    link_id = link.get("id") if isinstance(link, Mapping) else None
    if not isinstance(link_id, str) or not link_id:
        raise BadRequest(_("'resource_link' must be an object with an 'id'."))
    number = body.get("attempt_number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadRequest(_("'attempt_number' must be a whole number from 1."))
    action = body.get("action")
    if action not in backend.supported_actions:
        raise BadRequest(_("'action' must be one of %(choices)s, got %(value)s.",
                           choices=", ".join(backend.supported_actions), value=repr(action)))
    return {
        "sub": sub, "resource_link_id": link_id, "attempt_number": number, "action": action,
        "incident_time": _incident_time(body), "severity": _severity(body),
        "reason_code": _text(body, "reason_code", 255),
        "reason_msg": _text(body, "reason_msg", 4000),
        "extra_seconds": _extra_seconds(body) if action == "update" else 0,
    }


def control(client_id: str, body: Any, now: datetime) -> dict[str, Any]:
    """Apply one control; return the spec's answer ``{status, extra_time?}`` (flushes)."""
    backend = backend_for_client(client_id)
    request = parse(body, backend)
    session = sessions.find(backend, request["sub"], request["resource_link_id"],
                            request["attempt_number"])
    if session is None:
        raise NotFound(_("No proctoring session of %(tool)s matches this user, resource link "
                         "and attempt number.", tool=backend.display_name))
    attempt = session.attempt
    actor = Actor.provider(backend.name)
    action = request["action"]
    reason = " ".join(filter(None, [f"ACS {action}", request["reason_code"],
                                    request["reason_msg"]]))[:2000]
    db.session.add(AttemptIncident(
        attempt_id=attempt.id, attempt_code=attempt.attempt_code, exam_id=attempt.exam_id,
        user_id=attempt.user_id, source=backend.name, action=action,
        incident_time=request["incident_time"] or now, severity=request["severity"],
        reason_code=request["reason_code"], reason_msg=request["reason_msg"], created_at=now,
    ))
    if action == "pause":
        attempts.apply_action(attempt, Action.PAUSE, actor, now, reason)
    elif action == "resume":
        attempts.apply_action(attempt, Action.UNPAUSE, actor, now, reason)
    elif action == "update":
        attempts.add_time(attempt, request["extra_seconds"], actor, now, reason)
    elif action == "flag":
        attempts.apply_action(attempt, Action.FLAG, actor, now, reason)
    else:
        _terminate(attempt, backend, request["reason_code"], actor, now, reason)
    db.session.flush()
    log.info("attempt %s: ACS %s from %s -> %s", attempt.id, action, backend.name,
             attempt.status)
    answer: dict[str, Any] = {"status": acs_status(attempt)}
    if action == "terminate" and attempt.status in COMPLETED:
        answer["status"] = "terminated"
    if attempt.extra_seconds:
        minutes = attempt.extra_seconds / 60
        answer["extra_time"] = int(minutes) if minutes.is_integer() else round(minutes, 2)
    return answer


def _terminate(attempt: Attempt, backend: LtiBackend, reason_code: str, actor: Actor,
               now: datetime, reason: str) -> None:
    as_error = reason_code in backend.error_reason_codes or attempt.status not in IN_PROGRESS
    if attempt.status == S.READY_TO_SUBMIT:
        as_error = False  # the learner was at the submit page: their work stands
    attempts.apply_action(attempt, Action.ERROR if as_error else Action.TERMINATE, actor, now,
                          reason)
