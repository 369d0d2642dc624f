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


class MockBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = "Mock Proctoring Service"
    registers_locally: ClassVar[bool] = True
    optional_settings: ClassVar[tuple[str, ...]] = ("ready_after_seconds", "software_download_url")

    ready_after_seconds: float = 1.0
    software_download_url: str = "/static/mock-proctoring-software.html"
    tech_support_email = "support@mock-proctoring.example"
    tech_support_phone = "+1 555 0100"
    supports_onboarding = True
    passing_statuses = ("passed",)

    def on_exam_saved(self, exam: ExamData) -> str | None:
        return exam.external_id or f"mock-exam-{exam.id}"

    def register_exam_attempt(self, registration: AttemptRegistration) -> str:
        return registration.attempt_code

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
