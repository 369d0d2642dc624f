"""Which provider a callback request comes from, for log fields and metric labels.

Only names of configured backends come out of here (anything else is ``unknown``), so a
caller cannot make up label values; and nothing here queries the database.
"""

from __future__ import annotations

import jwt
from flask import current_app, request

from proctor_web.backends.software_secure import SoftwareSecureBackend

TOKEN_ENDPOINT = "webhooks.access_token"
UNKNOWN = "unknown"


def provider_for_request() -> str | None:
    """The backend name of a provider callback, ``None`` for requests that are not callbacks."""
    if request.blueprint != "webhooks":
        return None
    if request.endpoint == TOKEN_ENDPOINT:
        return "oauth"
    registry = current_app.extensions["proctor_backends"]
    rpnow = sorted(b.name for b in registry.all() if isinstance(b, SoftwareSecureBackend))
    if request.endpoint and request.endpoint.startswith("webhooks.rpnow"):
        return rpnow[0] if len(rpnow) == 1 else "software_secure"
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() in ("bearer", "jwt") and token:
        try:
            # The view verifies the token; a label only needs the claim, checked against the
            # configured names below so that a forged one cannot invent a label.
            claims = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return UNKNOWN
        backend = claims.get("backend")
        if isinstance(backend, str) and backend in registry.names:
            return backend
    return UNKNOWN
