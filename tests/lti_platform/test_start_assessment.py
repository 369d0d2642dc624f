"""LtiStartAssessment: every check refuses with a clear 4xx naming the problem, changing
nothing; a valid message makes the attempt ready to start, by the provider."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from proctor_web.extensions import db
from proctor_web.lti_proctoring import sessions, start_assessment
from proctor_web.lti_proctoring.common import LtiRefusal
from proctor_web.models import AttemptStatus
from proctor_web.services import attempts
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.exams import backend_for
from tests.lti_platform.conftest import AP, LTI, start_assessment_claims


@pytest.fixture
def setup(factory, now):
    learner = factory.learner()
    exam = factory.exam("proctored", backend="lti")
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now)
    attempts.apply_action(attempt, Action.CLICK_DOWNLOAD_SOFTWARE, Actor.learner(learner), now)
    session = sessions.open_session(attempt, backend_for(exam), now)
    db.session.commit()  # requests that refuse roll back to here, not further
    return session


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

REFUSALS = {
    "bad signature": ({}, {"key": OTHER_KEY}, "signature does not verify"),
    "unknown kid": ({}, {"kid": "someone-else"}, "not in the key set"),
    "wrong aud": ({"aud": "https://elsewhere.example"}, {}, "aud must be"),
    "wrong iss": ({"iss": "another-tool"}, {}, "No LTI proctoring tool is registered"),
    "missing exp": ({"exp": None}, {}, "lacks the required claim exp"),
    "expired exp": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, {},
                    "has expired"),
    "missing nonce": ({"nonce": None}, {}, "lacks the required claim nonce"),
    "wrong message type": ({LTI + "message_type": "LtiResourceLinkRequest"}, {},
                           "message_type claim must be"),
    "wrong version": ({LTI + "version": "1.1"}, {}, "version claim must be"),
    "wrong deployment": ({LTI + "deployment_id": "deployment-2"}, {},
                         "deployment_id claim must be"),
    "wrong session_data": ({AP + "session_data": "forged"}, {}, "session_data claim does not"),
    "wrong resource link": ({LTI + "resource_link": {"id": "another-exam"}}, {},
                            "resource_link id"),
    "wrong attempt number": ({AP + "attempt_number": 2}, {}, "attempt_number 2"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_names_the_problem_and_changes_nothing(setup, tool_sign, client, case):
    overrides, signing, message = REFUSALS[case]
    token = tool_sign(start_assessment_claims(setup, **overrides), **signing)
    with pytest.raises(LtiRefusal, match=message):
        start_assessment.validate(token, setup.created)
    before = len(attempts.history_of(setup.attempt_id))
    response = client.post("/lti/platform/start_assessment", data={"JWT": token})
    assert response.status_code == 400
    assert message.split()[0] in response.get_data(as_text=True)
    db.session.expire_all()
    assert setup.attempt.status == AttemptStatus.DOWNLOAD_SOFTWARE_CLICKED
    assert len(attempts.history_of(setup.attempt_id)) == before


def test_missing_or_garbled_jwt_is_a_400(client, setup):
    assert client.post("/lti/platform/start_assessment", data={}).status_code == 400
    assert client.post("/lti/platform/start_assessment",
                       data={"JWT": "not-a-jwt"}).status_code == 400


def test_a_valid_start_makes_the_attempt_ready_and_a_replay_is_refused(setup, tool_sign, client,
                                                                      sign_in):
    sign_in(setup.attempt.user)  # the learner's own window: back to the exam page
    claims = start_assessment_claims(setup, **{
        AP + "verified_user": {"given_name": "Ada", "iss": "x", "sub": "y"},
        LTI + "launch_presentation": {"return_url": "https://tool.example/back"},
    })
    token = tool_sign(claims)
    response = client.post("/lti/platform/start_assessment", data={"JWT": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/exams/{setup.resource_link_id}")
    db.session.expire_all()
    assert setup.attempt.status == AttemptStatus.READY_TO_START
    last = attempts.history_of(setup.attempt_id)[-1]
    assert (last.action, last.actor_kind, last.to_status) == ("ready", "provider",
                                                              "ready_to_start")
    assert json.loads(setup.verified_user) == {"given_name": "Ada"}
    assert setup.end_assessment_return is True
    assert setup.tool_return_url == "https://tool.example/back"

    replay = client.post("/lti/platform/start_assessment", data={"JWT": token})
    assert replay.status_code == 400
    assert "already used" in replay.get_data(as_text=True)


def test_a_start_in_a_window_without_the_learners_session_signs_nobody_in(
    setup, tool_sign, client, sign_in, factory
):
    """The tool's tab of a learner launched from an LMS (their cookie lives in the LMS's
    partition): the attempt is ready, a page says so, and the tool's message signs nobody
    in; the same for another person signed in here."""
    other = factory.learner()
    db.session.commit()
    for signed_in in (None, other):
        sign_in(signed_in)
        token = tool_sign(start_assessment_claims(setup))
        response = client.post("/lti/platform/start_assessment", data={"JWT": token})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Proctoring setup complete" in page and "go back to the exam" in page
        assert response.headers["Cache-Control"] == "no-store"
        db.session.expire_all()
        assert setup.attempt.status == AttemptStatus.READY_TO_START
        with client.session_transaction() as session:
            assert session.get("_user_id") == (None if signed_in is None else other.get_id())


def test_a_started_attempt_cannot_be_set_up_again(setup, tool_sign, now):
    attempts.apply_action(setup.attempt, Action.READY, Actor.provider("lti"), now)
    attempts.apply_action(setup.attempt, Action.START, Actor.learner(setup.attempt.user), now)
    with pytest.raises(LtiRefusal, match="started"):
        start_assessment.validate(tool_sign(start_assessment_claims(setup)), now)
