"""Bad input is never a 500: each class the outside fuzzer found, on every route that takes it.

The routes come from ``app.url_map`` (see ``tests/hostile.py``); the client is signed in as
staff and carries the provider token and RPNow secret, so input reaches the views.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from proctor_web.extensions import db
from proctor_web.models import Attempt, AttemptHistory, Exam, Review, ReviewComment
from tests.hostile import (
    BODY_ROUTES,
    KNOWN_FIELDS,
    ROUTES,
    refusal_detail,
    send,
)

PATH_TEXT_ROUTES = [r for r in ROUTES if r.text_arguments]
PATH_INT_ROUTES = [r for r in ROUTES if r.int_arguments]


def _changes() -> tuple[int, ...]:
    """Rows a refused request must not have added."""
    counts = [db.session.execute(select(func.count()).select_from(model)).scalar_one()
              for model in (Exam, Attempt, AttemptHistory, Review, ReviewComment)]
    return tuple(counts)


def assert_refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    detail = refusal_detail(response)
    for word in words:
        assert word in detail, detail[:300]


# Each test below walks every route that takes the input and reports every one that fails.


def on_every_route(routes, check) -> None:
    """Run ``check(route)`` for each route; fail once, listing every route that failed."""
    failures = []
    for route in routes:
        try:
            check(route)
        except AssertionError as error:
            failures.append(f"{route.id}: {str(error)[:300]}")
    assert not failures, f"{len(failures)} of {len(routes)} routes:\n" + "\n".join(failures)


# NUL -------------------------------------------------------------------------------------


def test_nul_in_the_path_is_a_400(client, world):
    def check(route):
        for name in route.text_arguments:
            response = send(client, world, route, path=world.url(route, **{name: "a%00b"}))
            assert_refused(response, 400, "NUL")

    on_every_route(PATH_TEXT_ROUTES, check)


def test_nul_in_the_query_string_is_a_400(client, world):
    before = _changes()

    def check(route):
        for query in ({"course_id": "a\x00b"}, {"user_id": "\x00"}, {"page\x00": "1"},
                      {field: f"{field}\x00" for field in KNOWN_FIELDS}):
            assert_refused(send(client, world, route, query=query), 400, "NUL")

    on_every_route(ROUTES, check)
    assert _changes() == before


def test_nul_in_a_form_field_is_a_400(client, world):
    before = _changes()

    def check(route):
        for form in ({"username": "a\x00", "password": "x"},
                     {"grant_type": "client_credentials", "client_id": "\x00"},
                     {field: f"{field}\x00" for field in KNOWN_FIELDS}):
            assert_refused(send(client, world, route, data=form), 400, "NUL")

    on_every_route(BODY_ROUTES, check)
    assert _changes() == before


def test_nul_in_a_json_string_is_a_400(client, world):
    before = _changes()
    code = world.rpnow_attempt.attempt_code

    def check(route):
        for body in ({"exam_id": world.values["exam_id"], "action": "submit\x00"},
                     {"course_id": "a\x00b", "content_id": "x"},
                     [{"content_id": "x", "exam_name": "\x00"}],
                     {"reviewStatus": "Clean",
                      "examMetaData": {"examCode": code + "\x00",
                                       "ssiRecordLocator": "LOC-HOSTILE"}},
                     {"status": "passed", "comments": [{"comment": "x", "status": "\x00"}]},
                     {"nested": {"key\x00": 1}}):
            assert_refused(send(client, world, route, json=body), 400, "NUL")
            assert_refused(send(client, world, route, data=json.dumps(body),
                                headers={"Content-Type": "text/plain"}), 400, "NUL")

    on_every_route(BODY_ROUTES, check)
    assert _changes() == before


def test_nul_on_the_anonymous_endpoints_named_by_the_fuzzer(client, app):
    """Sign-in, the token endpoint and the RPNow launch: no session, no token."""
    assert_refused(client.post("/login", data={"username": "a\x00", "password": "p"}), 400,
                   "NUL")
    assert_refused(client.post("/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "c\x00", "client_secret": "s"}),
        400, "NUL")
    assert_refused(client.get(
        "/api/edx_proctoring/proctoring_launch_callback/start_exam/abc%00def"), 400, "NUL")
    basic = base64.b64encode(b"client\x00id:secret").decode()
    assert_refused(client.post("/oauth2/access_token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {basic}"}), 400, "NUL")


# Integers that do not fit -----------------------------------------------------------------


def test_an_id_too_large_for_the_column_is_a_404(client, world):
    def check(route):
        for number in ("2147483648", "99999999999999999999"):
            for name in route.int_arguments:
                response = send(client, world, route, path=world.url(route, **{name: number}))
                assert_refused(response, 404)

    on_every_route(PATH_INT_ROUTES, check)


HUGE = 99999999999999999999


def test_a_number_too_large_in_a_body_is_never_a_5xx(client, world):
    """Endpoints that ignore these fields may succeed; none may fail on them."""

    def check(route):
        for number in (-HUGE, 1e308):
            body = {field: number for field in KNOWN_FIELDS}
            body.update(exam_ids=[number], user_ids=[number], user_info=[number])
            for payload in (body, {"exam_id": number},
                            {"exam_id": world.values["exam_id"], "user_id": number,
                             "action": "submit"},
                            [{"content_id": "n", "exam_name": "n", "time_limit_mins": number}]):
                for kind in ("json", "data"):
                    if kind == "data" and payload is not body:
                        continue
                    response = send(client, world, route, **{kind: payload})
                    assert response.status_code < 500, (kind, payload, response.status_code)
                    if 400 <= response.status_code < 500 and route.is_json:
                        refusal_detail(response)

    on_every_route(BODY_ROUTES, check)


def test_a_number_too_large_in_the_query_is_never_a_5xx(client, world):
    def check(route):
        for number in (str(2**31), str(HUGE), "-" + str(HUGE), "1e308"):
            response = send(client, world, route, query={
                "user_id": number, "page": number, "exam": number, "course_id": number})
            assert response.status_code < 500, (number, response.status_code)

    on_every_route([r for r in ROUTES if r.method == "GET"], check)


# Nesting and size -------------------------------------------------------------------------


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deeply_nested_json_is_a_400(client, world):
    """Also on the RPNow review callback, where it used to fail before authentication."""
    before = _changes()

    def check(route):
        for body, content_type in ((deep(5000), "application/json"),
                                   ('{"a":' * 5000 + "1" + "}" * 5000, "text/plain"),
                                   (deep(33), "application/json")):
            response = send(client, world, route, data=body,
                            headers={"Content-Type": content_type})
            assert_refused(response, 400, "nested more than 32 levels")

    on_every_route(ROUTES, check)
    assert _changes() == before


def test_a_body_over_the_limit_is_a_413(client, world):
    big = {"exam_name": "x" * (1024 * 1024)}

    def check(route):
        assert_refused(send(client, world, route, json=big), 413)
        assert_refused(send(client, world, route, data=big), 413)

    on_every_route(BODY_ROUTES, check)


def test_the_limits_are_configurable(app, client, world):
    route = next(r for r in BODY_ROUTES if r.endpoint == "api.create_attempt")
    app.config.update(MAX_JSON_DEPTH=3, MAX_CONTENT_LENGTH=200)
    try:
        assert_refused(send(client, world, route, json={"a": [[[1]]]}), 400, "3 levels")
        assert_refused(send(client, world, route, json={"exam_name": "x" * 300}), 413)
        accepted = send(client, world, route, json={"exam_id": world.values["exam_id"]})
        assert accepted.status_code not in (400, 413) or "exam" in accepted.json["detail"]
    finally:
        app.config.update(MAX_JSON_DEPTH=32, MAX_CONTENT_LENGTH=1024 * 1024)


def test_nesting_depth_ignores_brackets_inside_strings():
    from proctor_web.request_guard import json_nesting_depth

    assert json_nesting_depth(b'{"a": "[[[[[[", "b": [{"c": "\\"]]]"}]}') == 3
    assert json_nesting_depth(deep(40).encode()) == 40


# Dates ------------------------------------------------------------------------------------

BAD_DATES = ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01",
             "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "1899-12-31", "2026-02-30",
             "not a date"]


@pytest.mark.parametrize("value", BAD_DATES)
def test_out_of_range_dates_are_a_400_naming_the_field(client, world, value):
    exam_id = world.values["exam_id"]
    api = "/api/edx_proctoring/v1/proctored_exam"
    before = _changes()
    for method, url, kwargs in (
        ("POST", f"{api}/exam", {"json": {"course_id": world.course_id, "content_id": "d1",
                                          "exam_name": "D", "time_limit_mins": 30,
                                          "due_date": value}}),
        ("PUT", f"{api}/exam", {"json": {"exam_id": exam_id, "due_date": value}}),
        ("PATCH", f"{api}/exam_registration/course_id/{world.course_id}",
         {"json": [{"content_id": "d2", "exam_name": "D", "time_limit_mins": 30,
                    "due_date": value}]}),
        ("POST", f"/courses/{world.course_id}/instructor/exams/new",
         {"data": {"exam_name": "D", "content_id": "d3", "time_limit_mins": "30",
                   "exam_type": "timed", "due_date": value}}),
        ("POST", f"/courses/{world.course_id}/instructor/exams/{exam_id}/edit",
         {"data": {"exam_name": "D", "content_id": "hostile-proctored", "time_limit_mins": "30",
                   "exam_type": "proctored", "due_date": value}}),
    ):
        response = client.open(url, method=method, **kwargs)
        assert 400 <= response.status_code < 500, (url, response.status_code)
        assert "due_date" in refusal_detail(response) or "due date" in refusal_detail(
            response).lower(), (url, refusal_detail(response)[:300])
    assert db.session.get(Exam, exam_id).due_date is None
    assert _changes() == before


# Wrong shapes -----------------------------------------------------------------------------


def test_a_wrong_shape_where_text_or_a_list_is_expected_is_never_a_5xx(client, world):
    """Lists and objects where text is expected, and text where a list or object is."""
    code = world.rpnow_attempt.attempt_code
    bodies: list = ["just text", {field: "text" for field in KNOWN_FIELDS}]
    for shape in (["a", "b"], {"a": "b"}):
        every_field = {field: shape for field in KNOWN_FIELDS}
        bodies += [every_field, [every_field], {"status": shape, "comments": shape},
                   {"reviewStatus": shape,
                    "examMetaData": {"examCode": code, "ssiRecordLocator": "LOC-HOSTILE"}}]

    def check(route):
        for body in bodies:
            response = send(client, world, route, json=body)
            assert response.status_code < 500, (body, response.status_code)
            if response.status_code >= 400 and route.is_json:
                refusal_detail(response)

    on_every_route(BODY_ROUTES, check)


# Strings longer than their column ---------------------------------------------------------


def test_a_string_longer_than_its_column_is_never_a_5xx(client, world):
    long_text = "L" * 3000
    body = {field: long_text for field in KNOWN_FIELDS}

    def check(route):
        for payload in ({"json": body}, {"data": body}, {"json": [body]}):
            response = send(client, world, route, **payload)
            assert response.status_code < 500, (list(payload), response.status_code)

    on_every_route(BODY_ROUTES, check)


@pytest.mark.parametrize(("field", "length"), [("external_id", 255), ("content_url", 2000),
                                               ("content_id", 255), ("course_id", 255)])
def test_over_long_exam_fields_are_a_400_naming_the_field(client, world, field, length):
    body = {"course_id": world.course_id, "content_id": "long-1", "exam_name": "Long",
            "time_limit_mins": 30}
    body[field] = "/" + "x" * length if field == "content_url" else "x" * (length + 1)
    response = client.post("/api/edx_proctoring/v1/proctored_exam/exam", json=body)
    assert_refused(response, 400, field, str(length))
    fits = dict(body, **{field: body[field][:length]})
    assert client.post("/api/edx_proctoring/v1/proctored_exam/exam", json=fits).status_code == 200


def test_the_column_check_covers_every_writer(app, factory):
    """A service handed an over-long value refuses it at flush, on SQLite as on PostgreSQL."""
    from proctor_web.errors import BadRequest

    exam = factory.exam("timed")
    exam.external_id = "y" * 256
    with pytest.raises(BadRequest, match="external_id: at most 255"):
        db.session.flush()
    db.session.rollback()


# Review callbacks -------------------------------------------------------------------------

RPNOW_URL = "/api/edx_proctoring/proctoring_review_callback/"


def rpnow_review(code: str, **changes) -> dict:
    body = {
        "reviewStatus": "Clean",
        "examMetaData": {"examCode": code, "ssiRecordLocator": "LOC-HOSTILE"},
        "webCamComments": [{"comments": "ok", "eventStatus": "Clean", "eventStart": 1,
                            "eventFinish": 2, "duration": 1}],
        "desktopComments": [],
    }
    body.update(changes)
    return body


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


RPNOW_BROKEN = {
    "webCamComments-null": lambda code: rpnow_review(code, webCamComments=None),
    "desktopComments-string": lambda code: rpnow_review(code, desktopComments="none"),
    "comment-without-eventStatus": lambda code: rpnow_review(
        code, webCamComments=[{"comments": "x", "eventStart": 1}]),
    "comment-not-an-object": lambda code: rpnow_review(code, webCamComments=["x"]),
    "eventStatus-a-list": lambda code: rpnow_review(
        code, webCamComments=[{"comments": "x", "eventStatus": ["Clean"]}]),
    "comment-time-infinite": lambda code: rpnow_review(
        code, webCamComments=[{"eventStatus": "Clean", "eventStart": "inf"}]),
    "comment-time-too-large": lambda code: rpnow_review(
        code, webCamComments=[{"eventStatus": "Clean", "duration": 2**31}]),
    "no-ssiRecordLocator": lambda code: rpnow_review(code, examMetaData={"examCode": code}),
    "no-reviewStatus": lambda code: _without(rpnow_review(code), "reviewStatus"),
    "reviewStatus-a-list": lambda code: rpnow_review(code, reviewStatus=["Clean"]),
    "reviewStatus-an-object": lambda code: rpnow_review(code, reviewStatus={"a": 1}),
    "examMetaData-a-list": lambda code: rpnow_review(code, examMetaData=[code]),
    "examCode-a-number": lambda code: rpnow_review(
        code, examMetaData={"examCode": 12, "ssiRecordLocator": "LOC-HOSTILE"}),
}


@pytest.mark.parametrize("broken", list(RPNOW_BROKEN), ids=list(RPNOW_BROKEN))
def test_broken_rpnow_reviews_are_a_400_and_store_nothing(client, world, broken):
    attempt = world.rpnow_attempt
    before = _changes()
    response = client.post(RPNOW_URL, json=RPNOW_BROKEN[broken](attempt.attempt_code),
                           headers=world.headers())
    assert_refused(response, 400)
    assert _changes() == before
    assert db.session.get(Attempt, attempt.id).status == "submitted"
    # The same review, well formed, is accepted: the refusal was about the broken part.
    good = client.post(RPNOW_URL, json=rpnow_review(attempt.attempt_code),
                       headers=world.headers())
    assert good.status_code == 200, good.json


REST_BROKEN = {
    "comments-null": {"status": "passed", "comments": None},
    "comment-without-status": {"status": "passed", "comments": [{"comment": "x"}]},
    "comment-status-a-list": {"status": "passed", "comments": [{"status": ["x"]}]},
    "comment-text-an-object": {"status": "passed", "comments": [{"status": "x",
                                                                  "comment": {"a": 1}}]},
    "no-status": {"comments": []},
    "status-a-list": {"status": ["passed"]},
    "start-infinite": {"status": "passed", "comments": [{"status": "x", "start": 1e400}]},
    "stop-too-large": {"status": "passed", "comments": [{"status": "x", "stop": HUGE}]},
    "reviewed_by-a-list": {"status": "passed", "reviewed_by": ["a@b.c"]},
}


@pytest.mark.parametrize("broken", list(REST_BROKEN), ids=list(REST_BROKEN))
def test_broken_rest_reviews_are_a_400_and_store_nothing(client, world, broken):
    attempt = world.attempt
    url = f"/api/edx_proctoring/v1/proctored_exam/attempt/{attempt.external_id}/reviewed"
    before = _changes()
    response = client.post(url, data=json.dumps(REST_BROKEN[broken]),
                           headers={**world.headers(), "Content-Type": "application/json"})
    assert_refused(response, 400)
    assert _changes() == before
    assert db.session.get(Attempt, attempt.id).status == "started"
