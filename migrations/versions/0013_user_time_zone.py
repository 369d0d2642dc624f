"""Users remember the time zone their browser last reported, so the times in their emails
are shown in it (UTC beside).

Existing users get none (NULL): their emails show UTC alone until they next open a page.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    # SQLite rebuilds the table to drop a column: it keeps AUTOINCREMENT (see 0005).
    with op.batch_alter_table('users', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('time_zone')
