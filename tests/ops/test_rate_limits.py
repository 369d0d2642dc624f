"""Probes, metrics and the API document are exempt from Flask-Limiter's limits."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from proctor_web import create_app, ops
from proctor_web.extensions import db
from tests.conftest import app_config


def test_probes_metrics_and_the_document_are_never_rate_limited(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'limits.sqlite3'}",
                                RATELIMIT_ENABLED=True))
    with app.app_context():
        db.create_all()
    Limiter(get_remote_address, app=app, default_limits=["1 per minute"],
            application_limits=["2 per minute"], storage_uri="memory://")
    ops.exempt_from_rate_limits(app)
    client = app.test_client()
    for path in ("/healthz", "/metrics", "/api/openapi.json"):
        assert [client.get(path).status_code for _ in range(4)] == [200] * 4, path
    # Everything else is limited as configured.
    codes = [client.get("/csrf/api/v1/token").status_code for _ in range(2)]
    assert codes == [200, 429]
