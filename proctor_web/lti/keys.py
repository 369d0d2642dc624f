"""Signing keys for every JWT we issue over LTI 1.3, and the key set we publish.

One key signs at a time: the newest one not retired. Rotation adds a key and retires the
others; a retired key stays in the published key set for ``KEY_GRACE`` so that a platform
or tool that cached our key set, or a message signed just before the rotation, still
verifies. Keys are created on first use, so a fresh install needs no setup step.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import or_, select

from proctor_web.extensions import db
from proctor_web.models import LtiKey

KEY_SIZE = 2048
KEY_GRACE = timedelta(days=7)
ALGORITHM = "RS256"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey


def _new_key(now: datetime) -> LtiKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key = LtiKey(kid=secrets.token_hex(16), private_key_pem=pem, created=now)
    db.session.add(key)
    db.session.flush()
    return key


def _current(now: datetime) -> LtiKey | None:
    return db.session.scalars(
        select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id.desc()).limit(1)
    ).first()


def ensure_signing_key(now: datetime) -> LtiKey:
    """The key that signs now, created when there is none yet (flushes; caller commits)."""
    return _current(now) or _new_key(now)


def signing_key(now: datetime) -> SigningKey:
    key = ensure_signing_key(now)
    private_key = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return SigningKey(kid=key.kid, private_key=private_key)


def rotate_keys(now: datetime) -> LtiKey:
    """Retire every signing key and create a new one (flushes; caller commits)."""
    for key in db.session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None))):
        key.retired_at = now
    return _new_key(now)


def public_jwk(key: LtiKey) -> dict[str, Any]:
    private_key = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": key.kid, "alg": ALGORITHM, "use": "sig"})
    return jwk


def public_key_set(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The JWKS we publish: the signing key and the keys retired less than KEY_GRACE ago."""
    ensure_signing_key(now)
    keys = db.session.scalars(
        select(LtiKey)
        .where(or_(LtiKey.retired_at.is_(None), LtiKey.retired_at > now - KEY_GRACE))
        .order_by(LtiKey.id.desc())
    )
    return {"keys": [public_jwk(key) for key in keys]}


def sign_jwt(claims: dict[str, Any], now: datetime, headers: dict[str, Any] | None = None) -> str:
    """An RS256 JWT over ``claims`` with our current key's ``kid`` in the header."""
    key = signing_key(now)
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM,
                      headers={"kid": key.kid, **(headers or {})})
