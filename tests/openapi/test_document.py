"""The OpenAPI document covers every JSON route with the route's own methods, and nothing else."""

from __future__ import annotations

import pytest
from flask import jsonify

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.openapi.document import json_rules, methods_of, stale, undocumented
from tests.conftest import make_sign_in


def test_every_json_route_is_documented_with_its_methods(app):
    assert undocumented(app) == []
    assert stale(app) == []


def test_the_served_document_lists_exactly_the_json_routes(client, app):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    served = {(op["x-flask-endpoint"], method)
              for item in document["paths"].values() for method, op in item.items()}
    expected = {(rule.endpoint, method) for rule in json_rules(app) for method in methods_of(rule)}
    assert served == expected
    assert "/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}" in document["paths"]
    assert "/oauth2/access_token" in document["paths"]
    operation_ids = [op["operationId"] for item in document["paths"].values()
                     for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_schema_reference_resolves(client):
    document = client.get("/api/openapi.json").json
    names = set(document["components"]["schemas"])

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"].rsplit("/", 1)[1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    assert set(refs(document)) - names == set()


def test_a_new_route_or_a_new_method_without_documentation_is_caught():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    app.add_url_rule("/api/edx_proctoring/v1/brand_new", "api.brand_new",
                     lambda: jsonify({}), methods=["GET"])
    app.add_url_rule("/api/edx_proctoring/v1/proctored_exam/exam/exam_id/<int:exam_id>",
                     "api.exam_get", app.view_functions["api.exam_get"], methods=["DELETE"])
    assert undocumented(app) == [
        "GET /api/edx_proctoring/v1/brand_new (api.brand_new)",
        "DELETE /api/edx_proctoring/v1/proctored_exam/exam/exam_id/<int:exam_id> (api.exam_get)",
    ]


def test_an_entry_for_a_route_that_is_gone_is_caught(monkeypatch):
    from proctor_web.openapi import operations

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    monkeypatch.setitem(operations.OPERATIONS, "api.removed_long_ago",
                        {"get": operations.OPERATIONS["ops.healthz"]["get"]})
    assert stale(app) == ["GET api.removed_long_ago"]


@pytest.mark.parametrize("path", [
    "/api/edx_proctoring/v1/proctored_exam/attempt/2147483648",
    "/api/edx_proctoring/v1/proctored_exam/exam/exam_id/99999999999",
    "/api/edx_proctoring/v1/proctored_exam/settings/exam_id/99999999999/",
])
def test_ids_beyond_the_documented_maximum_are_404_not_500(app, client, factory, path):
    """The document says path ids are at most 2**31 - 1, PostgreSQL's integer; beyond that
    PostgreSQL used to refuse the query and the answer was a 500."""
    staff = factory.user("beyond", is_staff=True)
    db.session.commit()
    make_sign_in(app, client)(staff)
    response = client.get(path)
    assert response.status_code == 404
    assert "detail" in response.json
    assert client.get("/api/edx_proctoring/v1/proctored_exam/attempt/2147483647"
                      ).status_code == 404
