"""What a server needs from outside before it can serve: the database, its schema, the broker.

Used by ``/readyz``, by gunicorn's start-up hook and by ``flask proctor check``. Each check
answers ``None`` when all is well, or one sentence saying what is wrong, never a traceback.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from proctor_web.database import immediate_transactions

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION_TABLE = "alembic_version"
BROKER_TIMEOUT_SECONDS = 2.0
#: The first bytes an AMQP 0-9-1 client sends; a broker answers with a Connection.Start frame.
AMQP_PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
AMQP_METHOD_FRAME = 1


def database_problem(engine: Engine) -> str | None:
    try:
        with immediate_transactions(False), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return f"database {engine.url.render_as_string(hide_password=True)} unreachable: {reason}"
    return None


def script_heads(migrations_dir: Path = MIGRATIONS_DIR) -> set[str]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir))
    return set(ScriptDirectory.from_config(config).get_heads())


def migrations_problem(engine: Engine, expected_heads: set[str]) -> str | None:
    """Compare the database's alembic revision with the scripts' head."""
    try:
        with immediate_transactions(False), engine.connect() as connection:
            current: set[str] = set()
            # Read alembic's table directly: a MigrationContext would log two lines per probe.
            if inspect(connection).has_table(VERSION_TABLE):
                current = set(connection.execute(
                    text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    except SQLAlchemyError as error:
        return f"cannot read the schema revision: {str(error).splitlines()[0]}"
    if current != expected_heads:
        found = ", ".join(sorted(current)) or "none"
        return (f"database schema at revision {found}, code expects "
                f"{', '.join(sorted(expected_heads))}: run `flask --app proctor_web db upgrade`")
    return None


def broker_problem(url: str, timeout: float = BROKER_TIMEOUT_SECONDS) -> str | None:
    """Ping a Redis or AMQP broker (any other scheme: a TCP connection to its host and port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[-1]
    shown = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"
    try:
        if scheme in ("redis", "rediss"):
            import redis

            redis.Redis.from_url(url, socket_timeout=timeout,
                                 socket_connect_timeout=timeout).ping()
        elif scheme in ("amqp", "amqps", "pyamqp"):
            _amqp_ping(parts.hostname or "127.0.0.1", parts.port or 5672, timeout)
        else:
            if not parts.hostname:
                return f"broker URL {parts.scheme}://... names no host"
            socket.create_connection((parts.hostname, parts.port or 0), timeout=timeout).close()
    except Exception as error:  # noqa: BLE001  (any failure is "unreachable", said in one line)
        return f"broker {shown} unreachable: {error}"
    return None


def _amqp_ping(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(AMQP_PROTOCOL_HEADER)
        first = sock.recv(1)
    if not first or first[0] != AMQP_METHOD_FRAME:
        raise ConnectionError("it did not answer the AMQP 0-9-1 handshake")


def readiness_problems(app: Flask) -> dict[str, str]:
    """Every problem found, by component; empty when the server is ready to serve."""
    from proctor_web.extensions import db

    problems: dict[str, str] = {}
    engine = db.engine
    problem = database_problem(engine)
    if problem:
        problems["database"] = problem
    else:
        heads = app.extensions.get("proctor_migration_heads")
        if heads is None:
            # The scripts cannot change under a running process: read them once.
            heads = app.extensions["proctor_migration_heads"] = script_heads()
        problem = migrations_problem(engine, heads)
        if problem:
            problems["migrations"] = problem
    broker = app.config.get("CELERY_BROKER_URL")
    if broker:
        problem = broker_problem(broker)
        if problem:
            problems["broker"] = problem
    return problems
