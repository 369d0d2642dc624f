"""Locale choice: an explicit ``lang`` parameter, then the browser's Accept-Language."""

from __future__ import annotations

from flask import current_app, request, session


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    requested = request.args.get("lang")
    if requested in languages:
        session["lang"] = requested
        return requested
    remembered = session.get("lang")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LOCALE"]
