"""The stand-in desktop application and the browser worker script that talks to it.

A desktop-software provider's worker (run by the learner's exam page) asks an application on
the learner's machine to start recording, whether it still runs, and to stop. Here that
application is three endpoints of the fake provider, ``POST /desktop/start``, ``/ping`` and
``/stop``, each with ``{"attempt": "<external id>"}``; ``DESKTOP_APP`` (``running``,
``closed``, ``no_camera``) and ``DESKTOP_STOP_DELAY_SECONDS`` steer them, and ``FAIL_MODE``
applies as to the API. They answer any origin (CORS ``*``, no credentials) because the worker
runs on the learner's page, wherever the LMS is.

They also answer the published ``@edx/mockprock`` worker, which sends no attempt id (one
session at a time), pings with GET and wants ``running``, ``running`` and ``uploading``: so a
deployment with ``"npm_module": "@edx/mockprock"`` runs against a fake provider on its default
port 11136.

``worker_script(desktop_url)`` is the worker (``worker.js`` beside this file) with its
configuration in front; the mock backend serves it to learners.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from proctor_web.testing.fake_provider.state import ProviderState, utc_now

WORKER_SOURCE = Path(__file__).with_name("worker.js")


def worker_script(desktop_url: str | None = None) -> str:
    """The fake provider's worker, set to ask the desktop application at ``desktop_url``
    (a running fake provider's base URL); without one it answers every prompt itself."""
    config = json.dumps({"desktopUrl": desktop_url or ""})
    return f"self.fakeProviderWorker = {config};\n" + WORKER_SOURCE.read_text(encoding="utf-8")


def _attempt_id() -> str:
    # The worker sends text/plain (a CORS-simple request), so parse the body ourselves.
    try:
        payload = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        payload = None
    attempt = payload.get("attempt") if isinstance(payload, dict) else None
    return attempt if isinstance(attempt, str) else ""  # "": the one session of a bare client


def _refusal(detail: str, status: int) -> tuple[Response, int]:
    return jsonify(detail=detail), status


def register_desktop_app(app: Flask, state: ProviderState) -> None:
    @app.after_request
    def allow_any_origin(response: Response) -> Response:
        if request.path.startswith("/desktop/"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    @app.post("/desktop/start")
    def desktop_start() -> tuple[Response, int] | Response:
        attempt_id = _attempt_id()
        with state.lock:
            app_state = state.settings["DESKTOP_APP"]
            if app_state == "closed":
                return _refusal("the proctoring application is not running", 503)
            if app_state == "no_camera":
                return _refusal("camera not found", 409)
            session = _session_locked(state, attempt_id)
            session.update(status="running", started_at=utc_now().isoformat())
            session["starts"] += 1
        return jsonify(status="running")

    @app.route("/desktop/ping", methods=["GET", "POST"])
    def desktop_ping() -> tuple[Response, int] | Response:
        attempt_id = _attempt_id()
        with state.lock:
            if state.settings["DESKTOP_APP"] == "closed":
                return _refusal("the proctoring application is not running", 503)
            session = state.desktop_sessions.get(attempt_id)
            if session is None or session["status"] != "running":
                return _refusal("the proctoring application is not recording this exam", 409)
            session["pings"] += 1
            session["last_ping_at"] = utc_now().isoformat()
        return jsonify(status="running")

    @app.post("/desktop/stop")
    def desktop_stop() -> tuple[Response, int] | Response:
        attempt_id = _attempt_id()
        with state.lock:
            if state.settings["DESKTOP_APP"] == "closed":
                return _refusal("the proctoring application is not running", 503)
            delay = state.settings["DESKTOP_STOP_DELAY_SECONDS"]
            epoch = state.epoch
            session = _session_locked(state, attempt_id)
            session["stop_requested_at"] = utc_now().isoformat()
        # Uploading the recording takes a while; reset or shutdown cuts it short.
        epoch.wait(delay)
        with state.lock:
            session.update(status="stopped", stopped_at=utc_now().isoformat())
        return jsonify(status="uploading")


def _session_locked(state: ProviderState, attempt_id: str) -> dict[str, Any]:
    return state.desktop_sessions.setdefault(
        attempt_id,
        {"attempt": attempt_id, "status": "idle", "starts": 0, "pings": 0, "started_at": None,
         "last_ping_at": None, "stop_requested_at": None, "stopped_at": None},
    )
