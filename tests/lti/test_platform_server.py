"""The independent LTI test platform behaves like a strict LMS, over real HTTP.

No proctor_web code is involved: the "tool" here is a key pair and a tiny key-set server, so
these tests pin the platform itself (its launches verify with PyJWT against its key set, its
token endpoint refuses bad client assertions, NRPS pages, AGS validates and records scores).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import make_server

from proctor_web.testing.lti_platform import BackgroundPlatform, serve_platform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOOL = "http://localhost:9/tool"
REPO_ROOT = Path(__file__).resolve().parents[2]


class ToolKeys:
    """The test tool's key pair, published by a one-route server (so jwks_url is real HTTP)."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "tool-key-1"

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [jwk]}

    def sign(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self.private_key, algorithm="RS256",
                          headers={"kid": self.kid})


@pytest.fixture(scope="module")
def tool_keys() -> Iterator[tuple[ToolKeys, str]]:
    keys = ToolKeys()
    app = Flask("tool-keys")
    app.add_url_rule("/jwks.json", "jwks", lambda: jsonify(keys.jwks()))
    server = make_server("127.0.0.1", 0, app, threaded=True)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield keys, f"http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def platform(tool_keys: tuple[ToolKeys, str]) -> Iterator[BackgroundPlatform]:
    with serve_platform() as platform:
        requests.post(f"{platform.url}/_control/tools", json={
            "client_id": "tool-1", "deployment_id": "dep-1",
            "login_url": TOOL + "/login", "launch_url": TOOL + "/launch",
            "deep_link_url": TOOL + "/deep", "jwks_url": tool_keys[1],
        }, timeout=10).raise_for_status()
        yield platform


def _auth_params(login_redirect: str, nonce: str = "n-1", **changes: str) -> dict[str, str]:
    """What a tool's login step sends to the auth endpoint, from the login initiation."""
    login = {k: v[0] for k, v in parse_qs(urlsplit(login_redirect).query).items()}
    params = {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": login["client_id"], "redirect_uri": TOOL + "/launch",
        "login_hint": login["login_hint"], "lti_message_hint": login["lti_message_hint"],
        "state": "s-1", "nonce": nonce,
    }
    params.update(changes)
    return params


def _form_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value)
            for name, value in re.findall(r"name='([^']+)' value='([^']*)'", page)}


def launch(platform: BackgroundPlatform, **query: str) -> tuple[dict[str, str], requests.Response]:
    start = requests.get(f"{platform.url}/launch", params=query, allow_redirects=False,
                         timeout=10)
    assert start.status_code == 302, start.text
    return _auth_params(start.headers["Location"]), start


def id_token_from(platform: BackgroundPlatform, **query: str) -> str:
    params, _ = launch(platform, **query)
    answer = requests.post(f"{platform.url}/auth", data=params, timeout=10)
    assert answer.status_code == 200, answer.text
    fields = _form_fields(answer.text)
    assert fields["state"] == "s-1"
    assert f"action='{TOOL}/launch'" in answer.text
    return fields["id_token"]


def verify_launch(platform: BackgroundPlatform, token: str) -> dict[str, Any]:
    client = jwt.PyJWKClient(f"{platform.url}/jwks.json")
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience="tool-1",
                      issuer=platform.url)


def test_login_initiation_carries_the_oidc_parameters(platform: BackgroundPlatform) -> None:
    _, start = launch(platform, user_id="u-7", storage_target="_parent")
    target = urlsplit(start.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == TOOL + "/login"
    login = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert login["iss"] == platform.url
    assert login["login_hint"] == "u-7"
    assert login["client_id"] == "tool-1"
    assert login["lti_deployment_id"] == "dep-1"
    assert login["target_link_uri"] == TOOL + "/launch"
    assert login["lti_storage_target"] == "_parent"
    assert login["lti_message_hint"]


def test_resource_link_launch_is_signed_and_has_every_required_claim(
    platform: BackgroundPlatform,
) -> None:
    requests.put(f"{platform.url}/_control/contexts/c-9", json={
        "title": "Physics 101", "members": [
            {"user_id": "u-1", "name": "Ada L", "email": "ada@example.org"}]}, timeout=10)
    token = id_token_from(platform, user_id="u-1", context_id="c-9", roles="Instructor",
                          custom_content_id="exam-42", lineitem="1", resource_link_id="rl-5")
    claims = verify_launch(platform, token)
    assert claims["sub"] == "u-1" and claims["nonce"] == "n-1" and claims["azp"] == "tool-1"
    assert claims["name"] == "Ada L" and claims["email"] == "ada@example.org"
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == "dep-1"
    assert claims[LTI + "target_link_uri"] == TOOL + "/launch"
    assert claims[LTI + "resource_link"]["id"] == "rl-5"
    assert claims[LTI + "roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
    assert claims[LTI + "context"]["id"] == "c-9"
    assert claims[LTI + "context"]["title"] == "Physics 101"
    assert claims[LTI + "custom"] == {"content_id": "exam-42"}
    assert claims[LTI + "launch_presentation"]["return_url"] == platform.url + "/return"
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitems"] == f"{platform.url}/ags/c-9/lineitems"
    assert ags["lineitem"].startswith(f"{platform.url}/ags/c-9/lineitems/")
    assert SCORE_SCOPE in ags["scope"]
    nrps = claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert nrps["context_memberships_url"] == f"{platform.url}/nrps/c-9/memberships"


def test_deep_linking_request_and_tampering_knobs(platform: BackgroundPlatform) -> None:
    deep = verify_launch(platform, id_token_from(platform, message_type="LtiDeepLinkingRequest",
                                                 roles="Instructor"))
    settings = deep["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    assert settings["deep_link_return_url"] == platform.url + "/deep_link_return"
    assert deep[LTI + "target_link_uri"] == TOOL + "/deep"
    assert LTI + "resource_link" not in deep

    expired = id_token_from(platform, expires_in="-60")
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_launch(platform, expired)
    unknown_key = id_token_from(platform, sign_with="unknown")
    with pytest.raises(jwt.PyJWKClientError):
        verify_launch(platform, unknown_key)
    omitted = verify_launch(platform, id_token_from(platform, omit="deployment_id"))
    assert LTI + "deployment_id" not in omitted


@pytest.mark.parametrize(("change", "error"), [
    ({"redirect_uri": "http://evil.example/launch"}, "redirect_uri"),
    ({"response_type": "code"}, "response_type"),
    ({"scope": "profile"}, "openid"),
    ({"prompt": "login"}, "prompt"),
    ({"nonce": ""}, "nonce"),
    ({"state": ""}, "state"),
    ({"client_id": "someone-else"}, "client_id"),
    ({"login_hint": "another-user"}, "login_hint"),
])
def test_auth_endpoint_refuses_a_bad_authentication_request(
    platform: BackgroundPlatform, change: dict[str, str], error: str,
) -> None:
    params, _ = launch(platform)
    params.update(change)
    answer = requests.post(f"{platform.url}/auth", data=params, timeout=10)
    assert answer.status_code == 400
    assert error in answer.text
    assert platform.state.launches == []


def test_a_message_hint_serves_one_launch_only(platform: BackgroundPlatform) -> None:
    params, _ = launch(platform)
    assert requests.get(f"{platform.url}/auth", params=params, timeout=10).status_code == 200
    again = requests.get(f"{platform.url}/auth", params=params, timeout=10)
    assert again.status_code == 400 and "lti_message_hint" in again.text


def assertion(platform: BackgroundPlatform, keys: ToolKeys, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": "tool-1", "sub": "tool-1", "aud": platform.url + "/token",
              "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    claims.update(changes)
    return keys.sign({k: v for k, v in claims.items() if v is not None})


def get_token(platform: BackgroundPlatform, client_assertion: str,
              scope: str = NRPS_SCOPE, **form: str) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion, "scope": scope, **form}
    return requests.post(f"{platform.url}/token", data=data, timeout=10)


def test_token_endpoint_grants_a_bearer_token_for_a_good_assertion(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    answer = get_token(platform, assertion(platform, tool_keys[0]),
                       scope=f"{NRPS_SCOPE} {SCORE_SCOPE} https://unknown/scope")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["scope"].split() == [NRPS_SCOPE, SCORE_SCOPE]


def test_token_endpoint_refuses_bad_assertions(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    keys = tool_keys[0]
    reused = assertion(platform, keys)
    assert get_token(platform, reused).status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    bad = {
        "reused jti": reused,
        "wrong audience": assertion(platform, keys, aud=platform.url + "/auth"),
        "iss is not sub": assertion(platform, keys, sub="someone"),
        "expired": assertion(platform, keys, iat=now - 600, exp=now - 300),
        "no jti": assertion(platform, keys, jti=None),
        "no exp": assertion(platform, keys, exp=None),
        "unknown client": assertion(platform, keys, iss="nobody", sub="nobody"),
        "signed by another key": keys.sign(
            {"iss": "tool-1", "sub": "tool-1", "aud": platform.url + "/token", "iat": now,
             "exp": now + 60, "jti": "x"}, key=stranger),
        "garbage": "not-a-jwt",
    }
    for reason, token in bad.items():
        answer = get_token(platform, token)
        assert answer.status_code == 400, reason
        assert answer.json()["error"] in ("invalid_client", "invalid_grant"), reason
    assert get_token(platform, assertion(platform, keys),
                     grant_type="password").json()["error"] == "unsupported_grant_type"
    assert get_token(platform, assertion(platform, keys),
                     scope="https://unknown/scope").json()["error"] == "invalid_scope"
    assert len(platform.state.tokens_issued) == 1


def _bearer(platform: BackgroundPlatform, keys: ToolKeys, scope: str) -> dict[str, str]:
    answer = get_token(platform, assertion(platform, keys), scope=scope)
    return {"Authorization": "Bearer " + answer.json()["access_token"]}


def test_nrps_pages_with_link_next_and_checks_the_scope(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    members = [{"user_id": f"u-{i}", "roles": ["Learner"]} for i in range(5)]
    members[0]["status"] = "Inactive"
    requests.put(f"{platform.url}/_control/contexts/c-1", json={"members": members}, timeout=10)
    requests.post(f"{platform.url}/_control/config", json={"NRPS_PAGE_SIZE": 2}, timeout=10)
    url = f"{platform.url}/nrps/c-1/memberships"
    assert requests.get(url, timeout=10).status_code == 401
    wrong_scope = _bearer(platform, tool_keys[0], SCORE_SCOPE)
    assert requests.get(url, headers=wrong_scope, timeout=10).status_code == 403

    headers = _bearer(platform, tool_keys[0], NRPS_SCOPE)
    seen, pages = [], 0
    next_url: str | None = url
    while next_url:
        page = requests.get(next_url, headers=headers, timeout=10)
        assert page.headers["Content-Type"].startswith(
            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        seen += page.json()["members"]
        pages += 1
        next_url = page.links.get("next", {}).get("url")
    assert pages == 3
    assert [m["user_id"] for m in seen] == [f"u-{i}" for i in range(5)]
    assert seen[0]["status"] == "Inactive"
    assert seen[1]["roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]


def test_ags_line_items_and_scores_are_validated_and_recorded(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    requests.put(f"{platform.url}/_control/contexts/c-1",
                 json={"members": [{"user_id": "u-1"}]}, timeout=10)
    headers = _bearer(platform, tool_keys[0], f"{LINEITEM_SCOPE} {SCORE_SCOPE}")
    container = f"{platform.url}/ags/c-1/lineitems"
    created = requests.post(container, headers=headers, timeout=10, json={
        "label": "Midterm", "scoreMaximum": 10, "resourceLinkId": "rl-1"})
    assert created.status_code == 201
    item_url = created.json()["id"]
    found = requests.get(container, params={"resource_link_id": "rl-1"}, headers=headers,
                         timeout=10).json()
    assert [item["id"] for item in found] == [item_url]
    assert requests.post(container, headers=headers, json={"label": "x"},
                         timeout=10).status_code == 400

    score_headers = {**headers, "Content-Type": "application/vnd.ims.lis.v1.score+json"}
    score = {"userId": "u-1", "timestamp": "2026-11-30T10:00:00+00:00", "scoreGiven": 7,
             "scoreMaximum": 10, "activityProgress": "Completed", "gradingProgress": "FullyGraded"}
    scores_url = item_url + "/scores"
    assert requests.post(scores_url, data=json.dumps(score), headers=headers,
                         timeout=10).status_code == 415  # plain JSON is not the score type
    for bad in ({"gradingProgress": "Done"}, {"userId": "stranger"}, {"timestamp": "yesterday"},
                {"scoreGiven": -1}):
        answer = requests.post(scores_url, data=json.dumps({**score, **bad}),
                               headers=score_headers, timeout=10)
        assert answer.status_code in (400, 422), bad
    assert requests.post(scores_url, data=json.dumps(score), headers=score_headers,
                         timeout=10).status_code == 200
    older = {**score, "timestamp": "2026-11-30T09:00:00+00:00"}
    assert requests.post(scores_url, data=json.dumps(older), headers=score_headers,
                         timeout=10).status_code == 409
    recorded = requests.get(f"{platform.url}/_control/scores", timeout=10).json()
    assert [(s["userId"], s["scoreGiven"], s["lineitem"]) for s in recorded] == [
        ("u-1", 7, item_url)]


def test_injected_outage_answers_503_for_the_next_requests_only(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    requests.post(f"{platform.url}/_control/fail", json={"count": 2}, timeout=10)
    for _ in range(2):
        answer = get_token(platform, assertion(platform, tool_keys[0]))
        assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert get_token(platform, assertion(platform, tool_keys[0])).status_code == 200


def test_deep_linking_response_is_verified_against_the_tool_key_set(
    platform: BackgroundPlatform, tool_keys: tuple[ToolKeys, str],
) -> None:
    keys = tool_keys[0]
    request_claims = verify_launch(platform, id_token_from(
        platform, message_type="LtiDeepLinkingRequest", roles="Instructor", context_id="c-3"))
    data = request_claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"][
        "data"]
    now = int(time.time())
    response_claims = {
        "iss": "tool-1", "aud": platform.url, "iat": now, "exp": now + 60, "nonce": "dl-n",
        LTI + "message_type": "LtiDeepLinkingResponse", LTI + "version": "1.3.0",
        LTI + "deployment_id": "dep-1",
        "https://purl.imsglobal.org/spec/lti-dl/claim/data": data,
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [{
            "type": "ltiResourceLink", "title": "Final exam", "url": TOOL + "/launch",
            "custom": {"content_id": "exam-1"}, "lineItem": {"scoreMaximum": 20}}],
    }
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = requests.post(f"{platform.url}/deep_link_return",
                            data={"JWT": keys.sign(response_claims, key=stranger)}, timeout=10)
    assert refused.status_code == 400
    items_claim = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
    link_item = response_claims[items_claim][0]
    for items in ([link_item, link_item], [{"type": "html", "html": "<p>x</p>"}]):
        wrong = requests.post(f"{platform.url}/deep_link_return", timeout=10, data={
            "JWT": keys.sign({**response_claims, items_claim: items})})
        assert wrong.status_code == 400, items
    accepted = requests.post(f"{platform.url}/deep_link_return",
                             data={"JWT": keys.sign(response_claims)}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    recorded = requests.get(f"{platform.url}/_control/deep_links", timeout=10).json()
    assert [r["error"] is not None for r in recorded] == [True, True, True, False]
    item = recorded[3]["content_items"][0]
    assert item["custom"] == {"content_id": "exam-1"} and recorded[3]["context_id"] == "c-3"
    assert item["lineitem_url"].startswith(f"{platform.url}/ags/c-3/lineitems/")


def test_course_page_frames_the_launch(platform: BackgroundPlatform) -> None:
    page = requests.get(f"{platform.url}/course/c-2", params={"roles": "Learner"}, timeout=10)
    assert "LMS course page" in page.text
    src = html.unescape(re.search(r"<iframe id='tool-frame'[^>]* src='([^']+)'", page.text)[1])
    assert src.startswith(platform.url + "/launch?")
    assert parse_qs(urlsplit(src).query)["context_id"] == ["c-2"]


def test_command_line_serves_the_demo_platform_with_the_tool_registered() -> None:
    command = [sys.executable, "-m", "proctor_web.testing.lti_platform", "--port", "0",
               "--tool-url", "http://localhost:5000"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert banner.startswith("LTI test platform listening on"), banner
            url = banner.rsplit(" ", 1)[1].strip()
            tools = requests.get(f"{url}/_control/state", timeout=10).json()["tools"]
            assert tools[0]["jwks_url"] == "http://localhost:5000/lti/jwks.json"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_login_initiation_can_be_a_form_post(platform: BackgroundPlatform) -> None:
    page = requests.get(f"{platform.url}/launch", params={"post": "1", "user_id": "u-3"},
                        timeout=10)
    assert page.status_code == 200
    assert f"action='{TOOL}/login'" in page.text and "method='post'" in page.text
    fields = _form_fields(page.text)
    assert fields["login_hint"] == "u-3" and fields["iss"] == platform.url
    assert fields["lti_message_hint"] and fields["client_id"] == "tool-1"


def test_an_outage_can_target_the_key_set(platform: BackgroundPlatform) -> None:
    requests.post(f"{platform.url}/_control/fail", json={"count": 1, "paths": ["/jwks.json"]},
                  timeout=10).raise_for_status()
    assert requests.get(f"{platform.url}/jwks.json", timeout=10).status_code == 503
    assert requests.get(f"{platform.url}/jwks.json", timeout=10).status_code == 200
    refused = requests.post(f"{platform.url}/_control/fail",
                            json={"count": 1, "paths": ["/_control/state"]}, timeout=10)
    assert refused.status_code == 400
