"""The contract every proctoring provider backend follows.

A backend is the only code that talks to a provider. It receives and returns plain data,
raises ``BackendError`` subclasses, and never touches the database or the request.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask_babel import gettext as _

from proctor_web.backends.worker_bundles import (
    NPM_MODULE_PATTERN,
    SERVED_WORKER_PATH,
    read_worker_bundle,
)
from proctor_web.errors import BackendError, BadRequest
from proctor_web.services.validation import MAX_DB_INTEGER


class BackendSettingsError(BackendError):
    """A backend's settings are missing or invalid; raised at start-up."""

    status = 500


class ProviderUnavailable(BackendError):
    """The provider could not be reached or answered with a server error; worth retrying."""

    status = 503


class RegistrationRefused(BackendError):
    """The provider answered a registration with an error that retrying will not fix."""

    def __init__(self, message: str, provider_status: int | None = None) -> None:
        super().__init__(message)
        self.provider_status = provider_status


class RegistrationFailed(BackendError):
    """An attempt could not be registered with its provider; nothing was saved.

    Raised to the learner's request so it rolls back whole: the page explains and offers to
    try again, and the next try starts from a clean slate.
    """

    status = 503


class OnboardingRequired(BackendError):
    """Registration refused because the learner's onboarding is not in order."""

    status = 400

    def __init__(self, message: str, onboarding_status: str, external_id: str | None) -> None:
        super().__init__(message)
        self.onboarding_status = onboarding_status
        self.external_id = external_id


#: The review outcomes of the provider contract, in our (and edx-proctoring's) words.
REVIEW_STATUSES: tuple[str, ...] = ("passed", "violation", "suspicious", "not_reviewed")


@dataclass(frozen=True)
class ExamData:
    """What a backend is told about an exam."""

    id: int
    course_id: str
    content_id: str
    exam_name: str
    time_limit_mins: int
    is_proctored: bool
    is_practice_exam: bool
    is_active: bool
    hide_after_due: bool
    due_date: str | None
    external_id: str | None
    backend: str
    review_policy: str | None = None


@dataclass(frozen=True)
class AttemptRegistration:
    """What a backend is told when an attempt is registered."""

    attempt_code: str
    exam: ExamData
    user_id: int
    obscured_user_id: str
    full_name: str
    email: str
    allowed_time_limit_mins: int
    is_sample_attempt: bool
    review_policy: str
    review_policy_exception: str | None
    lms_host: str
    launch_url: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NormalisedReview:
    """A provider review in our words: ``status`` is passed/violation/suspicious/not_reviewed."""

    status: str
    comments: list[dict[str, Any]]
    reviewed_by: str | None = None
    payload: dict[str, Any] | None = None
    video_url: str | None = None


class SilentAttemptEvents:
    """For providers that learn nothing from our attempt events: their own software runs
    the session (RPNow), or there is no provider at all (null, mock)."""

    def start_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        return None

    def stop_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        return None

    def mark_erroneous_exam_attempt(
        self, exam_external_id: str | None, attempt_external_id: str
    ) -> None:
        return None

    def remove_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> bool:
        return True


class ProctoringBackend(ABC):
    """Base class of every backend. Subclasses declare their settings in ``settings``."""

    #: Name used in configuration and stored on exams; set by the registry.
    name: str = ""
    verbose_name: ClassVar[str] = "Unknown"
    #: Setting names this backend requires; each must be present in its config block.
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Setting names it accepts besides the common ones.
    optional_settings: ClassVar[tuple[str, ...]] = ()
    common_settings: ClassVar[tuple[str, ...]] = (
        "verbose_name",
        "ping_interval",
        "tech_support_email",
        "tech_support_phone",
        "learner_notification_from_email",
        "help_center_article_url",
        "integration_specific_email",
        "passing_statuses",
        "supports_onboarding",
        "has_dashboard",
        "default_rules",
        "send_email",
        "link_urls",
        "npm_module",
    )

    ping_interval: int = 60
    tech_support_email: str = ""
    tech_support_phone: str = ""
    learner_notification_from_email: str = ""
    help_center_article_url: str = ""
    integration_specific_email: str = ""
    supports_onboarding: bool = False
    has_dashboard: bool = False
    passing_statuses: tuple[str, ...] = ("passed",)
    #: The provider's browser worker, an npm package (``name`` or ``name@version``) that
    #: ``flask proctor build-worker`` bundles into ``worker_bundle_dir``; we then serve it.
    npm_module: str = ""
    #: Where bundled workers are kept (``PROVIDER_WORKER_DIR``); set by the registry.
    worker_bundle_dir: str = ""
    send_email: bool = False
    #: The site's default language, set by the registry (providers get it after the
    #: learner's own in Accept-Language).
    default_locale: str = "en"
    default_rules: dict[str, Any] | None = None
    link_urls: dict[str, str] | None = None

    def __init__(self, name: str, settings: Mapping[str, Any] | None = None) -> None:
        self.name = name
        settings = dict(settings or {})
        allowed = set(self.common_settings) | set(self.required_settings) | set(
            self.optional_settings
        )
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise BackendSettingsError(
                f"Backend {name!r} does not know the setting(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(allowed))}."
            )
        missing = [key for key in self.required_settings if settings.get(key) in (None, "")]
        if missing:
            raise BackendSettingsError(
                f"Backend {name!r} needs the setting(s) {', '.join(missing)} in PROCTOR_BACKENDS."
            )
        self.settings = settings
        for key, value in settings.items():
            if key == "verbose_name":
                self.display_name = value
            elif key == "passing_statuses":
                self.passing_statuses = tuple(value)
            else:
                setattr(self, key, value)
        if not hasattr(self, "display_name"):
            self.display_name = self.verbose_name
        if self.npm_module and not (isinstance(self.npm_module, str)
                                    and NPM_MODULE_PATTERN.fullmatch(self.npm_module)):
            raise BackendSettingsError(
                f"Backend {name!r}: npm_module must be an npm package name, optionally with "
                f"@version (e.g. @edx/mockprock@1.0.2), not {self.npm_module!r}.")
        unknown_statuses = sorted(set(self.passing_statuses) - set(REVIEW_STATUSES))
        if unknown_statuses:
            raise BackendSettingsError(
                f"Backend {name!r}: passing_statuses may only contain "
                f"{', '.join(REVIEW_STATUSES)}, not {', '.join(unknown_statuses)}."
            )
        self.validate_settings()

    def validate_settings(self) -> None:
        """Further checks of this backend's settings; raise ``setting_error(...)`` on a bad one."""
        return None

    def setting_error(self, message: str) -> BackendSettingsError:
        return BackendSettingsError(f"Backend {self.name!r} in PROCTOR_BACKENDS: {message}")

    # Exams --------------------------------------------------------------------------------

    @abstractmethod
    def on_exam_saved(self, exam: ExamData) -> str | None:
        """Create or update the exam at the provider; return its id there."""

    def save_exam(self, exam: ExamData) -> str | None:
        """Like ``on_exam_saved`` but raising ``BackendError`` on failure, for retries.

        ``on_exam_saved`` runs while an exam is saved and must not fail the save; the sweep
        uses this one to learn whether a push really got through.
        """
        return self.on_exam_saved(exam)

    #: Whether exams need a provider id before attempts can be registered. Such a backend's
    #: ``save_exam`` is a network call, made in the background after the exam is saved;
    #: others must answer ``on_exam_saved`` locally (it runs in the saving transaction).
    needs_exam_sync: ClassVar[bool] = False
    #: Whether ``register_exam_attempt`` answers without any network call. Such a backend
    #: registers inside the transaction that creates the attempt; any other is called only
    #: after that transaction has committed (``services.registration``), so no database
    #: lock is held while the provider answers.
    registers_locally: ClassVar[bool] = False
    #: Whether staff removal of an attempt waits for the provider to confirm deleting its
    #: record (``remove_exam_attempt`` returning True) before ours goes; see
    #: ``services.removal``. Providers without records of their own need not.
    confirms_removal: ClassVar[bool] = False

    def get_exam(self, exam: ExamData) -> dict[str, Any]:
        """The provider's copy of the exam (by default, what we know ourselves)."""
        return {"id": exam.external_id, "exam_name": exam.exam_name}

    # Attempts -----------------------------------------------------------------------------

    @abstractmethod
    def register_exam_attempt(self, registration: AttemptRegistration) -> str | None:
        """Register an attempt; return the provider's id for it (stored as external_id), or
        None when no provider keeps a record of it."""

    @abstractmethod
    def start_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        ...

    @abstractmethod
    def stop_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> None:
        ...

    @abstractmethod
    def mark_erroneous_exam_attempt(
        self, exam_external_id: str | None, attempt_external_id: str
    ) -> None:
        ...

    @abstractmethod
    def remove_exam_attempt(self, exam_external_id: str | None, attempt_external_id: str) -> bool:
        ...

    def get_attempt(
        self, exam_external_id: str | None, attempt_external_id: str, locale: str = "en"
    ) -> dict[str, Any]:
        """The provider's view of an attempt: ``status``, ``instructions``, ``download_url``."""
        return {}

    def is_ready(self, exam_external_id: str | None, attempt_external_id: str,
                 seconds_since_software_clicked: float | None) -> bool:
        """Whether the learner's proctoring setup is complete, for providers we may ask."""
        return False

    @abstractmethod
    def get_software_download_url(self) -> str | None:
        ...

    # Reviews ------------------------------------------------------------------------------

    def on_review_callback(self, payload: Mapping[str, Any]) -> NormalisedReview:
        """Normalise a review payload; the REST contract's payload is already normal.

        Raises ``BadRequest`` naming the first problem, so the provider gets a 400 it can read.
        """
        if not isinstance(payload, Mapping):
            raise BadRequest(_("The review must be a JSON object."))
        status = payload.get("status")
        if status not in REVIEW_STATUSES:
            raise BadRequest(_(
                "'%(field)s' must be one of %(choices)s, got %(value)s.", field="status",
                choices=", ".join(REVIEW_STATUSES), value=repr(status),
            ))
        comments = payload.get("comments", [])
        if not isinstance(comments, list):
            raise BadRequest(_("'%(field)s' must be a list.", field="comments"))
        cleaned: list[dict[str, Any]] = []
        for index, comment in enumerate(comments):
            name = f"comments[{index}]"
            if not isinstance(comment, Mapping):
                raise BadRequest(_("%(field)s must be an object.", field=name))
            status_field, text_field = name + ".status", name + ".comment"
            if not isinstance(comment.get("status"), str):
                raise BadRequest(_("%(field)s is missing or not text.", field=status_field))
            if not isinstance(comment.get("comment", ""), str):
                raise BadRequest(_("%(field)s must be text.", field=text_field))
            cleaned.append(
                {
                    "comment": comment.get("comment") or "",
                    "status": comment["status"],
                    "start": seconds_field(comment.get("start"), f"{name}.start"),
                    "stop": seconds_field(comment.get("stop"), f"{name}.stop"),
                    "duration": seconds_field(comment.get("duration"), f"{name}.duration"),
                }
            )
        reviewed_by = payload.get("reviewed_by")
        if reviewed_by is not None and not isinstance(reviewed_by, str):
            raise BadRequest(_("'%(field)s' must be an email address or null.",
                               field="reviewed_by"))
        return NormalisedReview(
            status=status, comments=cleaned, reviewed_by=reviewed_by or None,
            payload=dict(payload),
        )

    def is_passing(self, status: str) -> bool:
        return status in self.passing_statuses

    def get_video_review_aes_key(self) -> str | None:
        """Hex AES key under which review video links are stored, if the provider sends any."""
        return None

    def encrypt_video_url(self, url: str) -> bytes | None:
        """Encrypt a review video link for storage; None drops links we cannot protect."""
        return None

    # Learner page and dashboard -----------------------------------------------------------

    def get_javascript(self) -> str | None:
        """URL of the provider's Web Worker script, if its desktop software needs one (by
        default ours, when we serve the worker)."""
        return SERVED_WORKER_PATH.format(name=self.name) if self.serves_worker() else None

    def serves_worker(self) -> bool:
        """Whether we serve this provider's worker from ``get_worker_script``."""
        return bool(self.npm_module)

    def get_worker_script(self) -> str | None:
        """The classic-worker JavaScript we serve at ``SERVED_WORKER_PATH``, or None; by
        default the bundle of ``npm_module`` that ``flask proctor build-worker`` made."""
        if not self.npm_module:
            return None
        return read_worker_bundle(self.worker_bundle_dir, self.name, self.npm_module)

    def get_proctoring_config(self, locale: str = "en") -> dict[str, Any]:
        return {"name": self.display_name, "rules": {}, "instructions": [], "download_url": None}

    def get_instructor_url(
        self,
        course_id: str,
        user: Mapping[str, Any],
        exam_external_id: str | None = None,
        attempt_external_id: str | None = None,
        show_configuration_dashboard: bool = False,
        encrypted_video_review_url: bytes | None = None,
    ) -> str | None:
        return None

    def should_block_access_to_exam_material(self, request_cookies: Mapping[str, str]) -> bool:
        return False

    # Users --------------------------------------------------------------------------------

    def retire_user(self, obscured_user_id: str) -> bool:
        """Ask the provider to forget a user; True when it did (or keeps nothing)."""
        return True

    #: Whether the provider keeps learners' onboarding profiles and answers
    #: ``get_onboarding_profile_info``; then onboarding statuses come from it
    #: (``services.onboarding_profiles``), not from our attempts.
    keeps_onboarding_profiles: bool = False

    def get_onboarding_profile_info(self, course_id: str, **filters: Any) -> dict[str, Any] | None:
        """The provider's onboarding statuses: with ``user_id``, that learner's
        ``{user_id, status, expiration_date}``; else a page ``{results, count, num_pages,
        next, previous}`` (filters ``status``, ``page``, ``page_size``)."""
        return None

    def tech_support(self) -> dict[str, str]:
        return {
            "email": self.tech_support_email,
            "phone": self.tech_support_phone,
            "help_center_article_url": self.help_center_article_url,
        }


def seconds_field(value: Any, name: str) -> int:
    """A comment time in whole seconds; absent is 0, as the contracts make them optional.

    Stored in an integer column, so anything outside 0..2**31-1 (or not finite) is refused.
    """
    if value in (None, ""):
        return 0
    refused = BadRequest(_("%(field)s must be a number of seconds.", field=name))
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise refused
    try:
        seconds = int(float(value))
    except (ValueError, OverflowError):
        raise refused from None
    if not 0 <= seconds <= MAX_DB_INTEGER:
        raise refused
    return seconds
