"""After a launch: choosing the exam a resource link opens, the learner's "not set up yet"
page, and deep linking (the instructor picks an exam; we post the signed answer back)."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from proctor_web.blueprints.lti.blueprint import bp
from proctor_web.blueprints.lti.launch_views import launch_url
from proctor_web.errors import AlreadyExists, BadRequest, NotFound, PermissionDenied
from proctor_web.extensions import csrf, db
from proctor_web.lti.tool import deep_linking, exam_choice, provisioning
from proctor_web.lti.tool.frame_session import LTI_SESSION_KEY, lti_state
from proctor_web.models import LtiContext, LtiPlatform, LtiResourceLink, utcnow
from proctor_web.services import courses

REFUSED = (BadRequest, NotFound, AlreadyExists)


def protect_form() -> None:
    """The LTI blueprint is CSRF-exempt (platforms post to it cross-site); our own forms
    in it are not."""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _link_or_404(link_id: int) -> LtiResourceLink:
    link = db.session.get(LtiResourceLink, link_id)
    if link is None:
        raise NotFound(_("This course link is unknown."))
    return link


def _picker(template: str, course_id: str, status: int = 200, **context: Any):
    return render_template(
        template, exams=exam_choice.course_exam_choices(course_id),
        course=courses.get_course(course_id), kinds=exam_choice.KINDS,
        form=request.form if request.method == "POST" else {}, **context), status


def _pick_or_create(course_id: str):
    """The exam the posted form chose or created (flushes); raises REFUSED errors."""
    if request.form.get("action") == "create":
        return exam_choice.create_exam(course_id, request.form, current_user, utcnow())
    return exam_choice.chosen_exam(course_id, request.form.get("exam_id", ""))


@bp.route("/links/<int:link_id>/setup", methods=["GET", "POST"])
@login_required
def link_setup(link_id: int) -> Any:
    link = _link_or_404(link_id)
    context = db.session.get(LtiContext, link.context_id)
    assert context is not None
    if not courses.can_manage(current_user, context.course_id):
        raise PermissionDenied(_("Only staff of this course can choose its exam."))
    if request.method == "GET":
        return _picker("lti/link_setup.html", context.course_id, link=link)
    protect_form()
    try:
        exam = _pick_or_create(context.course_id)
        provisioning.link_exam(link, exam, utcnow())
    except REFUSED as error:
        db.session.rollback()
        return _picker("lti/link_setup.html", context.course_id, status=error.status,
                       link=link, error=error)
    db.session.commit()
    return redirect(url_for("instructor.attempts", course_id=exam.course_id, exam=exam.id),
                    code=303)


@bp.get("/links/<int:link_id>/not-ready")
@login_required
def link_not_ready(link_id: int) -> Any:
    link = _link_or_404(link_id)
    if link.exam_id is not None:
        return redirect(url_for("main.index"))
    return render_template("lti/not_ready.html", link=link)


def _deep_link_settings() -> tuple[dict[str, Any], str, LtiPlatform]:
    state = lti_state()
    settings = state.get("deep_link")
    platform = db.session.get(LtiPlatform, state.get("platform") or 0)
    if not settings or platform is None:
        raise BadRequest(_("No deep linking request is open: start again from the course."))
    course_id = state["course"]
    if not courses.can_manage(current_user, course_id):
        raise PermissionDenied(_("Only instructors can add exams to the course."))
    return settings, course_id, platform


@bp.route("/deep-link", methods=["GET", "POST"])
@login_required
def deep_link() -> Any:
    settings, course_id, platform = _deep_link_settings()
    if not deep_linking.accepts_resource_links(settings):
        raise BadRequest(_("The platform asked for content this tool does not offer "
                           "(it does not accept links to exams here)."))
    if request.method == "GET":
        return _picker("lti/deep_link.html", course_id)
    protect_form()
    try:
        exam = _pick_or_create(course_id)
    except REFUSED as error:
        db.session.rollback()
        return _picker("lti/deep_link.html", course_id, status=error.status, error=error)
    token = deep_linking.response_jwt(platform, settings, exam, launch_url(), utcnow())
    # The request is answered: a second answer would be a second content item.
    state = dict(session[LTI_SESSION_KEY])
    state.pop("deep_link", None)
    session[LTI_SESSION_KEY] = state
    db.session.commit()
    return render_template("lti/deep_link_return.html", return_url=settings["return_url"],
                           jwt=token, exam=exam)
