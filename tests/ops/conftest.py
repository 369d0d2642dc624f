"""A migrated database per database kind, for what checks the schema revision (readiness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask_migrate import upgrade

from proctor_web import create_app
from proctor_web.extensions import db
from tests.conftest import app_config, scratch_database


@pytest.fixture(scope="module")
def migrated_database_url(db_backend, tmp_path_factory, postgres_available) -> Iterator[str]:
    with scratch_database(db_backend, tmp_path_factory.mktemp("ops"), "proctor_ops",
                          postgres_available) as url:
        app = create_app(app_config(url))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url
        with app.app_context():
            db.engine.dispose()
