"""The id_tokens we send tools: LtiStartProctoring and LtiEndAssessment.

Pure builders from the session, the attempt and the backend's settings; ``oidc`` signs them.
Personal data is kept minimal: name and email only when the backend is told to share them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from proctor_web.backends.lti import LtiBackend
from proctor_web.lti_proctoring import claims as c
from proctor_web.lti_proctoring.common import endpoint, issuer, site_url
from proctor_web.models import AttemptStatus, LtiProctoringSession
from proctor_web.services import exams

ID_TOKEN_LIFETIME = timedelta(minutes=5)


def exam_page_url(course_id: str, content_id: str) -> str:
    return (f"{site_url()}/courses/{quote(course_id, safe='')}"
            f"/exams/{quote(content_id, safe='')}")


def _common(session: LtiProctoringSession, backend: LtiBackend, nonce: str, now: datetime,
            message_type: str, target_link_uri: str) -> dict[str, Any]:
    attempt = session.attempt
    exam = attempt.exam
    user = attempt.user
    course = exams.course_of(exam)
    payload: dict[str, Any] = {
        "iss": issuer(backend),
        "aud": backend.client_id,
        "azp": backend.client_id,
        "sub": session.sub,
        "iat": int(now.timestamp()),
        "exp": int((now + ID_TOKEN_LIFETIME).timestamp()),
        "nonce": nonce,
        "jti": str(uuid.uuid4()),
        c.MESSAGE_TYPE: message_type,
        c.VERSION: c.LTI_VERSION,
        c.DEPLOYMENT_ID: backend.deployment_id,
        c.TARGET_LINK_URI: target_link_uri,
        c.RESOURCE_LINK: {"id": session.resource_link_id, "title": exam.exam_name},
        c.ROLES: [c.ROLE_LEARNER],
        c.CONTEXT: {
            "id": exam.course_id,
            "label": exam.course_id,
            "title": (course.display_name if course else "") or exam.course_id,
            "type": [c.CONTEXT_COURSE],
        },
        c.TOOL_PLATFORM: {"guid": issuer(backend), "name": "proctor_web",
                          "product_family_code": "proctor_web"},
        c.LAUNCH_PRESENTATION: {
            "document_target": backend.document_target,
            "return_url": exam_page_url(exam.course_id, exam.content_id),
        },
        c.ATTEMPT_NUMBER: session.attempt_number,
        c.SESSION_DATA: session.session_data,
    }
    if backend.share_name and user.full_name:
        payload["name"] = user.full_name
        given, _, family = user.full_name.partition(" ")
        payload["given_name"] = given
        if family:
            payload["family_name"] = family
    if backend.share_email and user.email:
        payload["email"] = user.email
    return payload


def proctoring_settings_data(session: LtiProctoringSession, backend: LtiBackend) -> str | None:
    """The exam's own rules (its review policy) if it has any, else the backend's setting."""
    policy = exams.get_review_policy(session.attempt.exam)
    if policy is not None and policy.review_policy:
        return policy.review_policy
    return backend.settings_data()


def start_proctoring(session: LtiProctoringSession, backend: LtiBackend, nonce: str,
                     now: datetime) -> dict[str, Any]:
    payload = _common(session, backend, nonce, now, c.START_PROCTORING, backend.tool_launch_url)
    payload[c.START_ASSESSMENT_URL] = endpoint("start_assessment")
    payload[c.ACS] = {"assessment_control_url": endpoint("acs"),
                      "actions": backend.supported_actions}
    data = proctoring_settings_data(session, backend)
    if data is not None:
        payload[c.PROCTORING_SETTINGS] = {"data": data}
    return payload


def end_assessment(session: LtiProctoringSession, backend: LtiBackend, nonce: str,
                   now: datetime, error_log: str = "") -> dict[str, Any]:
    payload = _common(session, backend, nonce, now, c.END_ASSESSMENT,
                      backend.end_assessment_target)
    if session.attempt.status == AttemptStatus.ERROR:
        payload[c.ERRORMSG] = "The assessment ended because of an error."
        payload[c.ERRORLOG] = error_log or "attempt status: error"
    return payload
