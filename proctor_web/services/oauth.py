"""OAuth2 client credentials for provider service accounts.

Each client may call our provider callbacks for exactly one backend. Secrets are stored as
sha256 hashes (they are long random strings, so a slow password hash buys nothing) and
compared in constant time. Access tokens are short JWTs signed with a key derived from
``SECRET_KEY``; verifying one also re-checks that its client still exists, is active and is
still bound to the backend named in the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from proctor_web.errors import AlreadyExists, BadRequest, WebhookAuthError
from proctor_web.extensions import db
from proctor_web.models import OAuthClient

TOKEN_TTL = timedelta(hours=1)
_AUDIENCE = "proctor_web:provider-callbacks"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _signing_key() -> str:
    # Derived, so these tokens can never be confused with anything else SECRET_KEY signs.
    return hashlib.sha256(("oauth-token:" + current_app.config["SECRET_KEY"]).encode()).hexdigest()


def create_client(
    name: str,
    backend: str,
    now: datetime,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> NewClient:
    """Create a service account for ``backend``; the secret is only ever returned here."""
    name = (name or "").strip()
    if not name:
        raise BadRequest(gettext("%(field)s: required.", field="name"))
    registry = current_app.extensions["proctor_backends"]
    if backend not in registry.names:
        raise BadRequest(
            gettext("%(field)s: %(value)s is not configured; choose one of %(choices)s.",
                    field="backend", value=repr(backend), choices=", ".join(registry.names))
        )
    client_id = client_id or uuid.uuid4().hex
    secret = client_secret or secrets.token_urlsafe(32)
    if len(secret) < 12:
        raise BadRequest(gettext("client secret: use at least %(minimum)d characters.",
                                 minimum=12))
    clash = db.session.execute(
        select(OAuthClient).where(
            (OAuthClient.name == name) | (OAuthClient.client_id == client_id)
        )
    ).scalar_one_or_none()
    if clash is not None:
        raise AlreadyExists(gettext("An OAuth client named %(name)s or with that client id "
                                    "exists.", name=repr(name)))
    client = OAuthClient(
        name=name, client_id=client_id, secret_hash=_hash(secret), backend=backend,
        is_active=True, created=now, modified=now,
    )
    db.session.add(client)
    db.session.flush()
    return NewClient(client, secret)


def _client(client_id: str) -> OAuthClient | None:
    return db.session.execute(
        select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).scalar_one_or_none()


def issue_token(client_id: str, client_secret: str, now: datetime) -> IssuedToken:
    """The client-credentials grant: a bearer token for a valid, active client."""
    client = _client(client_id) if client_id else None
    # Hash even when the client is unknown, so timing does not tell which ids exist.
    given = _hash(client_secret or "")
    expected = client.secret_hash if client is not None else _hash(secrets.token_hex(16))
    if client is None or not client.is_active or not hmac.compare_digest(given, expected):
        raise WebhookAuthError("invalid_client")
    claims = {
        "sub": client.client_id,
        "backend": client.backend,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_TTL).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, _signing_key(), algorithm=_ALGORITHM)
    return IssuedToken(token, int(TOKEN_TTL.total_seconds()))


def authenticate(authorization: str | None, now: datetime) -> OAuthClient:
    """The client behind an ``Authorization: Bearer|JWT <token>`` header, or WebhookAuthError."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() not in ("bearer", "jwt") or not token.strip():
        raise WebhookAuthError(
            gettext("Authentication credentials were not provided (Bearer token)."))
    try:
        claims = jwt.decode(
            token.strip(), _signing_key(), algorithms=[_ALGORITHM], audience=_AUDIENCE,
            options={"require": ["exp", "sub", "aud"], "verify_exp": False},
        )
    except jwt.InvalidTokenError as error:
        raise WebhookAuthError(gettext("The access token is not valid: %(error)s.",
                                       error=str(error))) from None
    # Expiry is checked against the caller's clock so tests can pin time.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise WebhookAuthError(gettext("The access token has expired."))
    client = _client(str(claims["sub"]))
    if client is None or not client.is_active or client.backend != claims.get("backend"):
        raise WebhookAuthError(gettext("The access token's client is no longer allowed."))
    return client
