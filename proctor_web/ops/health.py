"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database, schema, broker) and
``/metrics`` (Prometheus).

Neither needs a login or a CSRF token, and a load balancer may call them as often as it likes.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from proctor_web.ops import checks, metrics

bp = Blueprint("ops", __name__)
bp.add_url_rule("/metrics", "metrics", metrics.metrics_view, methods=["GET"])


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: touches nothing outside the process, so a database outage never restarts it."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    problems = checks.readiness_problems(current_app)
    if problems:
        response = jsonify(status="unavailable", detail="; ".join(problems.values()),
                           problems=problems)
        response.status_code = 503
    else:
        response = jsonify(status="ready")
    response.headers["Cache-Control"] = "no-store"
    return response
