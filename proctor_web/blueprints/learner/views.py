"""Learner routes: the exam page, its form actions, the providers' browser workers we host,
the CSRF token for single-page clients, and the headers that let an LMS embed the pages."""

from __future__ import annotations

import hashlib

from flask import current_app, redirect, render_template, request, session
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from proctor_web import timezones
from proctor_web.backends.worker_bundles import SERVED_WORKER_PATH
from proctor_web.blueprints.learner.blueprint import bp
from proctor_web.database import finish_read
from proctor_web.errors import BackendError, NotFound
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import accounts, exams, registration
from proctor_web.services.learner import actions, pages, payloads
from proctor_web.templating import current_locale


@bp.route("/courses/<course_id>/exams/<content_id>")
@login_required
def exam(course_id: str, content_id: str) -> str:
    exam = exams.get_exam_by_content_id(course_id, content_id)
    page = pages.exam_page(
        exam, current_user, utcnow(), locale=current_locale(),
        confirming_decline=request.args.get("confirm") == "decline",
    )
    html = render_template(page.template, page=page, exam=page.exam, attempt=page.attempt,
                           payload=page.payload, page_url=payloads.exam_path(course_id, content_id),
                           **page.context)
    # After rendering: a commit expires every loaded row, and the template would read them
    # all again. Nothing written (the usual case) means nothing to commit at all.
    finish_read(db.session())
    return html


@bp.route("/courses/<course_id>/exams/<content_id>", methods=["POST"])
@login_required
def exam_action(course_id: str, content_id: str) -> Response | tuple[str, int]:
    exam = exams.get_exam_by_content_id(course_id, content_id)
    action = request.form.get("action", "")
    try:
        actions.perform(exam, current_user, action, utcnow())
        db.session.commit()
        registration.register_pending()  # the provider is called with no transaction open
    except BackendError as error:
        # The provider is down or refused: nothing was kept; the learner can simply retry.
        db.session.rollback()
        return render_template(
            "learner/provider_unavailable.html", exam=exam, action=action,
            message=error.message,
        ), error.status
    return redirect(payloads.exam_path(exam.course_id, exam.content_id), code=303)


@bp.route(SERVED_WORKER_PATH.replace("{name}", "<backend_name>"))
def provider_worker(backend_name: str) -> Response:
    """A provider's browser worker that we host (the mock's, or an ``npm_module`` bundle).

    Public like any static file: the worker loads it without the learner's cookies when the
    page sits in an LMS frame. Revalidated on every load (ETag), as a rebuild replaces it.
    """
    registry = current_app.extensions["proctor_backends"]
    if backend_name not in registry.names:
        raise NotFound(f"No backend named {backend_name!r} is configured.")
    script = registry.get(backend_name).get_worker_script()
    if script is None:
        raise NotFound(f"Backend {backend_name!r} has no browser worker served here.")
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(hashlib.sha256(script.encode()).hexdigest())
    return response.make_conditional(request)


@bp.route("/timezone", methods=["POST"])
@login_required
def set_timezone() -> Response:
    """The browser's time zone (an IANA name), kept in the session for learner pages and on
    the account for emails."""
    zone = accounts.remember_time_zone(current_user, request.form.get("timezone", ""))
    db.session.commit()
    session[timezones.SESSION_KEY] = zone
    return Response(status=204)


@bp.route("/csrf/api/v1/token")
def csrf_token() -> Response:
    """The token a single-page client sends back as ``X-CSRFToken`` (Open edX's path)."""
    response = current_app.json.response({"csrfToken": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_app_request
def frame_ancestors(response: Response) -> Response:
    """Only the configured LMS origins may embed our pages (CSP frame-ancestors)."""
    origins = current_app.config["FRAME_ANCESTORS"]
    policy = "frame-ancestors " + " ".join(["'self'", *origins])
    existing = response.headers.get("Content-Security-Policy")
    if existing is None:
        response.headers["Content-Security-Policy"] = policy
    elif "frame-ancestors" not in existing:
        response.headers["Content-Security-Policy"] = f"{existing}; {policy}"
    if not origins:
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response

