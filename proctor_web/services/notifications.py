"""Status emails to learners and review alerts to course staff, through an outbox.

A message is rendered when its cause happens (in that transaction) and stored in
``email_outbox``; it is sent after commit and, if the SMTP server fails, retried by
``flask proctor sweep`` with a backoff until it goes out. It is written in the language its
recipient last used on our pages (``User.locale``; the site's default for an address with no
account), whoever or whatever caused it, and its times are shown in the time zone its
recipient's browser last reported (``User.time_zone``) with UTC beside, or in UTC alone,
labelled, when we know none (``email_time`` in the templates). Templates are looked up as
``emails/<backend>/<name>.html`` first, then ``emails/<name>.html``, so a deployment can
give one provider its own wording.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from html import unescape
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext
from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web import timezones
from proctor_web.extensions import db
from proctor_web.i18n import email_locale, platform_name
from proctor_web.models import Attempt, DeliveryStatus, EmailMessage, Exam, User
from proctor_web.models.attempt import AttemptStatus
from proctor_web.services import timing
from proctor_web.services.domain_events import AttemptChanged

# Sending lives in ``outbox``; ``send_pending`` stays importable from here.
from proctor_web.services.outbox import mark_for_delivery, send_pending  # noqa: F401

log = logging.getLogger(__name__)
S = AttemptStatus

#: Status -> template name; only these statuses mail the learner.
STATUS_TEMPLATES: dict[str, str] = {
    S.SUBMITTED: "attempt_submitted",
    S.VERIFIED: "attempt_verified",
    S.REJECTED: "attempt_rejected",
}


def _subjects() -> dict[str, str]:
    return {
        "attempt_submitted": _("Your proctored exam was submitted"),
        "attempt_verified": _("Your proctored exam was verified"),
        "attempt_rejected": _("Your proctored exam did not pass review"),
        "review_needs_attention": _("A proctoring review needs your attention"),
        "account_invitation": _("Choose your password for %(platform)s",
                                platform=platform_name()),
        "password_reset": _("Choose a new password for %(platform)s",
                            platform=platform_name()),
    }


def template_for(name: str, backend: str | None) -> list[str]:
    """Candidate template paths, most specific first."""
    candidates = []
    if backend:
        candidates.append(f"emails/{backend}/{name}.html")
    candidates.append(f"emails/{name}.html")
    return candidates


def _text_version(html: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</h\d>|</li>", "\n", text)
    text = re.sub(r"(?i)<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", r"\2 (\1)", text)
    text = re.sub(r"<[^>]+>", "", text)
    lines = [" ".join(line.split()) for line in unescape(text).splitlines()]
    return "\n".join(line for line in lines if line).strip() + "\n"


def _contact_url(exam: Exam, backend_name: str | None) -> str:
    from proctor_web.services import courses

    course = courses.get_course(exam.course_id)
    if course is not None and course.proctoring_escalation_email:
        return f"mailto:{course.proctoring_escalation_email}"
    backends = current_app.config["BACKENDS"]
    links = (backends.get(backend_name or "") or {}).get("link_urls") or {}
    if isinstance(links, dict) and links.get("contact"):
        return str(links["contact"])
    return f"mailto:{current_app.config['CONTACT_EMAIL']}"


def queue_email(
    name: str,
    recipient: str,
    context: dict[str, Any],
    now: datetime,
    *,
    backend: str | None = None,
    user_id: int | None = None,
    attempt_id: int | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
) -> EmailMessage | None:
    """Render ``name`` for ``recipient`` in ``locale``, with times in ``time_zone`` (an IANA
    name; None for UTC alone), and queue it; None when there is nobody to mail."""
    if not recipient:
        return None
    zone = timezones.valid_zone(time_zone or "")
    with force_locale(email_locale(locale)):
        base = {
            "platform_name": platform_name(),
            "site_url": current_app.config["SITE_URL"].rstrip("/"),
            "email_time": lambda value: timezones.format_moment(value, zone),
            "time_zone_known": zone is not None and zone != "UTC",
        }
        html = render_template(template_for(name, backend), **base, **context)
        subject = _subjects()[name]
    message = EmailMessage(
        template=name, recipient=recipient, user_id=user_id, attempt_id=attempt_id,
        subject=subject, html_body=html, text_body=_text_version(html),
        status=DeliveryStatus.PENDING.value, tries=0, next_attempt_at=now, created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    mark_for_delivery(db.session(), "email", message.id)
    return message


def outcome_is_final(attempt: Attempt, to_status: str) -> bool:
    """Whether this status is the learner's result on the exam, when a resumed exam has
    several attempts (edx-proctoring's multi-attempt rule).

    An errored attempt that was resumed is only a part of the exam and counts for nothing
    by itself. Among the other parts: "submitted" is news unless a part was already
    rejected; "verified" only once every part is verified; "rejected" only for the first
    rejection, and never after a decline.
    """
    siblings = db.session.execute(
        select(Attempt.id, Attempt.status, Attempt.resumed).where(
            Attempt.exam_id == attempt.exam_id, Attempt.user_id == attempt.user_id
        )
    ).all()
    others = [
        status for attempt_id, status, resumed in siblings
        if attempt_id != attempt.id and not (resumed and status == S.ERROR)
    ]
    if not others:
        return True
    if to_status == S.SUBMITTED:
        return S.REJECTED not in others
    if to_status == S.VERIFIED:
        return all(status == S.VERIFIED for status in others)
    if to_status == S.REJECTED:
        return S.REJECTED not in others and S.DECLINED not in others
    return True


def on_attempt_changed(event: AttemptChanged) -> None:
    """Subscriber of ``domain_events.attempt_changed``: the learner's status email."""
    queue_status_email(event.attempt, event.to_status, event.now)


def queue_status_email(attempt: Attempt, to_status: str, now: datetime) -> EmailMessage | None:
    """Mail the learner on submitted / verified / rejected of a real proctored attempt."""
    name = STATUS_TEMPLATES.get(to_status)
    if name is None or not attempt.taking_as_proctored or attempt.is_sample_attempt:
        return None
    if not outcome_is_final(attempt, to_status):
        log.info("no %s email for attempt %s: another part of this exam decides the result",
                 to_status, attempt.id)
        return None
    from proctor_web.services import courses

    exam = attempt.exam
    user = attempt.user
    course = courses.get_course(exam.course_id)
    site = current_app.config["SITE_URL"].rstrip("/")
    context = {
        "user_name": user.full_name or user.username,
        "exam_name": exam.exam_name,
        "course_name": (course.display_name if course and course.display_name else None)
        or lazy_gettext("your course"),  # translated as the email is rendered
        "course_url": f"{site}/courses/{exam.course_id}/",
        "status": to_status,
        "contact_url": _contact_url(exam, exam.backend),
        "started_at": attempt.started_at,
        "submitted_at": attempt.completed_at or (now if to_status == S.SUBMITTED else None),
        "due_date": timing.effective_due_date(exam, course.end_date if course else None),
    }
    return queue_email(name, user.email, context, now, backend=exam.backend,
                       user_id=user.id, attempt_id=attempt.id, locale=user.locale,
                       time_zone=user.time_zone)


def queue_review_alert(
    exam: Exam, student: User | None, review_status: str, review_url: str, now: datetime,
    *, submitted_at: datetime | None = None,
) -> list[EmailMessage]:
    """Tell the course's staff (and its escalation address) that a review needs a human,
    each in their own language and time zone."""
    from proctor_web.services import courses

    course = courses.get_course(exam.course_id)
    recipients: dict[str, tuple[str | None, str | None]] = {
        u.email: (u.locale, u.time_zone) for u in courses.staff_of(exam.course_id) if u.email}
    if course is not None and course.proctoring_escalation_email:
        recipients.setdefault(course.proctoring_escalation_email, (None, None))
    context = {
        "exam_name": exam.exam_name,
        "course_id": exam.course_id,
        "student_name": (student.username if student
                         else lazy_gettext("a learner who has since left")),
        "review_status": review_status,
        "review_url": review_url,
        "submitted_at": submitted_at,
        "due_date": timing.effective_due_date(exam, course.end_date if course else None),
    }
    queued = []
    for recipient, (locale, zone) in recipients.items():  # unique, in order
        message = queue_email("review_needs_attention", recipient, context, now,
                              backend=exam.backend, locale=locale, time_zone=zone)
        if message is not None:
            queued.append(message)
    return queued
