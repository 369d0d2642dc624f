"""Exams count their learners with attempts, so the dashboard need not count attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('learners_with_attempts', sa.Integer(),
                                      server_default=sa.text('0'), nullable=False))
    op.execute(
        "UPDATE exams SET learners_with_attempts = "
        "(SELECT COUNT(DISTINCT attempts.user_id) FROM attempts "
        "WHERE attempts.exam_id = exams.id)"
    )


def downgrade():
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_column('learners_with_attempts')
