"""Migration 0004 gives every existing user a session token of their own."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from proctor_web import create_app
from proctor_web.extensions import db
from tests import test_migrations
from tests.conftest import app_config

empty_database = test_migrations.empty_database  # the fixture, shared


def test_existing_users_get_distinct_tokens(empty_database):
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO users (id, username, email, full_name, is_staff, is_active, "
                "created, modified) VALUES (1, 'a', '', '', false, true, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP), (2, 'b', '', '', false, true, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)")
        upgrade(revision="0004")
        with db.engine.connect() as connection:
            tokens = connection.execute(text("SELECT session_token FROM users")).scalars().all()
        assert len(tokens) == 2 and all(len(token) >= 40 for token in tokens)
        assert tokens[0] != tokens[1]
        db.engine.dispose()
