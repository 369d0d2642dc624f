"""A backend that proctors nothing: exams behave as unproctored ones with the same pages."""

from __future__ import annotations

from typing import ClassVar

from proctor_web.backends.base import (
    AttemptRegistration,
    ExamData,
    ProctoringBackend,
    SilentAttemptEvents,
)
from proctor_web.i18n import N_


class NullBackend(SilentAttemptEvents, ProctoringBackend):
    verbose_name = N_("No proctoring")
    registers_locally: ClassVar[bool] = True

    def on_exam_saved(self, exam: ExamData) -> str | None:
        return None

    def register_exam_attempt(self, registration: AttemptRegistration) -> str | None:
        # No provider keeps a record, so there is no provider id (edx-proctoring's null
        # backend answers None too); clients must not mistake the attempt code for one.
        return None

    def get_software_download_url(self) -> str | None:
        return None

    def is_ready(self, exam_external_id: str | None, attempt_external_id: str,
                 seconds_since_software_clicked: float | None) -> bool:
        # Nothing to set up: ready as soon as the learner has seen the instructions.
        return seconds_since_software_clicked is not None
