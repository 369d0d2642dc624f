"""Provider callback routes.

Each route authenticates the caller before it looks at the body (the RPNow signature covers
the parsed body, so that one parses first and verifies before using anything), refuses with
an explicit 4xx and ``{"detail": ...}``, handles one callback in one transaction, and
answers a repeat of a callback it already handled with 200 and no change.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, jsonify, make_response, redirect, request
from flask_babel import gettext as _

from proctor_web.backends import get_backend
from proctor_web.backends.software_secure import (
    LAUNCH_COOKIE,
    SoftwareSecureBackend,
    launch_cookie_value,
)
from proctor_web.blueprints.webhooks.blueprint import bp
from proctor_web.errors import (
    BadRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    WebhookAuthError,
)
from proctor_web.extensions import db
from proctor_web.models import Attempt, utcnow
from proctor_web.services import attempts, oauth, provider_callbacks, reviews

CALLBACK_PREFIX = "/api/edx_proctoring/v1/proctored_exam/attempt/<external_id>"


def _json_body(*, required: bool) -> Any:
    """The body as JSON, whatever the Content-Type (RPNow sends several); 400 if malformed."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest(_("The request body is empty; a JSON object is expected."))
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return body


def _ok(*, duplicate: bool, attempt_status: str | None = None,
        review_updated: bool | None = None) -> Response:
    """edx-proctoring's body, the JSON string ``"OK"``: providers built against it compare
    the body. What we add for our own clients and logs travels in headers."""
    response = jsonify("OK")
    response.headers["X-Proctor-Duplicate"] = "true" if duplicate else "false"
    if attempt_status is not None:
        response.headers["X-Proctor-Attempt-Status"] = attempt_status
    if review_updated is not None:
        response.headers["X-Proctor-Review-Updated"] = "true" if review_updated else "false"
    return response


# OAuth2 -----------------------------------------------------------------------------------


@bp.post("/oauth2/access_token")
def access_token() -> Response:
    """Client-credentials grant for provider service accounts (form, or HTTP Basic)."""
    form = request.form
    if form.get("grant_type") != "client_credentials":
        raise BadRequest(_("Only %(grant)s is supported.",
                           grant="grant_type=client_credentials"),
                         error="unsupported_grant_type")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, client_secret = auth.username or "", auth.password or ""
    else:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    try:
        token = oauth.issue_token(client_id, client_secret, utcnow())
    except WebhookAuthError:
        raise WebhookAuthError(_("Unknown client or wrong secret."),
                               error="invalid_client") from None
    response = jsonify(access_token=token.access_token, token_type="Bearer",
                       expires_in=token.expires_in)
    response.headers["Cache-Control"] = "no-store"
    return response


# REST provider callbacks ------------------------------------------------------------------


def _provider_client():
    return oauth.authenticate(request.headers.get("Authorization"), utcnow())


@bp.post(CALLBACK_PREFIX + "/ready")
def attempt_ready(external_id: str) -> Response:
    client = _provider_client()
    body = _json_body(required=False)
    attempt = (attempts.get_attempt_by_external_id(external_id, backend=client.backend)
               or attempts.get_attempt_by_external_id(external_id))
    if attempt is None:
        raise NotFound(_("No exam attempt has the provider id %(external_id)s.",
                         external_id=repr(external_id)))
    if attempt.exam.backend != client.backend:
        raise PermissionDenied(_("This attempt belongs to another proctoring provider."))
    if not attempt.exam.has_backend or not attempt.taking_as_proctored:
        raise PreconditionFailed(_("The exam of this attempt is no longer proctored."))
    changed = provider_callbacks.handle_ready_callback(attempt, client.backend, body, utcnow())
    db.session.commit()
    return _ok(duplicate=not changed)


@bp.post(CALLBACK_PREFIX + "/reviewed")
def attempt_reviewed(external_id: str) -> Response:
    client = _provider_client()
    body = _json_body(required=True)
    target = reviews.find_target_by_external_id(external_id, backend=client.backend)
    if target.exam is None:
        raise PreconditionFailed(_("The exam of this attempt no longer exists."))
    if target.exam.backend != client.backend:
        raise PermissionDenied(_("This attempt belongs to another proctoring provider."))
    outcome = reviews.handle_review_callback(target, get_backend(client.backend), body, utcnow())
    db.session.commit()
    if outcome is None:
        return _ok(duplicate=True)
    return _ok(duplicate=False, attempt_status=outcome.attempt_status,
               review_updated=outcome.updated)


# RPNow ------------------------------------------------------------------------------------


def _rpnow_backends() -> list[SoftwareSecureBackend]:
    registry = current_app.extensions["proctor_backends"]
    return [b for b in registry.all() if isinstance(b, SoftwareSecureBackend)]


def _authenticate_rpnow() -> tuple[SoftwareSecureBackend, dict[str, Any]]:
    """The RPNow backend that signed (or knows the secret of) this callback, and its body."""
    backends = _rpnow_backends()
    if not backends:
        raise NotFound(_("No %(provider)s backend is configured here.", provider="RPNow"))
    secret = request.headers.get("X-Proctor-Callback-Secret")
    if secret is None and not request.headers.get("Authorization"):
        raise WebhookAuthError(
            _("The review callback must be signed (SSI) or carry the secret."))
    # The signature covers the parsed body, so parse (nothing else) before checking it.
    body = _json_body(required=True)
    now = utcnow()
    last_error: WebhookAuthError | None = None
    for backend in backends:
        try:
            backend.authenticate_review_callback(request.headers, body, now)
            return backend, body
        except WebhookAuthError as error:
            last_error = error
    assert last_error is not None
    raise last_error


@bp.post("/api/edx_proctoring/proctoring_review_callback/")
def rpnow_review_callback() -> Response:
    """RPNow's (deprecated) review callback; authenticated here, unlike edx-proctoring."""
    backend, body = _authenticate_rpnow()
    attempt_code, locator = backend.review_identity(body)
    target = reviews.find_target(attempt_code)
    if target.exam is None:
        raise PreconditionFailed(_("The exam of this attempt no longer exists."))
    if target.exam.backend != backend.name:
        raise PermissionDenied(_("This attempt belongs to another proctoring provider."))
    if (target.external_id or "").lower() != locator.lower():
        raise BadRequest(_("%(field)s does not match this attempt.",
                           field="examMetaData.ssiRecordLocator"))
    outcome = reviews.handle_review_callback(target, backend, body, utcnow())
    db.session.commit()
    if outcome is None:
        return _ok(duplicate=True)
    return _ok(duplicate=False, attempt_status=outcome.attempt_status,
               review_updated=outcome.updated)


def _rpnow_launch_attempt(attempt_code: str) -> Attempt:
    """The attempt this launch link may act on, else 404 (the same answer for every refusal).

    Learners see their own attempt code, so the link must do nothing for an attempt whose
    exam is not proctored by an RPNow-class backend (a REST or mock provider's system check
    would be skipped) or whose status gives a launch no meaning.
    """
    attempt: Attempt | None = attempts.get_attempt_by_code(attempt_code)
    if attempt is None or not provider_callbacks.rpnow_launch_applies(attempt):
        raise NotFound(_("This exam link is not valid."))
    return attempt


@bp.route(
    "/api/edx_proctoring/proctoring_launch_callback/start_exam/<attempt_code>",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
)
def rpnow_launch(attempt_code: str) -> Response:
    """The RPNow app opens this: ready to start (or, re-opened mid-exam, submitted)."""
    attempt = _rpnow_launch_attempt(attempt_code)
    attempt = provider_callbacks.handle_launch(attempt, utcnow())
    target = attempt.exam.content_url or "/"
    db.session.commit()
    response = make_response(redirect(target))
    response.set_cookie(
        LAUNCH_COOKIE,
        launch_cookie_value(current_app.config["SECRET_KEY"], attempt_code),
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite=current_app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    return response
