"""Fixtures for learner page and learner API tests."""

from __future__ import annotations

import pytest

from tests.conftest import make_sign_in


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)
