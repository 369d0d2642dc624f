"""The course roster on the dashboard: list, add a learner, import from CSV (preview, then
all in one transaction), send an invitation again, deactivate (behind a confirmation page)
and enroll again. Read-only for courses an LMS feeds."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from proctor_web.blueprints.instructor.blueprint import bp
from proctor_web.blueprints.instructor.views import (
    PREFIX,
    REFUSED,
    _render,
    course_staff_page,
    field_errors,
)
from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.models import Course, utcnow
from proctor_web.services.dashboard import roster

ADD_FIELDS = {"username": "username", "email": "email"}
#: The largest CSV file read (bytes); the app's request limit is larger.
MAX_CSV_BYTES = 512 * 1024


def _roster_page(course: Course, status: int = 200, **context: Any):
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.setdefault("preview", None)
    context.setdefault("csv_errors", {})
    return _render("roster.html", course, status=status, members=roster.members(course.course_id),
                   editable=roster.is_editable(course), max_rows=roster.MAX_IMPORT_ROWS,
                   invitation_days=current_app.config["INVITATION_VALID_DAYS"], **context)


@bp.get(f"{PREFIX}/roster")
@course_staff_page
def roster_list(course: Course):
    return _roster_page(course)


@bp.post(f"{PREFIX}/roster/add")
@course_staff_page
def roster_add(course: Course):
    form = request.form
    try:
        added = roster.add_learner(course, form.get("username", ""), form.get("email", ""),
                                   form.get("full_name", ""), current_user, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _roster_page(course, status=400, form=form,
                            errors=field_errors(error, ADD_FIELDS))
    db.session.commit()
    user = added.user
    message = _("%(user)s is enrolled in this course.", user=user.username)
    if added.invited:
        message += " " + _("An invitation to choose a password was sent to %(email)s.",
                           email=user.email)
    elif not user.password_hash:
        message += " " + _("They have no email address, so no invitation was sent: they "
                           "cannot sign in until they have a password.")
    flash(message, "success")
    return redirect(url_for(".roster_list", course_id=course.course_id))


def _uploaded_text() -> str:
    """The CSV the form carries: a file on the preview, the previewed text on the import."""
    upload = request.files.get("csv_file")
    if upload is not None and upload.filename:
        data = upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise BadRequest(_("The file is larger than %(kb)d KB.", kb=MAX_CSV_BYTES // 1024),
                             field="csv")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest(_("The file is not UTF-8 text: save it as “CSV UTF-8” and try "
                               "again."), field="csv") from None
    text = request.form.get("csv_text", "")
    if not text.strip():
        raise BadRequest(_("Choose a CSV file to import."), field="csv")
    return text


@bp.post(f"{PREFIX}/roster/import")
@course_staff_page
def roster_import(course: Course):
    """``step=preview`` shows every row and its problems, saving nothing; ``step=import``
    saves the previewed file whole, or nothing."""
    step = request.form.get("step", "preview")
    try:
        text = _uploaded_text()
        if step != "import":
            rows = roster.preview_import(course, text)
            ok = all(r.ok for r in rows)
            return _roster_page(course, status=200 if ok else 400, preview=rows, csv_text=text,
                                counts=roster.counts(rows))
        added = roster.import_learners(course, text, current_user, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _roster_page(course, status=400, csv_errors=field_errors(error, {"csv": "csv"}))
    db.session.commit()
    invited = sum(1 for a in added if a.invited)
    flash(_("%(num)d learner(s) imported and enrolled.", num=len(added))
          + (" " + _("%(num)d invitation(s) to choose a password were sent.", num=invited)
             if invited else ""), "success")
    return redirect(url_for(".roster_list", course_id=course.course_id))


@bp.get(f"{PREFIX}/roster/<int:user_id>/deactivate")
@course_staff_page
def roster_confirm_deactivate(course: Course, user_id: int):
    """What deactivating does, and the button that does it (the POST below)."""
    return _render("roster_deactivate.html", course,
                   deactivation=roster.deactivation(course, user_id))


@bp.post(f"{PREFIX}/roster/<int:user_id>/invite")
@course_staff_page
def roster_invite(course: Course, user_id: int):
    membership = roster.learner_membership(course, user_id)
    roster.resend_invitation(course, membership, current_user, utcnow())
    db.session.commit()
    flash(_("A new invitation to choose a password was sent to %(email)s.",
            email=membership.user.email), "success")
    return redirect(url_for(".roster_list", course_id=course.course_id))


@bp.post(f"{PREFIX}/roster/<int:user_id>/<any(deactivate, enroll):action>")
@course_staff_page
def roster_member(course: Course, user_id: int, action: str):
    membership = roster.learner_membership(course, user_id)
    username = membership.user.username
    if action == "deactivate":
        account_too = roster.deactivate(course, membership, current_user, utcnow())
        db.session.commit()
        flash(_("%(user)s is no longer enrolled and was signed out everywhere.", user=username)
              + (" " + _("Their account, which was in no other course, is deactivated.")
                 if account_too else ""), "success")
    else:
        roster.reenroll(course, membership, current_user, utcnow())
        db.session.commit()
        flash(_("%(user)s is enrolled again.", user=username), "success")
    return redirect(url_for(".roster_list", course_id=course.course_id))
