"""Alembic environment for proctor_web (run through Flask-Migrate: ``flask db ...``)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not current_app.config.get("TESTING"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
# Alembic announces each of its plugins at INFO on every run; only migrations are news.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def render_item(type_, obj, autogen_context):
    """Write the app's column types as plain SQLAlchemy types.

    Migration scripts must not import application code: the app's types change with the
    app, while a migration has to keep meaning the same thing forever.
    """
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _configure_kwargs():
    kwargs = dict(current_app.extensions["migrate"].configure_args)
    kwargs.setdefault("render_as_batch", True)
    kwargs.setdefault("compare_type", True)
    kwargs["render_item"] = render_item
    return kwargs


def run_migrations_offline():
    context.configure(
        url=str(db.engine.url), target_metadata=target_metadata, literal_binds=True,
        **_configure_kwargs(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable, process_revision_directives)
        return
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            _run(connection, process_revision_directives)
            return
        # SQLite changes a table by copying it and dropping the original; with foreign keys
        # on, that drop would cascade-delete every row referring to the table. The pragma
        # only takes effect outside a transaction, so set it on the driver connection
        # before SQLAlchemy begins one, and check what the rows say afterwards.
        driver = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            counters = _sqlite_counters(driver)

            def keep_counters(**_):  # after each revision, before the next can rebuild again
                _restore_sqlite_counters(driver, counters)
                counters.update(_sqlite_counters(driver))

            _run(connection, process_revision_directives, on_version_apply=keep_counters)
            problems = driver.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration left broken foreign keys: {problems[:5]}")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def _sqlite_counters(driver):
    """AUTOINCREMENT counters: a table rebuilt by a later migration starts its counter at
    its highest remaining id, which would hand out the ids of removed rows again."""
    exists = driver.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).fetchone()
    if not exists:
        return {}
    return dict(driver.execute("SELECT name, seq FROM sqlite_sequence").fetchall())


def _restore_sqlite_counters(driver, counters):
    for table, seq in counters.items():
        if driver.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (table,)).fetchone() is None:
            continue
        updated = driver.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?",
                                 (seq, table)).rowcount
        if not updated:
            driver.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))


def _run(connection, process_revision_directives, on_version_apply=None):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        process_revision_directives=process_revision_directives,
        on_version_apply=on_version_apply,
        **_configure_kwargs(),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
