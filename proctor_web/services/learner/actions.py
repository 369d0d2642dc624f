"""What a learner's click or an API write does: the page's form posts (``perform``) and
edx-proctoring's ``PUT attempt/<id>`` actions (``update_attempt``)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from proctor_web.errors import (
    BadRequest,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from proctor_web.extensions import db
from proctor_web.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ExamType,
    User,
)
from proctor_web.services import (
    attempts,
    courses,
    exams,
)
from proctor_web.services.attempts import Action, Actor
from proctor_web.services.learner.payloads import clock_for

log = logging.getLogger(__name__)
S = AttemptStatus
T = ExamType


class PageAction(enum.StrEnum):
    """What the learner's forms post; each maps onto the lifecycle."""

    ENTER = "enter"  # take the exam: create (and, for timed exams, start) the attempt
    DECLINE = "decline"
    CLICK_DOWNLOAD_SOFTWARE = "click_download_software"
    START = "start"
    STOP = "stop"
    SUBMIT = "submit"
    RESET_ATTEMPT = "reset_attempt"
    RESUME = "resume"
    ACKNOWLEDGE = "acknowledge"


def check_may_take(exam: Exam, user: User) -> None:
    """Only active, enrolled learners take exams; course staff preview them."""
    if courses.can_manage(user, exam.course_id):
        raise PermissionDenied(
            _("Course staff can preview this exam but cannot take it as a learner.")
        )
    if not user.is_active:
        raise PermissionDenied(_("This account is inactive."))
    if not courses.is_enrolled(user, exam.course_id):
        raise PermissionDenied(_("You are not enrolled in this course."))
    if not exam.is_active:
        raise NotFound(_("The exam '%(name)s' is not available.", name=exam.exam_name))


def check_not_past_due(exam: Exam, now: datetime) -> None:
    """No attempt begins (or starts its clock) after the due date, as in edx-proctoring:
    its allowed time would be cut to nothing. Practice exams stay open."""
    if exam.is_practice_exam:
        return
    due = exams.due_date_for(exam)
    if due is not None and due <= now:
        raise PermissionDenied(_("The due date of '%(name)s' has passed; it can no longer be "
                                 "taken.", name=exam.exam_name))


def create_attempt(
    exam: Exam, user: User, now: datetime, *, start_clock: bool = False,
    attempt_proctored: bool | None = None,
) -> Attempt:
    """Create (or resume) the learner's attempt, as the page's "enter" and the API's POST do.

    A learner whose errored attempt course staff marked ready to resume gets the resumed
    attempt; a timed attempt sitting in ``created`` starts when the clock is asked for.
    """
    check_may_take(exam, user)
    check_not_past_due(exam, now)
    actor = Actor.learner(user)
    existing = attempts.current_attempt(exam, user)
    if existing is not None and existing.is_ready_to_resume:
        return attempts.apply_action(existing, Action.RESUME, actor, now)
    proctored_exam = exam.is_proctored or exam.is_practice_exam
    if (
        existing is not None
        and start_clock
        and not proctored_exam
        and existing.status == S.CREATED
    ):
        return attempts.apply_action(existing, Action.START, actor, now)
    if exam.is_practice_exam:
        attempt_proctored = True
    return attempts.create_attempt(
        exam, user, actor, now,
        taking_as_proctored=attempt_proctored if proctored_exam else None,
        start_clock=start_clock and not (proctored_exam and attempt_proctored is not False),
    )


def decline(exam: Exam, user: User, now: datetime) -> Attempt:
    """Take a proctored exam without proctoring (where the course allows it)."""
    check_may_take(exam, user)
    existing = attempts.current_attempt(exam, user)
    if existing is None:
        return attempts.create_attempt(exam, user, Actor.learner(user), now,
                                       taking_as_proctored=False)
    return attempts.apply_action(existing, Action.DECLINE, Actor.learner(user), now)


def acknowledge_status(attempt: Attempt, user: User, now: datetime) -> Attempt:
    """The learner has seen their review outcome (edx-proctoring's review_status PUT)."""
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only act on your own exam attempts."))
    if not current_app.config["EXAM_VIEWABLE_PAST_DUE"]:
        raise NotFound(_("Exam content is not viewable after the due date on this site."))
    if not attempt.is_status_acknowledged:
        attempt.is_status_acknowledged = True
        attempt.modified = now
        db.session.flush()
        log.info("attempt %s review status acknowledged by %s", attempt.id, user.username)
    return attempt


_PAGE_TO_LIFECYCLE: Mapping[PageAction, Action] = {
    PageAction.CLICK_DOWNLOAD_SOFTWARE: Action.CLICK_DOWNLOAD_SOFTWARE,
    PageAction.START: Action.START,
    PageAction.STOP: Action.STOP,
    PageAction.SUBMIT: Action.SUBMIT,
    PageAction.RESET_ATTEMPT: Action.RESET_PRACTICE,
    PageAction.RESUME: Action.RESUME,
}


def perform(exam: Exam, user: User, action: str, now: datetime) -> Attempt:
    """One form post on the learner's page."""
    try:
        page_action = PageAction(action)
    except ValueError:
        raise BadRequest(_(
            "Unknown action %(action)s. Known actions: %(known)s.",
            action=repr(action), known=", ".join(a.value for a in PageAction),
        )) from None
    if page_action is PageAction.ENTER:
        return create_attempt(exam, user, now, start_clock=not exam.has_backend,
                              attempt_proctored=True if exam.has_backend else None)
    if page_action is PageAction.DECLINE:
        return decline(exam, user, now)
    check_may_take(exam, user)
    attempt = attempts.current_attempt(exam, user)
    if attempt is None:
        raise InvalidTransition(_("You have not begun this exam yet."))
    if page_action is PageAction.ACKNOWLEDGE:
        return acknowledge_status(attempt, user, now)
    attempts.expire_if_due(attempt, now)
    return attempts.apply_action(attempt, _PAGE_TO_LIFECYCLE[page_action],
                                 Actor.learner(user), now)


def check_owner(attempt: Attempt, user: User) -> None:
    if attempt.user_id != user.id:
        raise PermissionDenied(_("You can only see and change your own exam attempts."))


#: The PUT actions of edx-proctoring's attempt endpoint, onto our lifecycle.
API_ACTIONS: Mapping[str, Action] = {
    "start": Action.START,
    "stop": Action.STOP,
    "submit": Action.SUBMIT,
    "click_download_software": Action.CLICK_DOWNLOAD_SOFTWARE,
    "reset_attempt": Action.RESET_PRACTICE,
    "decline": Action.DECLINE,
    "error": Action.ERROR,
    "mark_ready_to_resume": Action.MARK_READY_TO_RESUME,
}
#: Accepted and ignored: Open edX's special-exams client may send it.
NO_OP_ACTIONS = frozenset({"ping"})


def update_attempt(
    attempt: Attempt, user: User, action: str, now: datetime, *, detail: str = "",
    user_id: Any = None,
) -> dict[str, Any]:
    """PUT attempt/<id>: one action by the owner (or, to mark it ready to resume, staff)."""
    if not action:
        raise BadRequest(_("%(field)s: this field is required.", field="action"), field="action")
    if action not in API_ACTIONS and action not in NO_OP_ACTIONS:
        raise BadRequest(
            _("Unknown action %(action)s. Known actions: %(known)s.", action=repr(action),
              known=", ".join(sorted([*API_ACTIONS, *NO_OP_ACTIONS]))),
            field="action",
        )
    if action == "mark_ready_to_resume":
        if user_id in (None, ""):
            raise PermissionDenied(_(
                "Only course staff can mark an attempt ready to resume, naming the learner "
                "with %(field)s.", field="user_id",
            ))
        if not courses.can_manage(user, attempt.exam.course_id):
            raise PermissionDenied(_("Only course staff can mark an attempt ready to resume."))
        from proctor_web.services.validation import parse_int

        if parse_int(user_id, "user_id", minimum=1) != attempt.user_id:
            raise BadRequest(_("%(field)s does not match the attempt's learner.",
                                 field="user_id"), field="user_id")
        attempts.apply_action(attempt, Action.MARK_READY_TO_RESUME, Actor.staff(user), now)
        return {"exam_attempt_id": attempt.id, **clock_for(attempt, now)}
    if user_id not in (None, "") and str(user_id) != str(user.id):
        raise PermissionDenied(_("%(field)s may only be given by course staff marking an "
                                 "attempt ready to resume.", field="user_id"))
    check_owner(attempt, user)
    attempts.expire_if_due(attempt, now)
    if action in NO_OP_ACTIONS:
        return {"exam_attempt_id": attempt.id, **clock_for(attempt, now)}
    if action == "error" and attempt.status not in (
        S.CREATED, S.DOWNLOAD_SOFTWARE_CLICKED, S.READY_TO_START, S.STARTED
    ):
        # A learner at the submit page, or already done, is not thrown into an error by a
        # failing ping: nothing changes, as edx-proctoring answers for submitted attempts.
        log.info("attempt %s: ignored browser error in status %s: %s", attempt.id,
                 attempt.status, detail)
        return {"exam_attempt_id": False, **clock_for(attempt, now)}
    result = attempts.apply_action(attempt, API_ACTIONS[action], Actor.learner(user), now,
                                   detail[:2000] if action == "error" else "")
    return {"exam_attempt_id": result.id, **clock_for(result, now)}
