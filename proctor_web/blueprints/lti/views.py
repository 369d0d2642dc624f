"""LTI 1.3 endpoints shared by the tool and platform sides."""

from __future__ import annotations

from flask import Response, jsonify

from proctor_web.blueprints.lti.blueprint import bp
from proctor_web.extensions import db
from proctor_web.lti import keys
from proctor_web.models import utcnow


@bp.get("/jwks.json")
def key_set() -> Response:
    """Our public keys, for platforms verifying our messages and tools verifying launches."""
    key_set = keys.public_key_set(utcnow())
    db.session.commit()  # the first call creates the signing key
    response = jsonify(key_set)
    # Short enough that a rotation reaches caches within the grace period.
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
