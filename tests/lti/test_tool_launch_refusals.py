"""Refused launches: each check names what is wrong (4xx, never a 500), sends the learner
back to the platform with lti_errormsg when the signed launch gave a return URL, and leaves
nothing behind."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.lti.tool import platform_keys
from proctor_web.models import (
    Course,
    LtiContext,
    LtiResourceLink,
    User,
    UserIdentity,
)
from tests.lti import tool_launch
from tests.lti.tool_launch import SITE, control, launch, launch_fields, register_with

lms, lms_platform = tool_launch.lms, tool_launch.lms_platform  # fixtures


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, UserIdentity, Course, LtiContext, LtiResourceLink))


def _refused(response, code: str, status: int = 400) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert f'data-refusal="{code}"' in body, body
    return body


def _errormsg(body: str) -> str:
    start = body.index('id="lti-return" href="') + len('id="lti-return" href="')
    import html

    url = html.unescape(body[start:body.index('"', start)])
    assert url.startswith(url.split("?")[0])
    return parse_qs(urlsplit(url).query)["lti_errormsg"][0]


@pytest.mark.parametrize(("query", "code"), [
    ({"expires_in": "-600"}, "expired_token"),
    ({"sign_with": "unknown"}, "unknown_key"),
    ({"omit": "roles"}, "missing_claims"),
    ({"omit": "resource_link"}, "missing_claims"),
    ({"omit": "target_link_uri"}, "missing_claims"),
    ({"omit": "nonce"}, "missing_claims"),
    ({"omit": "sub"}, "missing_claims"),
    ({"omit": "message_type"}, "unsupported_message_type"),
    ({"override_json": json.dumps({
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "not-ours"})},
     "unknown_deployment"),
    ({"override_json": json.dumps({
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.1"})}, "bad_version"),
])
def test_a_bad_launch_is_refused_by_name_and_creates_nothing(
    app, client, lms, lms_platform, query, code
) -> None:
    before = _counts()
    body = _refused(launch(client, lms, **query), code)
    assert _counts() == before
    if code not in ("expired_token", "unknown_key") and query.get("omit") != "nonce":
        # Verified, so its return URL is the platform's: the learner goes back with the reason.
        assert _errormsg(body)


def test_a_tampered_token_fails_its_signature(app, client, lms, lms_platform) -> None:
    fields = launch_fields(client, lms)
    header, payload, signature = fields["id_token"].split(".")
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims["sub"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    fields["id_token"] = f"{header}.{forged}.{signature}"
    _refused(client.post("/lti/launch", data=fields), "bad_signature")
    assert _counts() == (0, 0, 0, 0, 0)


def test_a_replayed_launch_is_refused_even_in_the_same_browser(
    app, client, lms, lms_platform
) -> None:
    fields = launch_fields(client, lms)
    assert client.post("/lti/launch", data=fields).status_code == 303
    before = _counts()
    # Same browser, same cookies, same session: the nonce is used up all the same.
    _refused(client.post("/lti/launch", data=fields), "replayed_nonce")
    assert _counts() == before


def test_a_launch_from_another_browser_fails_the_state_check(
    app, client, lms, lms_platform
) -> None:
    fields = launch_fields(client, lms)
    other_browser = app.test_client()
    _refused(other_browser.post("/lti/launch", data=fields), "bad_state")
    fields["state"] = "made-up"
    _refused(client.post("/lti/launch", data=fields), "bad_state")
    assert _counts() == (0, 0, 0, 0, 0)


def test_an_unknown_client_of_a_known_issuer_is_a_clear_400_not_a_500(
    app, client, lms, lms_platform
) -> None:
    # A second registration of the same issuer, and a launch for a third client id.
    register_with(lms, client_id="second-client")
    fields = launch_fields(client, lms, client_id="second-client")
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    assert claims["aud"] == "second-client"
    assert client.post("/lti/launch", data=fields).status_code == 303

    control(lms, "POST", "tools", {"client_id": "third-client", "login_url": f"{SITE}/lti/login",
                                   "launch_url": f"{SITE}/lti/launch", "jwks": {"keys": []}})
    start = requests.get(f"{lms.url}/launch", params={"client_id": "third-client"},
                         allow_redirects=False, timeout=10)
    answer = client.get(start.headers["Location"].replace(SITE, ""))
    _refused(answer, "unknown_client")


def test_a_token_whose_audience_is_not_the_registered_client_is_refused(
    app, client, lms, lms_platform
) -> None:
    register_with(lms, client_id="second-client")
    fields = launch_fields(client, lms, client_id=tool_launch.CLIENT_ID, override_json=json.dumps(
        {"aud": "who-is-this", "azp": "who-is-this"}))
    _refused(client.post("/lti/launch", data=fields), "unknown_client")


def test_the_platform_rotating_its_key_is_followed(
    app, client, lms, lms_platform, monkeypatch
) -> None:
    # No waiting between fetches in the test (the cooldown's own behaviour is PyJWT's).
    monkeypatch.setattr(platform_keys, "REFRESH_COOLDOWN_SECONDS", 0)
    platform_keys.forget_cached_keys()
    assert launch(client, lms, user_id="u1").status_code == 303
    control(lms, "POST", "rotate_key", {"drop_old": True})
    # Our cached key set lacks the new kid: it is fetched again, once.
    assert launch(client, lms, user_id="u2").status_code == 303


def test_a_get_or_an_empty_post_to_the_launch_url_is_explained(app, client) -> None:
    _refused(client.get("/lti/launch"), "wrong_method", 405)
    _refused(client.post("/lti/launch", data={}), "missing_parameters")
    _refused(client.post("/lti/launch", data={"id_token": "nonsense", "state": "x"}),
             "malformed_token")


def test_a_login_for_someone_elses_target_link_is_refused(app, client, lms, lms_platform) -> None:
    from tests.lti.tool_launch import login

    response = login(client, lms, target_link_uri="https://elsewhere.example/lti/launch")
    _refused(response, "bad_target_link_uri")


def test_a_refusal_speaks_the_browsers_language(app, client, lms, lms_platform) -> None:
    from flask_babel import refresh

    fields = launch_fields(client, lms, expires_in="-600")
    refresh()  # requests share the test's app context, where Flask-Babel caches the locale
    response = client.post("/lti/launch", data=fields, headers={"Accept-Language": "es"})
    body = _refused(response, "expired_token")
    assert "El token de lanzamiento ha caducado" in body
    assert "El lanzamiento desde tu curso no funcionó" in body


def test_an_unreachable_key_set_is_a_502_naming_it(app, client, lms, lms_platform) -> None:
    fields = launch_fields(client, lms)
    lms_platform.key_set_url = "http://127.0.0.1:9/jwks.json"  # nothing listens there
    db.session.commit()
    platform_keys.forget_cached_keys()
    _refused(client.post("/lti/launch", data=fields), "key_set_unreachable", 502)
    assert _counts() == (0, 0, 0, 0, 0)


def test_a_switched_off_platform_and_an_unknown_deployment_are_refused_at_login(
    app, client, lms, lms_platform
) -> None:
    from tests.lti.tool_launch import login

    _refused(login(client, lms, deployment_id="not-registered"), "unknown_deployment")
    lms_platform.is_active = False
    db.session.commit()
    _refused(login(client, lms), "platform_inactive", 403)


def test_expired_login_states_and_nonces_are_swept_at_the_next_login(
    app, client, lms, lms_platform
) -> None:
    from datetime import timedelta

    from proctor_web.models import LtiLoginState, LtiNonce, utcnow
    from tests.lti.tool_launch import login

    long_ago = utcnow() - timedelta(days=1)
    db.session.add(LtiLoginState(state="old", nonce="old", platform_id=lms_platform.id,
                                 expires_at=long_ago))
    db.session.add(LtiNonce(platform_id=lms_platform.id, nonce="old", expires_at=long_ago))
    db.session.commit()
    login(client, lms)
    assert db.session.scalar(select(func.count(LtiNonce.id))) == 0
    assert [s.state for s in db.session.scalars(select(LtiLoginState))] != ["old"]
    assert db.session.scalar(select(func.count(LtiLoginState.id)).where(
        LtiLoginState.state == "old")) == 0
