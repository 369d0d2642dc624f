"""The test-control endpoints under /_control/: inspect, steer, fire callbacks now, reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, jsonify

from proctor_web.testing.fake_provider.lms_callbacks import deliver_callback
from proctor_web.testing.fake_provider.request_helpers import json_body
from proctor_web.testing.fake_provider.settings import RUNTIME_SETTINGS, validate_settings
from proctor_web.testing.fake_provider.state import ProviderState
from proctor_web.testing.fake_provider.texts import review_body


def register_control(app: Flask, state: ProviderState) -> None:
    @app.get("/_control/state")
    def control_state() -> Response:
        return jsonify(state.snapshot())

    @app.post("/_control/config")
    def control_config() -> tuple[Response, int] | Response:
        payload = json_body()
        unknown = sorted(set(payload) - RUNTIME_SETTINGS)
        if unknown:
            return jsonify(detail=f"not changeable at run time: {', '.join(unknown)}"), 400
        try:
            cleaned = validate_settings(payload)
        except ValueError as exc:
            return jsonify(detail=str(exc)), 400
        with state.lock:
            state.settings.update(cleaned)
            current = {key: state.settings[key] for key in sorted(RUNTIME_SETTINGS)}
        return jsonify(current)

    def fire_now(
        attempt_id: str, kind: str, default_status: str, make_body: Callable[[str], dict[str, Any]]
    ) -> Response:
        payload = json_body()
        status = payload.get("status", default_status)
        # Any string is allowed on purpose: tests use this to feed the LMS statuses it must reject.
        if not isinstance(status, str):
            abort(400, description="status must be a string")
        with state.lock:
            if attempt_id not in state.attempts:
                abort(404, description=f"attempt {attempt_id} not found")
            pending = state.timers.pop((attempt_id, kind), None)
            if pending is not None:
                pending.cancel()
        return jsonify(deliver_callback(state, attempt_id, kind, make_body(status)))

    @app.post("/_control/attempt/<attempt_id>/ready")
    def control_ready(attempt_id: str) -> Response:
        return fire_now(attempt_id, "ready", "ready", lambda status: {"status": status})

    @app.post("/_control/attempt/<attempt_id>/review")
    def control_review(attempt_id: str) -> Response:
        with state.lock:
            outcome = state.settings["REVIEW_OUTCOME"]
        return fire_now(attempt_id, "reviewed", outcome, review_body)

    @app.post("/_control/onboarding")
    def control_onboarding() -> tuple[Response, int] | Response:
        """Seed one onboarding status, for tests of the instructor onboarding panel."""
        payload = json_body()
        fields = {name: payload.get(name) for name in ("course_id", "user_id", "status")}
        if not all(isinstance(value, str) and value for value in fields.values()):
            return jsonify(detail="course_id, user_id and status are required strings"), 400
        course_id, user_id = str(fields["course_id"]), str(fields["user_id"])
        entry = {
            "user_id": user_id,
            "status": fields["status"],
            "expiration_date": payload.get("expiration_date"),
        }
        with state.lock:
            state.onboarding.setdefault(course_id, {})[user_id] = entry
        return jsonify(entry)

    @app.post("/_control/reset")
    def control_reset() -> Response:
        state.reset()
        return jsonify(status="reset")
