"""Configuration hygiene: a misspelt variable, a bad DATABASE_URL and every configuration
error stop the app with one clear line, from create_app, the flask command and gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proctor_web.config import DEFAULTS, TOOL_VARIABLES, ConfigError, build_config

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {"PROCTOR_SECRET_KEY": "s"}


def test_an_unknown_variable_is_named_with_the_closest_valid_key(tmp_path):
    with pytest.raises(ConfigError) as raised:
        build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_LOW_THRESHOLD_PC": "0.3"})
    assert str(raised.value.message) == (
        "PROCTOR_LOW_THRESHOLD_PC is not a proctor_web setting; "
        "did you mean PROCTOR_LOW_THRESHOLD_PCT?")


def test_an_unknown_variable_without_a_close_key_points_at_the_readme(tmp_path):
    with pytest.raises(ConfigError, match="PROCTOR_ZZZZZZ is not a proctor_web setting; see the"):
        build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_ZZZZZZ": "1"})


def test_every_defined_key_and_the_tool_variables_are_accepted(tmp_path):
    """The known names are the keys of DEFAULTS: a key added there needs nothing else."""
    assert "TEST_PG_URL" in TOOL_VARIABLES
    environ = {**BASE_ENV, "PROCTOR_TEST_PG_URL": "postgresql://x@y/z",
               "PROCTOR_BENCH_PG_URL": "postgresql://x@y/z"}
    build_config(str(tmp_path), environ=environ)
    DEFAULTS["BRAND_NEW_KEY"] = "x"
    try:
        config = build_config(str(tmp_path), environ={**environ, "PROCTOR_BRAND_NEW_KEY": "y"})
    finally:
        del DEFAULTS["BRAND_NEW_KEY"]
    assert config["BRAND_NEW_KEY"] == "y"


@pytest.mark.parametrize(("url", "message"), [
    ("/var/lib/proctor.db", "cannot be parsed"),
    ("mysqlx://user@host/db", "uses 'mysqlx', which SQLAlchemy does not know"),
    ("postgresql+nodriver://user@host/db", "which SQLAlchemy does not know"),
    ("postgresql://user@host", "names no database"),
])
def test_a_bad_database_url_is_refused_when_the_app_is_built(tmp_path, url, message):
    with pytest.raises(ConfigError, match=message):
        build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_DATABASE_URL": url})


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3", "postgres://u@h/db",
                                 "postgresql+psycopg://u:p@h:5433/db"])
def test_good_database_urls_pass_without_connecting(tmp_path, url):
    build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_DATABASE_URL": url})


def test_production_defaults_for_a_tls_proxy(tmp_path):
    config = build_config(str(tmp_path), environ=BASE_ENV)
    assert config["PREFERRED_URL_SCHEME"] == "https"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["LOG_FORMAT"] == "json"
    development = build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_DEBUG": "1"})
    assert development["PREFERRED_URL_SCHEME"] == "http"
    assert development["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="PROCTOR_LOG_FORMAT must be text or json"):
        build_config(str(tmp_path), environ={**BASE_ENV, "PROCTOR_LOG_FORMAT": "xml"})


def _run(command: list[str], env: dict[str, str],
         timeout: float = 60) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    clean.update(env)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(command, env=clean, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "flask", "--app", "proctor_web", *args], env)


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_the_flask_command_prints_one_line_for_a_misspelt_variable():
    result = _flask("proctor", "sweep", env={**BASE_ENV, "PROCTOR_SECRETKEY": "x"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert _error_lines(result) == [
        "Error: PROCTOR_SECRETKEY is not a proctor_web setting; did you mean PROCTOR_SECRET_KEY?"]


def test_the_flask_command_prints_one_line_when_the_database_does_not_answer():
    result = _flask("proctor", "sweep", env={
        **BASE_ENV, "PROCTOR_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in _error_lines(result) if line.startswith("Error:")]
    assert len(errors) == 1
    assert "postgresql+psycopg://postgres@127.0.0.1:1/nothing unreachable" in errors[0]


def _gunicorn(env: dict[str, str]) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                {"GUNICORN_BIND": "127.0.0.1:0", "GUNICORN_WORKERS": "1", **env})


def test_gunicorn_stops_with_one_line_on_a_configuration_error():
    result = _gunicorn({**BASE_ENV, "PROCTOR_MAIL_PROT": "25"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("Error: PROCTOR_MAIL_PROT is not a proctor_web setting; did you mean "
            "PROCTOR_MAIL_PORT?") in _error_lines(result)


def test_gunicorn_stops_before_forking_when_the_database_does_not_answer():
    result = _gunicorn({**BASE_ENV,
                        "PROCTOR_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr
    assert any(line.startswith("Error: database postgresql+psycopg://postgres@127.0.0.1:1/")
               for line in _error_lines(result))


def test_a_backend_settings_error_is_one_line_too():
    result = _flask("proctor", "sweep", env={
        **BASE_ENV, "PROCTOR_BACKENDS": '{"DEFAULT": "rest", "rest": {}}'})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert _error_lines(result) == [
        "Error: Backend 'rest' needs the setting(s) base_url, client_id, client_secret "
        "in PROCTOR_BACKENDS."]
