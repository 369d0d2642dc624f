"""``retire_backend_user`` answers edx-proctoring's flat ``{backend: bool}`` map, with its 500
when any provider said ``false`` or could not be asked."""

from __future__ import annotations

import pytest

from proctor_web.backends.null import NullBackend
from proctor_web.extensions import db
from tests.webhooks.test_ops_views import PASSWORD, login, rest_backend  # noqa: F401


class RefusingBackend(NullBackend):
    """A provider that answers ``false`` to the retirement DELETE."""

    def retire_user(self, obscured_user_id: str) -> bool:
        return False


@pytest.fixture
def refusing_backend(app):
    registry = app.extensions["proctor_backends"]
    registry._backends["refusing"] = RefusingBackend("refusing", {})
    yield
    registry._backends.pop("refusing", None)


@pytest.fixture
def admin(factory):
    user = factory.user("retire-admin", password=PASSWORD, is_staff=True)
    db.session.commit()
    return user


def _url(user) -> str:
    return f"/api/edx_proctoring/v1/retire_backend_user/{user.id}/"


def test_every_provider_forgetting_the_user_is_200(client, factory, admin, login):  # noqa: F811
    learner = factory.learner()
    factory.attempt(factory.exam("proctored"), learner, "submitted", external_id="m1")
    db.session.commit()
    login(admin)
    response = client.post(_url(learner))
    assert response.status_code == 200 and response.json == {"mock": True}


def test_a_provider_answering_false_is_500_with_the_flat_map(
    client, factory, admin, login, refusing_backend  # noqa: F811
):
    learner = factory.learner()
    factory.attempt(factory.exam("proctored"), learner, "submitted", external_id="m1")
    factory.attempt(factory.exam("proctored", backend="refusing"), learner, "submitted",
                    external_id="x1")
    db.session.commit()
    login(admin)
    response = client.post(_url(learner))
    assert response.status_code == 500
    assert response.json == {"mock": True, "refusing": False}


def test_a_provider_that_cannot_be_reached_is_500_with_the_flat_map(
    client, factory, admin, login, rest_backend  # noqa: F811
):
    learner = factory.learner()
    factory.attempt(factory.exam("proctored", backend="rest"), learner, "submitted",
                    external_id="r1")
    db.session.commit()
    login(admin)
    response = client.post(_url(learner))
    assert response.status_code == 500
    assert response.json == {"rest": False}
