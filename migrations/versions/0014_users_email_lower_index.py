"""An index on the lower-cased email address: "Forgot your password?" looks accounts up by
address whatever its case, which scanned the users table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_users_email_lower', 'users', [sa.text('lower(email)')], unique=False)


def downgrade():
    op.drop_index('ix_users_email_lower', table_name='users')
