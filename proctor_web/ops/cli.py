"""``flask proctor check``: the readiness checks from the command line, for deploy scripts."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from proctor_web.ops import checks

#: Commands that need no database (an image build bundles provider workers before one exists).
WITHOUT_DATABASE = frozenset({"build-worker"})


@with_appcontext  # a group callback gets no app context of its own (`app.test_cli_runner`)
def database_must_answer() -> None:
    """Stop a command with one line before it starts when the database cannot be reached."""
    from proctor_web.extensions import db

    if click.get_current_context().invoked_subcommand in WITHOUT_DATABASE:
        return
    problem = checks.database_problem(db.engine)
    if problem:
        raise click.ClickException(problem)


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Exit 0 when the database answers, its schema is at head and the broker (if any) answers."""
    problems = checks.readiness_problems(current_app)
    if problems:
        raise click.ClickException("; ".join(problems.values()))
    click.echo("ready: database reachable, migrations at head"
               + (", broker reachable" if current_app.config.get("CELERY_BROKER_URL") else ""))
