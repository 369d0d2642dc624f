"""The fake provider's settings: their defaults, which may change at run time, and their checks."""

from __future__ import annotations

import math
from typing import Any

REVIEW_OUTCOMES: tuple[str, ...] = ("passed", "violation", "suspicious", "not_reviewed")
FAIL_MODES: tuple[str | None, ...] = (None, "error500", "hang")
# The stand-in desktop application the browser worker asks: running, not running at all, or
# running but refusing to start a session (no camera).
DESKTOP_APP_STATES: tuple[str, ...] = ("running", "closed", "no_camera")
# edx-proctoring blocks the learner when registration answers one of these (`onboarding_errors`).
ONBOARDING_STATUSES: tuple[str, ...] = (
    "onboarding_missing",
    "onboarding_pending",
    "onboarding_failed",
    "onboarding_expired",
)
ATTEMPT_PATCH_STATUSES: tuple[str, ...] = ("started", "submitted", "error")
REQUIRED_ATTEMPT_FIELDS: tuple[str, ...] = ("user_id", "full_name", "email", "lms_host", "status")
CALLBACK_PATH = "/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}/{kind}"
JWT_ALGORITHM = "HS256"

DEFAULT_SETTINGS: dict[str, Any] = {
    "CLIENT_ID": "fake-client",
    "CLIENT_SECRET": "fake-secret",
    "LMS_URL": "http://127.0.0.1:5000",
    "LMS_CLIENT_ID": "fake-provider",
    "LMS_CLIENT_SECRET": "fake-provider-secret",
    "REVIEW_OUTCOME": "passed",
    "READY_DELAY_SECONDS": 1.0,
    "REVIEW_DELAY_SECONDS": 2.0,
    "FAIL_MODE": None,
    "HANG_SECONDS": 5.0,
    "ONBOARDING_STATUS": None,
    "TOKEN_TTL_SECONDS": 3600,
    "CALLBACK_TIMEOUT_SECONDS": 10.0,
    "CALLBACK_RETRIES": 3,
    "CALLBACK_BACKOFF_SECONDS": 0.5,
    # edx-platform's LMS expects "JWT"; proctor_web accepts both, and "Bearer" is the OAuth2 norm.
    "CALLBACK_AUTH_SCHEME": "Bearer",
    "ONBOARDING_PAGE_SIZE": 20,
    "DESKTOP_APP": "running",
    "DESKTOP_STOP_DELAY_SECONDS": 0.0,
}

# Only these may change through POST /_control/config: the others are identities, and changing
# them would silently invalidate tokens already handed out.
RUNTIME_SETTINGS: frozenset[str] = frozenset(
    {
        "REVIEW_OUTCOME",
        "READY_DELAY_SECONDS",
        "REVIEW_DELAY_SECONDS",
        "FAIL_MODE",
        "HANG_SECONDS",
        "ONBOARDING_STATUS",
        "CALLBACK_RETRIES",
        "CALLBACK_BACKOFF_SECONDS",
        "CALLBACK_TIMEOUT_SECONDS",
        "DESKTOP_APP",
        "DESKTOP_STOP_DELAY_SECONDS",
    }
)


def validate_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check provider settings; raise ValueError naming the first bad one.

    Shared by the factory and POST /_control/config so a test cannot put the fake into a state the
    real contract could never produce by accident (a typo in an outcome would otherwise surface much
    later as a confusing LMS-side failure).
    """
    cleaned = dict(values)
    if "REVIEW_OUTCOME" in cleaned and cleaned["REVIEW_OUTCOME"] not in REVIEW_OUTCOMES:
        raise ValueError(f"REVIEW_OUTCOME must be one of {', '.join(REVIEW_OUTCOMES)}")
    if "FAIL_MODE" in cleaned and cleaned["FAIL_MODE"] not in FAIL_MODES:
        raise ValueError("FAIL_MODE must be null, 'error500' or 'hang'")
    if "ONBOARDING_STATUS" in cleaned and cleaned["ONBOARDING_STATUS"] not in (
        None,
        *ONBOARDING_STATUSES,
    ):
        raise ValueError(
            f"ONBOARDING_STATUS must be null or one of {', '.join(ONBOARDING_STATUSES)}"
        )
    if "DESKTOP_APP" in cleaned and cleaned["DESKTOP_APP"] not in DESKTOP_APP_STATES:
        raise ValueError(f"DESKTOP_APP must be one of {', '.join(DESKTOP_APP_STATES)}")
    for key in (
        "READY_DELAY_SECONDS",
        "REVIEW_DELAY_SECONDS",
        "HANG_SECONDS",
        "CALLBACK_TIMEOUT_SECONDS",
        "CALLBACK_BACKOFF_SECONDS",
        "DESKTOP_STOP_DELAY_SECONDS",
    ):
        if key in cleaned:
            cleaned[key] = _non_negative_number(key, cleaned[key])
    for key in ("CALLBACK_RETRIES", "TOKEN_TTL_SECONDS", "ONBOARDING_PAGE_SIZE"):
        if key in cleaned:
            number = _non_negative_number(key, cleaned[key])
            if number != int(number):
                raise ValueError(f"{key} must be a whole number")
            cleaned[key] = int(number)
    for key in ("CLIENT_ID", "CLIENT_SECRET", "LMS_URL", "LMS_CLIENT_ID", "LMS_CLIENT_SECRET"):
        if key in cleaned and (not isinstance(cleaned[key], str) or not cleaned[key]):
            raise ValueError(f"{key} must be a non-empty string")
    if "CALLBACK_AUTH_SCHEME" in cleaned and cleaned["CALLBACK_AUTH_SCHEME"] not in (
        "Bearer",
        "JWT",
    ):
        raise ValueError("CALLBACK_AUTH_SCHEME must be 'Bearer' or 'JWT'")
    return cleaned


def _non_negative_number(key: str, value: Any) -> float:
    # bool is an int subclass; True as a delay is always a mistake.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or not math.isfinite(value)
    ):
        raise ValueError(f"{key} must be a non-negative number")
    return float(value)
