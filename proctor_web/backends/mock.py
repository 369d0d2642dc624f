"""An in-process stand-in provider for demos and tests.

It registers attempts without a network, and reports the learner's setup as complete a
configurable number of seconds after they clicked the software download, which is how a
real provider's "ready" callback feels to a learner.
"""

from __future__ import annotations

from typing import Any, ClassVar

from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    ProctoringBackend,
    SilentAttemptEvents,
)
from proctor_web.testing.fake_provider.desktop_app import worker_script


class MockBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = "Mock Proctoring Service"
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
        return {
            "name": self.display_name,
            "download_url": self.software_download_url,
            "rules": {"allow_notes": "Notes are not allowed", "camera": "Keep your camera on"},
            "instructions": [
                "Click 'Start system check' to open the mock proctoring software.",
                "Allow it to use your camera and microphone.",
                "Come back here: the exam unlocks when the check is complete.",
            ],
        }
