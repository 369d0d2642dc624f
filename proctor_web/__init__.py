"""proctor_web: exam proctoring for learning platforms."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from proctor_web.version import __version__  # noqa: F401  (the package's version)


class ProctorFlask(Flask):
    """Flask, deciding once per function whether it must be run as a coroutine.

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request
    (about twenty times each); the answer never changes, so it is remembered.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        known: dict[Any, Callable[..., Any]] = self.__dict__.setdefault("_ensured_sync", {})
        try:
            return known[func]
        except KeyError:
            if len(known) > 10_000:  # hooks, views and handlers: a few hundred at most
                known.clear()
            made = known[func] = super().ensure_sync(func)
            return made
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app. Named steps only; nothing here queries a database or the network."""
    app = ProctorFlask(__name__, instance_relative_config=True)
    _configure(app, config)
    _configure_logging(app)
    _init_test_clock(app)
    _init_extensions(app)
    _init_backends(app)
    _close_responses_when_sent(app)
    _init_request_guard(app)
    _register_url_converters(app)
    _register_blueprints(app)
    _init_security(app)
    _init_operations(app)  # after the rate limiter: probes and metrics are exempt from it
    _register_error_handlers(app)
    _register_cli(app)
    _register_template_helpers(app)
    return app


def _configure(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    from proctor_web.config import build_config

    app.config.update(build_config(app.instance_path, overrides))


def _configure_logging(app: Flask) -> None:
    from proctor_web.ops.logs import configure_logging

    configure_logging(app)


def _init_test_clock(app: Flask) -> None:
    from proctor_web import clock

    clock.init_app(app)


def _init_extensions(app: Flask) -> None:
    from proctor_web import (
        auth,
        database,
        i18n,
        models,  # noqa: F401  (every table known to the metadata)
        security,
        timezones,
    )
    from proctor_web.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        # Creating an engine opens no connection; this only registers event hooks.
        database.init_app(app, db.engine)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True,
                     compare_type=True)
    security.init_request_guards(app)  # before CSRF: anonymous API writes get 401 first
    csrf.init_app(app)
    i18n.init_app(app)  # Flask-Babel, and a signed-in person's language kept on the account
    timezones.init_app(app)  # learner pages: times in the browser's zone, UTC beside them
    login_manager.init_app(app)
    auth.init_login_manager(login_manager)


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _init_backends(app: Flask) -> None:
    from proctor_web.backends import BackendRegistry
    from proctor_web.backends.base import BackendSettingsError
    from proctor_web.config import BackendConfigError
    from proctor_web.subscriptions import connect

    try:
        app.extensions["proctor_backends"] = BackendRegistry(
            app.config["BACKENDS"], default_locale=app.config["DEFAULT_LOCALE"],
            worker_bundle_dir=app.config["PROVIDER_WORKER_DIR"]
            or os.path.join(app.instance_path, "provider-workers"),
        )
    except BackendSettingsError as error:
        # A configuration error like any other: one line from `flask` and gunicorn.
        raise BackendConfigError(error.message) from error
    # Subscribers of the domain events; outbox rows (provider events, exam pushes, emails,
    # LMS scores) go to background work once their transaction commits.
    connect(app)


def _close_responses_when_sent(app: Flask) -> None:
    """After-response work (the outbox's hand-over) runs even where the server skips
    ``close()``: werkzeug's development server does when the client resets the connection."""
    from proctor_web import response_close

    response_close.init_app(app)


def _init_request_guard(app: Flask) -> None:
    """Hostile-input checks, run before every view."""
    from proctor_web.request_guard import init_request_guard
    from proctor_web.services.validation import install_column_length_check

    init_request_guard(app)
    install_column_length_check()


def _register_url_converters(app: Flask) -> None:
    from proctor_web.routing import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter


def _register_blueprints(app: Flask) -> None:
    from proctor_web.blueprints.api import bp as api_bp
    from proctor_web.blueprints.auth import bp as auth_bp
    from proctor_web.blueprints.instructor import bp as instructor_bp
    from proctor_web.blueprints.learner import bp as learner_bp
    from proctor_web.blueprints.lti import bp as lti_bp
    from proctor_web.blueprints.lti_platform import bp as lti_platform_bp
    from proctor_web.blueprints.main import bp as main_bp
    from proctor_web.blueprints.webhooks import bp as webhooks_bp
    from proctor_web.extensions import csrf

    csrf.exempt(webhooks_bp)
    # LTI messages are cross-site form posts; OIDC state and nonce protect them instead.
    csrf.exempt(lti_bp)
    csrf.exempt(lti_platform_bp)
    for blueprint in (auth_bp, main_bp, learner_bp, api_bp, instructor_bp, webhooks_bp, lti_bp,
                      lti_platform_bp):
        app.register_blueprint(blueprint)


def _init_security(app: Flask) -> None:
    from proctor_web import security

    security.init_app(app)  # rate limits wrap registered views; headers on every answer


def _init_operations(app: Flask) -> None:
    """Health, readiness, metrics, request ids and logs, trusted proxies, the API document."""
    from proctor_web import ops

    ops.init_app(app)


def _register_error_handlers(app: Flask) -> None:
    from proctor_web.errors import register_error_handlers

    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from proctor_web.cli import proctor_cli

    app.cli.add_command(proctor_cli)


def _register_template_helpers(app: Flask) -> None:
    from proctor_web.templating import init_templating

    init_templating(app)
