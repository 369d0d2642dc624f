"""The provider's REST API as edx-proctoring calls it, and the learner's system-check page."""

from __future__ import annotations

import math
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Flask, Response, abort, jsonify, request
from markupsafe import escape

from proctor_web.testing.fake_provider.lms_callbacks import (
    cancel_callbacks_locked,
    schedule_callback,
    set_onboarding_locked,
)
from proctor_web.testing.fake_provider.request_helpers import (
    attempt_view,
    base_url,
    html_page,
    json_body,
    language,
    load_attempt,
    load_exam,
)
from proctor_web.testing.fake_provider.settings import (
    ATTEMPT_PATCH_STATUSES,
    JWT_ALGORITHM,
    REQUIRED_ATTEMPT_FIELDS,
)
from proctor_web.testing.fake_provider.state import ProviderState, utc_now
from proctor_web.testing.fake_provider.texts import (
    INSTRUCTIONS,
    PROVIDER_NAME,
    RULES,
    review_body,
)


def register_api(app: Flask, state: ProviderState) -> None:
    @app.get("/api/v1/config/")
    def provider_config() -> Response:
        lang = language()
        return jsonify(
            name=PROVIDER_NAME,
            download_url=f"{base_url()}/download",
            rules=dict(RULES[lang]),
            instructions=list(INSTRUCTIONS[lang]),
        )

    @app.post("/api/v1/exam/")
    def create_exam() -> Response:
        payload = json_body()
        exam_id = uuid.uuid4().hex
        now = utc_now().isoformat()
        # The LMS sends its own primary key as "id"; keep it, but under a name that cannot clash.
        lms_exam_id = payload.pop("id", None)
        exam = {
            **payload,
            "id": exam_id,
            "lms_exam_id": lms_exam_id,
            "created": now,
            "modified": now,
        }
        with state.lock:
            state.exams[exam_id] = exam
        return jsonify(id=exam_id)

    @app.route("/api/v1/exam/<exam_id>/", methods=["GET", "POST"])
    def exam_detail(exam_id: str) -> Response:
        payload = json_body() if request.method == "POST" else {}
        with state.lock:
            exam = load_exam(state, exam_id)
            if request.method == "GET":
                return jsonify(dict(exam))
            payload.pop("id", None)
            exam.update(payload, modified=utc_now().isoformat())
        return jsonify(id=exam_id)

    @app.post("/api/v1/exam/<exam_id>/attempt/")
    def register_attempt(exam_id: str) -> tuple[Response, int] | Response:
        payload = json_body()
        missing = [name for name in REQUIRED_ATTEMPT_FIELDS if payload.get(name) in (None, "")]
        if missing:
            return jsonify(
                detail=f"missing required fields: {', '.join(missing)}", missing=missing
            ), 400
        attempt_id = uuid.uuid4().hex
        now = utc_now().isoformat()
        with state.lock:
            load_exam(state, exam_id)
            status = state.settings["ONBOARDING_STATUS"] or "created"
            state.attempts[attempt_id] = {
                **payload,
                "id": attempt_id,
                "exam_id": exam_id,
                "status": status,
                "review_status": None,
                "created": now,
                "modified": now,
            }
        return jsonify(id=attempt_id, status=status)

    @app.route("/api/v1/exam/<exam_id>/attempt/<attempt_id>/", methods=["GET", "PATCH", "DELETE"])
    def attempt_detail(exam_id: str, attempt_id: str) -> tuple[Response, int] | Response:
        lang = language()
        payload = json_body() if request.method == "PATCH" else {}
        with state.lock:
            attempt = load_attempt(state, exam_id, attempt_id)
            if request.method == "GET":
                return jsonify(attempt_view(attempt, lang))
            if request.method == "DELETE":
                del state.attempts[attempt_id]
                cancel_callbacks_locked(state, attempt_id)
                return jsonify(status="deleted")
            status = payload.get("status")
            if status not in ATTEMPT_PATCH_STATUSES:
                return jsonify(
                    detail=f"status must be one of {', '.join(ATTEMPT_PATCH_STATUSES)}"
                ), 400
            attempt["status"] = status
            attempt["modified"] = utc_now().isoformat()
            outcome = state.settings["REVIEW_OUTCOME"]
            delay = state.settings["REVIEW_DELAY_SECONDS"]
            if status == "submitted" and attempt.get("is_sample_attempt"):
                set_onboarding_locked(state, attempt, "pending")
        if status == "submitted":
            # The outcome is fixed now, not when the timer fires, so changing the knob later cannot
            # retroactively change a review already "in progress".
            schedule_callback(state, attempt_id, "reviewed", review_body(outcome), delay)
        return jsonify(id=attempt_id, status=status)

    @app.delete("/api/v1/user/<user_id>/")
    def retire_user(user_id: str) -> Response:
        with state.lock:
            for attempt in state.attempts.values():
                if str(attempt.get("user_id")) == user_id:
                    attempt.update(full_name="", email="", retired=True)
            for users in state.onboarding.values():
                users.pop(user_id, None)
        return jsonify(True)

    @app.get("/api/v1/courses/<course_id>/onboarding_statuses")
    @app.get("/api/v1/courses/<course_id>/onboarding_statuses/")
    def onboarding_statuses(course_id: str) -> Response:
        user_filter = request.args.get("user_id")
        status_filter = {s for s in request.args.get("status", "").split(",") if s}
        with state.lock:
            default_size = state.settings["ONBOARDING_PAGE_SIZE"] or 20
            entries = [dict(entry) for entry in state.onboarding.get(course_id, {}).values()]
        if user_filter is not None:
            # One learner: the contract answers that learner's entry itself, not a page, and
            # a learner the provider never met has "no-profile".
            for entry in entries:
                if entry["user_id"] == user_filter:
                    return jsonify(entry)
            return jsonify(user_id=user_filter, status="no-profile", expiration_date=None)
        entries = [
            entry
            for entry in entries
            if not status_filter or entry["status"] in status_filter
        ]
        entries.sort(key=lambda entry: entry["user_id"])
        page = request.args.get("page", default=1, type=int) or 1
        page_size = min(
            max(request.args.get("page_size", default=default_size, type=int) or default_size, 1),
            100,
        )
        num_pages = max(1, math.ceil(len(entries) / page_size))
        if page < 1 or page > num_pages:
            abort(404, description="invalid page")

        def page_link(number: int) -> str:
            args = request.args.to_dict()
            args.update(page=str(number), page_size=str(page_size))
            return f"{request.base_url}?{urlencode(args)}"

        return jsonify(
            results=entries[(page - 1) * page_size : page * page_size],
            count=len(entries),
            num_pages=num_pages,
            next=page_link(page + 1) if page < num_pages else None,
            previous=page_link(page - 1) if page > 1 else None,
        )

    @app.get("/api/v1/instructor/<client_id>/")
    def instructor_dashboard(client_id: str) -> Response:
        with state.lock:
            settings = dict(state.settings)
        token = request.args.get("jwt", "")
        try:
            if client_id != settings["CLIENT_ID"]:
                raise jwt.InvalidIssuerError("unknown client")
            claims = jwt.decode(
                token,
                settings["CLIENT_SECRET"],
                algorithms=[JWT_ALGORITHM],
                issuer=client_id,
                options={"require": ["exp", "iss", "course_id"]},
            )
        except jwt.InvalidTokenError as exc:
            return html_page("Access denied", f"<p>{escape(str(exc))}</p>", status=403)
        user: dict[str, Any] = claims["user"] if isinstance(claims.get("user"), dict) else {}
        rows = [
            ("course_id", claims.get("course_id")),
            ("exam_id", claims.get("exam_id")),
            ("attempt_id", claims.get("attempt_id")),
            ("user", user.get("full_name") or user.get("id")),
            ("configuration view", "yes" if claims.get("config") else "no"),
        ]
        items = "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v if v is not None else '-')}</dd>" for k, v in rows
        )
        return html_page(f"{PROVIDER_NAME}: instructor dashboard", f"<dl>{items}</dl>")


def register_pages(app: Flask, state: ProviderState) -> None:
    @app.get("/download")
    def download() -> Response:
        exam_id = request.args.get("exam", "")
        attempt_id = request.args.get("attempt", "")
        with state.lock:
            attempt = state.attempts.get(attempt_id)
            known = attempt is not None and attempt["exam_id"] == exam_id
            delay = state.settings["READY_DELAY_SECONDS"]
        if not known:
            return html_page(
                "Unknown exam session", "<p>This system check link is not valid.</p>", status=404
            )
        schedule_callback(state, attempt_id, "ready", {"status": "ready"}, delay)
        return html_page(
            f"{PROVIDER_NAME}: system check",
            "<p>Camera: OK. Microphone: OK. Network: OK.</p>"
            f"<p>Your session will be reported ready in about {delay:g} seconds. "
            "You can return to the exam.</p>",
        )
