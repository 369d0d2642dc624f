"""The learner's exam page: the situation, its template and what the template shows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from proctor_web.backends.base import ProctoringBackend
from proctor_web.errors import (
    BackendError,
    NotFound,
)
from proctor_web.i18n import provider_name
from proctor_web.lti_proctoring import oidc as lti_proctoring
from proctor_web.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ExamType,
    User,
)
from proctor_web.services import (
    allowances,
    courses,
    exams,
    onboarding,
    timing,
)
from proctor_web.services.learner.loading import (
    AttemptView,
    allowed_minutes_for,
    load_current_attempt_view,
    refresh,
)
from proctor_web.services.learner.payloads import attempt_payload, exam_path
from proctor_web.services.learner.situations import (
    Facts,
    Situation,
    flow_for,
    situation_for,
    template_for,
)

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType
X = Situation


@dataclass
class ExamPage:
    exam: Exam
    exam_type: ExamType
    situation: Situation
    template: str
    attempt: Attempt | None
    payload: dict[str, Any] | None
    context: dict[str, Any] = field(default_factory=dict)


def _provider_info(
    backend: ProctoringBackend | None, locale: str, attempt: Attempt | None = None
) -> dict[str, Any]:
    """What the provider says about itself and, during setup, about this attempt.

    The attempt's own download link matters: it is how the provider's system check knows
    which attempt to report ready. A provider that cannot be reached does not break the
    page; the learner gets our generic wording instead.
    """
    if backend is None:
        return {"name": "", "instructions": [], "rules": {}, "download_url": None,
                "tech_support": {}, "javascript": None, "unavailable": False,
                "text_lang": None}
    try:
        config = backend.get_proctoring_config(locale) or {}
    except BackendError as error:
        log.warning("%s config unavailable for the learner page: %s", backend.name,
                    error.message)
        config = {"unavailable": True}
    info = {
        "name": config.get("name") or provider_name(backend),
        "instructions": list(config.get("instructions") or []),
        "rules": dict(config.get("rules") or {}),
        "download_url": config.get("download_url") or backend.get_software_download_url(),
        "tech_support": backend.tech_support(),
        "javascript": backend.get_javascript(),
        "ping_interval": backend.ping_interval,
        "unavailable": bool(config.get("unavailable")),
        # The provider's steps and rules stay in the language it wrote them in: when that
        # is not the page's, they carry it (lang) so screen readers pronounce them right.
        "text_lang": _other_language(config.get("language"), locale),
    }
    if (
        attempt is not None
        and attempt.external_id
        and attempt.status in (S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED)
    ):
        try:
            details = backend.get_attempt(attempt.exam.external_id, attempt.external_id,
                                          locale) or {}
        except BackendError as error:
            log.warning("%s attempt %s unavailable for the learner page: %s", backend.name,
                        attempt.external_id, error.message)
            details = {}
        if details.get("download_url"):
            info["download_url"] = details["download_url"]
        if details.get("instructions"):
            info["instructions"] = list(details["instructions"])
    return info


def _other_language(text_language: str | None, page_locale: str) -> str | None:
    """``text_language`` (a BCP 47 tag) when it differs from the page's language, else None."""
    if not text_language:
        return None
    tag = str(text_language).split(",")[0].strip().replace("_", "-")
    if not tag or tag.split("-")[0].lower() == page_locale.replace("_", "-").split("-")[0].lower():
        return None
    return tag


def exam_page(
    exam: Exam, user: User, now: datetime, *, locale: str = "en",
    confirming_decline: bool = False,
) -> ExamPage:
    """Read everything the learner's page needs, applying expiry and readiness first."""
    if not exam.is_active:
        raise NotFound(_("The exam '%(name)s' is not available.", name=exam.exam_name))
    kind = exams.exam_type(exam)
    manages, enrolled = courses.standing_in(user, exam.course_id)
    course = exams.course_of(exam)
    due = timing.effective_due_date(exam, course.end_date if course else None)
    backend = exams.backend_for(exam)
    view: AttemptView | None = None
    attempt = None
    if not manages and enrolled and user.is_active:
        newest = load_current_attempt_view(exam.id, user.id)
        if newest is not None:
            view = refresh(newest, now)
            attempt = view.attempt
    provider = _provider_info(backend, locale, attempt)
    facts = Facts(
        exam_type=kind,
        status=attempt.status if attempt else None,
        ready_to_resume=bool(attempt and attempt.is_ready_to_resume),
        is_status_acknowledged=bool(attempt and attempt.is_status_acknowledged),
        past_due=due is not None and due <= now,
        user_active=user.is_active,
        enrolled=enrolled,
        manages_course=manages,
        # Providers without step-by-step instructions but with desktop software (RPNow) get
        # the page with the exam code to paste into their software.
        # (When the provider cannot be reached we cannot tell, so the general page it is.)
        provider_has_instructions=bool(provider["instructions"]) or not provider["download_url"]
        or provider["unavailable"],
        allows_opt_out=bool(course and course.allow_proctoring_opt_out),
        viewable_past_due=current_app.config["EXAM_VIEWABLE_PAST_DUE"],
        confirming_decline=confirming_decline,
    )
    situation = situation_for(facts)
    payload = attempt_payload(view, now) if view is not None else None
    if view is not None:
        total_minutes = allowed_minutes_for(view, now)
    else:
        total_minutes = timing.allowed_minutes(
            exam.time_limit_mins,
            0 if manages else allowances.extra_minutes(user.id, exam.id),
            now, due,
        )
    policy = exams.get_review_policy(exam)
    context: dict[str, Any] = {
        "total_minutes": total_minutes,
        "due_date": due,
        "past_due": facts.past_due,
        "provider": provider,
        "allows_opt_out": facts.allows_opt_out and kind is T.PROCTORED,
        "escalation_email": (course.proctoring_escalation_email if course else None)
        or current_app.config["CONTACT_EMAIL"],
        "contact_email": current_app.config["CONTACT_EMAIL"],
        "review_policy": policy.review_policy if policy else None,
        "course": course,
        "viewable_past_due": facts.viewable_past_due and facts.past_due,
        "onboarding_link": None,
        "flow": flow_for(kind, situation),
        # Shown for as long as a proctoring session records the learner.
        "proctored_by": provider["name"] if (
            attempt is not None and attempt.taking_as_proctored and kind is not T.TIMED
        ) else None,
        # An LTI proctoring tool that asked to hear of the end gets LtiEndAssessment.
        "lti_end_assessment_url": lti_proctoring.end_page_path(attempt),
    }
    if situation in (X.ONBOARDING_MISSING, X.ONBOARDING_FAILED, X.ONBOARDING_EXPIRED,
                     X.ONBOARDING_PENDING):
        candidates = onboarding.onboarding_exams(exam.course_id)
        if candidates:
            context["onboarding_link"] = exam_path(candidates[-1].course_id,
                                                   candidates[-1].content_id)
    return ExamPage(exam, kind, situation, template_for(kind, situation), attempt, payload,
                    context)
