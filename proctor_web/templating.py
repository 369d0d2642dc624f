"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def init_templating(app: Flask) -> None:
    app.jinja_env.globals["current_locale"] = current_locale

    @app.context_processor
    def inject_platform() -> dict[str, object]:
        return {"platform_name": app.config["PLATFORM_NAME"]}
