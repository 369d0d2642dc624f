"""Domain errors and the one place that turns them (and HTTP errors) into responses.

People get an HTML page; API, webhook and OAuth clients get ``{"detail": "..."}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from werkzeug.exceptions import HTTPException

from proctor_web.i18n import csrf_reason, http_error_message

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/oauth2/", "/csrf/", "/webhooks/")

#: What a client is told to wait when the database is unreachable (connection lost,
#: server restarting, SQLite busy): long enough for a pool reconnect or a failover.
DATABASE_RETRY_AFTER_SECONDS = 5


class ProctorError(Exception):
    """Base of every error the domain raises on purpose; ``status`` is its HTTP code."""

    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(ProctorError):
    status = 400


class NotFound(ProctorError):
    status = 404


class PermissionDenied(ProctorError):
    status = 403


class NotAuthenticated(ProctorError):
    status = 401


class InvalidTransition(ProctorError):
    """A person asked for a status change the lifecycle does not allow from where it is."""

    status = 400


class AlreadyExists(ProctorError):
    status = 400


class AttemptAlreadyExists(InvalidTransition):
    """A learner asked for a second attempt where only resume or a practice retry may make one."""


class PreconditionFailed(ProctorError):
    status = 412


class BackendError(ProctorError):
    """A proctoring provider failed or answered something we cannot use."""

    status = 502


class BackendNotConfigured(BackendError):
    status = 500


class WebhookAuthError(ProctorError):
    status = 401


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def _respond(status: int, message: str, extra: dict[str, Any] | None = None) -> Response:
    if wants_json():
        body = {"detail": message}
        body.update(extra or {})
        response = jsonify(body)
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    from proctor_web.extensions import db

    @app.errorhandler(ProctorError)
    def handle_domain_error(error: ProctorError) -> Response:
        db.session.rollback()
        log.info("refused %s %s: %s", request.method, request.path, error.message)
        return _respond(error.status, error.message, error.extra)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> Response:
        db.session.rollback()
        return _respond(
            400,
            _("Your form expired or was sent from another site (%(reason)s). "
              "Reload the page and try again.", reason=csrf_reason(error.description)),
        )

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        if error.code and error.code >= 500:
            db.session.rollback()
        response = _respond(error.code or 500, _http_error_text(error))
        valid_methods = getattr(error, "valid_methods", None)
        if valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def handle_database_unavailable(error: Exception) -> Response:
        """Connection lost or refused mid-request: 503 and a hint to retry, no traceback."""
        _rollback_quietly()
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    str(error).splitlines()[0] if str(error) else type(error).__name__)
        # The page must not touch the database again: render it for an anonymous visitor.
        g._login_user = _anonymous_user()
        response = _respond(503, _("The database is unavailable for a moment. "
                                   "Please try again in a few seconds."))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DataError)
    def handle_unstorable_value(error: DataError) -> Response:
        """A value the database cannot store got past validation: the caller's 400, not a 500.

        Input is validated before it reaches a query; this is the net under that rule, so a
        missed field answers a clear refusal (and is logged to be fixed) instead of a crash.
        """
        _rollback_quietly()
        log.warning("unstorable value on %s %s: %s", request.method, request.path,
                    str(error).splitlines()[0])
        return _respond(400, _("A value in the request is out of range or cannot be "
                               "stored (for example a number too large or text too long)."))

    def _rollback_quietly() -> None:
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection is gone; the pool discards it
            log.debug("rollback after a database error failed too", exc_info=True)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        db.session.rollback()
        if app.config.get("TESTING") and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise error
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _respond(500, _("Something went wrong on our side. It has been logged."))


def _http_error_text(error: HTTPException) -> str:
    """Werkzeug's stock English description becomes ours, in the reader's language; a
    description some code gave on purpose is kept."""
    if error.description and error.description != type(error).description:
        return error.description
    return http_error_message(error.code)


def _anonymous_user() -> Any:
    from proctor_web.extensions import login_manager

    return login_manager.anonymous_user()
