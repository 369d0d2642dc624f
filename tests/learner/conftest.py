"""Fixtures for learner page and learner API tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import g

from proctor_web.models import User


def make_sign_in(app, client) -> Callable[[User | None], Any]:
    """Sign ``client`` in as ``user`` (None signs out), as the login form would."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()

    def login(user: User | None) -> Any:
        # Requests share the test's app context, so Flask-Login's cached user must go too.
        g.pop("_login_user", None)
        with client.session_transaction() as session:
            session.clear()
            if user is not None:
                session["_user_id"] = str(user.id)
                session["_fresh"] = True
                session["_id"] = identifier
        return client

    return login


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)
