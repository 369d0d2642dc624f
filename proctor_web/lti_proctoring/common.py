"""What every part of the platform side shares: our endpoints, the configured tools, the
refusal every failed check raises, tool-signed JWT verification and one-time values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jwt
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from proctor_web.backends.lti import LtiBackend
from proctor_web.errors import BadRequest, NotFound
from proctor_web.extensions import db
from proctor_web.models import LtiUsedValue

PREFIX = "/lti/platform"
#: Tolerated clock difference between us and a tool, in seconds.
LEEWAY_SECONDS = 60


class LtiRefusal(BadRequest):
    """A message or request from a tool failed a check; the message names which."""


def site_url() -> str:
    return current_app.config["SITE_URL"].rstrip("/")


def issuer(backend: LtiBackend) -> str:
    """Our ``iss``: per tool if configured, else the site's URL."""
    return (backend.issuer or site_url()).rstrip("/")


def endpoint(name: str) -> str:
    """Absolute URL of one of our platform endpoints (auth, token, acs, start_assessment)."""
    return f"{site_url()}{PREFIX}/{name}"


def key_set_url() -> str:
    return f"{site_url()}/lti/jwks.json"


def lti_backends() -> list[LtiBackend]:
    registry = current_app.extensions["proctor_backends"]
    return [backend for backend in registry.all() if isinstance(backend, LtiBackend)]


def backend_named(name: str) -> LtiBackend:
    for backend in lti_backends():
        if backend.name == name:
            return backend
    raise NotFound(_("No LTI proctoring tool is configured as %(name)s.", name=repr(name)))


def backend_for_client(client_id: Any) -> LtiBackend:
    for backend in lti_backends():
        if isinstance(client_id, str) and backend.client_id == client_id:
            return backend
    raise LtiRefusal(_("No LTI proctoring tool is registered with the client id %(id)s.",
                       id=repr(client_id)))


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT before its signature is checked: only to find out who signed it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise LtiRefusal(_("The token is not a well-formed JWT.")) from None
    return claims


def verify_tool_jwt(
    backend: LtiBackend, token: str, audience: str | Sequence[str], required: Sequence[str],
) -> dict[str, Any]:
    """Check a JWT the tool signed: RS256, a key of the tool's key set, ``iss`` = the tool's
    client id, ``aud`` = ``audience``, ``exp`` not passed, every ``required`` claim present."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise LtiRefusal(_("The token is not a well-formed JWT.")) from None
    if header.get("alg") != "RS256":
        raise LtiRefusal(_("The token must be signed with RS256, not %(alg)s.",
                           alg=repr(header.get("alg"))))
    jwk = backend.tool_key(header.get("kid"))
    if jwk is None:
        raise LtiRefusal(_("The token's key id %(kid)s is not in the key set of %(tool)s.",
                           kid=repr(header.get("kid")), tool=backend.display_name))
    try:
        key = jwt.PyJWK(jwk, algorithm="RS256").key
        return jwt.decode(
            token, key, algorithms=["RS256"], audience=audience, issuer=backend.client_id,
            leeway=LEEWAY_SECONDS, options={"require": list(required)},
        )
    except jwt.ExpiredSignatureError:
        raise LtiRefusal(_("The token has expired (its exp is past).")) from None
    except jwt.ImmatureSignatureError:
        raise LtiRefusal(_("The token is not valid yet (its iat or nbf is in the future).")) \
            from None
    except jwt.MissingRequiredClaimError as error:
        raise LtiRefusal(_("The token lacks the required claim %(claim)s.",
                           claim=error.claim)) from None
    except jwt.InvalidAudienceError:
        raise LtiRefusal(_("The token's aud must be %(aud)s.", aud=_listed(audience))) from None
    except jwt.InvalidIssuerError:
        raise LtiRefusal(_("The token's iss must be the tool's client id %(id)s.",
                           id=backend.client_id)) from None
    except jwt.InvalidSignatureError:
        raise LtiRefusal(_("The token's signature does not verify with the key set of "
                           "%(tool)s.", tool=backend.display_name)) from None
    except jwt.PyJWTError as error:
        raise LtiRefusal(_("The token was refused: %(reason)s.", reason=str(error))) from None


def _listed(audience: str | Sequence[str]) -> str:
    return audience if isinstance(audience, str) else " or ".join(audience)


def use_once(client_id: str, kind: str, value: Any, expires_at: datetime, now: datetime) -> None:
    """Record a nonce or jti; a second use raises ``LtiRefusal`` (flushes; caller commits)."""
    if not isinstance(value, str) or not value or len(value) > 255:
        raise LtiRefusal(_("The token's %(claim)s must be a non-empty string.", claim=kind))
    db.session.execute(delete(LtiUsedValue).where(LtiUsedValue.expires_at < now))
    seen = db.session.execute(
        select(LtiUsedValue.id).where(LtiUsedValue.client_id == client_id,
                                      LtiUsedValue.kind == kind, LtiUsedValue.value == value)
    ).first()
    if seen is None:
        try:
            with db.session.begin_nested():
                db.session.add(LtiUsedValue(client_id=client_id, kind=kind, value=value,
                                            expires_at=max(expires_at, now)))
            return
        except IntegrityError:
            pass
    raise LtiRefusal(_("This token's %(claim)s was already used: a token is accepted once.",
                       claim=kind))
