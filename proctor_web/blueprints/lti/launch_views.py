"""The LTI 1.3 launch: OIDC login initiation at /lti/login, the launch at /lti/launch.

A refused login or launch creates nothing: the transaction is rolled back and the page
names the check that failed (4xx), with a way back to the platform when the (verified)
launch gave a return URL.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from proctor_web.blueprints.lti.blueprint import bp
from proctor_web.blueprints.lti.frame import add_query, platform_origins
from proctor_web.extensions import db
from proctor_web.lti.tool import claims as c
from proctor_web.lti.tool import deep_linking, oidc, provisioning
from proctor_web.lti.tool.errors import LaunchRefused
from proctor_web.lti.tool.frame_session import LTI_SESSION_KEY
from proctor_web.lti.tool.launch import Launch
from proctor_web.models import LtiPlatform, utcnow
from proctor_web.services.learner.payloads import exam_path

STATE_COOKIE_PREFIX = "lti_state_"


def _state_cookie_name(state: str) -> str:
    # One cookie per login, so two launches in two frames of one LMS page do not collide.
    return STATE_COOKIE_PREFIX + "".join(ch for ch in state[:16] if ch.isalnum())


def refused_page(refusal: LaunchRefused) -> tuple[str, int]:
    db.session.rollback()
    # The page only explains a refusal: any LMS may show it in its frame.
    g.lti_frame_any = True
    current_app.logger.info("LTI launch refused: %s (%s)", refusal.code, refusal.message)
    back = add_query(refusal.return_url, lti_errormsg=refusal.message) \
        if refusal.return_url else None
    return render_template("lti/error.html", refusal=refusal, return_url=back), \
        refusal.status


def launch_url() -> str:
    return current_app.config["SITE_URL"].rstrip("/") + url_for("lti.launch")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Third-party-initiated login: remember state and nonce, then go to the platform."""
    now = utcnow()
    try:
        our_hosts = (urlsplit(current_app.config["SITE_URL"]).netloc, request.host)
        start = oidc.start_login(request.values, launch_url(), now, our_hosts)
    except LaunchRefused as refusal:
        return refused_page(refusal)
    db.session.commit()
    g.lti_frame_origins = platform_origins(start.platform.issuer,
                                           start.platform.auth_login_url)
    if start.storage_target:
        # Keep the state in the platform's storage too: cookies may be blocked in frames.
        response = current_app.make_response(render_template(
            "lti/login_storage.html", auth_url=start.url, state=start.state,
            nonce=start.nonce, storage_target=start.storage_target,
            storage_origin=platform_origins(start.platform.auth_login_url)[0]))
    else:
        response = redirect(start.url, code=302)
    response.set_cookie(_state_cookie_name(start.state), start.state,
                        max_age=int(oidc.LOGIN_STATE_LIFETIME.total_seconds()),
                        path=url_for("lti.launch"), secure=True, httponly=True,
                        samesite="None", partitioned=True)
    return response


@bp.get("/launch")
def launch_get() -> tuple[str, int]:
    return refused_page(LaunchRefused("wrong_method", _(
        "A launch is a form post from the platform; open this tool from your course."),
        status=405))


@bp.post("/launch")
def launch() -> Any:
    now = utcnow()
    if request.form.get("error"):
        # The platform's authorization endpoint refused (e.g. login_required).
        return refused_page(LaunchRefused("platform_error", _(
            "The platform refused the login: %(error)s %(description)s",
            error=request.form.get("error", ""),
            description=request.form.get("error_description", ""))))
    state = request.form.get("state", "")
    id_token = request.form.get("id_token", "")
    browser_state = request.cookies.get(_state_cookie_name(state)) if state else None
    if not browser_state:
        browser_state = request.form.get("lti_storage_state") or None
        pending = oidc.pending_login(state, now)
        asked_storage = "lti_storage_state" in request.form
        if not asked_storage and pending is not None and pending.storage_target:
            return _read_state_from_platform_storage(pending, id_token, state)
    try:
        verified, provisioned = provisioning.accept_launch(id_token, state, browser_state, now)
    except LaunchRefused as refusal:
        return refused_page(refusal)
    _open_session(verified, provisioned, now)
    db.session.commit()
    response = redirect(_destination(verified, provisioned), code=303)
    response.delete_cookie(_state_cookie_name(state), path=url_for("lti.launch"), secure=True,
                           httponly=True, samesite="None", partitioned=True)
    return response


def _read_state_from_platform_storage(pending: Any, id_token: str, state: str) -> str:
    platform = db.session.get(LtiPlatform, pending.platform_id)
    g.lti_frame_origins = platform_origins(platform.issuer, platform.auth_login_url)
    return render_template(
        "lti/launch_storage.html", id_token=id_token, state=state,
        storage_target=pending.storage_target,
        storage_origin=platform_origins(platform.auth_login_url)[0])


def _open_session(launch: Launch, provisioned: provisioning.Provisioned, now: datetime) -> None:
    presentation = launch.claims.get(c.LAUNCH_PRESENTATION)
    target = presentation.get("document_target") if isinstance(presentation, dict) else None
    state: dict[str, Any] = {
        "launch": secrets.token_urlsafe(12),
        "platform": launch.platform.id,
        "course": provisioned.course.course_id,
        "origins": platform_origins(launch.platform.issuer, launch.platform.auth_login_url,
                                    launch.return_url),
        "return_url": launch.return_url,
        "target": target if target in ("iframe", "frame", "window") else "iframe",
    }
    if launch.message_type == c.DEEP_LINKING_REQUEST:
        state["deep_link"] = deep_linking.settings_from(launch.claims)
    # A launch starts a new session: nothing of a previous user or launch survives.
    session.clear()
    login_user(provisioned.user)
    session[LTI_SESSION_KEY] = state
    g.lti_frame_origins = state["origins"]


def _destination(launch: Launch, provisioned: provisioning.Provisioned) -> str:
    if launch.message_type == c.DEEP_LINKING_REQUEST:
        return url_for("lti.deep_link")
    exam, link = provisioned.exam, provisioned.link
    assert link is not None
    if exam is None:
        endpoint = "lti.link_setup" if provisioned.is_staff else "lti.link_not_ready"
        return url_for(endpoint, link_id=link.id)
    if provisioned.is_staff:
        return url_for("instructor.attempts", course_id=exam.course_id, exam=exam.id)
    return exam_path(exam.course_id, exam.content_id)
