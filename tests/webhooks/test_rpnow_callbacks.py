"""RPNow's inbound side: the signed review callback and the launch callback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from proctor_web.backends import rpnow_signing as rpnow
from proctor_web.backends.software_secure import (
    LAUNCH_COOKIE,
    SoftwareSecureBackend,
    attempt_code_from_cookie,
)
from proctor_web.extensions import db
from proctor_web.models import Attempt, Review, ReviewComment, utcnow

URL = "/api/edx_proctoring/proctoring_review_callback/"
SETTINGS = {
    "organization": "DemoOrg",
    "exam_sponsor": "Demo",
    "exam_register_endpoint": "https://rpnow.example/register",
    "secret_key_id": "key-1",
    "secret_key": "rpnow-secret",
    "crypto_key": "0123456789abcdefghijklmn",
    "video_review_aes_key": "00112233445566778899aabbccddeeff",
    "review_callback_secret": "shared-secret-0123456789",
}


@pytest.fixture
def rpnow_backend(app):
    registry = app.extensions["proctor_backends"]
    backend = SoftwareSecureBackend("software_secure", SETTINGS)
    registry._backends["software_secure"] = backend
    yield backend
    registry._backends.pop("software_secure", None)


@pytest.fixture
def submitted(factory, rpnow_backend):
    exam = factory.exam("proctored", backend="software_secure")
    attempt = factory.attempt(exam, factory.learner(), "submitted", external_id="LOC-42",
                              started_minutes_ago=20)
    db.session.commit()
    return attempt


def payload(code: str, locator: str = "loc-42", status: str = "Clean") -> dict:
    return {
        "examDate": "2026-11-22",
        "reviewStatus": status,
        "videoReviewLink": "https://rpnow.example/DirectLink-Generic/abc",
        "examMetaData": {"examCode": code, "ssiRecordLocator": locator, "reviewedExam": True},
        "webCamComments": [{"comments": "Learner left", "duration": 30, "eventFinish": 90,
                            "eventStart": 60, "eventStatus": "Suspicious"}],
        "desktopComments": [],
    }


def post_signed(client, body: dict, secret: str = "rpnow-secret", content_type="text/plain"):
    headers = rpnow.signed_headers("POST", body, "key-1", secret, utcnow())
    headers["Content-Type"] = content_type  # RPNow is not consistent; any type is accepted
    return client.post(URL, data=json.dumps(body), headers=headers)


def _reviews() -> int:
    return db.session.execute(select(func.count()).select_from(Review)).scalar_one()


def test_signed_review_is_stored_with_encrypted_video(client, submitted, rpnow_backend):
    response = post_signed(client, payload(submitted.attempt_code))
    assert response.status_code == 200, response.json
    assert response.headers["X-Proctor-Attempt-Status"] == "verified"
    review = db.session.execute(select(Review)).scalar_one()
    assert review.review_status == "Clean"
    assert "videoReviewLink" not in json.loads(review.raw_data)
    assert rpnow.decrypt_video_url(SETTINGS["video_review_aes_key"],
                                   review.encrypted_video_url).endswith("/abc")
    (comment,) = db.session.execute(select(ReviewComment)).scalars().all()
    assert (comment.start_time, comment.stop_time, comment.duration) == (60, 90, 30)
    assert post_signed(client, payload(submitted.attempt_code)).headers[
        "X-Proctor-Duplicate"] == "true"


def test_shared_secret_also_authenticates(client, submitted):
    response = client.post(URL, json=payload(submitted.attempt_code, status="Rules Violation"),
                           headers={"X-Proctor-Callback-Secret": SETTINGS[
                               "review_callback_secret"]})
    assert response.status_code == 200
    # RPNow passes rule violations
    assert response.headers["X-Proctor-Attempt-Status"] == "verified"


@pytest.mark.parametrize(("make_request", "status"), [
    (lambda c, code: post_signed(c, payload(code), secret="wrong"), 401),
    (lambda c, code: c.post(URL, json=payload(code)), 401),
    (lambda c, code: c.post(URL, json=payload(code),
                            headers={"X-Proctor-Callback-Secret": "guess"}), 401),
    (lambda c, code: post_signed(c, payload(code, locator="OTHER")), 400),
    (lambda c, code: post_signed(c, payload("UNKNOWN-CODE")), 404),
    (lambda c, code: post_signed(c, payload(code, status="Excellent")), 400),
    (lambda c, code: post_signed(c, {"reviewStatus": "Clean"}), 400),
], ids=["wrong-signature", "unsigned", "wrong-secret", "wrong-locator", "unknown-code",
        "unknown-status", "no-metadata"])
def test_refused_review_callbacks_store_nothing(client, submitted, make_request, status):
    response = make_request(client, submitted.attempt_code)
    assert response.status_code == status
    assert response.json["detail"]
    assert _reviews() == 0
    assert db.session.get(Attempt, submitted.id).status == "submitted"


def test_stale_signature_is_refused(client, submitted):
    from datetime import timedelta

    body = payload(submitted.attempt_code)
    headers = rpnow.signed_headers("POST", body, "key-1", "rpnow-secret",
                                   utcnow() - timedelta(hours=1))
    response = client.post(URL, data=json.dumps(body), headers=headers)
    assert response.status_code == 401 and "away from server time" in response.json["detail"]


def test_suspicious_review_goes_to_second_review_and_alerts_staff(client, factory, submitted):
    from proctor_web.models import EmailMessage

    factory.course_staff(username="teacher")
    db.session.commit()
    response = post_signed(client, payload(submitted.attempt_code, status="Suspicious"))
    assert response.headers["X-Proctor-Attempt-Status"] == "second_review_required"
    alerts = db.session.execute(
        select(EmailMessage).where(EmailMessage.template == "review_needs_attention")
    ).scalars().all()
    assert [a.recipient for a in alerts] == ["teacher@example.com"]
    assert "?attempt=LOC-42" in alerts[0].html_body


def test_launch_callback_marks_ready_and_sets_a_signed_cookie(app, client, factory,
                                                                rpnow_backend):
    exam = factory.exam("proctored", backend="software_secure", content_url="/exam/page")
    attempt = factory.attempt(exam, factory.learner(), "download_software_clicked",
                              external_id="LOC-1")
    db.session.commit()
    response = client.get(
        f"/api/edx_proctoring/proctoring_launch_callback/start_exam/{attempt.attempt_code}")
    assert response.status_code == 302 and response.headers["Location"] == "/exam/page"
    cookie = client.get_cookie(LAUNCH_COOKIE)
    assert attempt_code_from_cookie(app.config["SECRET_KEY"], cookie.value) == (
        attempt.attempt_code)
    assert db.session.get(Attempt, attempt.id).status == "ready_to_start"
    assert client.get("/api/edx_proctoring/proctoring_launch_callback/start_exam/NOPE"
                      ).status_code == 404


def test_launch_callback_reopened_during_the_exam_submits_it(client, factory, rpnow_backend):
    exam = factory.exam("proctored", backend="software_secure")
    attempt = factory.attempt(exam, factory.learner(), "started", external_id="LOC-2",
                              started_minutes_ago=5)
    db.session.commit()
    response = client.post(
        f"/api/edx_proctoring/proctoring_launch_callback/start_exam/{attempt.attempt_code}")
    assert response.status_code == 302
    assert db.session.get(Attempt, attempt.id).status == "submitted"
