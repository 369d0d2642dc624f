"""A generic REST proctoring provider, speaking edx-proctoring's documented provider contract.

Every call authenticates with an OAuth2 client-credentials token fetched from
``{base_url}/oauth2/access_token`` and cached until shortly before it expires, has a
timeout, and turns any failure into a ``BackendError`` that says what went wrong:
``ProviderUnavailable`` when trying again later may help (network, timeouts, 5xx, 401, 429),
``RegistrationRefused`` or plain ``BackendError`` when it will not.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, ClassVar
from urllib.parse import quote

import jwt
import requests

from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    OnboardingRequired,
    ProctoringBackend,
    ProviderUnavailable,
    RegistrationRefused,
)
from proctor_web.errors import BackendError
from proctor_web.i18n import N_

log = logging.getLogger(__name__)

ONBOARDING_ERRORS: tuple[str, ...] = (
    "onboarding_missing",
    "onboarding_pending",
    "onboarding_failed",
    "onboarding_expired",
)
#: Renew tokens this long before the provider says they expire (edx's REST client: 5 s).
TOKEN_MARGIN_SECONDS = 5


class ProviderRefused(BackendError):
    """The provider answered a 4xx that retrying will not change."""

    def __init__(self, message: str, provider_status: int) -> None:
        super().__init__(message)
        self.provider_status = provider_status


class RestBackend(ProctoringBackend):
    verbose_name = N_("REST proctoring provider")
    required_settings: ClassVar[tuple[str, ...]] = ("base_url", "client_id", "client_secret")
    optional_settings: ClassVar[tuple[str, ...]] = (
        "timeout_seconds",
        "token_expiration_time",
        "software_download_url",
        "onboarding_profile_api",
    )
    needs_exam_sync: ClassVar[bool] = True
    confirms_removal: ClassVar[bool] = True

    has_dashboard = True
    supports_onboarding = True
    passing_statuses = ("passed",)
    timeout_seconds: float = 10.0
    #: Lifetime of the instructor-dashboard JWT, in seconds.
    token_expiration_time: int = 60
    software_download_url: str = ""
    #: The provider answers /api/v1/courses/<course>/onboarding_statuses (set false for one
    #: that does not, and onboarding statuses come from our own attempts).
    onboarding_profile_api: bool = True

    def __init__(self, name: str, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self.base_url = str(self.base_url).rstrip("/")
        self.keeps_onboarding_profiles = bool(self.onboarding_profile_api)
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()
        self._http = requests.Session()

    def validate_settings(self) -> None:
        if not str(self.base_url).startswith(("https://", "http://")):
            raise self.setting_error("base_url must be an http(s) URL.")
        try:
            timeout = float(self.timeout_seconds)
        except (TypeError, ValueError):
            timeout = 0
        if timeout <= 0:
            raise self.setting_error("timeout_seconds must be a positive number.")
        if not isinstance(self.token_expiration_time, int) or self.token_expiration_time <= 0:
            raise self.setting_error("token_expiration_time must be a positive whole number.")
        if not isinstance(self.onboarding_profile_api, bool):
            raise self.setting_error("onboarding_profile_api must be true or false.")

    # HTTP plumbing ------------------------------------------------------------------------

    def _access_token(self, *, refresh: bool = False) -> str:
        with self._token_lock:
            if not refresh and self._token and self._token[1] > time.monotonic():
                return self._token[0]
            url = f"{self.base_url}/oauth2/access_token"
            try:
                response = self._http.post(
                    url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "token_type": "jwt",
                    },
                    timeout=float(self.timeout_seconds),
                )
            except requests.RequestException as exc:
                raise ProviderUnavailable(
                    f"{self.display_name}: token request failed ({exc.__class__.__name__})."
                ) from None
            if response.status_code != 200:
                error = ProviderUnavailable if response.status_code >= 500 else BackendError
                raise error(
                    f"{self.display_name}: the token endpoint answered {response.status_code}; "
                    "check client_id and client_secret."
                )
            try:
                body = response.json()
                token = str(body["access_token"])
                expires_in = float(body.get("expires_in", 300))
            except (ValueError, KeyError, TypeError):
                raise BackendError(
                    f"{self.display_name}: the token endpoint sent no access_token."
                ) from None
            self._token = (token, time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 0))
            return token

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        locale: str | None = None,
        what: str,
        heard_language: list[str] | None = None,
    ) -> Any:
        """One authenticated call; a 401 on a cached token earns one fresh token and retry."""
        url = f"{self.base_url}{path}"
        headers = {"Accept": "application/json"}
        if locale:
            # edx-proctoring sends "<current>;<default>" (e.g. "es;en"); providers built
            # against it parse exactly that, so we send the same.
            headers["Accept-Language"] = f"{locale};{self.default_locale}"
        for refresh in (False, True):
            # edx's client authenticates with the JWT scheme; providers may check it.
            headers["Authorization"] = f"JWT {self._access_token(refresh=refresh)}"
            try:
                response = self._http.request(
                    method, url, json=json, params=params, headers=headers,
                    timeout=float(self.timeout_seconds),
                )
            except requests.Timeout:
                raise ProviderUnavailable(
                    f"{self.display_name}: no answer to {what} within {self.timeout_seconds} s."
                ) from None
            except requests.RequestException as exc:
                raise ProviderUnavailable(
                    f"{self.display_name}: {what} failed ({exc.__class__.__name__})."
                ) from None
            if response.status_code == 401 and not refresh:
                continue
            break
        status = response.status_code
        if status >= 500 or status in (401, 408, 429):
            raise ProviderUnavailable(f"{self.display_name}: {what} answered {status}.")
        if status >= 400:
            raise ProviderRefused(
                f"{self.display_name}: {what} refused ({status}): {_detail(response)}", status
            )
        if heard_language is not None and response.headers.get("Content-Language"):
            # The language the provider actually answered in (maybe not the one asked for).
            heard_language.append(response.headers["Content-Language"].split(",")[0].strip())
        try:
            return response.json()
        except ValueError:
            raise BackendError(f"{self.display_name}: {what} did not answer JSON.") from None

    # Exams --------------------------------------------------------------------------------

    def _exam_body(self, exam: ExamData) -> dict[str, Any]:
        body = asdict(exam)
        body.pop("review_policy", None)
        body["rule_summary"] = exam.review_policy or ""
        body["rules"] = dict(self.default_rules or {})
        return body

    def save_exam(self, exam: ExamData) -> str | None:
        if exam.external_id:
            path = f"/api/v1/exam/{quote(exam.external_id, safe='')}/"
        else:
            path = "/api/v1/exam/"
        answer = self._request("POST", path, json=self._exam_body(exam), what="saving the exam")
        external_id = answer.get("id") if isinstance(answer, Mapping) else None
        if not external_id:
            raise BackendError(f"{self.display_name}: saving the exam returned no id.")
        return str(external_id)

    def on_exam_saved(self, exam: ExamData) -> str | None:
        """Never fails an exam save: a failed push is logged and retried by the sweep."""
        try:
            return self.save_exam(exam)
        except BackendError as error:
            log.warning("exam %s not pushed to %s: %s", exam.id, self.name, error.message)
            return exam.external_id

    def get_exam(self, exam: ExamData) -> dict[str, Any]:
        if not exam.external_id:
            return {}
        answer = self._request(
            "GET", f"/api/v1/exam/{quote(exam.external_id, safe='')}/", what="reading the exam"
        )
        return dict(answer) if isinstance(answer, Mapping) else {}

    # Attempts -----------------------------------------------------------------------------

    def _attempt_path(self, exam_external_id: str | None, attempt_external_id: str = "") -> str:
        if not exam_external_id:
            raise BackendError(
                f"{self.display_name}: the exam has no id at the provider yet "
                "(it has not been pushed); try again shortly."
            )
        path = f"/api/v1/exam/{quote(exam_external_id, safe='')}/attempt/"
        if attempt_external_id:
            path += f"{quote(attempt_external_id, safe='')}/"
        return path

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        body: dict[str, Any] = {
            "lms_host": registration.lms_host,
            "time_limit_mins": registration.allowed_time_limit_mins,
            "is_sample_attempt": registration.is_sample_attempt,
            "user_id": registration.obscured_user_id,
            "full_name": registration.full_name,
            "email": registration.email,
            "status": "created",
            "review_policy": registration.review_policy,
        }
        if registration.review_policy_exception:
            body["review_policy_exception"] = registration.review_policy_exception
        try:
            answer = self._request(
                "POST", self._attempt_path(registration.exam.external_id), json=body,
                what="registering the attempt",
            )
        except ProviderRefused as refusal:
            raise RegistrationRefused(refusal.message, refusal.provider_status) from None
        if not isinstance(answer, Mapping):
            raise RegistrationRefused(f"{self.display_name}: registration answer is not an object.")
        external_id = answer.get("id")
        status = answer.get("status")
        if status in ONBOARDING_ERRORS:
            raise OnboardingRequired(
                f"{self.display_name} requires onboarding first ({status}).",
                onboarding_status=str(status),
                external_id=str(external_id) if external_id else None,
            )
        if not external_id:
            raise RegistrationRefused(f"{self.display_name}: registration returned no id.")
        return str(external_id)

    def _patch(self, exam_external_id: str | None, attempt_external_id: str, status: str) -> None:
        self._request(
            "PATCH", self._attempt_path(exam_external_id, attempt_external_id),
            json={"status": status}, what=f"marking the attempt {status}",
        )

    def start_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        self._patch(exam_external_id, attempt_external_id, "started")

    def stop_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        self._patch(exam_external_id, attempt_external_id, "submitted")

    def mark_erroneous_exam_attempt(
        self, exam_external_id: str | None, attempt_external_id: str
    ) -> None:
        self._patch(exam_external_id, attempt_external_id, "error")

    def remove_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> bool:
        try:
            answer = self._request(
                "DELETE", self._attempt_path(exam_external_id, attempt_external_id),
                what="removing the attempt",
            )
        except ProviderRefused as refusal:
            if refusal.provider_status == 404:
                return True  # already gone: the goal is reached
            raise
        return isinstance(answer, Mapping) and answer.get("status") == "deleted"

    def get_attempt(
        self, exam_external_id: str | None, attempt_external_id: str, locale: str = "en"
    ) -> dict[str, Any]:
        answer = self._request(
            "GET", self._attempt_path(exam_external_id, attempt_external_id), locale=locale,
            what="reading the attempt",
        )
        return dict(answer) if isinstance(answer, Mapping) else {}

    def get_software_download_url(self) -> str | None:
        return self.software_download_url or None

    # Learner page and dashboard -----------------------------------------------------------

    def get_proctoring_config(self, locale: str = "en") -> dict[str, Any]:
        language: list[str] = []
        answer = self._request("GET", "/api/v1/config/", locale=locale, what="reading the config",
                               heard_language=language)
        if not isinstance(answer, Mapping):
            raise BackendError(f"{self.display_name}: config is not an object.")
        return {
            "name": answer.get("name") or self.display_name,
            "language": language[0] if language else None,
            "rules": dict(answer.get("rules") or {}),
            "instructions": list(answer.get("instructions") or []),
            "download_url": answer.get("download_url"),
        }

    def get_instructor_url(
        self,
        course_id: str,
        user: Mapping[str, Any],
        exam_external_id: str | None = None,
        attempt_external_id: str | None = None,
        show_configuration_dashboard: bool = False,
        encrypted_video_review_url: bytes | None = None,
    ) -> str | None:
        claims: dict[str, Any] = {
            "course_id": course_id,
            "user": {
                "id": user.get("id"),
                "full_name": user.get("full_name", ""),
                "email": user.get("email", ""),
            },
            "iss": self.client_id,
            "jti": uuid.uuid4().hex,
            "exp": int(time.time()) + int(self.token_expiration_time),
        }
        if exam_external_id:
            claims["exam_id"] = exam_external_id
            if show_configuration_dashboard:
                claims["config"] = True
            if attempt_external_id:
                claims["attempt_id"] = attempt_external_id
        token = jwt.encode(claims, self.client_secret, algorithm="HS256")
        return f"{self.base_url}/api/v1/instructor/{quote(self.client_id, safe='')}/?jwt={token}"

    # Users --------------------------------------------------------------------------------

    def retire_user(self, obscured_user_id: str) -> bool:
        answer = self._request(
            "DELETE", f"/api/v1/user/{quote(obscured_user_id, safe='')}/",
            what="retiring the user",
        )
        if not isinstance(answer, bool):
            raise BackendError(f"{self.display_name}: user retirement answered {answer!r}.")
        return answer

    def get_onboarding_profile_info(self, course_id: str, **filters: Any) -> dict[str, Any] | None:
        params = {k: v for k, v in filters.items() if k in ("user_id", "status", "page",
                                                            "page_size") and v is not None}
        answer = self._request(
            # Course keys go in the path as edx-proctoring writes them (":" and "+" kept).
            "GET", f"/api/v1/courses/{quote(course_id, safe=':+')}/onboarding_statuses",
            params=params, what="reading onboarding statuses",
        )
        return dict(answer) if isinstance(answer, Mapping) else None


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping) and "detail" in body:
        return str(body["detail"])[:200]
    return str(body)[:200]
