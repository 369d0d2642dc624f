"""Reviews from the dashboard: one attempt's review page (the provider's outcome, comments,
incidents and recording, with verify / reject there), and verify / reject of several
attempts at once from the attempts list. Every decision is a staff status change through
the attempt lifecycle, with a reason kept in each attempt's history."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from proctor_web.blueprints.instructor.blueprint import bp
from proctor_web.blueprints.instructor.views import (
    PREFIX,
    REFUSED,
    _render,
    _stored_statuses,
    course_staff_page,
)
from proctor_web.extensions import db
from proctor_web.models import Course, utcnow
from proctor_web.services import reviews
from proctor_web.services.dashboard import attempt_detail as attempt_detail_page
from proctor_web.services.dashboard import attempt_list, staff_actions


def _review_page(course: Course, attempt_id: int, status: int = 200, **context: Any):
    detail = attempt_detail_page.attempt_detail(course.course_id, attempt_id)
    context.setdefault("error", None)
    context.setdefault("reason", "")
    decisions = [d for d in staff_actions.REVIEW_DECISIONS
                 if detail.attempt is not None and staff_actions.can_decide(detail.attempt, d)]
    outcome = reviews.STANDARD_STATUS.get(detail.review.review_status) if detail.review else None
    return _render("review.html", course, status=status, detail=detail, decisions=decisions,
                   review_outcome=outcome, **context)


@bp.get(f"{PREFIX}/attempts/<int:attempt_id>/review")
@course_staff_page
def attempt_review(course: Course, attempt_id: int):
    return _review_page(course, attempt_id)


@bp.post(f"{PREFIX}/attempts/<int:attempt_id>/review")
@course_staff_page
def attempt_review_decide(course: Course, attempt_id: int):
    attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
    reason = request.form.get("reason")
    try:
        decision = staff_actions.decide_review(attempt, request.form.get("decision"),
                                               current_user, reason, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _review_page(course, attempt_id, status=400, error=error.message,
                            reason=str(reason or ""))
    db.session.commit()
    flash(_("The attempt is now verified.") if decision == "verify"
          else _("The attempt is now rejected."), "success")
    return redirect(url_for(".attempt_review", course_id=course.course_id,
                            attempt_id=attempt_id))


def _list_filters(query: str) -> attempt_list.AttemptFilters:
    """The attempts list's filters the bulk form was sent from (defaults if unreadable)."""
    try:
        return attempt_list.parse_attempt_filters(MultiDict(parse_qsl(query[:2000])))
    except REFUSED:
        return attempt_list.AttemptFilters()


@bp.post(f"{PREFIX}/attempts/review")
@course_staff_page
def bulk_review(course: Course):
    form = request.form
    filters = _list_filters(str(form.get("list_query") or ""))
    chosen = form.getlist("attempt_ids")
    try:
        outcomes = staff_actions.bulk_review(course.course_id, chosen, form.get("decision"),
                                             current_user, form.get("reason"), utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _attempts_page(course, filters, status=400, bulk_error=error.message,
                              bulk_form=form)
    db.session.commit()
    done = [o for o in outcomes if o.ok]
    if len(done) == len(outcomes):
        flash(ngettext("%(num)d attempt verified.", "%(num)d attempts verified.", len(done))
              if form.get("decision") == "verify" else
              ngettext("%(num)d attempt rejected.", "%(num)d attempts rejected.", len(done)),
              "success")
        query = filters.as_query()
        return redirect(url_for(".attempts", course_id=course.course_id) +
                        (f"?{urlencode(query)}" if query else ""))
    # Some attempts could not take the decision: say which and why, on the list itself.
    status = 400 if not done else 200
    return _attempts_page(course, filters, status=status, bulk_outcomes=outcomes,
                          bulk_form=form)


def _attempts_page(course: Course, filters: attempt_list.AttemptFilters, status: int,
                   **context: Any):
    page = attempt_list.list_attempts(course.course_id, filters, with_removed=True)
    return _render("attempts.html", course, status=status, page=page,
                   sorts=attempt_list.SORTS, exam_types=attempt_list.EXAM_TYPES,
                   statuses=_stored_statuses(), **context)
