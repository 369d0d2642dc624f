"""Structured logs: one JSON line per request and per status change, with the request id,
user, attempt and provider, and never a password, a secret or a token."""

from __future__ import annotations

import json
import logging

import pytest

from proctor_web.extensions import db
from proctor_web.ops import logs
from proctor_web.services import oauth
from tests.conftest import make_sign_in

API = "/api/edx_proctoring/v1/proctored_exam"


@pytest.fixture
def now():
    from proctor_web.models import utcnow

    return utcnow()


@pytest.fixture
def json_log(app, capsys):
    """The JSON lines the app logs during the test (the handler writes to captured stderr)."""
    app.config["LOG_FORMAT"] = "json"
    logs.configure_logging(app)
    capsys.readouterr()

    def lines() -> list[dict]:
        err = capsys.readouterr().err
        return [json.loads(line) for line in err.splitlines() if line.startswith("{")]

    lines.raw = lambda: capsys.readouterr().err  # type: ignore[attr-defined]
    try:
        yield lines
    finally:
        app.config["LOG_FORMAT"] = "text"
        logs.remove_handler()


def request_lines(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["logger"] == "proctor_web.request"]


def test_one_json_line_per_request_with_the_given_request_id(client, json_log):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abcd:5"})
    assert response.headers["X-Request-ID"] == "lb-1234.abcd:5"
    [line] = request_lines(json_log())
    assert line["request_id"] == "lb-1234.abcd:5"
    assert line | {"time": None, "duration_ms": None} == {
        "time": None, "level": "info", "logger": "proctor_web.request",
        "message": line["message"], "request_id": "lb-1234.abcd:5", "method": "GET",
        "path": "/healthz", "endpoint": "ops.healthz", "status": 200, "duration_ms": None}
    assert isinstance(line["duration_ms"], float)


@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "semi;colon", "é"])
def test_a_malformed_request_id_is_replaced_by_a_new_one(client, json_log, given):
    response = client.get("/healthz", headers={"X-Request-ID": given})
    generated = response.headers["X-Request-ID"]
    assert generated != given and len(generated) == 32 and generated.isalnum()
    [line] = request_lines(json_log())
    assert line["request_id"] == generated


def test_status_changes_log_the_attempt_user_and_request(app, client, factory, json_log):
    learner = factory.learner()
    exam = factory.exam("timed")
    db.session.commit()
    make_sign_in(app, client)(learner)
    response = client.post(f"{API}/attempt", json={"exam_id": exam.id, "start_clock": "true"},
                           headers={"X-Request-ID": "start-1"})
    assert response.status_code == 200, response.json
    attempt_id = response.json["exam_attempt_id"]
    entries = json_log()
    changes = [e for e in entries if e.get("action") == "start"]
    assert len(changes) == 1
    assert changes[0] | {"time": None, "message": None} == {
        "time": None, "message": None, "level": "info", "logger": "proctor_web.services.attempts",
        "request_id": "start-1", "user_id": learner.id, "attempt_id": attempt_id,
        "action": "start", "from_status": "created", "to_status": "started", "actor": "learner",
        "ignored": False}
    [request_line] = request_lines(entries)
    assert request_line["user_id"] == learner.id
    client.get(f"{API}/attempt/{attempt_id}", headers={"X-Request-ID": "poll-1"})
    [poll] = request_lines(json_log())
    assert (poll["attempt_id"], poll["user_id"]) == (attempt_id, learner.id)
    assert learner.full_name not in json.dumps(entries + [poll])


def test_passwords_secrets_and_tokens_never_reach_the_log(app, client, factory, json_log, now):
    logging.getLogger("proctor_web").setLevel(logging.DEBUG)
    password = "Corr3ct-Horse-Battery-Staple"
    factory.user("logged-learner", password=password)
    oauth.create_client("log-provider", "mock", now, client_id="log-client",
                        client_secret="oauth-client-secret-never-logged-0123")
    db.session.commit()
    try:
        assert client.post("/login", data={"username": "logged-learner", "password": password}
                           ).status_code == 302
        assert client.post("/login", data={"username": "logged-learner",
                                           "password": password + "-wrong"}).status_code == 400
        token_response = client.post("/oauth2/access_token", data={
            "grant_type": "client_credentials", "client_id": "log-client",
            "client_secret": "oauth-client-secret-never-logged-0123"})
        token = token_response.json["access_token"]
        client.post("/oauth2/access_token", data={
            "grant_type": "client_credentials", "client_id": "log-client",
            "client_secret": "wrong-oauth-secret-never-logged"})
        response = client.post(f"{API}/attempt/unknown/ready",
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404
    finally:
        logging.getLogger("proctor_web").setLevel(logging.INFO)
    output = json_log.raw()
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(request_lines(entries)) == 5
    assert [e.get("provider") for e in request_lines(entries)] == [
        None, None, "oauth", "oauth", "mock"]
    for secret in (password, "oauth-client-secret-never-logged-0123",
                   "wrong-oauth-secret-never-logged", token):
        assert secret not in output
