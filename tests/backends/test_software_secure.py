"""The RPNow backend: its registration document, signature, ciphers and review parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from proctor_web.backends import rpnow_signing as rpnow
from proctor_web.backends.base import AttemptRegistration, BackendSettingsError, ExamData
from proctor_web.backends.software_secure import (
    SoftwareSecureBackend,
    attempt_code_from_cookie,
    launch_cookie_value,
)
from proctor_web.errors import BadRequest, WebhookAuthError

NOW = datetime(2026, 3, 4, 9, 30, 0, tzinfo=UTC)
CRYPTO_KEY = "0123456789abcdefghijklmn"  # 24 bytes
AES_KEY = "00112233445566778899aabbccddeeff"
SETTINGS = {
    "organization": "DemoOrg",
    "exam_sponsor": "Demo Sponsor",
    "exam_register_endpoint": "https://rpnow.example/api/register",
    "secret_key_id": "key-1",
    "secret_key": "s3cret",
    "crypto_key": CRYPTO_KEY,
    "video_review_aes_key": AES_KEY,
}
CODE = "6F1E0B5A-1234-4ABC-8DEF-0123456789AB"


def backend(**overrides) -> SoftwareSecureBackend:
    return SoftwareSecureBackend("software_secure", {**SETTINGS, **overrides})


def registration(**overrides) -> AttemptRegistration:
    exam = ExamData(
        id=7, course_id="course-v1:Org+C1+2026", content_id="block-1",
        exam_name="Examen final: ¿Qué?", time_limit_mins=90, is_proctored=True,
        is_practice_exam=False, is_active=True, hide_after_due=False, due_date=None,
        external_id=None, backend="software_secure",
    )
    values = dict(
        attempt_code=CODE, exam=exam, user_id=3, obscured_user_id="abc", full_name="Zoë van Dam",
        email="zoe@example.com", allowed_time_limit_mins=90, is_sample_attempt=False,
        review_policy="Closed Book", review_policy_exception="Calculator allowed",
        lms_host="https://lms.example",
        launch_url=f"https://lms.example/api/edx_proctoring/proctoring_launch_callback/start_exam/{CODE}",
    )
    values.update(overrides)
    return AttemptRegistration(**values)


def test_registration_payload_has_exactly_the_rpnow_fields():
    payload = backend().registration_payload(registration(), NOW)

    assert sorted(payload) == sorted([
        "examCode", "organization", "duration", "reviewedExam", "reviewerNotes", "examPassword",
        "examSponsor", "examName", "ssiProduct", "examUrl", "orgExtra",
    ])
    assert payload["examName"] == "Examen final_ Que_"
    assert payload["reviewerNotes"] == "Closed Book; Calculator allowed"
    assert payload["reviewedExam"] is True
    assert payload["ssiProduct"] == "rp-now"
    assert rpnow.decrypt_exam_password(CRYPTO_KEY.encode(), payload["examPassword"]) == CODE
    assert payload["orgExtra"] == {
        "examStartDate": "Wed, 04 Mar 2026 09:30:00 GMT",
        "examEndDate": "Wed, 04 Mar 2026 11:00:00 GMT",
        "noOfStudents": 1,
        "examID": 7,
        "courseID": "course-v1:Org+C1+2026",
        "firstName": "Zoë",
        "lastName": "van Dam",
    }  # no email unless send_email is on


def test_email_is_sent_only_when_configured_and_known():
    with_email = backend(send_email=True)
    assert with_email.registration_payload(registration(), NOW)["orgExtra"]["email"] == (
        "zoe@example.com"
    )
    assert "email" not in with_email.registration_payload(registration(email=""), NOW)["orgExtra"]


def test_sample_attempt_is_not_reviewed_and_notes_without_exception():
    payload = backend().registration_payload(
        registration(is_sample_attempt=True, review_policy_exception=None), NOW
    )
    assert payload["reviewedExam"] is False
    assert payload["reviewerNotes"] == "Closed Book"


def test_registration_body_string_and_signature_worked_example():
    payload = backend().registration_payload(registration(), NOW)
    password = payload["examPassword"]
    # Sorted keys; orgExtra's children carry only "orgExtra." ("orgExtra" sorts before
    # "organization" because "E" < "a"); True is "true"; the unicode first name is kept.
    expected_body = (
        "duration:90\n"
        f"examCode:{CODE}\n"
        "examName:Examen final_ Que_\n"
        f"examPassword:{password}\n"
        "examSponsor:Demo Sponsor\n"
        f"examUrl:https://lms.example/api/edx_proctoring/proctoring_launch_callback/start_exam/{CODE}\n"
        "orgExtra.courseID:course-v1:Org+C1+2026\n"
        "orgExtra.examEndDate:Wed, 04 Mar 2026 11:00:00 GMT\n"
        "orgExtra.examID:7\n"
        "orgExtra.examStartDate:Wed, 04 Mar 2026 09:30:00 GMT\n"
        "orgExtra.firstName:Zoë\n"
        "orgExtra.lastName:van Dam\n"
        "orgExtra.noOfStudents:1\n"
        "organization:DemoOrg\n"
        "reviewedExam:true\n"
        "reviewerNotes:Closed Book; Calculator allowed\n"
        "ssiProduct:rp-now\n"
    )
    assert rpnow.body_string(payload) == expected_body

    headers = rpnow.signed_headers("POST", payload, "key-1", "s3cret", NOW)
    message = "POST\n\napplication/json\nWed, 04 Mar 2026 09:30:00 GMT\n" + expected_body
    digest = hmac.new(b"s3cret", message.encode("utf-8"), hashlib.sha256).digest()
    assert headers["Authorization"] == f"SSI key-1:{base64.b64encode(digest).decode()}"
    # The receiving side accepts exactly what we send.
    rpnow.verify_signature(headers, "POST", payload, "key-1", "s3cret", NOW)


def test_review_callback_requires_a_valid_signature_or_the_shared_secret():
    rp = backend(review_callback_secret="shared-callback-secret")
    body = {"reviewStatus": "Clean", "examMetaData": {"examCode": CODE}}
    headers = rpnow.signed_headers("POST", body, "key-1", "s3cret", NOW)
    rp.authenticate_review_callback(headers, body, NOW)
    rp.authenticate_review_callback({"X-Proctor-Callback-Secret": "shared-callback-secret"},
                                    body, NOW)
    with pytest.raises(WebhookAuthError, match="signature"):
        rp.authenticate_review_callback(headers, {**body, "reviewStatus": "Suspicious"}, NOW)
    with pytest.raises(WebhookAuthError):
        rp.authenticate_review_callback({"X-Proctor-Callback-Secret": "guess"}, body, NOW)
    with pytest.raises(WebhookAuthError):
        # No secret configured: a secret header can never succeed.
        backend().authenticate_review_callback({"X-Proctor-Callback-Secret": ""}, body, NOW)


def test_review_payload_is_normalised():
    payload = {
        "reviewStatus": "Rules Violation",
        "videoReviewLink": "https://rpnow.example/DirectLink-Generic/v1",
        "webCamComments": [{"comments": "Looked away", "duration": 5, "eventFinish": 15,
                            "eventStart": 10, "eventStatus": "Suspicious"}],
        "desktopComments": [{"comments": "Browser switch", "eventStatus": "Rules Violation"}],
        "examMetaData": {"examCode": CODE, "ssiRecordLocator": "LOC-1"},
    }
    review = backend().on_review_callback(payload)
    assert review.status == "violation"
    assert review.video_url == "https://rpnow.example/DirectLink-Generic/v1"
    assert "videoReviewLink" not in review.payload
    assert review.comments == [
        {"comment": "Looked away", "status": "Suspicious", "start": 10, "stop": 15,
         "duration": 5},
        {"comment": "Browser switch", "status": "Rules Violation", "start": 0, "stop": 0,
         "duration": 0},
    ]
    assert backend().is_passing("violation") and not backend().is_passing("suspicious")


@pytest.mark.parametrize("payload", [
    {"reviewStatus": "Great"},
    {"reviewStatus": "Clean", "webCamComments": "nope"},
    {"reviewStatus": "Clean", "webCamComments": [3]},
])
def test_bad_review_payloads_are_refused(payload):
    with pytest.raises(BadRequest):
        backend().on_review_callback(payload)


def test_review_identity_needs_code_and_locator():
    assert backend().review_identity(
        {"examMetaData": {"examCode": "C", "ssiRecordLocator": "L"}}) == ("C", "L")
    for meta in (None, {}, {"examCode": "C"}, {"ssiRecordLocator": "L"}):
        with pytest.raises(BadRequest):
            backend().review_identity({"examMetaData": meta})


def test_video_link_round_trip_and_html5_player():
    rp = backend()
    token = rp.encrypt_video_url("https://rpnow.example/DirectLink-Generic/v1?x=1")
    assert b"rpnow" not in token
    assert rp.get_instructor_url("c", {}, encrypted_video_review_url=token) == (
        "https://rpnow.example/DirectLink-HTML5/v1?x=1"
    )
    assert backend(video_review_aes_key=None).encrypt_video_url("https://x") is None


def test_launch_cookie_is_signed():
    value = launch_cookie_value("app-secret", CODE)
    assert attempt_code_from_cookie("app-secret", value) == CODE
    assert attempt_code_from_cookie("other-secret", value) is None
    assert attempt_code_from_cookie("app-secret", CODE) is None
    assert backend().should_block_access_to_exam_material({}) is True
    assert backend().should_block_access_to_exam_material({"exam": value}) is False


@pytest.mark.parametrize(("overrides", "message"), [
    ({"crypto_key": "short"}, "crypto_key"),
    ({"video_review_aes_key": "not-hex"}, "video_review_aes_key"),
    ({"exam_register_endpoint": "ftp://x"}, "exam_register_endpoint"),
    ({"secret_key": ""}, "secret_key"),
    ({"colour": "blue"}, "colour"),
])
def test_settings_are_checked_at_start_up(overrides, message):
    with pytest.raises(BackendSettingsError, match=message):
        backend(**overrides)
