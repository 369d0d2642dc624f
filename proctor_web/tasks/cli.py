"""``flask proctor outbox`` (pending and dead rows, retries) and ``flask proctor worker``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, utcnow


def _describe(kind: str, row: object) -> str:
    what = " ".join(str(getattr(row, name)) for name in ("kind", "template", "attempt_code",
                                                          "recipient") if hasattr(row, name))
    error = (getattr(row, "last_error", "") or "").splitlines()[:1]
    return (f"{kind:9} {row.id:>7} {row.status:8} tries={row.tries:<3} "  # type: ignore[attr-defined]
            f"next={row.next_attempt_at:%Y-%m-%d %H:%M:%S} {what}"  # type: ignore[attr-defined]
            + (f"  last error: {error[0][:120]}" if error else ""))


@click.command("outbox")
@click.option("--retry", "retry_ref", default=None, metavar="KIND:ID|ID",
              help="Put one dead row back to pending and enqueue it (e.g. email:12).")
@click.option("--retry-all-dead", is_flag=True, help="Put every dead row back and enqueue.")
@with_appcontext
def outbox_command(retry_ref: str | None, retry_all_dead: bool) -> None:
    """List pending and dead outbox rows (provider events, emails, ...); retry dead ones."""
    from proctor_web.services import dead_letters
    from proctor_web.tasks import dispatch

    if retry_ref or retry_all_dead:
        kind, row_id = None, None
        if retry_ref:
            kind_text, _, id_text = retry_ref.rpartition(":")
            if not id_text.isdigit():
                raise click.BadParameter("expected ID or KIND:ID", param_hint="--retry")
            kind, row_id = kind_text or None, int(id_text)
        retried = dead_letters.retry(utcnow(), kind=kind, row_id=row_id)
        db.session.commit()
        if retry_ref and not retried:
            raise click.ClickException(f"No dead outbox row {retry_ref}.")
        if dispatch.mode(current_app) == "celery":
            dispatch.enqueue(current_app, retried)
            click.echo(f"Put {len(retried)} row(s) back to pending and enqueued them.")
        else:
            # No worker outlives this command: deliver here (the sweep would, too).
            from proctor_web.services.outbox import deliver_items

            deliver_items(retried, utcnow())
            click.echo(f"Put {len(retried)} row(s) back to pending and tried them now.")
        return
    rows = dead_letters.list_rows([DeliveryStatus.PENDING.value, DeliveryStatus.DEAD.value])
    dead = sum(row.row.status == DeliveryStatus.DEAD.value for row in rows)
    click.echo(f"{len(rows) - dead} pending, {dead} dead outbox row(s).")
    for row in rows:
        click.echo(_describe(row.kind, row.row))


@click.command("worker")
@click.option("--beat", is_flag=True, help="Also run beat (the sweep every minute) in it.")
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--hostname", "-n", default=None,
              help="The worker's node name (e.g. worker2@%h): needed for a second worker on "
                   "one host with RabbitMQ, which refuses two nodes of the same name.")
@with_appcontext
def worker_command(beat: bool, concurrency: int, loglevel: str, hostname: str | None) -> None:
    """Run a Celery worker for background work (needs PROCTOR_CELERY_BROKER_URL)."""
    from proctor_web.tasks.celery_app import get_celery

    if not current_app.config.get("CELERY_BROKER_URL"):
        raise click.ClickException(
            "PROCTOR_CELERY_BROKER_URL is not set: background work runs in each web "
            "process (README: Background work), there is no worker to start.")
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}"]
    if beat:
        argv.append("--beat")
    if hostname:
        argv.append(f"--hostname={hostname}")
    get_celery(current_app._get_current_object()).worker_main(argv)  # type: ignore[attr-defined]
