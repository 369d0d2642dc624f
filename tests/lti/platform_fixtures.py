"""Fixtures for tests against the independent LTI platform (imported by tests/lti/test_*.py).

``lms`` is a fresh platform on 127.0.0.1; ``lms_platform`` registers proctor_web with it (our
key set given inline, from the test's database) and returns the ``LtiPlatform`` row that
points at it. Service calls check ``exp`` against the real clock, so these tests sign with
``utcnow()``, not the frozen ``now`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from proctor_web.extensions import db
from proctor_web.lti import keys, platform_token
from proctor_web.models import LtiDeployment, LtiPlatform, utcnow
from proctor_web.testing.lti_platform import BackgroundPlatform, serve_platform

CLIENT_ID = "proctor-web-tests"
DEPLOYMENT_ID = "deployment-1"


@pytest.fixture
def lms() -> Iterator[BackgroundPlatform]:
    platform_token.clear_cache()
    with serve_platform() as platform:
        yield platform
    platform_token.clear_cache()


def control(lms: BackgroundPlatform, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{lms.url}/_control/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def lms_platform(app, lms: BackgroundPlatform) -> LtiPlatform:
    now = utcnow()
    endpoints = control(lms, "POST", "tools", {
        "client_id": CLIENT_ID, "deployment_id": DEPLOYMENT_ID,
        "login_url": "http://localhost:9/lti/login", "launch_url": "http://localhost:9/lti/launch",
        "jwks": keys.public_key_set(now),
    })["platform"]
    platform = LtiPlatform(
        name="Test LMS", issuer=endpoints["issuer"], client_id=CLIENT_ID,
        auth_login_url=endpoints["auth_login_url"], auth_token_url=endpoints["auth_token_url"],
        key_set_url=endpoints["key_set_url"], created=now, modified=now,
    )
    db.session.add(platform)
    db.session.flush()
    db.session.add(LtiDeployment(platform_id=platform.id, deployment_id=DEPLOYMENT_ID,
                                 created=now, modified=now))
    db.session.flush()
    return platform
