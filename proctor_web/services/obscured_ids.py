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
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, Exam


def obfuscation_key() -> str:
    config = current_app.config
    return config.get("USER_OBFUSCATION_KEY") or config["SECRET_KEY"]


def obscured_user_id(user_id: int, backend_name: str) -> str:
    """The id of ``user_id`` at the provider behind ``backend_name`` (stable, 40 hex digits)."""
    digest = hmac.new(obfuscation_key().encode("utf-8"), digestmod=hashlib.sha1)
    digest.update(f"{user_id}{backend_name}".encode())
    return digest.hexdigest()


def previous_obscured_user_id(user_id: int, backend_name: str) -> str:
    """The id proctor_web sent providers before it used edx's derivation (HMAC-SHA256 of
    ``"<user id>:<backend>"`` under ``USER_OBFUSCATION_KEY``, else ``"obscure:" +
    SECRET_KEY``). Only for ``flask proctor obscured-id-map``, so a provider can re-key the
    records it holds; never sent anywhere."""
    config = current_app.config
    key = config.get("USER_OBFUSCATION_KEY") or "obscure:" + config["SECRET_KEY"]
    return hmac.new(key.encode(), f"{user_id}:{backend_name}".encode(),
                    hashlib.sha256).hexdigest()


def users_who_met(backend_name: str) -> list[int]:
    """Ids of the users with a proctored attempt (live or removed) on ``backend_name``."""
    live = select(Attempt.user_id).join(Exam, Attempt.exam_id == Exam.id).where(
        Exam.backend == backend_name, Attempt.taking_as_proctored.is_(True))
    removed = select(AttemptHistory.user_id).join(Exam, AttemptHistory.exam_id == Exam.id).where(
        Exam.backend == backend_name)
    return sorted({uid for (uid,) in db.session.execute(live.union(removed)) if uid})
