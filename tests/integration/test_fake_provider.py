"""The fake proctoring provider, exercised over real HTTP on 127.0.0.1.

Each test starts the fake provider and a stand-in LMS as real werkzeug servers on free loopback
ports, so the tokens, headers and callbacks cross a socket exactly as they will when proctor_web's
REST backend talks to the fake.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask, Response, jsonify, request

from proctor_web.testing.fake_provider import (
    BackgroundServer,
    create_fake_provider,
    main,
    serve_in_background,
)

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
LMS_CLIENT_ID = "provider-at-lms"
LMS_CLIENT_SECRET = "provider-at-lms-secret"
LMS_SIGNING_KEY = "stand-in-lms-signing-key-0123456789abcdef"
HTTP_TIMEOUT = 5.0
REPO_ROOT = Path(__file__).resolve().parents[2]


class StandInLms:
    """Just enough LMS to receive callbacks: a token endpoint and the two edx callback paths."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.callbacks: list[dict[str, Any]] = []
        self.token_requests = 0
        # The next N callbacks answer 500, to exercise the provider's retries.
        self.failures_to_serve = 0
        self.url = ""  # known once served
        self.app = self._build_app()

    def _build_app(self) -> Flask:
        app = Flask("stand_in_lms")

        @app.post("/oauth2/access_token")
        def access_token() -> tuple[Response, int] | Response:
            with self.lock:
                self.token_requests += 1
            form = request.form
            if (
                form.get("grant_type") != "client_credentials"
                or form.get("client_id") != LMS_CLIENT_ID
                or form.get("client_secret") != LMS_CLIENT_SECRET
            ):
                return jsonify(error="invalid_client"), 401
            token = jwt.encode(
                {"sub": LMS_CLIENT_ID, "exp": int(time.time()) + 300},
                LMS_SIGNING_KEY,
                algorithm="HS256",
            )
            return jsonify(access_token=token, token_type="Bearer", expires_in=300)

        @app.post("/api/edx_proctoring/v1/proctored_exam/attempt/<attempt_id>/<kind>")
        def callback(attempt_id: str, kind: str) -> tuple[Response, int]:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            try:
                claims = jwt.decode(token, LMS_SIGNING_KEY, algorithms=["HS256"])
                token_valid = claims.get("sub") == LMS_CLIENT_ID
            except jwt.InvalidTokenError:
                token_valid = False
            with self.lock:
                if not token_valid:
                    answer = 401
                elif self.failures_to_serve > 0:
                    self.failures_to_serve -= 1
                    answer = 500
                else:
                    answer = 200
                self.callbacks.append(
                    {
                        "attempt_id": attempt_id,
                        "kind": kind,
                        "scheme": scheme,
                        "token_valid": token_valid,
                        "json": request.get_json(silent=True),
                        "answered": answer,
                    }
                )
            return jsonify(detail="recorded"), answer

        return app

    def received(self, kind: str, attempt_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                dict(call)
                for call in self.callbacks
                if call["kind"] == kind and call["attempt_id"] == attempt_id
            ]


class ProviderClient:
    """Talks to the fake over HTTP the way a REST backend would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            response = self.session.post(
                f"{self.base_url}/oauth2/access_token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "token_type": "jwt",
                },
                timeout=HTTP_TIMEOUT,
            )
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        url = f"{self.base_url}/_control/{path}"
        if body is None and path == "state":
            return self.session.get(url, timeout=HTTP_TIMEOUT)
        return self.session.post(url, json=body or {}, timeout=HTTP_TIMEOUT * 5)

    def create_exam(self, **fields: Any) -> str:
        body = {"course_id": "course-v1:Org+Demo+2026", "exam_name": "Midterm", **fields}
        response = self.api("POST", "/api/v1/exam/", json=body)
        assert response.status_code == 200, response.text
        exam_id: str = response.json()["id"]
        return exam_id

    def register_attempt(self, exam_id: str, lms_host: str, **fields: Any) -> requests.Response:
        body = {
            "user_id": "9f1c0ffee",
            "full_name": "Ada Lovelace",
            "email": "ada@example.org",
            "lms_host": lms_host,
            "status": "created",
            "time_limit_mins": 60,
            "is_sample_attempt": False,
            **fields,
        }
        return self.api("POST", f"/api/v1/exam/{exam_id}/attempt/", json=body)


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until ``predicate`` is truthy: callbacks arrive from timer threads, not in line."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def lms() -> Iterator[StandInLms]:
    stand_in = StandInLms()
    server = serve_in_background(stand_in.app)
    stand_in.url = server.url
    try:
        yield stand_in
    finally:
        server.stop()


@pytest.fixture
def provider_server(lms: StandInLms) -> Iterator[BackgroundServer]:
    app = create_fake_provider(
        {
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "LMS_URL": lms.url,
            "LMS_CLIENT_ID": LMS_CLIENT_ID,
            "LMS_CLIENT_SECRET": LMS_CLIENT_SECRET,
            "READY_DELAY_SECONDS": 0.05,
            "REVIEW_DELAY_SECONDS": 0.05,
            "CALLBACK_BACKOFF_SECONDS": 0.02,
            "HANG_SECONDS": 2.0,
        }
    )
    with serve_in_background(app) as server:
        yield server


@pytest.fixture
def provider(provider_server: BackgroundServer) -> ProviderClient:
    return ProviderClient(provider_server.url)


@pytest.fixture
def lms_url(lms: StandInLms) -> str:
    return lms.url


@pytest.fixture
def unused_port_url() -> str:
    """A loopback URL nothing listens on: bind a port, then release it."""
    server = serve_in_background(Flask("placeholder"))
    url = server.url
    server.stop()
    return url


def _jwt(secret: str = CLIENT_SECRET, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": CLIENT_ID, "iat": now, "exp": now + 60, **claims}, secret, algorithm="HS256"
    )


# ------------------------------------------------------------------------------------------------
# OAuth2 and request authentication
# ------------------------------------------------------------------------------------------------


def test_token_issued_for_valid_client_credentials(provider: ProviderClient) -> None:
    response = requests.post(
        f"{provider.base_url}/oauth2/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], CLIENT_SECRET, algorithms=["HS256"])
    assert claims["iss"] == CLIENT_ID
    assert 3590 <= claims["exp"] - time.time() <= 3600


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": CLIENT_ID, "client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else", "client_secret": CLIENT_SECRET}, 401, "invalid_client"),
        ({}, 401, "invalid_client"),
    ],
    ids=["wrong-secret", "wrong-client", "no-credentials"],
)
def test_token_refused_for_bad_credentials(
    provider: ProviderClient, form: dict[str, str], status: int, error: str
) -> None:
    response = requests.post(
        f"{provider.base_url}/oauth2/access_token",
        data={"grant_type": "client_credentials", **form},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == status
    assert response.json() == {"error": error}


def test_token_refused_for_other_grant_types(provider: ProviderClient) -> None:
    response = requests.post(
        f"{provider.base_url}/oauth2/access_token",
        data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize(
    "make_authorization",
    [
        lambda: None,
        lambda: "Bearer not-a-jwt",
        lambda: f"Bearer {_jwt(secret='not-the-client-secret-0123456789abcdef')}",
        lambda: f"Bearer {_jwt(exp=int(time.time()) - 10)}",
        lambda: f"Bearer {_jwt(iss='another-client')}",
        lambda: f"Basic {_jwt()}",
    ],
    ids=["missing", "malformed", "wrong-secret", "expired", "wrong-issuer", "wrong-scheme"],
)
def test_api_rejects_missing_or_invalid_tokens(
    provider: ProviderClient, make_authorization: Callable[[], str | None]
) -> None:
    authorization = make_authorization()
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(
        f"{provider.base_url}/api/v1/config/", headers=headers, timeout=HTTP_TIMEOUT
    )

    assert response.status_code == 401
    assert response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "JWT", "jwt"])
def test_api_accepts_bearer_and_jwt_schemes(provider: ProviderClient, scheme: str) -> None:
    response = requests.get(
        f"{provider.base_url}/api/v1/config/",
        headers={"Authorization": f"{scheme} {provider.token()}"},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 200


# ------------------------------------------------------------------------------------------------
# Provider API
# ------------------------------------------------------------------------------------------------


def test_config_in_english_and_spanish(provider: ProviderClient) -> None:
    english = provider.api("GET", "/api/v1/config/").json()
    spanish = provider.api("GET", "/api/v1/config/", headers={"Accept-Language": "es;en"}).json()

    assert english["name"] == spanish["name"]
    assert english["download_url"] == f"{provider.base_url}/download"
    assert english["rules"]["allow_notes"] == "Allow notes"
    assert spanish["rules"]["allow_notes"] == "Permitir apuntes"
    assert set(english["rules"]) == set(spanish["rules"])
    assert len(english["instructions"]) == len(spanish["instructions"]) >= 1
    assert english["instructions"] != spanish["instructions"]


def test_exam_create_get_update(provider: ProviderClient) -> None:
    exam_id = provider.create_exam(is_practice_exam=False, rules={"allow_notes": True})

    fetched = provider.api("GET", f"/api/v1/exam/{exam_id}/")
    assert fetched.status_code == 200
    assert fetched.json()["exam_name"] == "Midterm"
    assert fetched.json()["rules"] == {"allow_notes": True}

    updated = provider.api("POST", f"/api/v1/exam/{exam_id}/", json={"exam_name": "Final"})
    assert updated.status_code == 200
    assert updated.json() == {"id": exam_id}
    assert provider.api("GET", f"/api/v1/exam/{exam_id}/").json()["exam_name"] == "Final"


def test_unknown_exam_is_404(provider: ProviderClient) -> None:
    assert provider.api("GET", "/api/v1/exam/nope/").status_code == 404
    assert provider.api("POST", "/api/v1/exam/nope/", json={}).status_code == 404
    registration = provider.register_attempt("nope", "http://127.0.0.1:1")
    assert registration.status_code == 404
    assert "detail" in registration.json()


def test_attempt_registration_lists_missing_fields(provider: ProviderClient) -> None:
    exam_id = provider.create_exam()

    response = provider.api(
        "POST", f"/api/v1/exam/{exam_id}/attempt/", json={"user_id": "u1", "status": "created"}
    )

    assert response.status_code == 400
    assert response.json()["missing"] == ["full_name", "email", "lms_host"]


def test_attempt_lifecycle(provider: ProviderClient, lms: StandInLms, lms_url: str) -> None:
    exam_id = provider.create_exam()
    registration = provider.register_attempt(exam_id, lms_url)
    assert registration.status_code == 200
    attempt_id = registration.json()["id"]
    assert registration.json()["status"] == "created"
    path = f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/"

    fetched = provider.api("GET", path).json()
    assert fetched["status"] == "created"
    assert fetched["instructions"]
    assert fetched["download_url"] == (
        f"{provider.base_url}/download?exam={exam_id}&attempt={attempt_id}"
    )

    assert provider.api("PATCH", path, json={"status": "bogus"}).status_code == 400
    started = provider.api("PATCH", path, json={"status": "started"})
    assert started.json() == {"id": attempt_id, "status": "started"}
    assert provider.api("GET", path).json()["status"] == "started"
    submitted = provider.api("PATCH", path, json={"status": "submitted"})
    assert submitted.json() == {"id": attempt_id, "status": "submitted"}
    wait_for(lambda: lms.received("reviewed", attempt_id))

    assert provider.api("DELETE", path).json() == {"status": "deleted"}
    assert provider.api("GET", path).status_code == 404
    assert provider.api("DELETE", path).status_code == 404


def test_attempt_of_another_exam_is_404(provider: ProviderClient, lms_url: str) -> None:
    exam_id, other_exam_id = provider.create_exam(), provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]

    response = provider.api("GET", f"/api/v1/exam/{other_exam_id}/attempt/{attempt_id}/")

    assert response.status_code == 404


def test_retire_user_scrubs_personal_data(provider: ProviderClient, lms_url: str) -> None:
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url, user_id="retiree").json()["id"]

    response = provider.api("DELETE", "/api/v1/user/retiree/")

    assert response.status_code == 200
    assert response.json() is True
    attempt = provider.control("state").json()["attempts"][attempt_id]
    assert attempt["email"] == "" and attempt["full_name"] == ""


# ------------------------------------------------------------------------------------------------
# Callbacks to the LMS
# ------------------------------------------------------------------------------------------------


def test_download_page_triggers_ready_callback(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]
    download_url = provider.api("GET", f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/").json()[
        "download_url"
    ]

    page = requests.get(download_url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]

    (call,) = wait_for(lambda: lms.received("ready", attempt_id))
    assert call["json"] == {"status": "ready"}
    assert call["scheme"] == "Bearer"
    assert call["token_valid"] is True
    assert call["answered"] == 200
    state = wait_for(lambda: _attempt_status_is(provider, attempt_id, "ready"))
    (entry,) = state["callback_log"]
    assert entry["url"] == (
        f"{lms_url}/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}/ready"
    )
    assert entry["status_code"] == 200


def _attempt_status_is(
    provider: ProviderClient, attempt_id: str, status: str
) -> dict[str, Any] | None:
    state = provider.control("state").json()
    return state if state["attempts"][attempt_id]["status"] == status else None


def _attempts_when(
    provider: ProviderClient, attempt_id: str, key: str, value: Any
) -> dict[str, Any] | None:
    attempts: dict[str, Any] = provider.control("state").json()["attempts"]
    return attempts if attempts[attempt_id][key] == value else None


def test_download_page_for_unknown_attempt_is_404(provider: ProviderClient) -> None:
    page = requests.get(f"{provider.base_url}/download?exam=x&attempt=y", timeout=HTTP_TIMEOUT)

    assert page.status_code == 404


@pytest.mark.parametrize("outcome", ["passed", "violation", "suspicious", "not_reviewed"])
def test_review_callback_carries_configured_outcome(
    provider: ProviderClient, lms: StandInLms, lms_url: str, outcome: str
) -> None:
    assert provider.control("config", {"REVIEW_OUTCOME": outcome}).status_code == 200
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]
    path = f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/"
    provider.api("PATCH", path, json={"status": "started"})
    provider.api("PATCH", path, json={"status": "submitted"})

    (call,) = wait_for(lambda: lms.received("reviewed", attempt_id))

    assert call["token_valid"] is True
    body = call["json"]
    assert body["status"] == outcome
    assert body["reviewed_by"] is None
    if outcome == "passed":
        assert body["comments"] == []
    else:
        (comment,) = body["comments"]
        assert comment["status"] == outcome
        assert comment["comment"]
        assert (comment["start"], comment["stop"], comment["duration"]) == (12, 40, 28)
    attempts = wait_for(lambda: _attempts_when(provider, attempt_id, "review_status", outcome))
    assert attempts[attempt_id]["status"] == "submitted"


def test_callbacks_go_to_the_registered_lms_host(
    lms: StandInLms, lms_url: str, unused_port_url: str
) -> None:
    # LMS_URL points nowhere, so a callback that arrives proves lms_host from registration won.
    app = create_fake_provider(
        {
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "LMS_URL": unused_port_url,
            "LMS_CLIENT_ID": LMS_CLIENT_ID,
            "LMS_CLIENT_SECRET": LMS_CLIENT_SECRET,
            "CALLBACK_RETRIES": 0,
        }
    )
    with serve_in_background(app) as server:
        client = ProviderClient(server.url)
        exam_id = client.create_exam()
        attempt_id = client.register_attempt(exam_id, lms_url).json()["id"]

        result = client.control(f"attempt/{attempt_id}/ready").json()

    assert result["delivered"] is True
    assert lms.received("ready", attempt_id)


def test_token_from_lms_is_cached_between_callbacks(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]

    provider.control(f"attempt/{attempt_id}/ready")
    provider.control(f"attempt/{attempt_id}/review", {"status": "violation"})

    assert lms.token_requests == 1
    assert lms.received("reviewed", attempt_id)[0]["json"]["status"] == "violation"


def test_callback_retried_after_server_errors(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    lms.failures_to_serve = 2
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]

    requests.get(f"{provider.base_url}/download?exam={exam_id}&attempt={attempt_id}", timeout=5)

    wait_for(lambda: [c for c in lms.received("ready", attempt_id) if c["answered"] == 200])
    assert [c["answered"] for c in lms.received("ready", attempt_id)] == [500, 500, 200]
    assert all(c["token_valid"] for c in lms.received("ready", attempt_id))
    log = wait_for(lambda: _callback_log_when_len(provider, 3))
    assert [(entry["try"], entry["status_code"]) for entry in log] == [(1, 500), (2, 500), (3, 200)]


def _callback_log_when_len(provider: ProviderClient, length: int) -> list[dict[str, Any]] | None:
    log: list[dict[str, Any]] = provider.control("state").json()["callback_log"]
    return log if len(log) == length else None


def test_callback_gives_up_after_retries(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    lms.failures_to_serve = 100
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]

    result = provider.control(f"attempt/{attempt_id}/ready").json()

    assert result["delivered"] is False
    assert [t["status_code"] for t in result["tries"]] == [500, 500, 500, 500]


def test_unreachable_lms_is_logged_as_errors(
    provider: ProviderClient, unused_port_url: str
) -> None:
    provider.control("config", {"CALLBACK_RETRIES": 1})
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, unused_port_url).json()["id"]

    result = provider.control(f"attempt/{attempt_id}/review").json()

    assert result["delivered"] is False
    assert len(result["tries"]) == 2
    assert all(t["status_code"] is None and t["error"] for t in result["tries"])


def test_control_callbacks_accept_any_status(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]

    result = provider.control(f"attempt/{attempt_id}/review", {"status": "made_up"}).json()

    assert result["delivered"] is True
    assert lms.received("reviewed", attempt_id)[0]["json"] == {
        "status": "made_up",
        "comments": [],
        "reviewed_by": None,
    }


# ------------------------------------------------------------------------------------------------
# Failure modes and knobs
# ------------------------------------------------------------------------------------------------


def test_fail_mode_error500(provider: ProviderClient) -> None:
    token = provider.token()
    provider.control("config", {"FAIL_MODE": "error500"})

    failing = provider.api("GET", "/api/v1/config/")
    assert failing.status_code == 500
    assert "error500" in failing.json()["detail"]
    assert provider.api("POST", "/api/v1/exam/", json={}).status_code == 500
    # The token endpoint stays up so the failure is attributable to the API, not to auth.
    assert ProviderClient(provider.base_url).token() != token

    provider.control("config", {"FAIL_MODE": None})
    assert provider.api("GET", "/api/v1/config/").status_code == 200


def test_fail_mode_hang(provider: ProviderClient) -> None:
    provider.token()
    provider.control("config", {"FAIL_MODE": "hang", "HANG_SECONDS": 1.0})
    with pytest.raises(requests.Timeout):
        provider.api("GET", "/api/v1/config/", timeout=0.2)

    provider.control("config", {"HANG_SECONDS": 0.05})
    response = provider.api("GET", "/api/v1/config/")
    assert response.status_code == 503


def test_onboarding_knob_blocks_registration(provider: ProviderClient, lms_url: str) -> None:
    exam_id = provider.create_exam()
    assert provider.register_attempt(exam_id, lms_url).json()["status"] == "created"

    provider.control("config", {"ONBOARDING_STATUS": "onboarding_missing"})
    blocked = provider.register_attempt(exam_id, lms_url)

    assert blocked.status_code == 200
    assert blocked.json()["status"] == "onboarding_missing"
    assert blocked.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"REVIEW_OUTCOME": "great"},
        {"ONBOARDING_STATUS": "nope"},
        {"FAIL_MODE": "explode"},
        {"READY_DELAY_SECONDS": -1},
        {"CLIENT_SECRET": "changed"},
    ],
)
def test_control_config_rejects_bad_values(provider: ProviderClient, body: dict[str, Any]) -> None:
    response = provider.control("config", body)

    assert response.status_code == 400
    assert response.json()["detail"]


def test_onboarding_statuses_paginate_and_filter(provider: ProviderClient) -> None:
    course = "course-v1:Org+Demo+2026"
    for user_id, status in [("u1", "approved-in-course"), ("u2", "pending"), ("u3", "pending")]:
        seeded = provider.control(
            "onboarding", {"course_id": course, "user_id": user_id, "status": status}
        )
        assert seeded.status_code == 200
    path = f"/api/v1/courses/{course}/onboarding_statuses"

    first = provider.api("GET", path, params={"page_size": 2}).json()
    assert first["count"] == 3
    assert first["num_pages"] == 2
    assert [r["user_id"] for r in first["results"]] == ["u1", "u2"]
    assert first["previous"] is None
    second = requests.get(
        first["next"], headers={"Authorization": f"JWT {provider.token()}"}, timeout=5
    ).json()
    assert [r["user_id"] for r in second["results"]] == ["u3"]
    assert second["next"] is None
    assert second["previous"]

    pending = provider.api("GET", path, params={"status": "pending"}).json()
    assert [r["user_id"] for r in pending["results"]] == ["u2", "u3"]
    one = provider.api("GET", path, params={"user_id": "u1"}).json()
    assert one == {"user_id": "u1", "status": "approved-in-course", "expiration_date": None}
    unknown = provider.api("GET", path, params={"user_id": "nobody"}).json()
    assert unknown == {"user_id": "nobody", "status": "no-profile", "expiration_date": None}
    assert provider.api("GET", path, params={"page": 9}).status_code == 404


def test_sample_attempt_review_updates_onboarding_status(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    course = "course-v1:Org+Onboard+2026"
    exam_id = provider.create_exam(course_id=course, is_practice_exam=True)
    attempt_id = provider.register_attempt(
        exam_id, lms_url, user_id="learner-7", is_sample_attempt=True
    ).json()["id"]
    path = f"/api/v1/courses/{course}/onboarding_statuses"

    provider.api(
        "PATCH", f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/", json={"status": "started"}
    )
    # Freeze the review so the intermediate "pending" status can be observed.
    provider.control("config", {"REVIEW_DELAY_SECONDS": 60})
    provider.api(
        "PATCH", f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/", json={"status": "submitted"}
    )
    assert provider.api("GET", path).json()["results"][0]["status"] == "pending"
    provider.control(f"attempt/{attempt_id}/review", {"status": "passed"})

    (entry,) = provider.api("GET", path).json()["results"]
    assert entry["user_id"] == "learner-7"
    assert entry["status"] == "approved-in-course"
    assert entry["expiration_date"]
    # Firing the review by hand cancelled the timer, so no second review reaches the LMS.
    assert provider.control("state").json()["pending_callbacks"] == []


# ------------------------------------------------------------------------------------------------
# Instructor dashboard
# ------------------------------------------------------------------------------------------------


def test_instructor_dashboard_with_valid_jwt(provider: ProviderClient) -> None:
    token = _jwt(
        course_id="course-v1:Org+Demo+2026",
        exam_id="exam-42",
        attempt_id="attempt-7",
        user={"id": "hash", "full_name": "Grace <Hopper>", "email": "g@example.org"},
        jti="abc",
    )

    response = requests.get(
        f"{provider.base_url}/api/v1/instructor/{CLIENT_ID}/",
        params={"jwt": token},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    for value in ("course-v1:Org+Demo+2026", "exam-42", "attempt-7", "Grace &lt;Hopper&gt;"):
        assert value in response.text


@pytest.mark.parametrize(
    ("client_id", "make_token"),
    [
        (CLIENT_ID, lambda: _jwt(secret="wrong-secret-0123456789abcdef-0123456789", course_id="c")),
        (CLIENT_ID, lambda: _jwt(course_id="c", exp=int(time.time()) - 5)),
        (CLIENT_ID, lambda: _jwt(course_id="c", iss="other-client")),
        ("other-client", lambda: _jwt(course_id="c", iss="other-client")),
        (CLIENT_ID, lambda: _jwt()),
        (CLIENT_ID, lambda: "garbage"),
    ],
    ids=["wrong-secret", "expired", "wrong-issuer", "unknown-client", "no-course", "garbage"],
)
def test_instructor_dashboard_refuses_bad_jwt(
    provider: ProviderClient, client_id: str, make_token: Callable[[], str]
) -> None:
    token = make_token()
    response = requests.get(
        f"{provider.base_url}/api/v1/instructor/{client_id}/",
        params={"jwt": token},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 403


# ------------------------------------------------------------------------------------------------
# Control surface and CLI
# ------------------------------------------------------------------------------------------------


def test_reset_clears_state_and_restores_settings(
    provider: ProviderClient, lms: StandInLms, lms_url: str
) -> None:
    provider.control("config", {"REVIEW_OUTCOME": "violation", "REVIEW_DELAY_SECONDS": 60})
    exam_id = provider.create_exam()
    attempt_id = provider.register_attempt(exam_id, lms_url).json()["id"]
    provider.api(
        "PATCH", f"/api/v1/exam/{exam_id}/attempt/{attempt_id}/", json={"status": "submitted"}
    )
    assert provider.control("state").json()["pending_callbacks"] == [f"{attempt_id}:reviewed"]

    assert provider.control("reset").json() == {"status": "reset"}

    state = provider.control("state").json()
    assert state["exams"] == {} and state["attempts"] == {} and state["callback_log"] == []
    assert state["pending_callbacks"] == []
    assert state["settings"]["REVIEW_OUTCOME"] == "passed"
    assert state["settings"]["REVIEW_DELAY_SECONDS"] == 0.05


def test_cli_refuses_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", "0.0.0.0"])

    assert exit_info.value.code == 2
    assert "--allow-non-loopback" in capsys.readouterr().err


def test_cli_serves_on_loopback() -> None:
    python_path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
    command = [sys.executable, "-m", "proctor_web.testing.fake_provider", "--port", "0"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as process:
        try:
            stdout = process.stdout
            assert stdout is not None
            # readline() has no timeout of its own; a thread + queue bounds the wait.
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
            banner = lines.get(timeout=15)
            assert banner.startswith("Fake proctoring provider listening on http://127.0.0.1:")
            url = banner.rsplit(" ", 1)[1].strip()

            response = requests.post(
                f"{url}/oauth2/access_token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "fake-client",
                    "client_secret": "fake-secret",
                },
                timeout=HTTP_TIMEOUT,
            )
            assert response.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_control_endpoints_refuse_non_loopback_clients() -> None:
    # No second interface is available to connect from, so spoof the peer address in-process.
    client = create_fake_provider().test_client()

    response = client.get("/_control/state", environ_base={"REMOTE_ADDR": "192.0.2.10"})

    assert response.status_code == 403
    assert client.get("/_control/state").status_code == 200


def test_background_server_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        serve_in_background(create_fake_provider(), host="0.0.0.0")
