"""Migrations: one head, upgrade from empty to head and back, and exactly the models' schema."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.exc import SAWarning

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


#: Indexes on expressions: compared on PostgreSQL; SQLAlchemy cannot reflect them from SQLite.
EXPRESSION_INDEXES = {"ix_users_email_lower"}


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
            sqlite = connection.dialect.name == "sqlite"
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            with warnings.catch_warnings():
                # SQLAlchemy cannot reflect SQLite's expression indexes (Alembic then skips
                # comparing them): they are checked below instead.
                warnings.filterwarnings("ignore", "Skipped unsupported reflection of "
                                        "expression-based index", SAWarning)
                warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified "
                                        "expression-based index", UserWarning)
                differences = compare_metadata(context, db.metadata)
            assert differences == [], differences
            tables = set(inspect(connection).get_table_names())
            if sqlite:
                indexes = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'").all()
                assert [sql for name, sql in indexes if name in EXPRESSION_INDEXES] == [
                    'CREATE INDEX ix_users_email_lower ON users (lower(email))']
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


def test_sqlite_ids_are_never_reused_after_upgrade(tmp_path):
    """0005 rebuilds SQLite's tables with AUTOINCREMENT, keeping rows, and starts each
    counter above every id its history remembers (removed attempts included)."""
    from proctor_web.models.base import has_surrogate_id

    app = create_app(app_config(f"sqlite:///{tmp_path / 'ids.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO courses (id, course_id, display_name, allow_proctoring_opt_out, "
                "created, modified) VALUES (1, 'c', 'c', 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            connection.exec_driver_sql(
                "INSERT INTO users (id, username, email, full_name, is_staff, is_active, "
                "created, modified) VALUES (1, 'a', '', '', 0, 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            connection.exec_driver_sql(
                "INSERT INTO exams (id, course_id, content_id, exam_name, time_limit_mins, "
                "is_proctored, is_practice_exam, is_active, hide_after_due, created, modified) "
                "VALUES (1, 'c', 'x', 'X', 10, 0, 1, 1, 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            for attempt_id in (1, 2, 3, 5):
                connection.exec_driver_sql(
                    "INSERT INTO attempts (id, user_id, exam_id, attempt_code, status, "
                    "taking_as_proctored, is_sample_attempt, is_status_acknowledged, "
                    "is_resumable, ready_to_resume, resumed, created, modified) VALUES "
                    f"({attempt_id}, 1, 1, 'code{attempt_id}', 'created', 0, 1, 0, 0, 0, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
                connection.exec_driver_sql(
                    "INSERT INTO attempt_history (attempt_id, attempt_code, user_id, exam_id, "
                    "action, actor_kind, reason, ignored, created_at) VALUES "
                    f"({attempt_id}, 'code{attempt_id}', 1, 1, 'create', 'learner', '', 0, "
                    "CURRENT_TIMESTAMP)")
            # Attempt 5 was removed before the upgrade: only its history remembers it.
            connection.exec_driver_sql("DELETE FROM attempts WHERE id = 5")
        upgrade()
        with db.engine.begin() as connection:
            ddl = dict(connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
            kept = connection.exec_driver_sql("SELECT COUNT(*) FROM attempts").scalar_one()
            connection.exec_driver_sql("DELETE FROM attempts WHERE id = 3")
            connection.exec_driver_sql(
                "INSERT INTO attempts (user_id, exam_id, attempt_code, status, "
                "taking_as_proctored, is_sample_attempt, is_status_acknowledged, "
                "is_resumable, ready_to_resume, resumed, created, modified) VALUES "
                "(1, 1, 'code-new', 'created', 0, 1, 0, 0, 0, 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
            new_id = connection.exec_driver_sql(
                "SELECT id FROM attempts WHERE attempt_code = 'code-new'").scalar_one()
        numbered = sorted(t.name for t in db.metadata.tables.values() if has_surrogate_id(t))
        assert "attempts" in numbered and "attempt_history" in numbered
        assert [name for name in numbered if "AUTOINCREMENT" not in ddl[name]] == []
        assert kept == 3
        assert new_id == 6  # above every id attempts ever had, 5 included
        db.engine.dispose()


def test_time_zone_column_comes_and_goes_keeping_users(empty_database):
    """0013 adds ``users.time_zone`` empty for existing users; its downgrade keeps them."""
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO users (id, username, email, full_name, is_staff, is_active, "
                "session_token, locale, created, modified) VALUES (7, 'a', '', '', false, "
                "true, 'tok', 'es', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        upgrade(revision="0013")
        with db.engine.begin() as connection:
            assert connection.exec_driver_sql(
                "SELECT time_zone, locale FROM users WHERE id = 7").one() == (None, "es")
            connection.exec_driver_sql(
                "UPDATE users SET time_zone = 'America/Bogota' WHERE id = 7")
        downgrade(revision="0012")
        with db.engine.connect() as connection:
            assert "time_zone" not in {c["name"] for c in inspect(connection).get_columns("users")}
            assert connection.exec_driver_sql(
                "SELECT username, locale FROM users WHERE id = 7").one() == ("a", "es")
            if connection.dialect.name == "sqlite":
                ddl = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'users'").scalar_one()
                assert "AUTOINCREMENT" in ddl
        db.engine.dispose()
