"""Property: whatever a client sends to a JSON endpoint, a webhook or a page, it is not a 5xx.

Hypothesis generates bodies (JSON of any shape, forms, raw text), query strings and path
values, mixing hostile values (NUL, huge numbers, odd dates, deep-ish nesting, wrong types)
with real ids and words the endpoints expect, so examples get past validation into the
services. Each example goes to every JSON route of ``app.url_map`` as signed-in staff, as a
signed-in learner and anonymously (and to every page and form as staff); staff requests also
carry the provider's bearer token and an RPNow signature (or callback secret), so callbacks
are fuzzed past authentication.

The figures (requests sent, 5xx seen) are printed at the end of each run.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctor_web.backends import rpnow_signing as rpnow
from proctor_web.models import utcnow
from tests.conftest import make_sign_in
from tests.hostile import KNOWN_FIELDS, ROUTES, RPNOW_SETTINGS, Route, World

FUZZ_ROUTES = [r for r in ROUTES if r.is_json]
#: People's pages and forms, fuzzed as staff too (signing out would end the pass early).
PAGE_ROUTES = [r for r in ROUTES if not r.is_json and r.endpoint != "auth.logout"]
RPNOW_REVIEW = "/api/edx_proctoring/proctoring_review_callback/"
EXAMPLES = 12  # per auth mode and database; each example is sent to every JSON route

HOSTILE_TEXT = ["\x00", "a\x00b", "x" * 300, "'; DROP TABLE users; --", "../../etc/passwd",
                "9999-12-31T23:59:59-23:59", "0000-01-01", "2026-02-30T25:61:00Z", "NaN",
                "inf", "-1", "1e400", "\ud7ff\ue000", "%00", "true", "null", "[]", "{}"]
HOSTILE_NUMBERS = [0, -1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**20, 1e308, -1e308, 0.5]
EXPECTED_WORDS = ["submit", "start", "stop", "error", "decline", "click_download_software",
                  "reset_exam_attempt", "ping", "passed", "violation", "suspicious",
                  "not_reviewed", "ready", "Clean", "Suspicious", "Rules Violation",
                  "Not Reviewed", "additional_time_granted", "review_policy_exception",
                  "time_multiplier", "client_credentials", "timed", "proctored", "practice",
                  "onboarding", "mock", "null", "software_secure", "2026-12-01T17:00:00Z"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HOSTILE_NUMBERS),
    st.floats(), st.text(max_size=20),  # NaN and Infinity too: Python reads them
    st.sampled_from(HOSTILE_TEXT), st.sampled_from(EXPECTED_WORDS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_FIELDS) | st.text(max_size=6), children,
                      max_size=3),
    max_leaves=8,
)


@st.composite
def requests(draw: st.DrawFn, world: World) -> dict[str, Any]:
    """One request shape: body, encoding, query and path values, near-valid or hostile."""
    real = st.sampled_from([world.values[k] for k in ("exam_id", "user_id", "attempt_id")]
                           + [world.course_id, world.rpnow_attempt.attempt_code])
    value = st.one_of(json_values, real)
    fields = draw(st.dictionaries(st.sampled_from(KNOWN_FIELDS), value, max_size=6))
    if draw(st.booleans()):  # the RPNow review shape, naming a real attempt
        fields["examMetaData"] = {"examCode": draw(st.sampled_from(
            [world.rpnow_attempt.attempt_code, "unknown"])) ,
            "ssiRecordLocator": draw(st.sampled_from(["LOC-HOSTILE", "loc-hostile"]) | value)}
        fields.setdefault("reviewStatus", draw(st.sampled_from(["Clean", "Suspicious"]) | value))
    body = draw(st.one_of(st.just(fields), json_values, st.lists(st.just(fields), max_size=2)))
    encoding = draw(st.sampled_from(["json", "form", "text"]))
    query = draw(st.dictionaries(st.sampled_from(KNOWN_FIELDS),
                                 st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE_TEXT),
                                           real.map(str)), max_size=3))
    path_value = draw(st.none() | st.text(max_size=12) | st.sampled_from(
        ["0", "-1", "2147483648", "99999999999999999999", "%00", "..", "a b"]))
    return {"body": body, "encoding": encoding, "query": query, "path_value": path_value}


def _form(body: Any) -> dict[str, str] | None:
    if not isinstance(body, dict):
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}


def _send(client, world: World, route: Route, request: dict[str, Any], authed: bool):
    overrides = {}
    if request["path_value"] is not None:
        for name in route.text_arguments + route.int_arguments:
            overrides[name] = request["path_value"].replace("/", "%2F").replace("?", "%3F")
    headers = world.headers() if authed else {}
    body, kwargs = request["body"], {}
    if request["encoding"] == "json":
        kwargs["json"] = body
    elif request["encoding"] == "form" and _form(body) is not None:
        kwargs["data"] = _form(body)
    else:
        kwargs["data"] = json.dumps(body)
        headers["Content-Type"] = "text/plain"  # RPNow's habit: JSON under another type
    if authed and route.rule == RPNOW_REVIEW and isinstance(body, dict):
        headers.pop("X-Proctor-Callback-Secret", None)
        headers.update(rpnow.signed_headers("POST", body, RPNOW_SETTINGS["secret_key_id"],
                                            RPNOW_SETTINGS["secret_key"], utcnow()))
    response = client.open(world.url(route, **overrides), method=route.method,
                           query_string=request["query"], headers=headers, **kwargs)
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize(("caller", "surface"), [
    ("staff", "json"), ("learner", "json"), ("anonymous", "json"), ("staff", "page")])
def test_no_input_makes_an_endpoint_answer_5xx(app, client, world, caller, surface, capsys):
    routes = FUZZ_ROUTES if surface == "json" else PAGE_ROUTES
    sign_in = make_sign_in(app, client)
    sign_in({"staff": world.staff, "learner": world.learner, "anonymous": None}[caller])
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests(world))
    def every_route(request: dict[str, Any]) -> None:
        for route in routes:
            try:
                status = _send(client, world, route, request, caller != "anonymous").status_code
            except Exception as error:  # noqa: BLE001  (under TESTING the app re-raises 500s)
                status = 500
                server_errors.append(f"{route.id}: {error!r}"[:300])
                raise AssertionError(f"{route.id} raised {error!r} for {request!r}") from error
            statuses[status] += 1
            if status >= 500:
                server_errors.append(f"{route.id}: {status}")
            assert status < 500, f"{route.id} answered {status} to {request!r}"

    try:
        every_route()
    finally:
        sent = sum(statuses.values()) + len([e for e in server_errors if "raised" in e])
        with capsys.disabled():
            print(f"\nfuzz ({caller}, {len(routes)} {surface} routes): {sent} requests, "
                  f"{len(server_errors)} 5xx; answers {dict(sorted(statuses.items()))}")
    assert server_errors == []
    # The fuzz must reach past authentication, not only collect refusals at the door.
    if caller != "anonymous":
        assert sum(n for s, n in statuses.items() if s < 400) > 0, statuses
