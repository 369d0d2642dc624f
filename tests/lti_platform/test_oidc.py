"""LtiStartProctoring and LtiEndAssessment through OIDC: the login URL, every check of the
tool's authentication request, and the id_token's claims verified with our key set."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from proctor_web.extensions import db
from proctor_web.lti import keys
from proctor_web.lti_proctoring import sessions
from proctor_web.models import LtiProctoringSession, utcnow
from proctor_web.services import attempts, exams
from proctor_web.services.attempts import Action, Actor
from tests.lti_platform.conftest import AP, DEPLOYMENT_ID, LTI, TOOL_CLIENT_ID, TOOL_URL


@pytest.fixture
def attempt(factory, now):
    learner = factory.learner()
    exam = factory.exam("proctored", backend="lti", exam_name="Final")
    exams.set_review_policy(exam, "Notes allowed", None, now)
    attempt = attempts.create_attempt(exam, learner, Actor.learner(learner), now)
    db.session.commit()
    return attempt


def login_params(client, sign_in, attempt) -> dict[str, str]:
    sign_in(attempt.user)
    response = client.get(f"/lti/platform/launch/{attempt.attempt_code}")
    assert response.status_code == 303
    url = urlsplit(response.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{TOOL_URL}/login"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def auth_request(login: dict[str, str], **overrides) -> dict[str, str]:
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
              "prompt": "none", "client_id": TOOL_CLIENT_ID,
              "redirect_uri": f"{TOOL_URL}/launch", "login_hint": login["login_hint"],
              "state": "state-1", "nonce": "nonce-1",
              "lti_message_hint": login["lti_message_hint"]}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def posted_fields(page: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in
            re.findall(r'name="([^"]+)" value="([^"]*)"', page)}


def verify_ours(token: str) -> dict:
    jwks = keys.public_key_set(utcnow())
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"],
                      audience=TOOL_CLIENT_ID, issuer="http://proctor.test")


def test_login_initiation_carries_what_the_spec_asks(client, sign_in, attempt):
    login = login_params(client, sign_in, attempt)
    assert login["iss"] == "http://proctor.test"
    assert login["target_link_uri"] == f"{TOOL_URL}/launch"
    assert login["client_id"] == TOOL_CLIENT_ID
    assert login["lti_deployment_id"] == DEPLOYMENT_ID
    # Nothing is written before the tool answers (the click's own form post runs alongside).
    assert db.session.query(LtiProctoringSession).count() == 0
    sub = sessions.sub_for(attempt.user, exams.backend_for(attempt.exam))
    assert login["login_hint"] == sub and str(attempt.user.id) != sub


def test_start_proctoring_id_token(client, sign_in, attempt):
    login = login_params(client, sign_in, attempt)
    response = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'action="https://tool.example/launch"' in page
    assert "<script>" not in page and "lti-autopost.js" in page  # strict CSP: no inline JS
    assert re.search(r'<button type="submit"', page)  # and it works without JavaScript
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "form-action 'self' https://tool.example" in policy
    fields = posted_fields(page)
    assert fields["state"] == "state-1"
    claims = verify_ours(fields["id_token"])
    session = db.session.query(LtiProctoringSession).one()
    assert claims["nonce"] == "nonce-1" and claims["sub"] == session.sub
    assert claims[LTI + "message_type"] == "LtiStartProctoring"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == DEPLOYMENT_ID
    assert claims[LTI + "target_link_uri"] == f"{TOOL_URL}/launch"
    assert claims[LTI + "resource_link"] == {"id": attempt.exam.content_id, "title": "Final"}
    assert claims[AP + "attempt_number"] == 1
    assert claims[AP + "session_data"] == session.session_data
    assert claims[AP + "start_assessment_url"] == (
        "http://proctor.test/lti/platform/start_assessment")
    assert claims[AP + "acs"] == {
        "assessment_control_url": "http://proctor.test/lti/platform/acs",
        "actions": ["pause", "resume", "terminate", "update", "flag"]}
    assert claims[LTI + "launch_presentation"]["return_url"].endswith(
        f"/exams/{attempt.exam.content_id}")
    assert "name" not in claims and "email" not in claims  # not shared unless configured
    assert claims[AP + "proctoring_settings"] == {"data": "Notes allowed"}


@pytest.mark.parametrize("overrides, message", [
    ({"client_id": "other"}, "client id"),
    ({"redirect_uri": "https://evil.example/launch"}, "not registered"),
    ({"response_type": "code"}, "response_type"),
    ({"response_mode": "query"}, "response_mode"),
    ({"prompt": "login"}, "prompt"),
    ({"scope": "profile"}, "openid"),
    ({"nonce": None}, "nonce"),
    ({"login_hint": "somebody-else"}, "login_hint"),
    ({"lti_message_hint": "forged"}, "lti_message_hint"),
])
def test_auth_request_refusals(client, sign_in, attempt, overrides, message):
    login = login_params(client, sign_in, attempt)
    response = client.get("/lti/platform/auth", query_string=auth_request(login, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_auth_for_another_signed_in_learner_is_refused(client, sign_in, attempt, factory):
    login = login_params(client, sign_in, attempt)
    other = factory.learner()
    db.session.commit()
    sign_in(other)
    response = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert response.status_code == 400 and "login_hint" in response.get_data(as_text=True)


def test_a_cross_site_post_without_cookie_is_replayed_as_get(client, sign_in, attempt):
    login = login_params(client, sign_in, attempt)
    sign_in(None)
    response = client.post("/lti/platform/auth", data=auth_request(login))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'method="get"' in page
    assert posted_fields(page)["nonce"] == "nonce-1"


def test_launch_of_someone_elses_attempt_is_refused(client, sign_in, attempt, factory):
    other = factory.learner()
    db.session.commit()
    sign_in(other)
    assert client.get(f"/lti/platform/launch/{attempt.attempt_code}").status_code == 403


def test_end_assessment_only_when_asked_and_once(client, sign_in, attempt, now):
    login = login_params(client, sign_in, attempt)
    assert client.get("/lti/platform/auth", query_string=auth_request(login)).status_code == 200
    session = db.session.query(LtiProctoringSession).one()
    attempts.apply_action(attempt, Action.READY, Actor.provider("lti"), now)
    attempts.apply_action(attempt, Action.START, Actor.learner(attempt.user), now)
    attempts.apply_action(attempt, Action.ERROR, Actor.provider("lti"), now, "camera lost")
    db.session.commit()
    # The tool did not ask for LtiEndAssessment: nothing to send.
    assert client.get(f"/lti/platform/end/{attempt.attempt_code}").status_code == 400
    session.end_assessment_return = True
    db.session.commit()
    page = client.get(f"/courses/{attempt.exam.course_id}/exams/{attempt.exam.content_id}")
    assert f"/lti/platform/end/{attempt.attempt_code}" in page.get_data(as_text=True)
    response = client.get(f"/lti/platform/end/{attempt.attempt_code}")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    end_login = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert end_login["lti_message_hint"] != login["lti_message_hint"]
    answer = client.get("/lti/platform/auth", query_string=auth_request(end_login))
    claims = verify_ours(posted_fields(answer.get_data(as_text=True))["id_token"])
    assert claims[LTI + "message_type"] == "LtiEndAssessment"
    assert claims[AP + "session_data"] == session.session_data
    assert claims[AP + "errormsg"] and "camera lost" in claims[AP + "errorlog"]
    again = client.get("/lti/platform/auth", query_string=auth_request(end_login))
    assert again.status_code == 400


def test_the_tool_can_send_the_learner_back_with_a_message(client, sign_in, attempt):
    sign_in(attempt.user)
    page = client.get(f"/courses/{attempt.exam.course_id}/exams/{attempt.exam.content_id}",
                      query_string={"lti_errormsg": "<b>Camera</b> not found",
                                    "lti_msg": "Try again"})
    text = page.get_data(as_text=True)
    assert "The proctoring tool reported a problem: &lt;b&gt;Camera&lt;/b&gt; not found" in text
    assert "Message from the proctoring tool: Try again" in text


def test_auth_without_our_session_knows_the_learner_from_the_hint(client, sign_in, attempt):
    """A learner launched from an LMS reaches the auth endpoint from the tool's tab, where
    no cookie of ours exists: the signed message hint stands for them."""
    login = login_params(client, sign_in, attempt)
    sign_in(None)
    response = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert response.status_code == 200
    claims = verify_ours(posted_fields(response.get_data(as_text=True))["id_token"])
    session = db.session.query(LtiProctoringSession).one()
    assert session.attempt_id == attempt.id and claims["sub"] == session.sub
    with client.session_transaction() as cookie_session:
        assert "_user_id" not in cookie_session  # it answered the tool, signed nobody in


def test_a_message_hint_is_used_once(client, sign_in, attempt):
    login = login_params(client, sign_in, attempt)
    sign_in(None)
    first = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert first.status_code == 200
    replay = client.get("/lti/platform/auth",
                        query_string=auth_request(login, nonce="nonce-2", state="s-2"))
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert db.session.query(LtiProctoringSession).count() == 1
    # A refused request does not use the hint up: the next good one still works.
    again = login_params(client, sign_in, attempt)
    sign_in(None)
    bad = client.get("/lti/platform/auth", query_string=auth_request(again, login_hint="x"))
    assert bad.status_code == 400
    assert client.get("/lti/platform/auth",
                      query_string=auth_request(again)).status_code == 200


def test_a_hint_not_bound_to_the_attempts_learner_is_refused(app, client, sign_in, attempt,
                                                             factory):
    from proctor_web.lti_proctoring import oidc

    login = login_params(client, sign_in, attempt)
    other = factory.learner()
    db.session.commit()
    sign_in(None)
    with app.test_request_context():
        foreign = oidc._serializer().dumps({"a": attempt.id, "u": other.id, "m": "start",
                                            "j": "foreign-1"})
    response = client.get("/lti/platform/auth",
                          query_string=auth_request(login, lti_message_hint=foreign))
    assert response.status_code == 400
    assert "not bound to this attempt" in response.get_data(as_text=True)
    assert db.session.query(LtiProctoringSession).count() == 0


def test_the_auth_page_may_be_framed_by_the_lms_named_in_the_hint(app, client, attempt):
    """The end of the exam sends LtiEndAssessment from inside the LMS frame, where the auth
    request may come without our session: the hint says which LMS frames the learner."""
    from proctor_web.lti_proctoring import oidc

    with app.test_request_context():
        url = oidc.launch_url(attempt, attempt.user, utcnow(), ["http://lms.example"])
    login = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    response = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    ancestors = next(d for d in policy.split(";") if "frame-ancestors" in d)
    assert "http://lms.example" in ancestors
    # Without it (a learner signed in here, outside any LMS), no other site may frame it.
    from flask import g

    g.pop("lti_frame_origins", None)  # the test's requests share one app context
    plain = client.get("/lti/platform/auth", query_string=auth_request(
        {k: v[0] for k, v in parse_qs(urlsplit(
            _launch(app, attempt)).query).items()}))
    assert "http://lms.example" not in plain.headers["Content-Security-Policy"]


def _launch(app, attempt) -> str:
    from proctor_web.lti_proctoring import oidc

    with app.test_request_context():
        return oidc.launch_url(attempt, attempt.user, utcnow())


def test_an_expired_hint_is_refused(client, sign_in, attempt, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    from proctor_web.lti_proctoring.oidc import HINT_MAX_AGE_SECONDS

    issued_at = int(utcnow().timestamp()) - HINT_MAX_AGE_SECONDS - 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued_at)
    login = login_params(client, sign_in, attempt)
    monkeypatch.undo()
    response = client.get("/lti/platform/auth", query_string=auth_request(login))
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert db.session.query(LtiProctoringSession).count() == 0
