"""The learner JSON API under /api/edx_proctoring/v1/: paths, fields and errors as in
edx-proctoring, ownership everywhere, and a client flow as Open edX's special-exams library
drives it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proctor_web.extensions import db
from proctor_web.models import Allowance, Attempt
from proctor_web.services import attempts
from proctor_web.services.learner import payloads
from tests.conftest import make_sign_in


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)

API = "/api/edx_proctoring/v1/proctored_exam"
ENCODED_COURSE = "course-v1%3ATestX%2BT101%2B2026"


@pytest.fixture
def now():
    """Requests run on the real clock, so the rows are stamped with it too."""
    from proctor_web.models import utcnow

    return utcnow()


@pytest.fixture
def world(factory, now):
    factory.course(proctoring_escalation_email="exams@course.example",
                   allow_proctoring_opt_out=True)
    data = {
        "alice": factory.learner(username="alice"),
        "bob": factory.learner(username="bob"),
        "staff": factory.course_staff(username="teacher"),
        "timed": factory.exam("timed", content_id="timed-1", time_limit_mins=30),
        "proctored": factory.exam("proctored", content_id="proctored-1"),
        "onboarding": factory.exam("onboarding", content_id="onboarding-1"),
    }
    db.session.commit()
    return data


def put(client, attempt_id, **body):
    return client.put(f"{API}/attempt/{attempt_id}", json=body)


# Create ------------------------------------------------------------------------------------


def test_create_timed_attempt_with_string_booleans(world, sign_in, client):
    sign_in(world["alice"])
    response = client.post(f"{API}/attempt", data={"exam_id": str(world["timed"].id),
                                                   "start_clock": "true"})
    assert response.status_code == 200, response.json
    attempt = db.session.get(Attempt, response.json["exam_attempt_id"])
    assert attempt.status == "started"
    assert response.json["timer_ends"] == payloads.iso(attempt.started_at + timedelta(minutes=30))
    assert response.json["server_time"]


def test_create_proctored_attempt_registers_with_the_provider(world, sign_in, client):
    sign_in(world["alice"])
    response = client.post(f"{API}/attempt", json={
        "exam_id": world["proctored"].id, "attempt_proctored": "true", "start_clock": "false"})
    attempt = db.session.get(Attempt, response.json["exam_attempt_id"])
    assert (attempt.status, attempt.taking_as_proctored) == ("created", True)
    assert attempt.external_id == attempt.attempt_code  # the mock provider's id
    assert response.json["timer_ends"] is None


def test_create_declined_attempt(world, sign_in, client):
    sign_in(world["alice"])
    response = client.post(f"{API}/attempt", json={
        "exam_id": world["proctored"].id, "attempt_proctored": "false"})
    assert db.session.get(Attempt, response.json["exam_attempt_id"]).status == "declined"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "exam_id"),
    ({"exam_id": "abc"}, "exam_id"),
    ({"exam_id": "1", "start_clock": "maybe"}, "start_clock"),
])
def test_create_bad_input(world, sign_in, client, body, message):
    sign_in(world["alice"])
    response = client.post(f"{API}/attempt", data=body)
    assert response.status_code == 400
    assert message in response.json["detail"]


def test_create_twice_is_400_and_unknown_exam_404(world, sign_in, client):
    sign_in(world["alice"])
    body = {"exam_id": world["timed"].id, "start_clock": "true"}
    assert client.post(f"{API}/attempt", json=body).status_code == 200
    second = client.post(f"{API}/attempt", json=body)
    assert second.status_code == 400 and "already has an attempt" in second.json["detail"]
    assert client.post(f"{API}/attempt", json={"exam_id": 99999}).status_code == 404


def test_create_needs_enrollment_and_staff_cannot_take(world, factory, sign_in, client):
    outsider = factory.user()
    db.session.commit()
    sign_in(outsider)
    assert client.post(f"{API}/attempt", json={"exam_id": world["timed"].id}).status_code == 403
    sign_in(world["staff"])
    response = client.post(f"{API}/attempt", json={"exam_id": world["timed"].id})
    assert response.status_code == 403 and "preview" in response.json["detail"]


def test_anonymous_gets_401_everywhere(world, client):
    for method, url in [
        ("post", f"{API}/attempt"), ("get", f"{API}/attempt"), ("get", f"{API}/attempt/1"),
        ("put", f"{API}/attempt/1"), ("put", f"{API}/attempt/1/review_status"),
        ("get", f"{API}/attempt/course_id/{ENCODED_COURSE}?content_id=timed-1"),
        ("get", f"{API}/active_attempt"), ("get", f"{API}/settings/exam_id/1/"),
        ("get", f"{API}/review_policy/exam_id/1/"),
        ("get", f"{API}/active_exams_for_user?course_id={ENCODED_COURSE}"),
        ("get", f"/api/edx_proctoring/v1/user_onboarding/status?course_id={ENCODED_COURSE}"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, (method, url)
        assert response.json == {"detail": "Authentication credentials were not provided."}


# Read by id: the poll --------------------------------------------------------------------


def test_get_attempt_owner_other_and_missing(world, factory, sign_in, client):
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=10,
                              allowed_time_limit_mins=30)
    db.session.commit()
    sign_in(world["alice"])
    data = client.get(f"{API}/attempt/{attempt.id}").json
    assert data["status"] == data["attempt_status"] == "started"
    assert data["time_remaining_seconds"] == pytest.approx(20 * 60, abs=5)
    for field in ("attempt_id", "attempt_code", "exam_display_name", "exam_url_path",
                  "total_time", "in_timed_exam", "taking_as_proctored", "exam_started_poll_url",
                  "desktop_application_js_url", "ping_interval", "timer_ends",
                  "attempt_ready_to_resume", "use_legacy_attempt_api", "low_threshold_sec",
                  "critically_low_threshold_sec", "accessibility_time_string", "server_time",
                  "user", "proctored_exam"):
        assert field in data, field
    assert data["low_threshold_sec"] == 360 and data["critically_low_threshold_sec"] == 90
    assert data["exam_url_path"] == f"/courses/{ENCODED_COURSE}/exams/timed-1"
    assert data["exam_started_poll_url"] == f"{API}/attempt/{attempt.id}"
    sign_in(world["bob"])
    assert client.get(f"{API}/attempt/{attempt.id}").status_code == 403
    assert client.get(f"{API}/attempt/987654").status_code == 404


def test_reading_an_attempt_expires_it(world, factory, sign_in, client):
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=45,
                              allowed_time_limit_mins=30)
    started = attempt.started_at
    db.session.commit()
    sign_in(world["alice"])
    data = client.get(f"{API}/attempt/{attempt.id}").json
    assert data["status"] == "submitted"
    assert data["timer_ends"] is None
    assert data["completed_at"] == payloads.iso(started + timedelta(minutes=30))


def test_poll_reports_ready_when_the_mock_provider_is(world, sign_in, client):
    sign_in(world["alice"])
    attempt_id = client.post(f"{API}/attempt", json={
        "exam_id": world["proctored"].id, "attempt_proctored": "true"}).json["exam_attempt_id"]
    assert client.get(f"{API}/attempt/{attempt_id}").json["status"] == "created"
    assert put(client, attempt_id, action="click_download_software").status_code == 200
    # The test configuration's mock provider is ready as soon as the software is opened.
    assert client.get(f"{API}/attempt/{attempt_id}").json["status"] == "ready_to_start"
    history = attempts.history_of(attempt_id)
    assert history[-1].actor_kind == "provider" and history[-1].action == "ready"


def _bulk_data(factory, now, count: int) -> None:
    for _ in range(count):
        exam = factory.exam("proctored")
        learner_user = factory.learner()
        factory.attempt(exam, learner_user, "started", started_minutes_ago=5)
        db.session.add(Allowance(user_id=learner_user.id, exam_id=exam.id,
                                 key="additional_time_granted", value="10",
                                 created=now, modified=now))


@pytest.mark.parametrize("status", ["started", "created", "download_software_clicked",
                                    "submitted"])
def test_poll_is_one_query(world, factory, now, sign_in, client, count_queries,
                                         status):
    _bulk_data(factory, now, 3)
    started = 5 if status == "started" else None
    attempt = factory.attempt(world["proctored"], world["alice"], status,
                              started_minutes_ago=started)
    db.session.commit()
    attempt_id = attempt.id  # read now: inside the counted block it would be a query itself
    sign_in(world["alice"])
    client.get(f"{API}/attempt/{attempt_id}")  # warm-up: metadata, first-request work
    with count_queries() as small:
        assert client.get(f"{API}/attempt/{attempt_id}").status_code == 200
    _bulk_data(factory, now, 25)
    db.session.commit()
    with count_queries() as large:
        assert client.get(f"{API}/attempt/{attempt_id}").json["status"] == status
    # The attempt, its exam, its learner (who is the signed-in user) and its timer facts in
    # one SELECT; nothing written, so no COMMIT either (issue 9: at most two statements).
    assert small.count == 1, [q[:200] for q in small.statements]
    assert small.statements[0].lstrip().upper().startswith("SELECT"), small.statements
    assert large.count == small.count, large.statements


def test_the_one_query_poll_still_checks_who_asks(world, factory, now, sign_in, client,
                                                  app):
    """The poll signs its learner in from the attempt's own row; every refusal stays."""
    attempt = factory.attempt(world["proctored"], world["alice"], "started",
                              started_minutes_ago=5)
    db.session.commit()
    attempt_id, missing = attempt.id, attempt.id + 1000
    url = f"{API}/attempt/{attempt_id}"
    assert client.get(url).status_code == 401  # nobody signed in
    sign_in(world["bob"])
    assert client.get(url).status_code == 403  # someone else's attempt
    sign_in(world["alice"])
    assert client.get(url).status_code == 200
    assert client.get(f"{API}/attempt/{missing}").status_code == 404
    # Signed out elsewhere (the token rotated): the captured cookie gets 401 for an attempt
    # that exists and one that does not, so it learns nothing.
    alice = db.session.get(type(world["alice"]), world["alice"].id)
    alice.rotate_session_token()
    db.session.commit()
    from flask import g

    g.pop("_login_user", None)
    assert client.get(url).status_code == 401
    g.pop("_login_user", None)
    assert client.get(f"{API}/attempt/{missing}").status_code == 401
    # Session protection: the same cookie from another browser is refused.
    sign_in(world["alice"])
    g.pop("_login_user", None)
    assert client.get(url, headers={"User-Agent": "another browser"}).status_code == 401


@pytest.mark.parametrize("status", ["created", "download_software_clicked", "ready_to_start",
                                    "started", "ready_to_submit", "submitted", "verified",
                                    "error"])
def test_poll_snapshot_answers_as_the_orm_view(world, factory, now, status):
    """The poll's read-only copies give the very payload the ORM view gives, in every
    status, with an allowance and a software click among the timer facts."""
    from sqlalchemy.orm.exc import DetachedInstanceError

    from proctor_web.services.learner import loading

    started = 5 if status in ("started", "ready_to_submit", "submitted", "verified",
                              "error") else None
    attempt = factory.attempt(world["proctored"], world["alice"], status,
                              started_minutes_ago=started, ready_to_resume=status == "error")
    db.session.add(Allowance(user_id=world["alice"].id, exam_id=world["proctored"].id,
                             key="additional_time_granted", value="15"))
    if status == "created":  # a click in the history: the view's software_clicked_at
        attempts.apply_action(attempt, attempts.Action.CLICK_DOWNLOAD_SOFTWARE,
                              attempts.Actor.learner(world["alice"]), now)
    db.session.commit()
    snapshot = loading.peek_attempt_view(attempt.id)
    view = loading.load_attempt_view(attempt.id)
    assert snapshot.attempt is not view.attempt  # a copy, in no session
    assert (snapshot.extra_minutes, snapshot.course_end, snapshot.software_clicked_at) == (
        view.extra_minutes, view.course_end, view.software_clicked_at)
    assert payloads.attempt_payload(snapshot, now) == payloads.attempt_payload(view, now)
    # What the row does not hold is refused, never loaded behind the poll's back or guessed.
    with pytest.raises(DetachedInstanceError):
        _ = snapshot.attempt.user.memberships
    assert loading.peek_attempt_view(attempt.id + 1000) is None


def test_poll_that_must_write_takes_the_orm_path(world, factory, sign_in, client):
    """A poll whose learner's language changed stores it (and so does not answer from the
    read-only copies); the next poll in the same language writes nothing."""
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    db.session.commit()
    sign_in(world["alice"])
    url = f"{API}/attempt/{attempt.id}"
    assert client.get(url, headers={"Accept-Language": "es"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(type(world["alice"]), world["alice"].id).locale == "es"
    assert client.get(url, headers={"Accept-Language": "es"}).json["status"] == "started"


# PUT actions -----------------------------------------------------------------------------


def test_proctored_flow_through_put_actions(world, sign_in, client):
    sign_in(world["alice"])
    attempt_id = client.post(f"{API}/attempt", json={
        "exam_id": world["proctored"].id, "attempt_proctored": "true"}).json["exam_attempt_id"]
    refused = put(client, attempt_id, action="start")
    assert refused.status_code == 400 and "not reported" in refused.json["detail"]
    put(client, attempt_id, action="click_download_software")
    client.get(f"{API}/attempt/{attempt_id}")  # the poll that finds the provider ready
    for action, status in [("start", "started"), ("stop", "ready_to_submit"),
                           ("start", "started"), ("stop", "ready_to_submit"),
                           ("submit", "submitted")]:
        response = put(client, attempt_id, action=action)
        assert response.status_code == 200, response.json
        assert response.json["exam_attempt_id"] == attempt_id
        assert db.session.get(Attempt, attempt_id).status == status
    again = put(client, attempt_id, action="submit")
    assert again.status_code == 400 and "submitted" in again.json["detail"]


def test_put_unknown_or_missing_action_is_400(world, factory, sign_in, client):
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    db.session.commit()
    sign_in(world["alice"])
    response = put(client, attempt.id, action="fly")
    assert response.status_code == 400 and "Unknown action 'fly'" in response.json["detail"]
    assert put(client, attempt.id).status_code == 400
    bad_json = client.put(f"{API}/attempt/{attempt.id}", data="[1]",
                          content_type="application/json")
    assert bad_json.status_code == 400


def test_put_other_learners_attempt_is_403(world, factory, sign_in, client):
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    db.session.commit()
    sign_in(world["bob"])
    assert put(client, attempt.id, action="submit").status_code == 403
    assert put(client, attempt.id, action="submit", user_id=world["alice"].id).status_code == 403
    assert db.session.get(Attempt, attempt.id).status == "started"


def test_error_saves_time_and_detail_but_not_at_the_submit_page(world, factory, sign_in, client):
    running = factory.attempt(world["proctored"], world["alice"], "started",
                              started_minutes_ago=20)
    db.session.commit()
    sign_in(world["alice"])
    response = put(client, running.id, action="error", detail="pingFailed: app closed")
    assert response.json["exam_attempt_id"] == running.id
    errored = db.session.get(Attempt, running.id)
    assert errored.status == "error" and errored.is_resumable
    assert errored.time_remaining_seconds == pytest.approx(40 * 60, abs=5)
    assert attempts.history_of(running.id)[-1].reason == "pingFailed: app closed"

    submitting = factory.attempt(world["timed"], world["alice"], "ready_to_submit",
                                 started_minutes_ago=5)
    db.session.commit()
    response = put(client, submitting.id, action="error", detail="ping failed")
    assert response.status_code == 200 and response.json["exam_attempt_id"] is False
    assert db.session.get(Attempt, submitting.id).status == "ready_to_submit"


def test_mark_ready_to_resume_is_for_course_staff_with_user_id(world, factory, sign_in, client):
    attempt = factory.attempt(world["proctored"], world["alice"], "error", is_resumable=True)
    db.session.commit()
    sign_in(world["alice"])
    assert put(client, attempt.id, action="mark_ready_to_resume").status_code == 403
    sign_in(world["staff"])
    assert put(client, attempt.id, action="mark_ready_to_resume").status_code == 403
    wrong = put(client, attempt.id, action="mark_ready_to_resume", user_id=world["bob"].id)
    assert wrong.status_code == 400
    ok = put(client, attempt.id, action="mark_ready_to_resume", user_id=world["alice"].id)
    assert ok.status_code == 200
    assert db.session.get(Attempt, attempt.id).ready_to_resume
    # The learner's next "create" resumes with the saved time.
    sign_in(world["alice"])
    resumed = client.post(f"{API}/attempt", json={"exam_id": world["proctored"].id,
                                                  "attempt_proctored": "true"})
    assert resumed.status_code == 200 and resumed.json["exam_attempt_id"] != attempt.id


def test_reset_attempt_returns_the_new_attempt(world, factory, sign_in, client):
    practice = factory.exam("practice")
    old = factory.attempt(practice, world["alice"], "submitted")
    db.session.commit()
    sign_in(world["alice"])
    response = put(client, old.id, action="reset_attempt")
    assert response.status_code == 200
    new_id = response.json["exam_attempt_id"]
    assert new_id != old.id
    assert db.session.get(Attempt, old.id).status == "onboarding_reset"
    assert db.session.get(Attempt, new_id).status == "created"
    # Not for real exams.
    real = factory.attempt(world["timed"], world["alice"], "submitted")
    db.session.commit()
    assert put(client, real.id, action="reset_attempt").status_code == 400


def test_decline(world, factory, sign_in, client):
    other = factory.exam("proctored")
    attempt = factory.attempt(world["proctored"], world["alice"], "created")
    db.session.commit()
    sign_in(world["bob"])
    assert put(client, attempt.id, action="decline").status_code == 403
    sign_in(world["alice"])
    assert put(client, attempt.id, action="decline").status_code == 200
    assert db.session.get(Attempt, attempt.id).status == "declined"
    # Declining at creation cascades to the course's other unstarted proctored exams.
    sign_in(world["bob"])
    client.post(f"{API}/attempt", json={"exam_id": other.id, "attempt_proctored": "false"})
    assert attempts.current_attempt(world["proctored"], world["bob"]).status == "declined"


# Other reads -------------------------------------------------------------------------------


def test_timer_payload_and_active_attempt(world, factory, sign_in, client):
    sign_in(world["alice"])
    empty = client.get(f"{API}/attempt").json
    assert empty["timer_ends"] is None and empty["server_time"]
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=2)
    db.session.commit()
    for url in (f"{API}/attempt", f"{API}/active_attempt"):
        data = client.get(url).json
        assert data["attempt_id"] == attempt.id and data["timer_ends"]
    sign_in(world["bob"])
    assert "attempt_id" not in client.get(f"{API}/active_attempt").json
    forbidden = client.get(f"{API}/active_attempt?user_id={world['alice'].id}")
    assert forbidden.status_code == 403


def test_timer_payload_is_one_query_while_an_exam_runs(world, factory, sign_in, client,
                                                       count_queries):
    """GET proctored_exam/attempt: the running attempt, its exam, its learner (who is the
    signed-in user) and its timer facts in one SELECT, as the poll; with nothing running,
    that SELECT and the user's own; nothing committed when nothing changed."""
    from flask import g

    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=2)
    db.session.commit()
    attempt_id, bob_id = attempt.id, world["bob"].id
    sign_in(world["alice"])
    client.get(f"{API}/attempt")  # warm-up
    g.pop("_login_user", None)
    db.session.expunge_all()  # a fresh request's session holds no rows yet
    with count_queries() as counted:
        payload = client.get(f"{API}/attempt").json
    assert payload["attempt_id"] == attempt_id and payload["in_timed_exam"] is True
    assert counted.count == 1, [q[:80] for q in counted.statements]
    assert counted.statements[0].lstrip().upper().startswith("SELECT")
    # Nothing running: the same answer as before, from the user's own row.
    sign_in(db.session.get(type(world["bob"]), bob_id))
    g.pop("_login_user", None)
    with count_queries() as counted:
        idle = client.get(f"{API}/attempt").json
    assert (idle["in_timed_exam"], idle["is_proctored"], idle["timer_ends"]) == (
        False, False, None)
    assert counted.count == 2, [q[:80] for q in counted.statements]
    assert all(q.lstrip().upper().startswith("SELECT") for q in counted.statements)


def test_timer_payload_still_checks_who_asks(world, factory, sign_in, client):
    """The one-query timer payload signs in from the running attempt's row; a missing,
    stale or borrowed session is refused as before."""
    from flask import g

    factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=2)
    db.session.commit()
    assert client.get(f"{API}/attempt").status_code == 401  # nobody signed in
    sign_in(world["alice"])
    g.pop("_login_user", None)
    assert client.get(f"{API}/attempt", headers={"User-Agent": "another browser"}
                      ).status_code == 401  # session protection (it clears the session)
    sign_in(world["alice"])
    g.pop("_login_user", None)
    assert client.get(f"{API}/attempt").json["in_timed_exam"] is True
    alice = db.session.get(type(world["alice"]), world["alice"].id)
    alice.rotate_session_token()  # signed out everywhere
    db.session.commit()
    g.pop("_login_user", None)
    assert client.get(f"{API}/attempt").status_code == 401


def test_timer_payload_that_must_write_takes_the_orm_path(world, factory, sign_in, client):
    """Time ran out: the timer payload submits the attempt on this read (the snapshot never
    answers for a read that changes something), and says no exam runs."""
    from flask import g

    attempt = factory.attempt(world["timed"], world["alice"], "started",
                              started_minutes_ago=31)
    db.session.commit()
    attempt_id = attempt.id
    sign_in(world["alice"])
    g.pop("_login_user", None)
    payload = client.get(f"{API}/attempt").json
    assert (payload["in_timed_exam"], payload["timer_ends"]) == (False, None)
    db.session.expire_all()
    assert db.session.get(Attempt, attempt_id).status == "submitted"


def test_status_write_reads_once_and_signs_in_from_its_row(world, factory, sign_in, client,
                                                            count_queries):
    """PUT attempt/<id>: the attempt (its row locked) with its learner (who is the signed-in
    user) in one SELECT, then the change and its history row; no query of the user's own,
    even with nothing signed in yet in this request (as in production), and no second read
    of the attempt by the lifecycle."""
    from flask import g

    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    db.session.commit()
    attempt_id, bob_id = attempt.id, world["bob"].id
    sign_in(world["alice"])
    g.pop("_login_user", None)
    db.session.expunge_all()  # a fresh request's session holds no rows yet
    with count_queries() as counted:
        assert put(client, attempt_id, action="stop").status_code == 200
    selects = [q for q in counted.statements if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, [q[:120] for q in selects]
    assert "FROM attempts" in " ".join(selects[0].split()), selects
    if db.engine.dialect.name == "postgresql":  # SQLite's write lock is the transaction's
        assert selects[0].rstrip().endswith("FOR UPDATE OF attempts"), selects
    writes = sorted(q.split()[0].upper() for q in counted.statements if q not in selects)
    assert writes == ["INSERT", "UPDATE"], counted.statements
    # The same refusals as before: someone else's attempt, and nobody signed in.
    sign_in(db.session.get(type(world["bob"]), bob_id))
    g.pop("_login_user", None)
    assert put(client, attempt_id, action="start").status_code == 403
    client.post("/logout", headers={"Referer": "https://localhost/"})
    g.pop("_login_user", None)
    assert put(client, attempt_id, action="start").status_code == 401


def test_exam_and_attempt_for_a_content_id(world, factory, sign_in, client):
    sign_in(world["alice"])
    url = f"{API}/attempt/course_id/{ENCODED_COURSE}?content_id=proctored-1&is_learning_mfe=true"
    data = client.get(url).json
    exam = data["exam"]
    assert exam["type"] == "proctored" and exam["attempt"] == {}
    assert exam["total_time"] == "1 hour" and exam["passed_due_date"] is False
    assert exam["onboarding_link"] == f"/courses/{ENCODED_COURSE}/exams/onboarding-1"
    assert exam["prerequisite_status"]["are_prerequisites_satisifed"] is True
    assert data["active_attempt"] == {} and data["server_time"]
    factory.attempt(world["proctored"], world["alice"], "started", started_minutes_ago=3)
    db.session.commit()
    data = client.get(url).json
    assert data["exam"]["attempt"]["attempt_status"] == "started"
    assert data["active_attempt"]["attempt_id"] == data["exam"]["attempt"]["attempt_id"]
    assert data["timer_ends"] == data["active_attempt"]["timer_ends"]
    # Unknown content: an empty exam, as edx-proctoring answers.
    assert client.get(f"{API}/attempt/course_id/{ENCODED_COURSE}?content_id=nope").json[
        "exam"] == {}
    # Another learner's view needs course staff.
    sign_in(world["bob"])
    assert client.get(url + f"&user_id={world['alice'].id}").status_code == 403
    sign_in(world["staff"])
    staff_view = client.get(url + f"&user_id={world['alice'].id}").json
    assert staff_view["exam"]["attempt"]["attempt_status"] == "started"
    assert client.get(url + "&user_id=x").status_code == 400


def test_settings_and_review_policy(world, factory, sign_in, client):
    from proctor_web.services import exams

    exams.set_review_policy(world["proctored"], "Closed book.", None, factory.now)
    db.session.commit()
    sign_in(world["alice"])
    settings = client.get(f"{API}/settings/exam_id/{world['proctored'].id}/").json
    assert settings["provider_name"] == "Mock Proctoring Service"
    assert settings["proctoring_escalation_email"] == "exams@course.example"
    assert settings["exam_proctoring_backend"]["instructions"]
    assert client.get(f"{API}/settings/exam_id/{world['timed'].id}/").json[
        "exam_proctoring_backend"] == {}
    policy = client.get(f"{API}/review_policy/exam_id/{world['proctored'].id}/").json
    assert policy["review_policy"] == "Closed book."
    assert client.get(f"{API}/review_policy/exam_id/{world['timed'].id}/").json[
        "review_policy"] is None
    assert client.get(f"{API}/settings/exam_id/424242/").status_code == 404
    outsider = factory.user()
    db.session.commit()
    sign_in(outsider)
    assert client.get(f"{API}/settings/exam_id/{world['proctored'].id}/").status_code == 403
    assert client.get(f"{API}/review_policy/exam_id/{world['proctored'].id}/").status_code == 403


def test_review_status_acknowledgement(world, factory, sign_in, client, app, monkeypatch):
    attempt = factory.attempt(world["proctored"], world["alice"], "verified")
    db.session.commit()
    sign_in(world["alice"])
    assert client.put(f"{API}/attempt/{attempt.id}/review_status").status_code == 404
    monkeypatch.setitem(app.config, "EXAM_VIEWABLE_PAST_DUE", True)
    sign_in(world["bob"])
    assert client.put(f"{API}/attempt/{attempt.id}/review_status").status_code == 403
    sign_in(world["alice"])
    assert client.put(f"{API}/attempt/{attempt.id}/review_status").status_code == 200
    assert db.session.get(Attempt, attempt.id).is_status_acknowledged


def test_active_exams_for_user_checks_ownership(world, factory, sign_in, client):
    attempt = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    db.session.add(Allowance(user_id=world["alice"].id, exam_id=world["timed"].id,
                             key="additional_time_granted", value="15",
                             created=factory.now, modified=factory.now))
    db.session.commit()
    url = f"{API}/active_exams_for_user?course_id={ENCODED_COURSE}"
    sign_in(world["alice"])
    mine = client.get(url).json
    assert [item["attempt"]["attempt_id"] for item in mine] == [attempt.id]
    assert mine[0]["allowances"] == [{"key": "additional_time_granted", "value": "15"}]
    assert client.get(url + f"&user_id={world['alice'].id}").status_code == 200
    sign_in(world["bob"])
    assert client.get(url).json == []
    assert client.get(url + f"&user_id={world['alice'].id}").status_code == 403
    assert client.get(f"{API}/active_exams_for_user").status_code == 400
    sign_in(world["staff"])
    assert len(client.get(url + f"&user_id={world['alice'].id}").json) == 1


def test_onboarding_status(world, factory, sign_in, client):
    url = f"/api/edx_proctoring/v1/user_onboarding/status?course_id={ENCODED_COURSE}"
    sign_in(world["alice"])
    data = client.get(url).json
    assert data["onboarding_status"] is None
    assert data["onboarding_link"] == f"/courses/{ENCODED_COURSE}/exams/onboarding-1"
    assert data["onboarding_past_due"] is False
    factory.attempt(world["onboarding"], world["alice"], "verified")
    db.session.commit()
    data = client.get(url).json
    assert data["onboarding_status"] == "verified" and data["expiration_date"]
    assert client.get("/api/edx_proctoring/v1/user_onboarding/status").status_code == 400
    assert client.get(url + "&username=bob").status_code == 403
    sign_in(world["staff"])
    assert client.get(url + "&username=alice").json["onboarding_status"] == "verified"
    assert client.get(url + "&username=nobody").status_code == 404
    assert client.get(
        "/api/edx_proctoring/v1/user_onboarding/status?course_id=course-v1:None+X+Y"
    ).status_code == 404


def test_csrf_token_endpoint_and_header(app, world, sign_in, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    sign_in(world["alice"])
    body = {"exam_id": world["timed"].id, "start_clock": "true"}
    refused = client.post(f"{API}/attempt", json=body)
    assert refused.status_code == 400 and "security token is missing" in refused.json["detail"]
    token = client.get("/csrf/api/v1/token").json["csrfToken"]
    accepted = client.post(f"{API}/attempt", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


# Open edX's special-exams client -----------------------------------------------------------


def test_a_special_exams_client_drives_a_timed_and_a_proctored_exam(world, sign_in, client):
    """The calls @edx/frontend-lib-special-exams makes, in its order, reading its fields."""
    sign_in(world["alice"])

    def sequence(content_id):
        return client.get(f"{API}/attempt/course_id/{ENCODED_COURSE}?content_id={content_id}"
                          "&is_learning_mfe=true").json

    # Timed: the entrance shows exam.total_time; "start" posts start_clock.
    data = sequence("timed-1")
    assert data["exam"]["type"] == "timed" and data["exam"]["total_time"] == "30 minutes"
    client.post(f"{API}/attempt", json={"exam_id": data["exam"]["id"], "start_clock": "true",
                                        "attempt_proctored": "false"})
    attempt = sequence("timed-1")["exam"]["attempt"]
    assert attempt["attempt_status"] == "started" and attempt["time_remaining_seconds"] > 0
    poll = client.get(attempt["exam_started_poll_url"]).json
    assert poll["status"] == "started" and poll["accessibility_time_string"]
    put(client, attempt["attempt_id"], action="stop")
    put(client, attempt["attempt_id"], action="submit")
    assert sequence("timed-1")["exam"]["attempt"]["attempt_status"] == "submitted"

    # Proctored: create, download software, poll until ready, start, stop, submit.
    data = sequence("proctored-1")
    exam_id = data["exam"]["id"]
    settings = client.get(f"{API}/settings/exam_id/{exam_id}/").json
    assert settings["exam_proctoring_backend"]["download_url"]
    client.post(f"{API}/attempt", json={"exam_id": exam_id, "attempt_proctored": "true",
                                        "start_clock": "false"})
    attempt = sequence("proctored-1")["exam"]["attempt"]
    assert attempt["attempt_status"] == "created" and attempt["software_download_url"]
    put(client, attempt["attempt_id"], action="click_download_software")
    assert client.get(attempt["exam_started_poll_url"]).json["status"] == "ready_to_start"
    client.get(f"{API}/review_policy/exam_id/{exam_id}/")
    put(client, attempt["attempt_id"], action="start")
    running = sequence("proctored-1")
    assert running["active_attempt"]["attempt_status"] == "started"
    assert running["active_attempt"]["taking_as_proctored"] is True
    put(client, attempt["attempt_id"], action="stop")
    put(client, attempt["attempt_id"], action="submit")
    assert sequence("proctored-1")["exam"]["attempt"]["attempt_status"] == "submitted"


def test_exam_and_attempt_reads_each_attempt_once(world, factory, sign_in, client,
                                                  count_queries):
    """attempt/course_id/<cid>?content_id=: the exam's newest attempt with its timer facts
    in one SELECT, read once (its payload and its allowed minutes both come from it), and
    the running attempt in one more (before: 5 attempt reads for 2 attempts)."""
    from flask import g

    running = factory.attempt(world["timed"], world["alice"], "started", started_minutes_ago=1)
    factory.attempt(world["proctored"], world["alice"], "ready_to_start")
    db.session.commit()
    running_id = running.id
    sign_in(world["alice"])
    g.pop("_login_user", None)
    db.session.expunge_all()
    url = f"{API}/attempt/course_id/{ENCODED_COURSE}?content_id=proctored-1"
    with count_queries() as counted:
        data = client.get(url).json
    assert data["exam"]["attempt"]["attempt_status"] == "ready_to_start"
    assert data["active_attempt"]["attempt_id"] == running_id
    from_attempts = [q for q in counted.statements
                     if " ".join(q.split()).startswith("SELECT attempts.")]
    assert len(from_attempts) == 2, [q[:100] for q in from_attempts]


@pytest.mark.parametrize("status", ["created", "started", "ready_to_submit", "submitted"])
def test_active_snapshot_answers_as_the_orm_view(world, factory, now, status):
    """The timer payload's snapshot finds the same running attempt as the ORM query, with
    the same payload, and nothing when no exam runs."""
    from proctor_web.services.learner import loading, reads

    started = None if status == "created" else 5
    factory.attempt(world["timed"], world["alice"], status, started_minutes_ago=started)
    db.session.add(Allowance(user_id=world["alice"].id, exam_id=world["timed"].id,
                             key="additional_time_granted", value="7"))
    db.session.commit()
    alice_id = world["alice"].id
    snapshot = loading.peek_active_attempt_view(alice_id)
    view = loading.load_active_attempt_view(alice_id)
    if view is None:
        assert snapshot is None
        return
    assert snapshot.attempt is not view.attempt and snapshot.extra_minutes == 7
    assert reads.settled_timer_payload(snapshot, now) == reads.running_payload(view, now)
