"""An index on attempts (exam_id, id, user_id): the dashboard's attempt lists walk one
exam's attempts newest (or oldest) first and stop after a page, whatever other courses hold.
With user_id in it, PostgreSQL answers "is there a newer attempt of this learner?" for each
row from the index alone, so it prefers this walk to a backward scan of the whole table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_attempts_exam_id_order', 'attempts', ['exam_id', 'id', 'user_id'], unique=False)


def downgrade():
    op.drop_index('ix_attempts_exam_id_order', table_name='attempts')
