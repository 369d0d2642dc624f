"""Access tokens from a platform's token endpoint: a signed client assertion, cached per scopes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import jwt
import pytest
import responses

from proctor_web.lti import keys, platform_token
from proctor_web.lti.platform_token import PlatformServiceError, access_token, service_request
from proctor_web.models import LtiPlatform, utcnow
from tests.lti.platform_fixtures import CLIENT_ID, control

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def test_the_platform_grants_a_token_for_our_signed_assertion_and_it_is_cached(
    lms, lms_platform: LtiPlatform,
) -> None:
    now = utcnow()
    token = access_token(lms_platform, [NRPS], now)
    assert token
    assert access_token(lms_platform, [NRPS], now + timedelta(minutes=30)) == token
    issued = control(lms, "GET", "state")["tokens_issued"]
    assert [(t["client_id"], t["scopes"]) for t in issued] == [(CLIENT_ID, [NRPS])]
    # Other scopes are another token (expiry is pinned by the unit test below).
    assert access_token(lms_platform, [NRPS, SCORE], now) != token
    assert len(control(lms, "GET", "state")["tokens_issued"]) == 2


def test_a_platform_outage_or_refusal_is_reported_with_whether_to_retry(
    lms, lms_platform: LtiPlatform,
) -> None:
    control(lms, "POST", "fail", {"count": 1, "status": 503})
    with pytest.raises(PlatformServiceError) as outage:
        access_token(lms_platform, [NRPS], utcnow())
    assert outage.value.retryable and outage.value.status == 503
    lms_platform.client_id = "not-registered"
    with pytest.raises(PlatformServiceError) as refusal:
        access_token(lms_platform, [NRPS], utcnow())
    assert not refusal.value.retryable and refusal.value.status == 400
    assert "unknown client_id" in refusal.value.message


def test_an_unreachable_token_endpoint_is_retryable(app, lms_platform: LtiPlatform) -> None:
    lms_platform.auth_token_url = "http://127.0.0.1:9/token"
    with pytest.raises(PlatformServiceError) as error:
        access_token(lms_platform, [NRPS], utcnow())
    assert error.value.retryable


def test_service_request_fetches_a_new_token_once_when_the_platform_forgets_ours(
    lms, lms_platform: LtiPlatform,
) -> None:
    now = utcnow()
    control(lms, "PUT", "contexts/c-1", {"members": [{"user_id": "u-1"}]})
    url = f"{lms.url}/nrps/c-1/memberships"
    assert service_request(lms_platform, "GET", url, [NRPS], now).status_code == 200
    control(lms, "POST", "expire_tokens")
    assert service_request(lms_platform, "GET", url, [NRPS], now).json()["members"]
    assert len(control(lms, "GET", "state")["tokens_issued"]) == 2
    # A token without the scope is refused for good (403), not retried forever.
    with pytest.raises(PlatformServiceError) as error:
        service_request(lms_platform, "GET", url, [SCORE], now)
    assert error.value.status == 403 and not error.value.retryable


@responses.activate
def test_client_assertion_names_us_the_token_url_and_a_fresh_jti(app, now) -> None:
    platform_token.clear_cache()
    platform = LtiPlatform(id=99, issuer="https://lms.example", client_id="cid",
                           auth_login_url="https://lms.example/auth",
                           auth_token_url="https://lms.example/token",
                           key_set_url="https://lms.example/jwks")
    keys.ensure_signing_key(now)  # published long ago, as after any launch
    responses.post("https://lms.example/token",
                   json={"access_token": "t", "token_type": "Bearer", "expires_in": 60})
    access_token(platform, [SCORE], now)
    access_token(platform, [NRPS], now)
    forms = [parse_qs(call.request.body) for call in responses.calls]
    assert forms[0]["grant_type"] == ["client_credentials"]
    assert forms[0]["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    assert forms[0]["scope"] == [SCORE]
    key_set = keys.public_key_set(now)
    claims = []
    for form in forms:
        assertion = form["client_assertion"][0]
        kid = jwt.get_unverified_header(assertion)["kid"]
        jwk = next(k for k in key_set["keys"] if k["kid"] == kid)
        claims.append(jwt.decode(assertion, jwt.PyJWK(jwk).key, algorithms=["RS256"],
                                 audience="https://lms.example/token",
                                 options={"verify_exp": False, "verify_iat": False}))
    assert claims[0]["iss"] == claims[0]["sub"] == "cid"
    assert 0 < claims[0]["exp"] - claims[0]["iat"] <= 300
    assert claims[0]["jti"] != claims[1]["jti"]
    # A 60-second token is used for its first half only.
    responses.calls.reset()
    access_token(platform, [SCORE], now + timedelta(seconds=29))
    assert len(responses.calls) == 0
    access_token(platform, [SCORE], now + timedelta(seconds=31))
    assert len(responses.calls) == 1


def test_a_key_created_now_is_not_used_before_it_is_published(app, lms) -> None:
    """The platform checks our assertion against our key set while we wait: a key only this
    transaction knows would fail there, so the first call creates it and asks for a retry."""
    platform = LtiPlatform(id=98, issuer=lms.url, client_id="fresh-install",
                           auth_login_url=lms.url + "/auth", auth_token_url=lms.url + "/token",
                           key_set_url=lms.url + "/jwks.json")
    with pytest.raises(PlatformServiceError) as error:
        access_token(platform, [NRPS], utcnow())
    assert error.value.retryable and "only just created" in error.value.message
    assert control(lms, "GET", "state")["service_requests"] == []  # nothing was sent
    assert keys.public_key_set(utcnow())["keys"]  # the key exists for the next try
