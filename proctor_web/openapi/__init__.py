"""The OpenAPI 3.1 document of the JSON API, served at ``/api/openapi.json``."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify

bp = Blueprint("openapi", __name__)


@bp.get("/api/openapi.json")
def document() -> Response:
    from proctor_web.openapi.document import build_document

    built = current_app.extensions.get("proctor_openapi")
    if built is None:
        built = current_app.extensions["proctor_openapi"] = build_document(current_app)
    return jsonify(built)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
