"""An in-process stand-in provider for demos and tests.

It registers attempts without a network, and reports the learner's setup as complete a
configurable number of seconds after they clicked the software download, which is how a
real provider's "ready" callback feels to a learner.

Like a provider that honours Accept-Language, it answers its steps and rules in the language
it is asked for (``get_proctoring_config(locale)``), whatever the language of the request
around it: its texts are in our catalog, so it speaks every language the site offers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from babel import Locale, UnknownLocaleError
from flask_babel import force_locale
from flask_babel import gettext as _

from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    ProctoringBackend,
    SilentAttemptEvents,
)
from proctor_web.i18n import N_
from proctor_web.testing.fake_provider.desktop_app import worker_script


class MockBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = N_("Mock Proctoring Service")
    registers_locally: ClassVar[bool] = True
    optional_settings: ClassVar[tuple[str, ...]] = (
        "ready_after_seconds", "software_download_url", "worker", "desktop_app_url")

    ready_after_seconds: float = 1.0
    software_download_url: str = "/static/mock-proctoring-software.html"
    tech_support_email = "support@mock-proctoring.example"
    tech_support_phone = "+1 555 0100"
    supports_onboarding = True
    passing_statuses = ("passed",)
    #: Serve the fake provider's browser worker; it asks the desktop application stand-in of
    #: a fake provider at ``desktop_app_url``, or with none plays one that always answers.
    worker: bool = False
    desktop_app_url: str = ""

    def validate_settings(self) -> None:
        if not isinstance(self.worker, bool):
            raise self.setting_error("the mock's worker must be true or false.")
        if self.desktop_app_url and not str(self.desktop_app_url).startswith(("http://",
                                                                               "https://")):
            raise self.setting_error("the mock's desktop_app_url must be an http(s) URL.")

    def on_exam_saved(self, exam: ExamData) -> str | None:
        return exam.external_id or f"mock-exam-{exam.id}"

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        return registration.attempt_code

    def serves_worker(self) -> bool:
        return bool(self.worker) or super().serves_worker()

    def get_worker_script(self) -> str | None:
        if self.npm_module or not self.worker:
            return super().get_worker_script()
        return worker_script(self.desktop_app_url or None)

    def get_software_download_url(self) -> str | None:
        return self.software_download_url

    def is_ready(self, exam_external_id: str | None, attempt_external_id: str,
                 seconds_since_software_clicked: float | None) -> bool:
        return (
            seconds_since_software_clicked is not None
            and seconds_since_software_clicked >= float(self.ready_after_seconds)
        )

    def get_proctoring_config(self, locale: str = "en") -> dict[str, Any]:
        with force_locale(_language(locale, self.default_locale)):
            return {
                "name": _(self.display_name),
                "download_url": self.software_download_url,
                "rules": {
                    "allow_notes": _("Notes are not allowed"),
                    "camera": _("Keep your camera on"),
                },
                "instructions": [
                    _("Select “Start the system check” to open the mock proctoring software."),
                    _("Allow it to use your camera and microphone."),
                    _("Come back here: the exam unlocks when the check is complete."),
                ],
            }


def _language(locale: str | None, fallback: str) -> str:
    """``es``, ``es-ES`` or ``es_MX`` as a language Babel knows; ``fallback`` otherwise."""
    try:
        return Locale.parse(str(locale or "").replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return fallback
