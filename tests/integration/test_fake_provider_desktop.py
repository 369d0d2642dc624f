"""The fake provider's stand-in desktop application, which its browser worker asks, and the
worker script the mock backend serves (tests/browser/test_provider_worker.py runs it)."""

from __future__ import annotations

import json
import time

import pytest

from proctor_web.testing.fake_provider import create_fake_provider, worker_script
from proctor_web.testing.fake_provider.desktop_app import WORKER_SOURCE


@pytest.fixture
def client():
    return create_fake_provider().test_client()


def _post(client, action: str, attempt: str = "a-1", **kwargs):
    # The worker sends text/plain, so the browser skips the CORS preflight.
    return client.post(f"/desktop/{action}", data=json.dumps({"attempt": attempt}),
                       content_type="text/plain", **kwargs)


def _set(client, **settings) -> None:
    assert client.post("/_control/config", json=settings).status_code == 200


def _session(client, attempt: str = "a-1") -> dict:
    return client.get("/_control/state").get_json()["desktop_sessions"][attempt]


def test_a_session_starts_is_pinged_and_stops(client) -> None:
    start = _post(client, "start")
    assert (start.status_code, start.get_json()) == (200, {"status": "running"})
    assert start.headers["Access-Control-Allow-Origin"] == "*"
    assert _post(client, "ping").status_code == 200
    assert _post(client, "ping").status_code == 200
    stop = _post(client, "stop")
    assert (stop.status_code, stop.get_json()) == (200, {"status": "uploading"})
    session = _session(client)
    assert (session["status"], session["starts"], session["pings"]) == ("stopped", 1, 2)
    assert session["started_at"] <= session["stop_requested_at"] <= session["stopped_at"]


def test_a_ping_for_a_session_never_started_fails(client) -> None:
    answer = _post(client, "ping", attempt="never-started")
    assert answer.status_code == 409
    assert answer.get_json()["detail"] == "the proctoring application is not recording this exam"


def test_no_camera_refuses_the_start_only(client) -> None:
    _post(client, "start")
    _set(client, DESKTOP_APP="no_camera")
    refused = _post(client, "start", attempt="a-2")
    assert (refused.status_code, refused.get_json()["detail"]) == (409, "camera not found")
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert _post(client, "ping").status_code == 200  # the session already running goes on


def test_a_closed_application_answers_nothing_but_503(client) -> None:
    _post(client, "start")
    _set(client, DESKTOP_APP="closed")
    for action in ("start", "ping", "stop"):
        answer = _post(client, action)
        assert answer.status_code == 503, action
        assert answer.get_json()["detail"] == "the proctoring application is not running"


def test_fail_mode_applies_to_the_desktop_application_too(client) -> None:
    _post(client, "start")
    _set(client, FAIL_MODE="error500")
    answer = _post(client, "ping")
    assert answer.status_code == 500
    assert "FAIL_MODE=error500" in answer.get_json()["detail"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_the_stop_takes_the_configured_upload_time(client) -> None:
    _post(client, "start")
    _set(client, DESKTOP_STOP_DELAY_SECONDS=0.3)
    began = time.monotonic()
    assert _post(client, "stop").status_code == 200
    assert time.monotonic() - began >= 0.3


def test_no_bearer_token_is_needed_and_a_preflight_is_answered(client) -> None:
    preflight = client.options("/desktop/start", headers={
        "Origin": "http://127.0.0.1:5000", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_the_published_mockprock_worker_is_answered_too(client) -> None:
    """@edx/mockprock's worker sends no body, pings with GET and checks these statuses."""
    assert client.post("/desktop/start").get_json() == {"status": "running"}
    assert client.get("/desktop/ping").get_json() == {"status": "running"}
    assert client.post("/desktop/stop").get_json() == {"status": "uploading"}
    assert _session(client, "")["status"] == "stopped"


@pytest.mark.parametrize("body", ["not json", "[1]", '{"attempt": 3}'])
def test_a_body_without_an_attempt_id_means_the_one_bare_session(client, body: str) -> None:
    assert client.post("/desktop/start", data=body, content_type="text/plain").status_code == 200
    assert _session(client, "")["starts"] == 1


def test_bad_desktop_settings_are_refused(client) -> None:
    for settings in ({"DESKTOP_APP": "exploded"}, {"DESKTOP_STOP_DELAY_SECONDS": -1}):
        answer = client.post("/_control/config", json=settings)
        assert answer.status_code == 400, settings
    with pytest.raises(ValueError, match="DESKTOP_APP"):
        create_fake_provider({"DESKTOP_APP": "exploded"})


def test_reset_forgets_the_sessions_and_the_knobs(client) -> None:
    _post(client, "start")
    _set(client, DESKTOP_APP="closed")
    client.post("/_control/reset")
    state = client.get("/_control/state").get_json()
    assert state["desktop_sessions"] == {}
    assert state["settings"]["DESKTOP_APP"] == "running"


def test_the_worker_script_carries_its_configuration_first() -> None:
    script = worker_script("http://127.0.0.1:11136")
    first, rest = script.split("\n", 1)
    assert first == 'self.fakeProviderWorker = {"desktopUrl": "http://127.0.0.1:11136"};'
    assert rest == WORKER_SOURCE.read_text(encoding="utf-8")
    assert worker_script().startswith('self.fakeProviderWorker = {"desktopUrl": ""};')
    # A classic worker script: nothing a module-less worker would refuse.
    assert "import " not in rest and "export " not in rest
