"""Ids are never reused: SQLite numbers rows with AUTOINCREMENT.

Without AUTOINCREMENT SQLite gives a new row max(id) + 1, so the id of a deleted attempt
(a staff reset) went to the next attempt: a client holding the old id saw another attempt,
and the histories of the two mixed. SQLite cannot add AUTOINCREMENT to a table, so each
table is rebuilt (rows, constraints and indexes kept), and its counter starts above every
id the table or its history has ever held. PostgreSQL numbers rows with sequences, which
never go back: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: Every table keyed by a surrogate integer ``id``, parents before children.
TABLES = (
    'courses', 'users', 'user_identities', 'course_memberships', 'oauth_clients',
    'exams', 'review_policies', 'review_policy_history',
    'attempts', 'attempt_history', 'allowances', 'allowance_history',
    'reviews', 'review_comments', 'review_history',
    'provider_events', 'email_outbox', 'webhook_receipts',
)

#: Ids that outlive their row: history keeps pointing at removed rows, so a new row must
#: not take one of them either.
REMEMBERED_IDS = {
    'attempts': [('attempt_history', 'attempt_id'), ('provider_events', 'attempt_id'),
                 ('email_outbox', 'attempt_id')],
    'allowances': [('allowance_history', 'allowance_id')],
    'reviews': [('review_history', 'review_id')],
    'review_policies': [('review_policy_history', 'original_id')],
}


def _rebuild(table, autoincrement):
    with op.batch_alter_table(table, recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    for table in TABLES:
        _rebuild(table, True)
    for table in TABLES:
        sources = [(table, 'id'), *REMEMBERED_IDS.get(table, [])]
        highest = max(
            bind.exec_driver_sql(f'SELECT COALESCE(MAX({column}), 0) FROM {source}').scalar()
            for source, column in sources
        )
        bind.exec_driver_sql('DELETE FROM sqlite_sequence WHERE name = ?', (table,))
        if highest:
            bind.exec_driver_sql('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)',
                                 (table, highest))


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in reversed(TABLES):
        _rebuild(table, False)
