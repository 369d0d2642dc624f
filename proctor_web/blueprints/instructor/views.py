"""Instructor dashboard pages under /courses/<course_id>/instructor/.

Every page: load the course (404), check the person manages it (403), one service call,
commit once for writes, then render or redirect. Forms post back to the page they came
from; a refused form is shown again with its message and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from proctor_web.blueprints.instructor import labels, timeline
from proctor_web.blueprints.instructor.blueprint import bp
from proctor_web.errors import AlreadyExists, BadRequest, InvalidTransition, PermissionDenied
from proctor_web.extensions import db
from proctor_web.i18n import provider_label
from proctor_web.lti import grades
from proctor_web.models import Course, utcnow
from proctor_web.services import allowances, dead_letters, exams, removal, reports
from proctor_web.services.dashboard import (
    access,
    allowance_groups,
    attempt_list,
    course_exams,
    course_overview,
    exam_saving,
    onboarding_list,
    settings_saving,
    staff_actions,
)
from proctor_web.services.dashboard import attempt_detail as attempt_detail_page

PREFIX = "/courses/<course_id>/instructor"
#: Refusals shown on the form that caused them (anything else goes to the error page).
REFUSED = (BadRequest, InvalidTransition, AlreadyExists)


def course_staff_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Load the course (404) and require course or global staff (403)."""

    @wraps(view)
    @login_required
    def wrapper(course_id: str, **kwargs: Any) -> Any:
        found = access.course_access(current_user, course_id)
        if not found.can_manage:
            raise PermissionDenied(_("Only staff of this course can open its dashboard."))
        return view(found.course, **kwargs)

    return wrapper


def _render(template: str, course: Course, status: int = 200, **context: Any):
    return render_template(f"instructor/{template}", course=course, **context), status


# Overview ---------------------------------------------------------------------------------


@bp.get(f"{PREFIX}/")
@course_staff_page
def overview(course: Course):
    now = utcnow()
    data = course_overview.overview(course.course_id, now)
    return _render("overview.html", course, overview=data, now=now,
                   undelivered=dead_letters.count_undelivered(course.course_id, now))


@bp.post(f"{PREFIX}/outbox/retry")
@course_staff_page
def retry_dead_letters(course: Course):
    """Put this course's dead provider events and emails back to pending, and hand its late
    pending ones over again; the commit hands them to background work."""
    retried = dead_letters.retry_undelivered(utcnow(), course.course_id)
    db.session.commit()
    flash(_("%(num)d undelivered notification(s) will be tried again.", num=len(retried)),
          "success")
    return redirect(url_for("instructor.overview", course_id=course.course_id))


# Attempts ---------------------------------------------------------------------------------


@bp.get(f"{PREFIX}/attempts")
@course_staff_page
def attempts(course: Course):
    filters = attempt_list.parse_attempt_filters(request.args)
    page = attempt_list.list_attempts(course.course_id, filters, with_removed=True)
    return _render("attempts.html", course, page=page, sorts=attempt_list.SORTS,
                   exam_types=attempt_list.EXAM_TYPES, statuses=_stored_statuses())


def _stored_statuses() -> list[str]:
    from proctor_web.models.attempt import STORED_STATUSES

    return [s.value for s in STORED_STATUSES]


@bp.get(f"{PREFIX}/attempts/<int:attempt_id>")
@course_staff_page
def attempt_detail(course: Course, attempt_id: int):
    detail = attempt_detail_page.attempt_detail(course.course_id, attempt_id)
    return _render("attempt_detail.html", course, detail=detail, now=utcnow(),
                   timeline=_timeline(detail))


def _timeline(detail: attempt_detail_page.AttemptDetail) -> list[timeline.TimelineEntry]:
    return timeline.timeline(detail.this_history, detail.user.username,
                             provider_label(detail.exam.backend))


@bp.get(f"{PREFIX}/attempts/<int:attempt_id>/<any(reset, resume, verify, reject):action>")
@course_staff_page
def confirm_attempt_action(course: Course, attempt_id: int, action: str):
    attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
    return _render("confirm_action.html", course, attempt=attempt, action=action,
                   reason_required=action in staff_actions.REASON_REQUIRED, error=None)


@bp.post(f"{PREFIX}/attempts/<int:attempt_id>/<any(reset, resume, verify, reject):action>")
@course_staff_page
def attempt_action(course: Course, attempt_id: int, action: str):
    attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
    try:
        confirmed: frozenset[int] = frozenset()
        if action == "reset":
            # The reason is checked before the provider is asked to delete anything.
            staff_actions.clean_reason(action, request.form.get("reason"))
            records = removal.records_to_confirm([attempt])
            if records:
                db.session.commit()  # no transaction stays open while the provider answers
                confirmed = removal.confirm_removed(records)
                attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
        staff_actions.staff_action(attempt, action, current_user, request.form.get("reason"),
                                   utcnow(), provider_confirmed=confirmed)
    except removal.ProviderRemovalFailed as error:
        db.session.rollback()
        flash(error.message, "error")
        attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
        return _render("confirm_action.html", course, status=502, attempt=attempt,
                       action=action, reason_required=action in staff_actions.REASON_REQUIRED,
                       error=None)
    except REFUSED as error:
        db.session.rollback()
        attempt = attempt_detail_page.course_attempt(course.course_id, attempt_id)
        return _render("confirm_action.html", course, status=400, attempt=attempt,
                       action=action, reason_required=action in staff_actions.REASON_REQUIRED,
                       error=error.message)
    db.session.commit()
    flash(_ACTION_DONE[action](), "success")
    if action == "reset":
        return redirect(url_for(".attempts", course_id=course.course_id))
    return redirect(url_for(".attempt_detail", course_id=course.course_id,
                            attempt_id=attempt_id))


_ACTION_DONE: dict[str, Callable[[], str]] = {
    "reset": lambda: _("The attempt was reset. Its history is kept; the learner can start again."),
    "resume": lambda: _("The learner can now resume this exam with the time they had left."),
    "verify": lambda: _("The attempt is now verified."),
    "reject": lambda: _("The attempt is now rejected."),
}


# Allowances -------------------------------------------------------------------------------


#: Form inputs an allowance refusal belongs next to, by the ``field`` the service names.
ALLOWANCE_FIELDS = {"allowance_value": "value", "user_info": "users", "exam_ids": "exam_ids"}


def field_errors(error: Any, fields: dict[str, str]) -> dict[str, str]:
    """``{input: message}`` for a refusal about one input, in plain words (without the
    API's ``field:`` prefix, since it shows under the input's own label); ``{"": message}``
    for any other."""
    field = fields.get(str(error.extra.get("field", "")))
    if field is None:
        return {"": error.message}
    return {field: labels.without_field_prefix(error.message)}


def _allowance_kind(requested: str | None) -> str:
    return requested if requested in allowances.ALLOWANCE_TYPES else allowances.ALLOWANCE_TYPES[0]


def _allowances_page(course: Course, status: int = 200, **context: Any):
    context.setdefault("results", None)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.setdefault("kind", _allowance_kind(request.args.get("kind")))
    return _render(
        "allowances.html", course, status=status,
        groups=allowance_groups.grouped_allowances(course.course_id),
        history=allowance_groups.allowance_history(course.course_id),
        exams=exams.course_exams(course.course_id, active_only=True),
        learners=allowance_groups.enrolled_learners(course.course_id),
        allowance_types=allowances.ALLOWANCE_TYPES,
        **context,
    )


@bp.get(f"{PREFIX}/allowances")
@course_staff_page
def allowance_list(course: Course):
    return _allowances_page(course)


@bp.post(f"{PREFIX}/allowances")
@course_staff_page
def allowance_add(course: Course):
    form = request.form
    kind = str(form.get("allowance_type") or "")
    try:
        results = allowances.grant_allowances(
            course.course_id, form.getlist("exam_ids"), form.get("users"),
            kind, form.get("value"), current_user, utcnow(),
        )
    except REFUSED as error:
        db.session.rollback()
        return _allowances_page(course, status=400, form=form, kind=_allowance_kind(kind),
                                errors=field_errors(error, ALLOWANCE_FIELDS))
    db.session.commit()
    failed = [r for r in results if not r.ok]
    if not failed:
        flash(_("Allowance saved for %(count)d learner and exam pairs.",
                count=len(results)), "success")
        return redirect(url_for(".allowance_list", course_id=course.course_id))
    # Some rows failed: show every row's result; nothing saved at all is a refused form.
    status = 400 if len(failed) == len(results) else 200
    return _allowances_page(course, status=status, results=results, form=form,
                            kind=_allowance_kind(kind))


@bp.route(f"{PREFIX}/allowances/<int:allowance_id>/edit", methods=["GET", "POST"])
@course_staff_page
def allowance_edit(course: Course, allowance_id: int):
    allowance = allowance_groups.find_allowance(course.course_id, allowance_id)
    if request.method == "GET":
        return _render("allowance_edit.html", course, allowance=allowance, error=None)
    try:
        allowances.set_allowance(allowance.exam, allowance.user, allowance.key,
                                 request.form.get("value"), current_user, utcnow())
    except REFUSED as error:
        db.session.rollback()
        allowance = allowance_groups.find_allowance(course.course_id, allowance_id)
        return _render("allowance_edit.html", course, status=400, allowance=allowance,
                       error=labels.without_field_prefix(error.message),
                       value=request.form.get("value", ""))
    db.session.commit()
    flash(_("Allowance updated."), "success")
    return redirect(url_for(".allowance_list", course_id=course.course_id))


@bp.route(f"{PREFIX}/allowances/<int:allowance_id>/delete", methods=["GET", "POST"])
@course_staff_page
def allowance_delete(course: Course, allowance_id: int):
    allowance = allowance_groups.find_allowance(course.course_id, allowance_id)
    if request.method == "GET":
        return _render("allowance_delete.html", course, allowance=allowance)
    allowances.delete_allowance(allowance.exam, allowance.user, allowance.key, current_user,
                                utcnow())
    db.session.commit()
    flash(_("Allowance deleted. The change is kept in the allowance history."), "success")
    return redirect(url_for(".allowance_list", course_id=course.course_id))


# Onboarding -------------------------------------------------------------------------------


@bp.get(f"{PREFIX}/onboarding")
@course_staff_page
def onboarding(course: Course):
    filters = onboarding_list.parse_onboarding_filters(
        request.args.get("q"), request.args.getlist("status"), request.args.get("page")
    )
    page = onboarding_list.onboarding_page(course.course_id, filters, utcnow())
    return _render("onboarding.html", course, page=page,
                   statuses=onboarding_list.ONBOARDING_STATUSES)


# Exam settings ----------------------------------------------------------------------------


def _exam_list_page(course: Course, status: int = 200, **context: Any):
    context.setdefault("settings_error", None)
    exam_list = course_exams.course_exam_list(course.course_id)
    return _render("exams.html", course, status=status, exams=exam_list,
                   types={e.id: exams.exam_type(e).value for e in exam_list}, **context)


@bp.get(f"{PREFIX}/exams")
@course_staff_page
def exam_list(course: Course):
    return _exam_list_page(course)


@bp.post(f"{PREFIX}/settings")
@course_staff_page
def course_settings(course: Course):
    try:
        settings_saving.update_course_settings(course, request.form, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _exam_list_page(course, status=400, settings_error=error.message,
                               settings_form=request.form)
    db.session.commit()
    flash(_("Course proctoring settings saved."), "success")
    return redirect(url_for(".exam_list", course_id=course.course_id))


def _exam_form(course: Course, exam, form, error: str | None, status: int = 200, **extra: Any):
    return _render("exam_form.html", course, status=status, exam=exam, form=form, error=error,
                   backends=_backend_names(), exam_types=tuple(exam_saving.TYPE_FLAGS),
                   grade_settings=grades.settings_for(exam) if exam else None,
                   grade_deliveries=grades.delivery_summary(exam) if exam else None, **extra)


def _backend_names() -> list[str]:
    from flask import current_app

    return current_app.extensions["proctor_backends"].names


@bp.route(f"{PREFIX}/exams/new", methods=["GET", "POST"])
@course_staff_page
def exam_create(course: Course):
    if request.method == "GET":
        return _exam_form(course, None, None, None)
    try:
        exam = exam_saving.save_exam(course.course_id, None, request.form, current_user, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _exam_form(course, None, request.form, error.message, status=400)
    db.session.commit()
    flash(_("Exam “%(name)s” created.", name=exam.exam_name), "success")
    return redirect(url_for(".exam_list", course_id=course.course_id))


@bp.route(f"{PREFIX}/exams/<int:exam_id>/edit", methods=["GET", "POST"])
@course_staff_page
def exam_edit(course: Course, exam_id: int):
    exam = course_exams.course_exam(course.course_id, exam_id)
    if request.method == "GET":
        return _exam_form(course, exam, None, None)
    try:
        exam_saving.save_exam(course.course_id, exam, request.form, current_user, utcnow())
    except REFUSED as error:
        db.session.rollback()
        exam = course_exams.course_exam(course.course_id, exam_id)
        return _exam_form(course, exam, request.form, error.message, status=400)
    db.session.commit()
    flash(_("Exam “%(name)s” saved.", name=exam.exam_name), "success")
    return redirect(url_for(".exam_list", course_id=course.course_id))


# Exports ----------------------------------------------------------------------------------


def _csv_response(rows, filename: str) -> Response:
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _slug(course: Course) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in course.course_id)


@bp.get(f"{PREFIX}/export/attempts.csv")
@course_staff_page
def export_attempts(course: Course) -> Response:
    return _csv_response(reports.attempts_csv(course.course_id), f"attempts_{_slug(course)}.csv")


@bp.get(f"{PREFIX}/export/violations.csv")
@course_staff_page
def export_violations(course: Course) -> Response:
    include_practice = request.args.get("include_practice") in ("1", "true", "yes", "on")
    return _csv_response(reports.violation_report_csv(course.course_id, include_practice),
                         f"violation_report_{_slug(course)}.csv")
