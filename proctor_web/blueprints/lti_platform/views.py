"""LTI Proctoring Services, platform side: we launch proctoring tools and take their controls.

Browser steps (launch, auth, start_assessment, end) answer HTML pages; the token endpoint
and the Assessment Control Service answer JSON. The blueprint is CSRF-exempt: the auth and
start-assessment steps are cross-site form posts by design, protected instead by the signed
message hint, the nonce and session_data; the JSON endpoints by OAuth2.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from proctor_web.blueprints.lti_platform.blueprint import bp
from proctor_web.errors import NotFound, ProctorError
from proctor_web.extensions import db
from proctor_web.lti.tool.frame_session import came_with_token, lti_state
from proctor_web.lti_proctoring import acs, oidc, start_assessment, tokens
from proctor_web.lti_proctoring.claims import ACS_MEDIA_TYPE
from proctor_web.lti_proctoring.messages import exam_page_url
from proctor_web.models import Attempt, utcnow
from proctor_web.security import headers as security_headers
from proctor_web.services import attempts


def _attempt(attempt_code: str) -> Attempt:
    attempt = attempts.get_attempt_by_code(attempt_code)
    if attempt is None:
        raise NotFound("No such exam attempt.")
    return attempt


@bp.get("/launch/<attempt_code>")
@login_required
def launch(attempt_code: str) -> Response:
    """The learner's system check: off to the tool's OIDC login (LtiStartProctoring)."""
    url = oidc.launch_url(_attempt(attempt_code), current_user, utcnow(),
                          lti_state().get("origins") or ())
    db.session.commit()
    if came_with_token():
        # A learner from the LMS frame, in the new tab the system check opened: the frame
        # token (in this URL) made the session. Keep it as this tab's own cookie, so the
        # exam page the tool sends the learner back to knows them here too.
        session.modified = True
    return redirect(url, code=303)


@bp.get("/end/<attempt_code>")
@login_required
def end(attempt_code: str) -> Response:
    """The attempt ended and the tool asked to know: off to its login (LtiEndAssessment)."""
    url = oidc.end_url(_attempt(attempt_code), current_user, lti_state().get("origins") or ())
    return redirect(url, code=303)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _autopost(action: str, method: str, fields: list[tuple[str, str]]) -> Response:
    """The page that carries a form on (an id_token to the tool, or the auth request back to
    ourselves): no inline script, and a policy that lets this one form go where it must."""
    parts = urlsplit(action)
    if parts.netloc:
        security_headers.allow_source("form-action", f"{parts.scheme}://{parts.netloc}")
    page = render_template("lti_platform/autopost.html", action=action, method=method,
                           fields=fields)
    return _no_store(Response(page, mimetype="text/html"))


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> Response:
    """The tool's authentication request; answered with an auto-posting id_token form."""
    user = current_user if current_user.is_authenticated else None
    if user is None and request.method == "POST":
        # A cross-site POST carries no SameSite=Lax session cookie: replay it as a GET from
        # our own page, which does.
        return _autopost(url_for(".auth"), "get", list(request.form.items(multi=True)))
    answer = oidc.authenticate(request.values, user, utcnow())
    db.session.commit()
    if answer.frame_origins:
        g.lti_frame_origins = list(answer.frame_origins)
    fields = [("id_token", answer.id_token)]
    if answer.state is not None:
        fields.append(("state", answer.state))
    return _autopost(answer.redirect_uri, "post", fields)


@bp.post("/start_assessment")
def start_assessment_view() -> Response:
    """LtiStartAssessment from the tool: the learner may start the exam."""
    proctoring = start_assessment.accept(request.form.get("JWT", ""), utcnow())
    attempt = proctoring.attempt
    exam = attempt.exam
    db.session.commit()
    if current_user.is_authenticated and current_user.id == attempt.user_id:
        return redirect(exam_page_url(exam.course_id, exam.content_id), code=303)
    # No session of the learner's in this window (a browser that kept no cookie of ours
    # in the tool's tab): the tool's word is not a sign-in. The exam page the learner
    # came from (in the LMS) moves on by itself; say so.
    page = render_template("lti_platform/setup_complete.html", exam=exam)
    return _no_store(Response(page, mimetype="text/html"))


def _oauth_error(error: tokens.OAuthError) -> Response:
    response = jsonify({"error": error.error, "error_description": error.message,
                        "detail": error.message})
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return _no_store(response)


@bp.post("/token")
def token() -> Response:
    try:
        issued = tokens.issue(request.form, utcnow())
    except tokens.OAuthError as error:
        db.session.rollback()
        return _oauth_error(error)
    db.session.commit()
    return _no_store(jsonify(issued.as_json()))


@bp.post("/acs")
def assessment_control() -> Response:
    try:
        client_id = tokens.check_bearer(request.headers.get("Authorization"))
    except tokens.OAuthError as error:
        return _oauth_error(error)
    if request.mimetype != ACS_MEDIA_TYPE:
        response = jsonify({"detail": f"The control request's Content-Type must be "
                                      f"{ACS_MEDIA_TYPE}."})
        response.status_code = 415
        return response
    body = request.get_json(force=True, silent=True)  # broken JSON: None, refused below
    try:
        answer = acs.control(client_id, body, utcnow())
    except ProctorError as error:
        # A web service without a person behind it: JSON errors whatever the Accept header.
        db.session.rollback()
        response = jsonify({"detail": error.message})
        response.status_code = error.status
        return _no_store(response)
    db.session.commit()
    response = current_app.response_class(
        current_app.json.dumps(answer), mimetype=ACS_MEDIA_TYPE)
    return _no_store(response)
