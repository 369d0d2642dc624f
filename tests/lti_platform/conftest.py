"""An app with an LTI proctoring tool configured, whose key pair the tests hold.

The tool's key set is given inline (``tool_key_set``), so unit tests need no HTTP; the
fetched-and-cached key set is covered by the end-to-end test with the fake LTI tool.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from proctor_web import create_app
from proctor_web.extensions import db
from tests.conftest import TEST_BACKENDS, app_config, make_sign_in

TOOL_CLIENT_ID = "tool-client-1"
DEPLOYMENT_ID = "deployment-1"
TOOL_KID = "tool-key-1"
TOOL_URL = "https://tool.example"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"


@pytest.fixture(scope="session")
def tool_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": TOOL_KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


@pytest.fixture(scope="session")
def _app(database_url: str, tool_key: rsa.RSAPrivateKey):
    backends = {
        **TEST_BACKENDS,
        "lti": {
            "client_id": TOOL_CLIENT_ID, "deployment_id": DEPLOYMENT_ID,
            "tool_login_url": f"{TOOL_URL}/login", "tool_launch_url": f"{TOOL_URL}/launch",
            "tool_key_set": _jwks(tool_key),
        },
    }
    app = create_app(app_config(database_url, BACKENDS=backends))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)


@pytest.fixture
def tool_sign(tool_key: rsa.RSAPrivateKey):
    def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None,
             kid: str = TOOL_KID) -> str:
        return jwt.encode(claims, key or tool_key, algorithm="RS256", headers={"kid": kid})
    return sign


def start_assessment_claims(session: Any, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": TOOL_CLIENT_ID,
        "aud": "http://proctor.test",
        "sub": session.sub,
        "iat": now,
        "exp": now + 300,
        "nonce": str(uuid.uuid4()),
        LTI + "message_type": "LtiStartAssessment",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": DEPLOYMENT_ID,
        AP + "session_data": session.session_data,
        LTI + "resource_link": {"id": session.resource_link_id},
        AP + "attempt_number": session.attempt_number,
        AP + "end_assessment_return": True,
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def client_assertion(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": TOOL_CLIENT_ID, "sub": TOOL_CLIENT_ID,
                              "aud": "http://proctor.test/lti/platform/token",
                              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims
