"""Small helpers the fake provider's routes share: language, JSON body, bearer check, lookups."""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import urlencode

import jwt
from flask import Response, abort, jsonify, request
from markupsafe import escape

from proctor_web.testing.fake_provider.settings import JWT_ALGORITHM
from proctor_web.testing.fake_provider.state import ProviderState
from proctor_web.testing.fake_provider.texts import INSTRUCTIONS


def language() -> str:
    # edx-proctoring sends e.g. "es;en", which is not a well-formed header; a prefix test copes.
    return (
        "es"
        if request.headers.get("Accept-Language", "").strip().lower().startswith("es")
        else "en"
    )


def json_body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if payload is None and not request.data:
        return {}
    if not isinstance(payload, dict):
        abort(400, description="the request body must be a JSON object")
    return payload


def base_url() -> str:
    return request.host_url.rstrip("/")


def verify_bearer(settings: dict[str, Any]) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "jwt") or not token.strip():
        _unauthorized("missing bearer token")
    try:
        return jwt.decode(
            token.strip(),
            settings["CLIENT_SECRET"],
            algorithms=[JWT_ALGORITHM],
            issuer=settings["CLIENT_ID"],
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        _unauthorized("token expired")
    except jwt.InvalidTokenError as exc:
        _unauthorized(f"invalid token: {exc}")


def _unauthorized(detail: str) -> NoReturn:
    response = jsonify(detail=detail)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    abort(response)


def load_exam(state: ProviderState, exam_id: str) -> dict[str, Any]:
    exam = state.exams.get(exam_id)
    if exam is None:
        abort(404, description=f"exam {exam_id} not found")
    return exam


def load_attempt(state: ProviderState, exam_id: str, attempt_id: str) -> dict[str, Any]:
    load_exam(state, exam_id)
    attempt = state.attempts.get(attempt_id)
    if attempt is None or attempt["exam_id"] != exam_id:
        abort(404, description=f"attempt {attempt_id} not found in exam {exam_id}")
    return attempt


def _download_url(exam_id: str, attempt_id: str) -> str:
    return f"{base_url()}/download?{urlencode({'exam': exam_id, 'attempt': attempt_id})}"


def attempt_view(attempt: dict[str, Any], lang: str) -> dict[str, Any]:
    return {
        **attempt,
        "instructions": list(INSTRUCTIONS[lang]),
        "download_url": _download_url(attempt["exam_id"], attempt["id"]),
    }


def html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")
