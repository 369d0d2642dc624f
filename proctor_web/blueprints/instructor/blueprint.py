"""The ``instructor`` blueprint object; its routes live in the view modules beside it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("instructor", __name__)


@bp.record_once
def _register_labels(state) -> None:
    """Label lookups as Jinja globals, so imported macros (which get no context) see them."""
    from proctor_web.blueprints.instructor.labels import template_helpers

    state.app.jinja_env.globals.update(template_helpers())
