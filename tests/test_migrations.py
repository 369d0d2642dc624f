"""Migrations: one head, upgrade from empty to head and back, and exactly the models' schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from proctor_web import create_app
from proctor_web.extensions import db
from tests.conftest import app_config, scratch_database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_single_head():
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_scripts_import_no_application_code():
    for script in (MIGRATIONS / "versions").glob("*.py"):
        assert "proctor_web" not in script.read_text(), script.name


@pytest.fixture
def empty_database(db_backend, tmp_path, postgres_available) -> Iterator[str]:
    with scratch_database(db_backend, tmp_path, "proctor_migrations",
                          postgres_available) as url:
        yield url


def test_upgrade_gives_the_models_schema_and_downgrade_removes_it(empty_database):
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
            assert differences == [], differences
            tables = set(inspect(connection).get_table_names())
        assert set(db.metadata.tables) <= tables

        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()
