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


def test_learner_counts_are_backfilled(empty_database):
    """0003 fills the new counter from the attempts already there."""
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO courses (id, course_id, display_name, allow_proctoring_opt_out, "
                "created, modified) VALUES (1, 'c', 'c', false, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            connection.exec_driver_sql(
                "INSERT INTO users (id, username, email, full_name, is_staff, is_active, "
                "created, modified) VALUES (1, 'a', '', '', false, true, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP), (2, 'b', '', '', false, true, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            connection.exec_driver_sql(
                "INSERT INTO exams (id, course_id, content_id, exam_name, time_limit_mins, "
                "is_proctored, is_practice_exam, is_active, hide_after_due, created, modified) "
                "VALUES (1, 'c', 'x', 'X', 10, false, false, true, false, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            for attempt_id, user_id, resumed in ((1, 1, True), (2, 1, False), (3, 2, False)):
                connection.exec_driver_sql(
                    "INSERT INTO attempts (id, user_id, exam_id, attempt_code, status, "
                    "taking_as_proctored, is_sample_attempt, is_status_acknowledged, "
                    "is_resumable, ready_to_resume, resumed, created, modified) VALUES "
                    f"({attempt_id}, {user_id}, 1, 'code{attempt_id}', 'created', false, false, "
                    f"false, false, false, {'true' if resumed else 'false'}, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        upgrade()
        with db.engine.connect() as connection:
            count = connection.exec_driver_sql(
                "SELECT learners_with_attempts FROM exams WHERE id = 1").scalar_one()
            kept = connection.exec_driver_sql("SELECT COUNT(*) FROM attempts").scalar_one()
        # Rebuilding a table on SQLite must not cascade-delete the rows that refer to it.
        assert kept == 3
        assert count == 2
        db.engine.dispose()
