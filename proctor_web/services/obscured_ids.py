"""The user id providers see: edx-proctoring's obscured id, so ids match what a provider
already holds for learners it met through an Open edX site.

The id is the 40-hex HMAC-SHA1, under ``USER_OBFUSCATION_KEY``, of the decimal user id
followed directly by the backend's name (edx's ``obscured_user_id(user_id, backend)``).
Without a ``USER_OBFUSCATION_KEY`` the key is ``SECRET_KEY`` itself, which is what
edx-proctoring hashed with before it had a key of its own (and what Open edX tells operators
to start the separate key at). This is the only place the derivation lives.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def obfuscation_key() -> str:
    config = current_app.config
    return config.get("USER_OBFUSCATION_KEY") or config["SECRET_KEY"]


def obscured_user_id(user_id: int, backend_name: str) -> str:
    """The id of ``user_id`` at the provider behind ``backend_name`` (stable, 40 hex digits)."""
    digest = hmac.new(obfuscation_key().encode("utf-8"), digestmod=hashlib.sha1)
    digest.update(f"{user_id}{backend_name}".encode())
    return digest.hexdigest()
