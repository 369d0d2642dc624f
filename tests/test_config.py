"""Configuration: defaults, PROCTOR_* variables, overrides, and failing fast."""

from __future__ import annotations

import pytest

from proctor_web import create_app
from proctor_web.backends.base import BackendSettingsError
from proctor_web.config import DEFAULTS, ConfigError, build_config


def test_missing_secret_fails_fast_outside_testing_and_debug(tmp_path):
    with pytest.raises(ConfigError, match="PROCTOR_SECRET_KEY is not set"):
        build_config(str(tmp_path), environ={})
    assert build_config(str(tmp_path), environ={"PROCTOR_DEBUG": "1"})["SECRET_KEY"]


def test_environment_values_are_parsed_to_the_default_type(tmp_path):
    config = build_config(str(tmp_path), environ={
        "PROCTOR_SECRET_KEY": "s",
        "PROCTOR_ALLOW_REVIEW_UPDATES": "off",
        "PROCTOR_ONBOARDING_VALID_DAYS": "30",
        "PROCTOR_LOW_THRESHOLD_PCT": "0.25",
        "PROCTOR_BACKENDS": '{"DEFAULT": "mock", "mock": {}}',
        "PROCTOR_DATABASE_URL": "postgres://u@h/db",
    })
    assert config["ALLOW_REVIEW_UPDATES"] is False
    assert config["ONBOARDING_VALID_DAYS"] == 30
    assert config["LOW_THRESHOLD_PCT"] == 0.25
    assert config["BACKENDS"]["DEFAULT"] == "mock"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_overrides_win_over_the_environment(tmp_path):
    config = build_config(str(tmp_path), {"PLATFORM_NAME": "Override"},
                          environ={"PROCTOR_SECRET_KEY": "s", "PROCTOR_PLATFORM_NAME": "Env"})
    assert config["PLATFORM_NAME"] == "Override"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("PROCTOR_ONBOARDING_VALID_DAYS", "a year", "PROCTOR_ONBOARDING_VALID_DAYS='a year'"),
        ("PROCTOR_DEBUG", "perhaps", "PROCTOR_DEBUG='perhaps'"),
        ("PROCTOR_BACKENDS", "[1, 2]", "expected a JSON dict"),
        ("PROCTOR_BACKENDS", '{"mock": {}}', "needs a DEFAULT"),
        ("PROCTOR_LOW_THRESHOLD_PCT", "0.01", "CRITICALLY_LOW_THRESHOLD_PCT must be above"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        build_config(str(tmp_path), environ={"PROCTOR_SECRET_KEY": "s", name: value})


def test_sqlite_in_the_instance_folder_by_default(tmp_path):
    config = build_config(str(tmp_path), environ={"PROCTOR_SECRET_KEY": "s"})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/proctor_web.sqlite3"


def test_pool_pre_ping_only_where_a_server_can_drop_connections(tmp_path):
    def pre_ping(**overrides):
        config = build_config(str(tmp_path), overrides, environ={"PROCTOR_SECRET_KEY": "s"})
        return config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")

    assert pre_ping() is False  # the SQLite file
    assert pre_ping(DATABASE_URL="postgresql://postgres@127.0.0.1/test") is True
    assert pre_ping(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True}) is True  # yours wins


def test_frame_ancestors_make_cookies_cross_site(tmp_path):
    config = build_config(str(tmp_path), environ={
        "PROCTOR_SECRET_KEY": "s", "PROCTOR_DEBUG": "1",
        "PROCTOR_FRAME_ANCESTORS": "https://lms.example https://studio.example",
    })
    assert config["FRAME_ANCESTORS"] == ["https://lms.example", "https://studio.example"]
    assert config["SESSION_COOKIE_SAMESITE"] == "None"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_debug_cookie_is_not_secure(tmp_path):
    config = build_config(str(tmp_path), environ={"PROCTOR_DEBUG": "1"})
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True


def test_every_key_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [key for key in DEFAULTS if key != "TESTING" and f"`{key}`" not in readme]
    assert missing == []


def test_factory_does_no_io_even_with_an_unreachable_database():
    app = create_app({"TESTING": True,
                      "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert app.extensions["proctor_backends"].default_name == "null"


def test_unknown_backend_setting_fails_at_start_up():
    with pytest.raises(BackendSettingsError, match="does not know the setting"):
        create_app({"TESTING": True,
                    "BACKENDS": {"DEFAULT": "mock", "mock": {"colour": "blue"}}})


def test_unknown_backend_name_fails_at_start_up():
    with pytest.raises(BackendSettingsError, match="No backend named 'nope'"):
        create_app({"TESTING": True, "BACKENDS": {"DEFAULT": "nope", "nope": {}}})
