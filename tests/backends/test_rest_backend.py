"""The REST backend's single HTTP exchanges (``responses``); the whole flow runs against the
fake provider in tests/integration."""

from __future__ import annotations

import json
import time

import jwt
import pytest
import requests
import responses

from proctor_web.backends.base import (
    AttemptRegistration,
    BackendSettingsError,
    ExamData,
    OnboardingRequired,
    ProviderUnavailable,
    RegistrationRefused,
)
from proctor_web.backends.rest import ProviderRefused, RestBackend
from proctor_web.errors import BackendError, BadRequest

BASE = "https://provider.example"
SECRET = "csecret-0123456789-0123456789-0123"
EXAM = ExamData(
    id=1, course_id="course-v1:A+B+C", content_id="b1", exam_name="Final", time_limit_mins=30,
    is_proctored=True, is_practice_exam=False, is_active=True, hide_after_due=False,
    due_date=None, external_id="ex-1", backend="rest", review_policy="Open book",
)


def make(**overrides) -> RestBackend:
    settings = {"base_url": BASE + "/", "client_id": "cid", "client_secret": SECRET,
                "default_rules": {"allow_notes": True}}
    settings.update(overrides)
    return RestBackend("rest", settings)


def token_response(rsps, expires_in=3600):
    rsps.post(f"{BASE}/oauth2/access_token",
              json={"access_token": "tok", "expires_in": expires_in})


def registration() -> AttemptRegistration:
    return AttemptRegistration(
        attempt_code="CODE", exam=EXAM, user_id=5, obscured_user_id="hash5", full_name="Ann Lee",
        email="ann@example.com", allowed_time_limit_mins=30, is_sample_attempt=False,
        review_policy="Open book", review_policy_exception=None, lms_host="https://lms.example",
        launch_url="https://lms.example/launch",
    )


@responses.activate
def test_token_is_cached_until_it_expires():
    token_response(responses)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P", "rules": {}, "instructions": []})
    backend = make()
    backend.get_proctoring_config("es")
    backend.get_proctoring_config("en")
    token_calls = [c for c in responses.calls if c.request.url.endswith("/oauth2/access_token")]
    assert len(token_calls) == 1
    assert "grant_type=client_credentials" in token_calls[0].request.body
    config_calls = [c for c in responses.calls if "/config/" in c.request.url]
    assert [c.request.headers["Accept-Language"] for c in config_calls] == ["es;en", "en;en"]
    assert config_calls[0].request.headers["Authorization"] == "JWT tok"


@responses.activate
def test_expired_token_is_renewed():
    token_response(responses, expires_in=0)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    backend = make()
    backend.get_proctoring_config()
    backend.get_proctoring_config()
    assert len([c for c in responses.calls if "access_token" in c.request.url]) == 2


@responses.activate
def test_exam_create_then_update():
    token_response(responses)
    responses.post(f"{BASE}/api/v1/exam/", json={"id": "new-id"})
    responses.post(f"{BASE}/api/v1/exam/new-id/", json={"id": "new-id"})
    backend = make()
    from dataclasses import replace

    assert backend.save_exam(replace(EXAM, external_id=None)) == "new-id"
    body = json.loads(responses.calls[1].request.body)
    assert body["rule_summary"] == "Open book" and body["rules"] == {"allow_notes": True}
    assert body["course_id"] == "course-v1:A+B+C" and "review_policy" not in body
    assert backend.save_exam(replace(EXAM, external_id="new-id")) == "new-id"


@responses.activate
def test_exam_save_failure_is_not_fatal_on_save_but_raises_for_retries():
    token_response(responses)
    responses.post(f"{BASE}/api/v1/exam/ex-1/", status=500, json={"detail": "down"})
    backend = make()
    assert backend.on_exam_saved(EXAM) == "ex-1"
    with pytest.raises(ProviderUnavailable, match="500"):
        backend.save_exam(EXAM)


@responses.activate
def test_register_attempt_sends_the_contract_fields():
    token_response(responses)
    responses.post(f"{BASE}/api/v1/exam/ex-1/attempt/", json={"id": "att-1", "status": "created"})
    assert make().register_exam_attempt(registration()) == "att-1"
    body = json.loads(responses.calls[1].request.body)
    assert body == {
        "lms_host": "https://lms.example", "time_limit_mins": 30, "is_sample_attempt": False,
        "user_id": "hash5", "full_name": "Ann Lee", "email": "ann@example.com",
        "status": "created", "review_policy": "Open book",
    }


@responses.activate
@pytest.mark.parametrize("status", ["onboarding_missing", "onboarding_expired"])
def test_onboarding_statuses_refuse_registration(status):
    token_response(responses)
    responses.post(f"{BASE}/api/v1/exam/ex-1/attempt/", json={"id": "att-2", "status": status})
    with pytest.raises(OnboardingRequired) as refusal:
        make().register_exam_attempt(registration())
    assert refusal.value.onboarding_status == status
    assert refusal.value.external_id == "att-2"


@responses.activate
def test_registration_errors_are_clear():
    token_response(responses)
    responses.post(f"{BASE}/api/v1/exam/ex-1/attempt/", status=400, json={"detail": "bad user"})
    with pytest.raises(RegistrationRefused, match="bad user") as refused:
        make().register_exam_attempt(registration())
    assert refused.value.provider_status == 400
    responses.replace(responses.POST, f"{BASE}/api/v1/exam/ex-1/attempt/", json={"status": "x"})
    with pytest.raises(RegistrationRefused, match="no id"):
        make().register_exam_attempt(registration())


@responses.activate
def test_timeouts_and_connection_errors_are_retryable_errors():
    token_response(responses)
    responses.patch(f"{BASE}/api/v1/exam/ex-1/attempt/a1/", body=requests.Timeout())
    with pytest.raises(ProviderUnavailable, match="no answer"):
        make(timeout_seconds=0.5).start_exam_attempt("ex-1", "a1")
    responses.replace(responses.PATCH, f"{BASE}/api/v1/exam/ex-1/attempt/a1/",
                      body=requests.ConnectionError())
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        make().stop_exam_attempt("ex-1", "a1")


@responses.activate
def test_patch_remove_get_and_retire():
    token_response(responses)
    responses.patch(f"{BASE}/api/v1/exam/ex-1/attempt/a1/", json={"id": "a1"})
    responses.delete(f"{BASE}/api/v1/exam/ex-1/attempt/a1/", json={"status": "deleted"})
    responses.get(f"{BASE}/api/v1/exam/ex-1/attempt/a1/",
                  json={"status": "started", "instructions": ["x"], "download_url": "u"})
    responses.delete(f"{BASE}/api/v1/user/hash5/", json=True)
    backend = make()
    backend.mark_erroneous_exam_attempt("ex-1", "a1")
    assert json.loads(responses.calls[1].request.body) == {"status": "error"}
    assert backend.remove_exam_attempt("ex-1", "a1") is True
    assert backend.get_attempt("ex-1", "a1", locale="es")["status"] == "started"
    assert responses.calls[3].request.headers["Accept-Language"] == "es;en"
    assert backend.retire_user("hash5") is True


@responses.activate
def test_retire_user_with_an_unexpected_answer_is_an_error():
    token_response(responses)
    responses.delete(f"{BASE}/api/v1/user/hash5/", json={"ok": 1})
    with pytest.raises(BackendError, match="retirement"):
        make().retire_user("hash5")


@responses.activate
def test_refused_token_is_a_clear_error():
    responses.post(f"{BASE}/oauth2/access_token", status=401, json={"error": "invalid_client"})
    with pytest.raises(BackendError, match="client_id and client_secret"):
        make().get_proctoring_config()


@responses.activate
def test_refusal_of_an_event_is_not_retryable():
    token_response(responses)
    responses.patch(f"{BASE}/api/v1/exam/ex-1/attempt/a1/", status=404, json={"detail": "gone"})
    with pytest.raises(ProviderRefused, match="gone"):
        make().start_exam_attempt("ex-1", "a1")


def test_instructor_url_is_a_short_lived_jwt_signed_with_the_client_secret():
    url = make().get_instructor_url(
        "course-v1:A+B+C", {"id": "hash", "full_name": "I", "email": "i@x"},
        exam_external_id="ex-1", attempt_external_id="a1", show_configuration_dashboard=True,
    )
    assert url.startswith(f"{BASE}/api/v1/instructor/cid/?jwt=")
    claims = jwt.decode(url.split("jwt=")[1], SECRET, algorithms=["HS256"], issuer="cid")
    assert claims["course_id"] == "course-v1:A+B+C"
    assert claims["exam_id"] == "ex-1" and claims["attempt_id"] == "a1"
    assert claims["config"] is True
    assert claims["user"] == {"id": "hash", "full_name": "I", "email": "i@x"}
    assert 0 < claims["exp"] - time.time() <= 60


def test_review_payload_validation():
    backend = make()
    review = backend.on_review_callback(
        {"status": "suspicious", "comments": [{"comment": "c", "status": "s", "start": 3}],
         "reviewed_by": None})
    assert review.comments == [{"comment": "c", "status": "s", "start": 3, "stop": 0,
                                "duration": 0}]
    for bad in ({"status": "nope"}, {"status": "passed", "comments": {}},
                {"status": "passed", "comments": ["x"]},
                {"status": "passed", "comments": [{"start": "soon"}]},
                {"status": "passed", "reviewed_by": 3}):
        with pytest.raises(BadRequest):
            backend.on_review_callback(bad)


@pytest.mark.parametrize(("settings", "message"), [
    ({"base_url": ""}, "base_url"),
    ({"base_url": "provider.example"}, "base_url"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"client_secret": None}, "client_secret"),
    ({"passing_statuses": ["Clean"]}, "passing_statuses"),
])
def test_settings_are_checked_at_start_up(settings, message):
    with pytest.raises(BackendSettingsError, match=message):
        make(**settings)


@responses.activate
def test_the_config_says_which_language_the_provider_answered_in():
    token_response(responses)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P", "instructions": ["Open it"]},
                  headers={"Content-Language": "en-US"})
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P", "instructions": ["Ábrelo"]})
    backend = make()
    assert backend.get_proctoring_config("es")["language"] == "en-US"
    assert backend.get_proctoring_config("es")["language"] is None  # it did not say
