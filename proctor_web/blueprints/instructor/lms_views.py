"""Instructor pages for courses that come from an LMS: roster sync and gradebook publishing."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from proctor_web.blueprints.instructor.blueprint import bp
from proctor_web.blueprints.instructor.views import PREFIX, REFUSED, _exam_form, course_staff_page
from proctor_web.extensions import db
from proctor_web.lti import grades, roster
from proctor_web.models import Course, utcnow
from proctor_web.services.dashboard import course_exams


def _back_to(course: Course) -> str:
    """The course page the form was on, or the overview (never another site or course)."""
    target = request.form.get("next", "")
    prefix = url_for("instructor.overview", course_id=course.course_id)
    if target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return prefix


@bp.post(f"{PREFIX}/lms/roster")
@course_staff_page
def lms_roster_sync(course: Course):
    results = roster.sync_course(course.course_id, utcnow(), requested_by=current_user.username)
    db.session.commit()
    if not results:
        flash(_("This course is not linked to an LMS course, so it has no roster to sync."),
              "error")
    for result in results:
        if result.ok:
            flash(_("Roster synced from the LMS: %(seen)d member(s); %(added)d enrolled, "
                    "%(updated)d updated, %(deactivated)d no longer enrolled.",
                    seen=result.members_seen, added=result.added, updated=result.updated,
                    deactivated=result.deactivated), "success")
        else:
            flash(_("The roster could not be synced: %(reason)s", reason=result.error), "error")
    return redirect(_back_to(course))


@bp.post(f"{PREFIX}/exams/<int:exam_id>/lms-grades")
@course_staff_page
def lms_grade_settings(course: Course, exam_id: int):
    exam = course_exams.course_exam(course.course_id, exam_id)
    try:
        grades.save_settings(exam, request.form, utcnow())
    except REFUSED as error:
        db.session.rollback()
        exam = course_exams.course_exam(course.course_id, exam_id)
        return _exam_form(course, exam, None, None, status=400, grade_error=error.message,
                          grade_form=request.form)
    db.session.commit()
    flash(_("Gradebook settings of “%(name)s” saved.", name=exam.exam_name), "success")
    return redirect(url_for(".exam_edit", course_id=course.course_id, exam_id=exam.id))
