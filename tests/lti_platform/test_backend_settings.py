"""The ``lti`` backend describes its settings and stops the app on a missing or bad one."""

from __future__ import annotations

import pytest
import responses

from proctor_web.backends import BackendRegistry
from proctor_web.backends.base import BackendSettingsError, ProviderUnavailable
from proctor_web.backends.lti import LtiBackend

GOOD = {"client_id": "c", "deployment_id": "d", "tool_login_url": "https://t.example/login",
        "tool_launch_url": "https://t.example/launch",
        "tool_key_set_url": "https://t.example/jwks.json"}


@pytest.mark.parametrize("change, message", [
    ({"client_id": None}, "client_id"),
    ({"tool_login_url": "not a url"}, "tool_login_url"),
    ({"tool_key_set_url": None}, "tool_key_set_url"),
    ({"tool_key_set": {"nokeys": 1}, "tool_key_set_url": None}, "JWKS"),
    ({"redirect_uris": ["ftp://x"]}, "redirect_uris"),
    ({"acs_actions": ["explode"]}, "acs_actions"),
    ({"document_target": "popup"}, "document_target"),
    ({"colour": "blue"}, "does not know"),
])
def test_bad_settings_fail_fast(change, message):
    settings = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(BackendSettingsError, match=message):
        BackendRegistry({"DEFAULT": "lti", "lti": settings})


def test_defaults():
    backend = BackendRegistry({"DEFAULT": "lti", "lti": GOOD}).get("lti")
    assert isinstance(backend, LtiBackend)
    assert backend.allowed_redirect_uris == ["https://t.example/launch"]
    assert backend.supported_actions == ["pause", "resume", "terminate", "update", "flag"]
    assert backend.get_attempt(None, "CODE")["download_url"] == "/lti/platform/launch/CODE"


@responses.activate
def test_key_set_is_cached_and_refetched_for_an_unknown_kid(monkeypatch):
    backend = LtiBackend("lti", GOOD)
    responses.get(GOOD["tool_key_set_url"], json={"keys": [{"kid": "k1", "kty": "RSA"}]})
    assert backend.tool_key("k1") == {"kid": "k1", "kty": "RSA"}
    assert backend.tool_key("k1") is not None and len(responses.calls) == 1  # cached
    responses.replace(responses.GET, GOOD["tool_key_set_url"],
                      json={"keys": [{"kid": "k2", "kty": "RSA"}]})
    backend._key_set_fetched -= 60  # the last fetch was a minute ago
    assert backend.tool_key("k2") == {"kid": "k2", "kty": "RSA"}  # rotated: fetched again
    assert len(responses.calls) == 2
    assert backend.tool_key("k3") is None  # unknown again within 10 s: no new request
    assert len(responses.calls) == 2


@responses.activate
def test_unreachable_key_set_is_a_provider_error():
    responses.get(GOOD["tool_key_set_url"], status=500)
    with pytest.raises(ProviderUnavailable):
        LtiBackend("lti", GOOD).tool_key("k1")


def test_demo_data_has_an_exam_per_lti_tool(app):
    from proctor_web.cli import DEMO_COURSE_ID
    from proctor_web.services import exams

    result = app.test_cli_runner().invoke(args=["proctor", "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    exam = exams.find_exam(DEMO_COURSE_ID, "lti-lti")
    assert exam is not None and exam.backend == "lti" and exam.is_proctored
    again = app.test_cli_runner().invoke(args=["proctor", "demo"], catch_exceptions=False)
    assert "already loaded, nothing changed" in again.output
