"""Behind a TLS proxy: X-Forwarded-* believed only from as many proxies as configured."""

from __future__ import annotations

from flask import request, url_for

from proctor_web import create_app
from tests.conftest import app_config

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "exams.example.edu",
             "X-Forwarded-For": "203.0.113.9"}


def seen_by(app) -> dict:
    @app.get("/_seen")
    def seen():
        return {"scheme": request.scheme, "host": request.host, "remote": request.remote_addr,
                "external": url_for("ops.healthz", _external=True)}

    return app.test_client().get("/_seen", headers=FORWARDED,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"}).json


def test_forwarded_headers_are_ignored_by_default():
    app = create_app(app_config("sqlite://"))
    assert seen_by(app) == {"scheme": "http", "host": "localhost", "remote": "127.0.0.1",
                            "external": "http://localhost/healthz"}


def test_one_trusted_proxy_gives_the_clients_scheme_host_and_address():
    app = create_app(app_config("sqlite://", PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1,
                                PROXY_FIX_X_HOST=1))
    assert seen_by(app) == {"scheme": "https", "host": "exams.example.edu",
                            "remote": "203.0.113.9",
                            "external": "https://exams.example.edu/healthz"}


def test_session_cookies_are_secure_and_urls_https_in_production():
    app = create_app({"SECRET_KEY": "s", "DATABASE_URL": "sqlite://",
                      "SERVER_NAME": "exams.example.edu", "LOG_FORMAT": "text"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    with app.app_context():
        assert url_for("ops.healthz", _external=True) == "https://exams.example.edu/healthz"
