"""The OAuth2 token endpoint tools call before the Assessment Control Service.

Client-credentials grant, authenticated by a JWT client assertion the tool signs with its
own key (1EdTech Security Framework 4.1): ``iss`` = ``sub`` = the tool's client id, ``aud``
= our token URL, ``exp`` not passed, ``jti`` never seen before. The access token we issue is
itself a short-lived JWT signed with our key, so checking it needs no table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask_babel import gettext as _

from proctor_web.errors import ProctorError
from proctor_web.lti import keys
from proctor_web.lti_proctoring import claims as c
from proctor_web.lti_proctoring.common import (
    LtiRefusal,
    backend_for_client,
    endpoint,
    issuer,
    unverified_claims,
    use_once,
    verify_tool_jwt,
)
from proctor_web.models import utcnow

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)


class OAuthError(ProctorError):
    """An RFC 6749 error: ``error`` is the code clients act on, the message says why."""

    def __init__(self, error: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def as_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": "Bearer",
                "expires_in": self.expires_in, "scope": self.scope}


def issue(form: Mapping[str, str], now: datetime) -> IssuedToken:
    """Check a token request and issue a bearer token for the ACS (flushes the used jti)."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type",
                         _("grant_type must be client_credentials."))
    if form.get("client_assertion_type") != c.CLIENT_ASSERTION_TYPE:
        raise OAuthError("invalid_client", _("client_assertion_type must be %(type)s.",
                                             type=c.CLIENT_ASSERTION_TYPE), 401)
    assertion = form.get("client_assertion") or ""
    requested = (form.get("scope") or "").split()
    if c.ACS_SCOPE not in requested:
        raise OAuthError("invalid_scope", _("The only scope offered is %(scope)s.",
                                            scope=c.ACS_SCOPE))
    try:
        backend = backend_for_client(unverified_claims(assertion).get("iss") if assertion
                                     else None)
        token_url = endpoint("token")
        claims = verify_tool_jwt(backend, assertion, audience=[token_url, issuer(backend)],
                                 required=("iss", "sub", "aud", "exp", "jti"))
        if claims["sub"] != backend.client_id:
            raise LtiRefusal(_("The client assertion's sub must be the client id %(id)s.",
                               id=backend.client_id))
        use_once(backend.client_id, "jti", claims["jti"],
                 datetime.fromtimestamp(int(claims["exp"]), UTC), now)
    except LtiRefusal as refusal:
        raise OAuthError("invalid_client", refusal.message, 401) from None
    lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
    token = keys.sign_jwt({
        "iss": issuer(backend),
        "sub": backend.client_id,
        "aud": endpoint("acs"),
        "scope": c.ACS_SCOPE,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
        "jti": str(uuid.uuid4()),
    }, now)
    return IssuedToken(token, lifetime, c.ACS_SCOPE)


def check_bearer(authorization: str | None) -> str:
    """The client id an ACS request's bearer token was issued to; refuses anything else."""
    scheme, _sep, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise OAuthError("invalid_token", _("The ACS needs an Authorization: Bearer token "
                                            "from %(url)s.", url=endpoint("token")), 401)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise OAuthError("invalid_token", _("The bearer token is not one we issued."), 401) \
            from None
    now = utcnow()
    jwk = next((k for k in keys.public_key_set(now)["keys"] if k["kid"] == kid), None)
    if jwk is None:
        raise OAuthError("invalid_token", _("The bearer token is not one we issued."), 401)
    try:
        claims = jwt.decode(token, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"],
                            audience=endpoint("acs"), options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_token", _("The bearer token has expired: get a new one."),
                         401) from None
    except jwt.PyJWTError:
        raise OAuthError("invalid_token", _("The bearer token is not one we issued."), 401) \
            from None
    if c.ACS_SCOPE not in str(claims.get("scope", "")).split():
        raise OAuthError("insufficient_scope", _("The bearer token lacks the scope %(scope)s.",
                                                 scope=c.ACS_SCOPE), 403)
    return str(claims["sub"])
