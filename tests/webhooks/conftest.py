from __future__ import annotations

import pytest

from proctor_web.extensions import db
from proctor_web.services import oauth

SECRETS = {"mock": "mock-provider-secret-0123456789", "null": "null-provider-secret-0123456789"}


@pytest.fixture
def provider_token(app, client, now):
    """``provider_token("mock")``: a bearer token of a service account for that backend."""
    created: dict[str, str] = {}

    def _token(backend: str = "mock") -> str:
        if backend not in created:
            oauth.create_client(f"{backend}-provider", backend, now,
                                client_id=f"{backend}-client", client_secret=SECRETS[backend])
            db.session.commit()
            created[backend] = backend
        response = client.post("/oauth2/access_token", data={
            "grant_type": "client_credentials", "client_id": f"{backend}-client",
            "client_secret": SECRETS[backend]})
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    return _token
