"""Outbox dead letters: a delivery status 'dead' for rows still failing after N tries.

The status CHECK constraints of the outboxes (provider events, emails, LMS scores) gain
'dead'. On SQLite the tables are rebuilt
by batch mode; they keep AUTOINCREMENT (ids are never reused, see 0005).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TABLES = ('provider_events', 'email_outbox', 'lti_score_outbox')
WITH_DEAD = "status IN ('pending', 'delivered', 'refused', 'dead')"
WITHOUT_DEAD = "status IN ('pending', 'delivered', 'refused')"


def _replace_check(table, condition):
    with op.batch_alter_table(table, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_status'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_status'), condition)


def upgrade():
    for table in TABLES:
        _replace_check(table, WITH_DEAD)


def downgrade():
    # Dead letters have no place in the old schema: they go back to pending.
    for table in TABLES:
        op.execute(f"UPDATE {table} SET status = 'pending' WHERE status = 'dead'")
        _replace_check(table, WITHOUT_DEAD)
