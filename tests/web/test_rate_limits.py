"""Brute force: limits on sign-in, the token endpoint and the RPNow launch link (in memory and
in a real Redis), and sign-in answers that do not tell which usernames exist.

The rest of the suite runs with the limits off (``tests/conftest.py``); these tests build
their own apps with small limits.
"""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import accounts, courses, oauth
from tests.conftest import app_config

SMALL_LIMITS = {
    "RATELIMIT_LOGIN_PER_ADDRESS": "5 per minute",
    "RATELIMIT_LOGIN_PER_ACCOUNT": "3 per minute",
    "RATELIMIT_TOKEN_PER_ADDRESS": "4 per minute",
    "RATELIMIT_TOKEN_PER_CLIENT": "2 per minute",
    "RATELIMIT_LAUNCH_PER_ADDRESS": "3 per minute",
    "RATELIMIT_LAUNCH_PER_ATTEMPT": "2 per minute",
    "RATELIMIT_PASSWORD_RESET_PER_ADDRESS": "4 per minute",
    "RATELIMIT_PASSWORD_RESET_PER_ACCOUNT": "2 per minute",
}
CLIENT_SECRET = "mock-provider-secret-0123456789"
LAUNCH = "/api/edx_proctoring/proctoring_launch_callback/start_exam/{}"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_app(tmp_path) -> Iterator[Any]:
    """``make_app(**config)``: an app with the limits on, over one SQLite file per test."""
    apps = []
    database = f"sqlite:///{tmp_path / 'limits.sqlite3'}"

    def make(**overrides: Any):
        config = app_config(database, **{"RATELIMIT_ENABLED": True, **SMALL_LIMITS, **overrides})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            if courses.find_user("alice") is None:
                now = utcnow()
                courses.create_user("alice", "alice-password", now)
                courses.create_user("bob", "bob-password", now)
                oauth.create_client("Mock provider", "mock", now, client_id="mock-client",
                                    client_secret=CLIENT_SECRET)
                db.session.commit()
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def _sign_in(client, username: str, password: str, **environ: Any):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base=environ)


def _assert_retry_after(response, window: int = 60) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= window + 1


def test_failed_sign_ins_for_one_account_are_limited(make_app):
    client = make_app().test_client()
    for _ in range(3):
        assert _sign_in(client, "alice", "wrong-password").status_code == 400
    refused = _sign_in(client, "alice", "alice-password")  # right, but too late
    _assert_retry_after(refused)
    page = refused.get_data(as_text=True)
    assert "Too many failed sign-in attempts" in page and 'name="password"' in page
    assert refused.mimetype == "text/html"
    # Another account, from the same address, is not locked by alice's limit.
    assert _sign_in(client, "bob", "bob-password").status_code == 302


def test_failed_sign_ins_from_one_address_are_limited(make_app):
    client = make_app().test_client()
    for number in range(5):
        assert _sign_in(client, f"nobody{number}", "whatever-pass").status_code == 400
    _assert_retry_after(_sign_in(client, "bob", "bob-password"))
    # Another address is counted apart.
    other = _sign_in(client, "bob", "bob-password", REMOTE_ADDR="10.0.0.7")
    assert other.status_code == 302


def test_successful_sign_ins_are_not_counted(make_app):
    """A whole exam room behind one address signs in at the start of an exam."""
    client = make_app().test_client()
    for _ in range(8):
        assert _sign_in(client, "alice", "alice-password").status_code == 302
        client.post("/logout")


def test_behind_a_trusted_proxy_the_forwarded_address_counts(make_app):
    client = make_app(PROXY_FIX_X_FOR=1).test_client()
    for number in range(5):
        _sign_in(client, f"nobody{number}", "whatever-pass", HTTP_X_FORWARDED_FOR="203.0.113.5")
    _assert_retry_after(_sign_in(client, "bob", "bob-password",
                                 HTTP_X_FORWARDED_FOR="203.0.113.5"))
    assert _sign_in(client, "bob", "bob-password",
                    HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def _forgot(client, identifier: str, **environ: Any):
    return client.post("/password/forgot", data={"identifier": identifier},
                       environ_base=environ)


def test_forgot_password_requests_are_limited_per_account_and_address(make_app):
    """Every request counts (the answer is the same whether an account matched)."""
    app = make_app()
    client = app.test_client()
    for _ in range(2):
        assert _forgot(client, "alice").status_code == 200
    refused = _forgot(client, "ALICE ")  # the same account, spelled otherwise
    _assert_retry_after(refused)
    page = refused.get_data(as_text=True)
    assert re.search(r"Too many requests for a new password\. Wait [12] minutes?, then try "
                     r"again\.", page)
    assert refused.mimetype == "text/html" and 'name="identifier"' in page
    assert _forgot(client, "bob").status_code == 200  # another account: its own count
    _assert_retry_after(_forgot(client, "carol"))  # the address's 4 are spent
    assert _forgot(client, "carol", REMOTE_ADDR="10.0.0.7").status_code == 200
    with app.app_context():
        from sqlalchemy import func, select

        from proctor_web.models import EmailMessage
        assert db.session.execute(select(func.count()).select_from(EmailMessage)
                                  ).scalar_one() == 0  # the test accounts have no email
    assert _sign_in(client, "alice", "alice-password").status_code == 302  # not locked out


def _token(client, secret: str, client_id: str = "mock-client", **environ: Any):
    return client.post("/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        environ_base=environ)


def test_token_endpoint_failures_are_limited_per_client_and_address(make_app):
    client = make_app().test_client()
    for _ in range(2):
        assert _token(client, "wrong").status_code == 401
    refused = _token(client, CLIENT_SECRET)
    _assert_retry_after(refused)
    assert refused.json["detail"] and refused.headers["Cache-Control"] == "no-store"
    # Guessing other client ids from one address hits the address limit (4 failures).
    for number in range(2):
        assert _token(client, "wrong", client_id=f"guess{number}").status_code == 401
    _assert_retry_after(_token(client, "wrong", client_id="guess-next"))


def test_successful_token_requests_are_not_counted(make_app):
    client = make_app().test_client()
    for _ in range(6):
        assert _token(client, CLIENT_SECRET).status_code == 200


def test_launch_link_is_limited_per_address_and_per_attempt(make_app):
    client = make_app().test_client()
    for number in range(3):
        assert client.get(LAUNCH.format(f"guess-{number}")).status_code == 404
    refused = client.get(LAUNCH.format("guess-next"))
    _assert_retry_after(refused)
    assert refused.json["detail"]
    # One code, from many addresses.
    for number in range(2):
        assert client.get(LAUNCH.format("one-code"),
                          environ_base={"REMOTE_ADDR": f"10.1.0.{number}"}).status_code == 404
    _assert_retry_after(client.get(LAUNCH.format("one-code"),
                                   environ_base={"REMOTE_ADDR": "10.1.0.99"}))


def test_limits_can_be_turned_off(make_app):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    for _ in range(4):  # one more than the account limit
        assert _sign_in(client, "alice", "wrong-password").status_code == 400


# Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true but unreachable: {error}")
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable (set CI=true to fail instead)")
    prefix = f"proctor_test_{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
        connection.close()


def test_redis_storage_is_shared_by_every_process(make_app, redis_prefix):
    import redis

    settings = {"RATELIMIT_STORAGE_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": redis_prefix}
    first, second = make_app(**settings).test_client(), make_app(**settings).test_client()
    for _ in range(3):
        assert _sign_in(first, "alice", "wrong-password").status_code == 400
    # Another process (another app over the same Redis) sees the same count.
    _assert_retry_after(_sign_in(second, "alice", "alice-password"))
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{redis_prefix}*"))
    assert keys, "the counts should live in Redis"


def test_unreachable_redis_falls_back_to_memory(make_app):
    """Nothing listens on port 1: sign-in keeps working and the limits still hold."""
    client = make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0").test_client()
    statuses = [_sign_in(client, "alice", "wrong-password").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


# Username enumeration ---------------------------------------------------------------------


def test_unknown_username_runs_the_same_password_check(make_app, monkeypatch):
    app = make_app(RATELIMIT_ENABLED=False)
    client = app.test_client()
    checked: list[str] = []
    real_check = accounts.check_password_hash

    def counting_check(password_hash: str, password: str) -> bool:
        checked.append(password_hash.split("$", 1)[0])
        return real_check(password_hash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    wrong = _sign_in(client, "alice", "wrong-password")
    unknown = _sign_in(client, "nobody-at-all", "wrong-password")
    assert wrong.status_code == unknown.status_code == 400
    assert checked[0] == checked[1] and len(checked) == 2  # one check each, same method
    # The same page, word for word, but for the echoed username and the (timestamped)
    # CSRF token.
    def page(response) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))

    assert page(wrong) == page(unknown)


def test_unknown_username_takes_as_long_as_a_wrong_password(make_app):
    client = make_app(RATELIMIT_ENABLED=False).test_client()

    def seconds(username: str) -> float:
        started = time.perf_counter()
        assert _sign_in(client, username, "wrong-password").status_code == 400
        return time.perf_counter() - started

    seconds("nobody-at-all")  # warm-up: the dummy hash is made on first use
    known, unknown = [], []
    for _ in range(5):  # interleaved, so a busy machine slows both alike
        known.append(seconds("alice"))
        unknown.append(seconds("nobody-at-all"))
    ratio = statistics.median(unknown) / statistics.median(known)
    # Before the fix the ratio was about 0.1 (20 ms against 207 ms).
    assert 0.5 < ratio < 2, (known, unknown)
