"""Logging: text for people, or one JSON object per line for machines (``PROCTOR_LOG_FORMAT``).

Every request gets an id, taken from a well-formed ``X-Request-ID`` header or made up, sent
back in the response and added to every line logged while serving it, with the signed-in
user's id, the attempt id and the provider when known. One line is logged per request.
Nothing here logs a body, a query string, a header value or a name: passwords, tokens and
secrets travel in those, so they never reach the log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from proctor_web.ops.providers import provider_for_request

REQUEST_ID_HEADER = "X-Request-ID"
#: Letters, digits and ``._:-`` (uuids, trace ids, ALB/Heroku ids), 1 to 128 characters; any
#: other value is replaced, so a client cannot inject text into log lines.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "proctor_web.ops.logs"

#: Attributes that ``extra=`` may add to a record and that the JSON formatter writes out.
CONTEXT_FIELDS = (
    "request_id", "user_id", "attempt_id", "provider", "method", "path", "endpoint",
    "status", "duration_ms", "action", "from_status", "to_status", "actor", "ignored",
)

request_log = logging.getLogger("proctor_web.request")


class RequestContextFilter(logging.Filter):
    """Adds the request id, user id, attempt id and provider of the request being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            for field, value in request_context_fields().items():
                if getattr(record, field, None) is None:
                    setattr(record, field, value)
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (gunicorn and pytest swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """Set levels and, for JSON, one handler on the root logger (replacing an earlier one)."""
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    logging.getLogger("proctor_web").setLevel(level)
    root = logging.getLogger()
    remove_handler()
    if app.config["LOG_FORMAT"] == "json":
        handler = StderrHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestContextFilter())
        # On the root logger so that libraries log JSON too; their levels stay their own.
        root.addHandler(handler)
    elif not root.handlers and not app.config["TESTING"]:
        logging.basicConfig(level=level, format=TEXT_FORMAT)


def remove_handler() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)


def request_context_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {"request_id": getattr(g, "request_id", None)}
    # Only a user already loaded by the view: a log line must never cost a query.
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        fields["user_id"] = user.id
    attempt_id = (request.view_args or {}).get("attempt_id")
    if attempt_id is not None:
        fields["attempt_id"] = attempt_id
    provider = provider_for_request()
    if provider:
        fields["provider"] = provider
    return fields


def init_app(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = getattr(g, "request_id", None)
        if request_id is None:  # a response made before our before_request ran
            return response
        response.headers[REQUEST_ID_HEADER] = request_id
        duration = time.perf_counter() - g.request_started
        request_log.info(
            "%s %s %s %.1f ms", request.method, request.path, response.status_code,
            duration * 1000,
            extra={"method": request.method, "path": request.path,
                   "endpoint": request.endpoint, "status": response.status_code,
                   "duration_ms": round(duration * 1000, 2)},
        )
        return response
