"""Users remember the language they last used, so their status emails are written in it.

Existing users get none (NULL): their emails stay in the site's default language until they
next open a page.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    # SQLite rebuilds the table to drop a column: it keeps AUTOINCREMENT (see 0005).
    with op.batch_alter_table('users', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('locale')
