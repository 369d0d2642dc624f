"""Onboarding statuses kept by the provider (REST providers such as Proctortrack).

Such a provider owns the learner's identity profile: a profile approved there in any course
counts, and one it expired or rejected does not, whatever our attempts say. So, as
edx-proctoring 6.1.4 does with its onboarding profile API, statuses come from
``/api/v1/courses/<course>/onboarding_statuses`` (``backend.get_onboarding_profile_info``):

* one learner (``?user_id=<obscured id>``) for the learner's status; when the provider
  cannot be asked, the learner's status falls back to our own attempts
  (``onboarding.learner_onboarding``), since a learner must never be stuck;
* the whole course (``page``, ``page_size``, optionally ``status``) for the instructor list;
  when the provider cannot be asked, the list answers 503 (``ProviderOnboardingUnavailable``)
  rather than show statuses that may be wrong.

The provider's words map onto ours below (its ``no-profile`` is "never onboarded").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.backends.base import ProctoringBackend
from proctor_web.errors import BackendError
from proctor_web.models import Exam, User
from proctor_web.services import exams, onboarding
from proctor_web.services.obscured_ids import obscured_user_id
from proctor_web.services.onboarding import LearnerOnboarding, OnboardingStatus

log = logging.getLogger(__name__)

OS = OnboardingStatus

#: The provider's status -> the learner's onboarding status (None: never onboarded).
LEARNER_STATUS: Mapping[str, str | None] = {
    "no-profile": None,
    "approved-in-course": "verified",
    "approved-in-different-course": OS.OTHER_COURSE_APPROVED.value,
    "rejected": "rejected",
    "expired": OS.EXPIRED.value,
    "pending": "submitted",
}

#: The provider's status -> the instructor dashboard's word.
INSTRUCTOR_STATUS: Mapping[str, OnboardingStatus] = {
    "no-profile": OS.NOT_STARTED,
    "approved-in-course": OS.VERIFIED,
    "approved-in-different-course": OS.OTHER_COURSE_APPROVED,
    "rejected": OS.REJECTED,
    "expired": OS.EXPIRED,
    "pending": OS.SUBMITTED,
}

#: Largest page we ask for, and a bound on pages, so a misbehaving provider cannot loop us.
PAGE_SIZE = 100
MAX_PAGES = 1000


class ProviderOnboardingUnavailable(BackendError):
    """The provider keeps onboarding statuses but could not be asked for them."""

    status = 503


def profile_backend(exam_list: Sequence[Exam]) -> ProctoringBackend | None:
    """The backend of the course's onboarding exams, if it keeps onboarding profiles."""
    if not exam_list:
        return None
    backend = exams.backend_for(exam_list[0])
    if backend is None or not backend.keeps_onboarding_profiles:
        return None
    return backend


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def learner_status_from_answer(answer: Any) -> tuple[str | None, datetime | None]:
    """(our status, expiration date) from a one-learner answer; ValueError if unusable."""
    if not isinstance(answer, Mapping) or answer.get("status") not in LEARNER_STATUS:
        raise ValueError(f"unexpected onboarding status answer {answer!r:.200}")
    return LEARNER_STATUS[answer["status"]], _parse_date(answer.get("expiration_date"))


def learner_onboarding(user: User, course_id: str, now: datetime) -> LearnerOnboarding:
    """The learner's onboarding: the provider's word when it keeps profiles and answers,
    else our attempts."""
    backend = profile_backend(onboarding.onboarding_exams(course_id))
    if backend is None:
        return onboarding.learner_onboarding(user, course_id, now)
    try:
        answer = backend.get_onboarding_profile_info(
            course_id, user_id=obscured_user_id(user.id, backend.name))
        status, expires = learner_status_from_answer(answer)
    except (BackendError, ValueError) as error:
        reason = error.message if isinstance(error, BackendError) else str(error)
        log.warning("onboarding status of user %s in %s from %s unavailable, using our "
                    "attempts: %s", user.id, course_id, backend.name, reason)
        return onboarding.learner_onboarding(user, course_id, now)
    return LearnerOnboarding(status, expires, None)


def _page_entries(answer: Any) -> tuple[list[Mapping[str, Any]], bool]:
    """The entries of one course-wide page and whether another page follows."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("results"), list):
        raise ValueError(f"unexpected onboarding statuses page {answer!r:.200}")
    entries = [e for e in answer["results"] if isinstance(e, Mapping)]
    return entries, bool(answer.get("next"))


def course_statuses(
    backend: ProctoringBackend, course_id: str, statuses: Sequence[str] = ()
) -> dict[str, OnboardingStatus]:
    """Obscured user id -> instructor status, for every learner the provider knows in the
    course. ``statuses`` (provider words) narrows the query. Raises
    ``ProviderOnboardingUnavailable`` when the provider cannot be asked."""
    found: dict[str, OnboardingStatus] = {}
    filters: dict[str, Any] = {"page_size": PAGE_SIZE}
    if statuses:
        filters["status"] = ",".join(statuses)
    try:
        for page in range(1, MAX_PAGES + 1):
            answer = backend.get_onboarding_profile_info(course_id, page=page, **filters)
            entries, has_next = _page_entries(answer)
            for entry in entries:
                status = INSTRUCTOR_STATUS.get(str(entry.get("status")))
                if status is not None and entry.get("user_id") is not None:
                    found[str(entry["user_id"])] = status
            if not has_next:
                break
    except (BackendError, ValueError) as error:
        reason = error.message if isinstance(error, BackendError) else str(error)
        log.warning("onboarding statuses of %s from %s unavailable: %s", course_id,
                    backend.name, reason)
        raise ProviderOnboardingUnavailable(_(
            "%(provider)s keeps this course's onboarding statuses and could not be asked for "
            "them just now. Try again in a few minutes.", provider=backend.display_name,
        )) from None
    return found


def provider_words_for(wanted: Sequence[str]) -> list[str]:
    """The provider statuses behind the dashboard statuses ``wanted``; empty when one of
    them ("not started") also covers learners the provider has never seen."""
    if not wanted or OS.NOT_STARTED.value in wanted:
        return []
    return sorted(word for word, status in INSTRUCTOR_STATUS.items() if status.value in wanted)
