"""The operator commands: what they print, what they change, and how they refuse."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from proctor_web.cli import DEMO_ACCOUNTS, DEMO_COURSE_ID
from proctor_web.extensions import db
from proctor_web.models import Attempt, Course, CourseMembership, Exam, User, utcnow
from proctor_web.services import courses, exams


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["proctor", *args], catch_exceptions=False)

    return invoke


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (User, Course, CourseMembership, Exam)
    )


def test_demo_loads_once_and_changes_nothing_the_second_time(cli):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    for account in DEMO_ACCOUNTS:
        assert f"login {account.username}" in first.output
        assert account.password in first.output
        user = courses.find_user(account.username)
        assert user.check_password(account.password)
    kinds = sorted(exams.exam_type(e).value for e in exams.course_exams(DEMO_COURSE_ID))
    assert kinds == ["onboarding", "practice", "proctored", "timed"]
    after_first = counts()

    second = cli("demo")
    assert second.exit_code == 0
    assert "already loaded, nothing changed" in second.output
    assert counts() == after_first


def test_create_user_and_enroll(cli):
    result = cli("create-user", "carol", "--password", "longenough", "--email",
                 "carol@example.com", "--staff")
    assert result.exit_code == 0 and "Created user carol" in result.output
    carol = courses.find_user("carol")
    assert carol.is_staff and carol.check_password("longenough")
    result = cli("enroll", "carol", "course-v1:X+Y+Z", "--role", "staff")
    assert result.exit_code == 0 and "carol is staff in course-v1:X+Y+Z" in result.output
    assert courses.can_manage(carol, "course-v1:X+Y+Z")


@pytest.mark.parametrize(
    "args, message",
    [
        (("create-user", "dave", "--password", "short"), "password: at least 8"),
        (("create-user", "bad name", "--password", "longenough"), "username: use letters"),
        (("create-user", "erin", "--password", "longenough", "--email", "nope"),
         "is not an email address"),
        (("enroll", "nobody", "course-v1:X+Y+Z"), "No user named 'nobody'"),
        (("create-exam", "--course-id", "c", "--content-id", "x", "--exam-name", "X",
          "--time-limit-mins", "-5"), "time_limit_mins: must be at least 1"),
        (("create-exam", "--course-id", "c", "--content-id", "x", "--exam-name", "X",
          "--time-limit-mins", "5", "--due-date", "soon"), "due_date: expected an ISO-8601"),
        (("create-exam", "--course-id", "c", "--content-id", "x", "--exam-name", "X",
          "--time-limit-mins", "5", "--backend", "nope"), "backend: 'nope' is not configured"),
        (("set-attempt-status", "-a", "999", "-t", "verified"), "Attempt 999 does not exist"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message_and_changes_nothing(cli, args, message):
    before = counts()
    result = cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert counts() == before


def test_create_user_twice_is_refused(cli):
    assert cli("create-user", "frank", "--password", "longenough").exit_code == 0
    result = cli("create-user", "frank", "--password", "longenough")
    assert result.exit_code == 1 and "already exists" in result.output


def test_create_exam(cli):
    result = cli("create-exam", "--course-id", "course-v1:X+Y+Z", "--content-id", "mid",
                 "--exam-name", "Midterm", "--time-limit-mins", "45", "--is-proctored",
                 "--backend", "mock", "--due-date", "2026-12-24T10:00:00+01:00")
    assert result.exit_code == 0, result.output
    assert "(proctored, 45 min)" in result.output
    exam = exams.get_exam_by_content_id("course-v1:X+Y+Z", "mid")
    assert exam.due_date.isoformat() == "2026-12-24T09:00:00+00:00"
    again = cli("create-exam", "--course-id", "course-v1:X+Y+Z", "--content-id", "mid",
                "--exam-name", "Midterm", "--time-limit-mins", "45")
    assert again.exit_code == 1 and "already exists" in again.output


def test_set_attempt_status(cli, factory):
    attempt = factory.attempt(factory.exam(), factory.learner(), "submitted")
    ok = cli("set-attempt-status", "-a", str(attempt.id), "-t", "verified")
    assert ok.exit_code == 0 and "submitted -> verified" in ok.output
    refused = cli("set-attempt-status", "-a", str(attempt.id), "-t", "started")
    assert refused.exit_code == 1 and "cannot go back" in refused.output
    unknown = cli("set-attempt-status", "-a", str(attempt.id), "-t", "bogus")
    assert unknown.exit_code == 1 and "Unknown status 'bogus'" in unknown.output
    assert db.session.get(Attempt, attempt.id).status == "verified"


def test_sweep_submits_abandoned_attempts(cli, factory, now):
    exam = factory.exam(time_limit_mins=10)
    abandoned = factory.attempt(exam, factory.learner(), "started", started_minutes_ago=60)
    # The command reads the real clock: this one started just now, with 10 minutes to go.
    running = factory.attempt(exam, factory.learner(), "started", started_at=utcnow(),
                              allowed_time_limit_mins=10)
    result = cli("sweep")
    assert result.exit_code == 0
    assert f"Submitted 1 attempt(s) whose time had run out: {abandoned.id}." in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, abandoned.id).status == "submitted"
    assert db.session.get(Attempt, running.id).status == "started"


def test_obscured_id_map_lists_previous_and_edx_ids_of_a_backends_learners(cli, factory):
    import hashlib
    import hmac

    met = factory.learner()
    factory.attempt(factory.exam("proctored"), met, "submitted", external_id="m-1")
    factory.learner()  # never proctored on mock: not listed
    db.session.commit()
    result = cli("obscured-id-map", "mock")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "user_id,previous_id,edx_id"
    previous = hmac.new(b"obscure:test-secret-key", f"{met.id}:mock".encode(),
                        hashlib.sha256).hexdigest()
    edx = hmac.new(b"test-secret-key", f"{met.id}mock".encode(), hashlib.sha1).hexdigest()
    assert lines[1:] == [f"{met.id},{previous},{edx}"]


def test_a_command_runs_without_an_app_context_of_the_caller(tmp_path):
    """The group's database check needs the app: `app.test_cli_runner()` pushes none."""
    from proctor_web import create_app
    from tests.conftest import app_config

    app = create_app(app_config(f"sqlite:///{tmp_path / 'cli.sqlite3'}"))
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["proctor", "recount"])
    assert result.exit_code == 0, result.output
    assert "Recounted" in result.output
