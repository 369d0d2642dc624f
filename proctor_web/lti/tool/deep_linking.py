"""The answer to an LtiDeepLinkingRequest: one LtiResourceLink content item for the exam
the instructor chose, signed with our key and posted back to the platform."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from proctor_web.lti import keys
from proctor_web.lti.tool import claims as c
from proctor_web.models import Exam, LtiPlatform

RESPONSE_LIFETIME = timedelta(minutes=5)


def settings_from(claims: dict[str, Any]) -> dict[str, Any]:
    """What the response needs later from the request (kept in the session meanwhile)."""
    settings = claims[c.DEEP_LINKING_SETTINGS]
    return {
        "return_url": settings["deep_link_return_url"],
        "data": settings.get("data"),
        "accept_types": settings.get("accept_types") or ["ltiResourceLink"],
        "deployment_id": claims[c.DEPLOYMENT_ID],
    }


def accepts_resource_links(settings: dict[str, Any]) -> bool:
    return "ltiResourceLink" in (settings.get("accept_types") or [])


def response_jwt(platform: LtiPlatform, settings: dict[str, Any], exam: Exam,
                 launch_url: str, now: datetime) -> str:
    """The signed LtiDeepLinkingResponse (iss is our client id, aud the platform)."""
    item = {
        "type": "ltiResourceLink",
        "title": exam.exam_name,
        "url": launch_url,
        "custom": {c.CONTENT_ID_PARAMETER: exam.content_id},
    }
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + RESPONSE_LIFETIME).timestamp()),
        "nonce": secrets.token_urlsafe(16),
        c.DEPLOYMENT_ID: settings["deployment_id"],
        c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE,
        c.VERSION: c.LTI_VERSION,
        c.DEEP_LINKING_CONTENT_ITEMS: [item],
    }
    if settings.get("data") is not None:
        claims[c.DEEP_LINKING_DATA] = settings["data"]
    return keys.sign_jwt(claims, now)
