"""Fixtures of the background-work tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proctor_web.testing.loopback import fake_provider

PROVIDER_SECRET = "fake-client-secret-0123456789-0123456789"
LMS_SECRET = "fake-provider-secret-0123456789-0123"


@pytest.fixture(scope="module")
def provider_port() -> Iterator[int]:
    """The fake REST provider as a real process on 127.0.0.1."""
    with fake_provider(PROVIDER_SECRET, LMS_SECRET) as port:
        yield port
