"""PSI / Software Secure RPNow.

RPNow learns about an attempt once, at registration (a signed JSON document); everything
after that happens in its desktop app, which opens our launch callback, and in its review
callback. Start, stop, error, removal and exam saves are therefore no-ops here.

The wire details (signature body string, 3DES password, AES video links) live in
``backends.rpnow_signing``; this module builds the documents and reads the reviews.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests
from itsdangerous import BadSignature, URLSafeSerializer

from proctor_web.backends import rpnow_signing
from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    NormalisedReview,
    ProctoringBackend,
    ProviderUnavailable,
    RegistrationRefused,
    SilentAttemptEvents,
    seconds_field,
)
from proctor_web.errors import BadRequest, WebhookAuthError
from proctor_web.i18n import N_

#: RPNow's review words and ours, both ways.
FROM_RPNOW: dict[str, str] = {
    "Clean": "passed",
    "Rules Violation": "violation",
    "Suspicious": "suspicious",
    "Not Reviewed": "not_reviewed",
}
TO_RPNOW: dict[str, str] = {ours: theirs for theirs, ours in FROM_RPNOW.items()}

#: Name of the cookie the launch callback sets in the RPNow browser.
LAUNCH_COOKIE = "exam"
_COOKIE_SALT = "proctor_web.rpnow-launch"


def launch_cookie_value(secret_key: str, attempt_code: str) -> str:
    """The signed value of the ``exam`` cookie: the attempt code, tamper-evident."""
    return URLSafeSerializer(secret_key, salt=_COOKIE_SALT).dumps(attempt_code)


def attempt_code_from_cookie(secret_key: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        code = URLSafeSerializer(secret_key, salt=_COOKIE_SALT).loads(value)
    except BadSignature:
        return None
    return code if isinstance(code, str) else None


class SoftwareSecureBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = N_("RPNow")
    required_settings: ClassVar[tuple[str, ...]] = (
        "organization",
        "exam_sponsor",
        "exam_register_endpoint",
        "secret_key_id",
        "secret_key",
        "crypto_key",
    )
    optional_settings: ClassVar[tuple[str, ...]] = (
        "software_download_url",
        "video_review_aes_key",
        "review_callback_secret",
        "timeout_seconds",
        "max_clock_skew_seconds",
    )

    passing_statuses = ("passed", "violation")
    software_download_url: str = ""
    video_review_aes_key: str = ""
    review_callback_secret: str = ""
    timeout_seconds: float = 10.0
    max_clock_skew_seconds: int = 300
    send_email: bool = False

    def validate_settings(self) -> None:
        if len(str(self.crypto_key).encode("utf-8")) not in (16, 24):
            raise self.setting_error("crypto_key must be 16 or 24 bytes (a Triple-DES key).")
        if self.video_review_aes_key:
            try:
                key = bytes.fromhex(self.video_review_aes_key)
            except ValueError:
                key = b""
            if len(key) not in (16, 24, 32):
                raise self.setting_error(
                    "video_review_aes_key must be 32, 48 or 64 hex digits (an AES key)."
                )
        if not str(self.exam_register_endpoint).startswith(("https://", "http://")):
            raise self.setting_error("exam_register_endpoint must be an http(s) URL.")
        if float(self.timeout_seconds) <= 0:
            raise self.setting_error("timeout_seconds must be positive.")

    # Registration -------------------------------------------------------------------------

    def registration_payload(self, registration: AttemptRegistration, now: datetime) -> dict:
        """The document RPNow registers: exactly its eleven fields, ``orgExtra`` included."""
        notes = registration.review_policy
        if registration.review_policy_exception:
            notes = f"{notes}; {registration.review_policy_exception}"
        first, last = rpnow_signing.split_name(registration.full_name)
        duration = registration.allowed_time_limit_mins
        org_extra: dict[str, Any] = {
            "examStartDate": rpnow_signing.format_rpnow_date(now),
            "examEndDate": rpnow_signing.format_rpnow_date(now + timedelta(minutes=duration)),
            "noOfStudents": 1,
            "examID": registration.exam.id,
            "courseID": registration.exam.course_id,
            "firstName": first,
            "lastName": last,
        }
        if self.send_email and registration.email:
            org_extra["email"] = registration.email
        return {
            "examCode": registration.attempt_code,
            "organization": self.organization,
            "duration": duration,
            "reviewedExam": not registration.is_sample_attempt,
            "reviewerNotes": notes,
            "examPassword": rpnow_signing.encrypt_exam_password(
                str(self.crypto_key).encode("utf-8"), registration.attempt_code
            ),
            "examSponsor": self.exam_sponsor,
            "examName": rpnow_signing.sanitize_exam_name(registration.exam.exam_name),
            "ssiProduct": "rp-now",
            "examUrl": registration.launch_url,
            "orgExtra": org_extra,
        }

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        now = datetime.now(UTC)
        payload = self.registration_payload(registration, now)
        headers = rpnow_signing.signed_headers("POST", payload, self.secret_key_id,
                                               self.secret_key, now)
        try:
            response = requests.post(
                self.exam_register_endpoint,
                json=payload,
                headers=headers,
                timeout=float(self.timeout_seconds),
            )
        except requests.Timeout:
            raise ProviderUnavailable(
                f"RPNow did not answer the registration within {self.timeout_seconds} s."
            ) from None
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"RPNow could not be reached: {exc}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"RPNow answered the registration with {response.status_code}."
            )
        if response.status_code not in (200, 201):
            raise RegistrationRefused(
                f"RPNow refused the registration ({response.status_code}): "
                f"{response.text[:200]}",
                provider_status=response.status_code,
            )
        try:
            locator = response.json().get("ssiRecordLocator")
        except (ValueError, AttributeError):
            locator = None
        if not locator or not isinstance(locator, str):
            raise RegistrationRefused(
                "RPNow accepted the registration but sent no ssiRecordLocator.",
                provider_status=response.status_code,
            )
        return locator

    # The rest of the lifecycle happens inside RPNow's own app.

    def on_exam_saved(self, exam: ExamData) -> str | None:
        return exam.external_id

    def get_software_download_url(self) -> str | None:
        return self.software_download_url or None

    # Inbound ------------------------------------------------------------------------------

    def authenticate_review_callback(
        self, headers: Mapping[str, str], body: Mapping[str, Any], now: datetime
    ) -> None:
        """Accept the RPNow signature or, if configured, the shared secret; else raise."""
        secret = headers.get("X-Proctor-Callback-Secret")
        if secret is not None:
            if self.review_callback_secret and hmac.compare_digest(
                secret.encode("utf-8"), str(self.review_callback_secret).encode("utf-8")
            ):
                return
            raise WebhookAuthError("The callback secret is not valid.")
        try:
            rpnow_signing.verify_signature(
                headers, "POST", body, self.secret_key_id, self.secret_key, now,
                int(self.max_clock_skew_seconds),
            )
        except rpnow_signing.SignatureError as error:
            raise WebhookAuthError(f"RPNow signature check failed: {error}.") from None

    def on_review_callback(self, payload: Mapping[str, Any]) -> NormalisedReview:
        if not isinstance(payload, Mapping):
            raise BadRequest("The review must be a JSON object.")
        status = payload.get("reviewStatus")
        if not isinstance(status, str) or status not in FROM_RPNOW:
            raise BadRequest(
                f"reviewStatus must be one of {', '.join(FROM_RPNOW)}, got {status!r:.80}."
            )
        comments: list[dict[str, Any]] = []
        for group in ("webCamComments", "desktopComments"):
            # Absent means no comments; an explicit null or any non-list is a broken review.
            entries = payload.get(group, [])
            if not isinstance(entries, list):
                raise BadRequest(f"{group} must be a list, got {type(entries).__name__}.")
            for index, entry in enumerate(entries):
                name = f"{group}[{index}]"
                if not isinstance(entry, Mapping):
                    raise BadRequest(f"{name} must be an object.")
                event_status = entry.get("eventStatus")
                if not isinstance(event_status, str):
                    raise BadRequest(f"{name}.eventStatus is missing or not text.")
                text = entry.get("comments")
                if text is not None and not isinstance(text, str):
                    raise BadRequest(f"{name}.comments must be text.")
                comments.append(
                    {
                        "comment": text or "",
                        "status": event_status,
                        "start": seconds_field(entry.get("eventStart"), f"{name}.eventStart"),
                        "stop": seconds_field(entry.get("eventFinish"), f"{name}.eventFinish"),
                        "duration": seconds_field(entry.get("duration"), f"{name}.duration"),
                    }
                )
        raw = {key: value for key, value in payload.items() if key != "videoReviewLink"}
        video = payload.get("videoReviewLink")
        return NormalisedReview(
            status=FROM_RPNOW[status],
            comments=comments,
            reviewed_by=None,
            payload=raw,
            video_url=video if isinstance(video, str) and video else None,
        )

    @staticmethod
    def review_identity(payload: Mapping[str, Any]) -> tuple[str, str]:
        """(attempt code, record locator) from ``examMetaData``; BadRequest if absent."""
        meta = payload.get("examMetaData") if isinstance(payload, Mapping) else None
        if not isinstance(meta, Mapping):
            raise BadRequest("examMetaData is missing.")
        code, locator = meta.get("examCode"), meta.get("ssiRecordLocator")
        if not isinstance(code, str) or not code:
            raise BadRequest("examMetaData.examCode is missing.")
        if not isinstance(locator, str) or not locator:
            raise BadRequest("examMetaData.ssiRecordLocator is missing.")
        return code, locator

    def get_video_review_aes_key(self) -> str | None:
        return self.video_review_aes_key or None

    def encrypt_video_url(self, url: str) -> bytes | None:
        if not self.video_review_aes_key:
            return None
        return rpnow_signing.encrypt_video_url(self.video_review_aes_key, url)

    def get_instructor_url(
        self,
        course_id: str,
        user: Mapping[str, Any],
        exam_external_id: str | None = None,
        attempt_external_id: str | None = None,
        show_configuration_dashboard: bool = False,
        encrypted_video_review_url: bytes | None = None,
    ) -> str | None:
        """RPNow has no dashboard; with a stored review video, its HTML5 player link."""
        if not encrypted_video_review_url or not self.video_review_aes_key:
            return None
        url = rpnow_signing.decrypt_video_url(self.video_review_aes_key, encrypted_video_review_url)
        return rpnow_signing.html5_video_url(url)

    def should_block_access_to_exam_material(self, request_cookies: Mapping[str, str]) -> bool:
        """Only the RPNow browser, opened through the launch callback, carries the cookie."""
        return not request_cookies.get(LAUNCH_COOKIE)

