"""Build the OpenAPI 3.1 document from ``app.url_map`` and the operations registry.

Paths, path parameters and methods are read from the routes themselves, so the document
cannot name a path that does not exist; ``undocumented`` and ``stale`` list the routes the
registry misses and the entries that match no route (the tests require both to be empty).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from proctor_web.errors import JSON_PREFIXES
from proctor_web.openapi.operations import OPERATIONS, Operation
from proctor_web.openapi.schemas import COMPONENTS, ref
from proctor_web.routing import MAX_DATABASE_ID
from proctor_web.version import __version__

#: JSON endpoints that live outside the JSON path prefixes.
JSON_ENDPOINTS_ELSEWHERE = frozenset({"ops.healthz", "ops.readyz"})
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?"
                       r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")

SECURITY_SCHEMES = {
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "Flask's signed session cookie, set by /login."},
    "providerToken": {"type": "http", "scheme": "bearer",
                      "description": "From POST /oauth2/access_token; `JWT <token>` works too."},
    "clientBasic": {"type": "http", "scheme": "basic",
                    "description": "client_id:client_secret (or both as form fields)."},
    "ssiSignature": {"type": "apiKey", "in": "header", "name": "Authorization",
                     "description": "`SSI <key id>:<HMAC-SHA256>` over the body, with Date."},
    "callbackSecret": {"type": "apiKey", "in": "header", "name": "X-Proctor-Callback-Secret"},
}
SECURITY = {
    "learner": [{"sessionCookie": []}],
    "staff": [{"sessionCookie": []}],
    "provider": [{"providerToken": []}],
    "rpnow": [{"ssiSignature": []}, {"callbackSecret": []}],
    "client": [{"clientBasic": []}, {}],
    "anyone": [],
}


def is_json_route(rule: Rule) -> bool:
    return rule.rule.startswith(JSON_PREFIXES) or rule.endpoint in JSON_ENDPOINTS_ELSEWHERE


def json_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if is_json_route(r)),
                  key=lambda r: (r.rule, r.endpoint))


def methods_of(rule: Rule) -> set[str]:
    return {m.lower() for m in (rule.methods or ()) if m not in IGNORED_METHODS}


def undocumented(app: Flask) -> list[str]:
    """``METHOD path (endpoint)`` of every JSON route the registry does not describe."""
    missing = []
    for rule in json_rules(app):
        documented = OPERATIONS.get(rule.endpoint, {})
        missing += [f"{m.upper()} {rule.rule} ({rule.endpoint})"
                    for m in sorted(methods_of(rule) - set(documented))]
    return missing


def stale(app: Flask) -> list[str]:
    """Registry entries (endpoint and method) that no JSON route serves."""
    served: dict[str, set[str]] = {}
    for rule in json_rules(app):
        served.setdefault(rule.endpoint, set()).update(methods_of(rule))
    return [f"{m.upper()} {endpoint}" for endpoint, operations in sorted(OPERATIONS.items())
            for m in sorted(operations) if m not in served.get(endpoint, set())]


def _path_parameter(converter: str | None, args: str | None, name: str) -> dict[str, Any]:
    if converter == "int":
        schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_DATABASE_ID}
    elif converter == "path":
        schema = {"type": "string", "minLength": 1}
    elif converter == "any":
        schema = {"type": "string",
                  "enum": [a.strip().strip("'\"") for a in (args or "").split(",")]}
    else:
        schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _openapi_path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters = []

    def replace(match: re.Match[str]) -> str:
        parameters.append(_path_parameter(match["converter"], match["args"], match["name"]))
        return "{" + match["name"] + "}"

    return _VARIABLE.sub(replace, rule.rule), parameters


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, schema in operation.responses.items():
        if schema == "redirect":
            responses[str(status)] = {
                "description": "Redirect", "headers": {"Location": {"schema": {"type": "string"}}}}
        elif schema is None:
            responses[str(status)] = {"description": "No content"}
        else:
            responses[str(status)] = {"description": schema,
                                      "content": {"application/json": {"schema": ref(schema)}}}
    responses["default"] = {
        "description": "A refusal: 400 bad input or illegal transition, 401 not signed in or "
                       "bad credentials, 403 not allowed, 404 unknown, 412/422 as described.",
        "content": {"application/json": {"schema": ref("Error")}},
    }
    return responses


def _operation(rule: Rule, method: str, operation: Operation, operation_id: str,
               path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": SECURITY[operation.auth],
        "x-proctor-auth": operation.auth,
        "x-flask-endpoint": rule.endpoint,
        "responses": _responses(operation),
    }
    if operation.description:
        spec["description"] = operation.description
    parameters = list(path_parameters) + [
        {"name": q.name, "in": "query", "required": q.required, "description": q.description,
         "schema": q.schema} for q in operation.query]
    if parameters:
        spec["parameters"] = parameters
    if operation.body:
        spec["requestBody"] = {"required": True, "content": {
            content_type: {"schema": ref(operation.body)} for content_type in operation.body_types}}
    return spec


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    rules_per_endpoint: dict[str, int] = {}
    for rule in json_rules(app):
        operations = OPERATIONS.get(rule.endpoint)
        if not operations:
            continue
        index = rules_per_endpoint[rule.endpoint] = rules_per_endpoint.get(rule.endpoint, 0) + 1
        path, path_parameters = _openapi_path(rule)
        item = paths.setdefault(path, {})
        for method in sorted(methods_of(rule) & set(operations)):
            operation_id = rule.endpoint.replace(".", "_") + f"_{method}"
            if index > 1:
                operation_id += f"_{index}"
            item[method] = _operation(rule, method, operations[method], operation_id,
                                      path_parameters)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{app.config['PLATFORM_NAME']} proctoring API",
            "version": __version__,
            "description": "edx-proctoring's learner and instructor REST API, the provider "
                           "callbacks and the OAuth2 token endpoint. Errors are "
                           '`{"detail": "..."}`.',
        },
        "tags": [{"name": "learner"}, {"name": "instructor"}, {"name": "provider"},
                 {"name": "operations"}],
        "paths": paths,
        "components": {"schemas": COMPONENTS, "securitySchemes": SECURITY_SCHEMES},
    }
