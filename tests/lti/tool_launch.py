"""Launching proctor_web from the independent LTI platform, with Flask's test client as the
browser: the platform's ``/launch`` → our ``/lti/login`` → the platform's ``/auth`` → the
auto-posted ``id_token`` and ``state`` → our ``/lti/launch``. Everything on the platform side
is real HTTP on 127.0.0.1."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from proctor_web.extensions import db
from proctor_web.lti import keys
from proctor_web.lti.tool import platform_keys, registration
from proctor_web.models import LtiPlatform, utcnow
from proctor_web.testing.lti_platform import BackgroundPlatform, serve_platform
from tests.lti.platform_fixtures import control

CLIENT_ID = "proctor-web-tool-tests"
DEPLOYMENT_ID = "deployment-1"
SITE = "http://proctor.test"


@pytest.fixture
def lms() -> Iterator[BackgroundPlatform]:
    platform_keys.forget_cached_keys()
    with serve_platform() as platform:
        yield platform
    platform_keys.forget_cached_keys()


def register_with(lms: BackgroundPlatform, client_id: str = CLIENT_ID,
                  deployment_ids: tuple[str, ...] = (DEPLOYMENT_ID,)) -> LtiPlatform:
    """Register us at the platform (our key set inline) and the platform here."""
    now = utcnow()
    endpoints = control(lms, "POST", "tools", {
        "client_id": client_id, "deployment_ids": list(deployment_ids),
        "login_url": f"{SITE}/lti/login", "launch_url": f"{SITE}/lti/launch",
        "deep_link_url": f"{SITE}/lti/launch", "jwks": keys.public_key_set(now),
    })["platform"]
    platform = registration.add_platform(registration.PlatformFields(
        issuer=endpoints["issuer"], client_id=client_id,
        auth_login_url=endpoints["auth_login_url"], auth_token_url=endpoints["auth_token_url"],
        key_set_url=endpoints["key_set_url"], deployment_ids=deployment_ids, name="Test LMS",
    ), now)
    # Committed (the test's outer transaction still rolls it back): a refused request rolls
    # back its own work, which must not take the registration with it.
    db.session.commit()
    return platform


@pytest.fixture
def lms_platform(app, lms: BackgroundPlatform) -> LtiPlatform:
    return register_with(lms)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def auto_post_fields(page: str) -> tuple[str, dict[str, str]]:
    action = re.search(r"<form[^>]*action='([^']*)'", page)
    assert action, page
    fields = {html.unescape(name): html.unescape(value) for name, value in re.findall(
        r"<input type='hidden' name='([^']*)' value='([^']*)'>", page)}
    return html.unescape(action.group(1)), fields


def login(client: Any, lms: BackgroundPlatform, **query: str) -> Any:
    """Start a launch at the platform and hand its login request to us; our answer."""
    start = requests.get(f"{lms.url}/launch", params=query, allow_redirects=False, timeout=10)
    assert start.status_code in (302, 303), start.text
    return client.get(_path(start.headers["Location"]))


def launch_fields(client: Any, lms: BackgroundPlatform, **query: str) -> dict[str, str]:
    """The id_token and state the platform posts to our launch URL."""
    answer = login(client, lms, **query)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    auth = requests.get(answer.headers["Location"], timeout=10)
    assert auth.status_code == 200, auth.text
    action, fields = auto_post_fields(auth.text)
    assert action == f"{SITE}/lti/launch"
    return fields


def launch(client: Any, lms: BackgroundPlatform, **query: str) -> Any:
    return client.post("/lti/launch", data=launch_fields(client, lms, **query))
