"""The token endpoint (client assertion checks) and the Assessment Control Service."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from proctor_web.extensions import db
from proctor_web.lti_proctoring import sessions
from proctor_web.models import AttemptIncident, AttemptStatus
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.exams import backend_for
from tests.lti_platform.conftest import client_assertion

SCOPE = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_request(client, assertion: str, scope: str = SCOPE, **extra):
    return client.post("/lti/platform/token", data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion, "scope": scope, **extra})


@pytest.fixture
def bearer(client, tool_sign) -> str:
    response = token_request(client, tool_sign(client_assertion()))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == SCOPE
    assert 0 < body["expires_in"] <= 3600
    return body["access_token"]


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("overrides, signing, message", [
    ({"aud": "https://elsewhere.example/token"}, {}, "aud must be"),
    ({"sub": "someone-else"}, {}, "sub must be"),
    ({"iss": "unknown-tool"}, {}, "No LTI proctoring tool"),
    ({"jti": None}, {}, "required claim jti"),
    ({"exp": None}, {}, "required claim exp"),
    ({"exp": 1000, "iat": 900}, {}, "expired"),
    ({}, {"key": OTHER_KEY}, "signature"),
])
def test_token_refusals(app, client, tool_sign, overrides, signing, message):
    response = token_request(client, tool_sign(client_assertion(**overrides), **signing))
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "invalid_client" and message in body["error_description"]


def test_token_grant_scope_and_jti_replay(app, client, tool_sign):
    assertion = tool_sign(client_assertion())
    assert token_request(client, assertion, grant_type="password").status_code == 400
    wrong_scope = token_request(client, assertion, scope="openid")
    assert wrong_scope.status_code == 400 and wrong_scope.get_json()["error"] == "invalid_scope"
    assert token_request(client, assertion).status_code == 200
    replay = token_request(client, assertion)
    assert replay.status_code == 401 and "already used" in replay.get_json()["detail"]


@pytest.fixture
def running(factory, now):
    learner = factory.learner()
    exam = factory.exam("proctored", backend="lti")
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now)
    session = sessions.open_session(attempt, backend_for(exam), now)
    attempts.apply_action(attempt, Action.READY, Actor.provider("lti"), now)
    attempts.apply_action(attempt, Action.START, Actor.learner(learner), now)
    db.session.commit()
    return session


def control(client, bearer, session, content_type=MEDIA_TYPE, **fields):
    body = {"user": {"sub": session.sub}, "resource_link": {"id": session.resource_link_id},
            "attempt_number": session.attempt_number, **fields}
    return client.post("/lti/platform/acs", data=json.dumps(body), content_type=content_type,
                       headers={"Authorization": f"Bearer {bearer}"})


def test_acs_needs_a_bearer_token_of_ours(client, running):
    body = json.dumps({"action": "flag"})
    assert client.post("/lti/platform/acs", data=body,
                       content_type=MEDIA_TYPE).status_code == 401
    forged = client.post("/lti/platform/acs", data=body, content_type=MEDIA_TYPE,
                         headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401 and forged.get_json()["error"] == "invalid_token"


def test_acs_refuses_bad_requests(client, bearer, running):
    assert control(client, bearer, running, content_type="application/json",
                   action="flag").status_code == 415
    assert control(client, bearer, running, action="explode").status_code == 400
    assert control(client, bearer, running, action="flag",
                   incident_severity=3).status_code == 400
    assert control(client, bearer, running, action="flag",
                   incident_time="yesterday").status_code == 400
    assert control(client, bearer, running, action="update").status_code == 400
    assert control(client, bearer, running, action="update",
                   extra_time=7 * 24 * 60 + 1).status_code == 400
    not_json = client.post("/lti/platform/acs", data="{", content_type=MEDIA_TYPE,
                           headers={"Authorization": f"Bearer {bearer}"})
    assert not_json.status_code == 400 and "detail" in not_json.get_json()
    assert control(client, bearer, running, action="flag",
                   attempt_number=9).status_code == 404
    wrong_user = client.post("/lti/platform/acs", content_type=MEDIA_TYPE, data=json.dumps({
        "user": {"sub": "nobody"}, "resource_link": {"id": running.resource_link_id},
        "attempt_number": 1, "action": "flag"}), headers={"Authorization": f"Bearer {bearer}"})
    assert wrong_user.status_code == 404
    db.session.expire_all()
    assert db.session.query(AttemptIncident).count() == 0


def test_acs_controls_are_audited_and_answer_the_spec_status(client, bearer, running):
    paused = control(client, bearer, running, action="pause", reason_code="noise")
    assert paused.status_code == 200 and paused.mimetype == MEDIA_TYPE
    assert paused.get_json() == {"status": "paused"}
    assert control(client, bearer, running, action="resume").get_json() == {"status": "running"}
    assert control(client, bearer, running, action="update",
                   extra_time=90).get_json() == {"status": "running", "extra_time": 90}
    assert control(client, bearer, running, action="update",
                   extra_time=0.5).get_json() == {"status": "running", "extra_time": 90.5}
    flag = control(client, bearer, running, action="flag", incident_severity=0.25,
                   reason_code="look_away", reason_msg="Looked away",
                   incident_time="2026-11-22T12:01:00Z")
    assert flag.get_json()["status"] == "running"
    assert control(client, bearer, running, action="terminate").get_json() == {
        "status": "terminated", "extra_time": 90.5}
    db.session.expire_all()
    attempt = running.attempt
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.extra_seconds == 90 * 60 + 30
    actions = [h.action for h in attempts.history_of(attempt.id)]
    assert actions[-6:] == ["pause", "unpause", "add_time", "add_time", "flag", "terminate"]
    incident = db.session.query(AttemptIncident).filter_by(action="flag").one()
    assert (incident.severity, incident.reason_code, incident.reason_msg) == (
        0.25, "look_away", "Looked away")
    assert incident.incident_time.isoformat().startswith("2026-11-22T12:01:00")


def test_pause_stops_the_clock_and_expiry(running, now):
    attempt = running.attempt
    tool = Actor.provider("lti")
    end = attempt.started_at + timedelta(minutes=attempt.allowed_time_limit_mins)
    attempts.apply_action(attempt, Action.PAUSE, tool, end - timedelta(minutes=10))
    from proctor_web.services import timing

    later = end + timedelta(hours=1)
    assert timing.remaining_seconds(attempt, later) == 600
    assert not timing.has_run_out(attempt, later)
    assert not attempts.expire_if_due(attempt, later)
    attempts.apply_action(attempt, Action.UNPAUSE, tool, later)
    assert timing.ends_at(attempt) == later + timedelta(minutes=10)
    assert attempts.expire_if_due(attempt, later + timedelta(minutes=11))
    assert attempt.status == AttemptStatus.SUBMITTED
