"""Any proctoring tool certified for 1EdTech LTI Proctoring Services 1.0.

The protocol itself (OIDC launches, LtiStartAssessment, the Assessment Control Service) is
in ``proctor_web.lti_proctoring``; this backend holds one tool's registration and is the
only code that talks to the tool over the network: it fetches the tool's key set, caches it,
and fetches it again when a message names a key it does not know (the tool rotated).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    ProctoringBackend,
    ProviderUnavailable,
    SilentAttemptEvents,
)
from proctor_web.i18n import N_

log = logging.getLogger(__name__)

#: Where the learner's "system check" starts the LtiStartProctoring launch (see the
#: ``lti_platform`` blueprint); relative, so it works behind any host name.
LAUNCH_PATH = "/lti/platform/launch/"

#: Every Assessment Control Service action we implement.
ACS_ACTIONS: tuple[str, ...] = ("pause", "resume", "terminate", "update", "flag")

#: ACS ``terminate`` reason codes that mean the session broke rather than ended: the attempt
#: goes to ``error`` (which course staff may let the learner resume) instead of submitted.
DEFAULT_ERROR_REASON_CODES: tuple[str, ...] = ("error", "technical_error", "system_error")


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class LtiBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = N_("LTI proctoring tool")
    registers_locally: ClassVar[bool] = True  # the tool learns of the attempt at launch
    required_settings: ClassVar[tuple[str, ...]] = (
        "client_id", "tool_login_url", "tool_launch_url", "deployment_id",
    )
    optional_settings: ClassVar[tuple[str, ...]] = (
        "tool_key_set_url",
        "tool_key_set",
        "redirect_uris",
        "tool_end_assessment_url",
        "issuer",
        "proctoring_settings",
        "share_name",
        "share_email",
        "document_target",
        "acs_actions",
        "terminate_error_codes",
        "key_set_cache_seconds",
        "timeout_seconds",
        "instructions",
    )

    client_id: str = ""
    tool_login_url: str = ""
    tool_launch_url: str = ""
    deployment_id: str = ""
    tool_key_set_url: str = ""
    tool_key_set: dict[str, Any] | None = None
    redirect_uris: list[str] | None = None
    tool_end_assessment_url: str = ""
    #: Our issuer; empty means SITE_URL.
    issuer: str = ""
    proctoring_settings: str | dict[str, Any] | None = None
    share_name: bool = False
    share_email: bool = False
    document_target: str = "window"
    acs_actions: list[str] | None = None
    terminate_error_codes: list[str] | None = None
    key_set_cache_seconds: float = 3600.0
    timeout_seconds: float = 5.0
    instructions: list[str] | None = None

    def __init__(self, name: str, settings: Any = None) -> None:
        self._key_set: dict[str, Any] | None = None
        self._key_set_fetched = 0.0
        self._key_set_lock = threading.Lock()
        super().__init__(name, settings)

    def validate_settings(self) -> None:
        for key in ("tool_login_url", "tool_launch_url"):
            if not _is_http_url(getattr(self, key)):
                raise self.setting_error(f"{key} must be an http(s) URL.")
        if not self.tool_key_set_url and not self.tool_key_set:
            raise self.setting_error(
                "set tool_key_set_url (the tool's JWKS URL) or tool_key_set (its JWKS)."
            )
        if self.tool_key_set_url and not _is_http_url(self.tool_key_set_url):
            raise self.setting_error("tool_key_set_url must be an http(s) URL.")
        if self.tool_key_set is not None and not (
            isinstance(self.tool_key_set, dict) and isinstance(self.tool_key_set.get("keys"), list)
        ):
            raise self.setting_error('tool_key_set must be a JWKS: {"keys": [...]}.')
        if self.redirect_uris is not None and not (
            isinstance(self.redirect_uris, list) and all(map(_is_http_url, self.redirect_uris))
        ):
            raise self.setting_error("redirect_uris must be a list of http(s) URLs.")
        if self.issuer and not _is_http_url(self.issuer):
            raise self.setting_error("issuer must be an http(s) URL.")
        if self.tool_end_assessment_url and not _is_http_url(self.tool_end_assessment_url):
            raise self.setting_error("tool_end_assessment_url must be an http(s) URL.")
        if self.document_target not in ("window", "iframe", "frame"):
            raise self.setting_error("document_target must be window, iframe or frame.")
        unknown = sorted(set(self.acs_actions or ()) - set(ACS_ACTIONS))
        if unknown:
            raise self.setting_error(
                f"acs_actions may only list {', '.join(ACS_ACTIONS)}, not {', '.join(unknown)}."
            )

    # What the protocol code reads ---------------------------------------------------------

    @property
    def allowed_redirect_uris(self) -> list[str]:
        return list(self.redirect_uris or [self.tool_launch_url])

    @property
    def supported_actions(self) -> list[str]:
        return list(self.acs_actions or ACS_ACTIONS)

    @property
    def error_reason_codes(self) -> tuple[str, ...]:
        return tuple(self.terminate_error_codes or DEFAULT_ERROR_REASON_CODES)

    @property
    def end_assessment_target(self) -> str:
        return self.tool_end_assessment_url or self.tool_launch_url

    def settings_data(self) -> str | None:
        """``proctoring_settings.data`` for exams that set nothing of their own."""
        if self.proctoring_settings is None:
            return None
        if isinstance(self.proctoring_settings, str):
            return self.proctoring_settings
        return json.dumps(self.proctoring_settings, sort_keys=True)

    def tool_key(self, kid: str | None) -> dict[str, Any] | None:
        """The tool's public JWK with this ``kid`` (the only key when the tool sends none).

        An unknown ``kid`` fetches the key set again, at most once per ten seconds, so a
        tool that rotated its keys is followed at once and a forger cannot make us hammer it.
        """
        key = _find_key(self._keys(refresh=False), kid)
        recently = time.monotonic() - self._key_set_fetched < 10
        if key is None and self.tool_key_set_url and not recently:
            key = _find_key(self._keys(refresh=True), kid)
        return key

    def _keys(self, refresh: bool) -> list[dict[str, Any]]:
        if not self.tool_key_set_url:
            return list((self.tool_key_set or {}).get("keys") or [])
        with self._key_set_lock:
            stale = time.monotonic() - self._key_set_fetched > float(self.key_set_cache_seconds)
            if self._key_set is None or stale or refresh:
                self._key_set = self._fetch_key_set()
                self._key_set_fetched = time.monotonic()
            return list(self._key_set.get("keys") or [])

    def _fetch_key_set(self) -> dict[str, Any]:
        try:
            response = requests.get(self.tool_key_set_url, timeout=float(self.timeout_seconds),
                                    headers={"Accept": "application/json"})
        except requests.RequestException as error:
            raise ProviderUnavailable(
                f"The key set of {self.display_name} could not be fetched: {error}"
            ) from None
        if response.status_code != 200:
            raise ProviderUnavailable(
                f"The key set of {self.display_name} answered HTTP {response.status_code}."
            )
        try:
            key_set = response.json()
        except ValueError:
            key_set = None
        if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
            raise ProviderUnavailable(f"The key set of {self.display_name} is not a JWKS.")
        log.info("fetched the key set of %s (%d keys)", self.name, len(key_set["keys"]))
        return key_set

    # The backend contract ----------------------------------------------------------------

    def on_exam_saved(self, exam: ExamData) -> str | None:
        # LTI tools learn about an exam at launch (resource link = content id).
        return exam.external_id or exam.content_id

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        return registration.attempt_code

    def get_software_download_url(self) -> str | None:
        return None

    def get_attempt(self, exam_external_id: str | None, attempt_external_id: str,
                    locale: str = "en") -> dict[str, Any]:
        return {"download_url": f"{LAUNCH_PATH}{attempt_external_id}"}

    def get_proctoring_config(self, locale: str = "en") -> dict[str, Any]:
        return {
            "name": self.display_name,
            "download_url": None,
            "rules": {},
            "instructions": list(self.instructions or [
                "Click 'Start the system check': the proctoring tool opens in a new tab.",
                "Follow its steps; when it is done it brings you back here.",
                "The exam unlocks as soon as the proctoring tool says you are ready.",
            ]),
        }


def _find_key(keys: list[dict[str, Any]], kid: str | None) -> dict[str, Any] | None:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    for key in keys:
        if key.get("kid") == kid:
            return key
    return None
