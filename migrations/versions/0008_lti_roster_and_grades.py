"""LTI Advantage services: roster sync records, grade publishing settings and score outbox.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lti_roster_syncs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('context_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=150), nullable=False),
        sa.Column('members_seen', sa.Integer(), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('deactivated', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['context_id'], ['lti_contexts.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_roster_syncs_context_id_lti_contexts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_roster_syncs')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_lti_roster_syncs_context_started', 'lti_roster_syncs',
                    ['context_id', 'started_at'])
    op.create_table(
        'lti_grade_settings',
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('publish', sa.Boolean(), nullable=False),
        sa.Column('score_verified', sa.Float(), nullable=False),
        sa.Column('score_rejected', sa.Float(), nullable=False),
        sa.Column('score_maximum', sa.Float(), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('score_maximum > 0',
                           name=op.f('ck_lti_grade_settings_score_maximum_positive')),
        sa.CheckConstraint(
            'score_verified >= 0 AND score_verified <= score_maximum '
            'AND score_rejected >= 0 AND score_rejected <= score_maximum',
            name=op.f('ck_lti_grade_settings_scores_in_range')),
        sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_grade_settings_exam_id_exams')),
        sa.PrimaryKeyConstraint('exam_id', name=op.f('pk_lti_grade_settings')),
    )
    op.create_table(
        'lti_score_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('resource_link_id', sa.Integer(), nullable=False),
        sa.Column('attempt_status', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('lineitem_url', sa.String(length=1024), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'refused')",
                           name=op.f('ck_lti_score_outbox_status')),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], ondelete='SET NULL',
                                name=op.f('fk_lti_score_outbox_attempt_id_attempts')),
        sa.ForeignKeyConstraint(
            ['resource_link_id'], ['lti_resource_links.id'], ondelete='CASCADE',
            name=op.f('fk_lti_score_outbox_resource_link_id_lti_resource_links')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_score_outbox')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_score_outbox_attempt_id'), 'lti_score_outbox', ['attempt_id'])
    op.create_index(op.f('ix_lti_score_outbox_resource_link_id'), 'lti_score_outbox',
                    ['resource_link_id'])
    op.create_index('ix_lti_score_outbox_status_next', 'lti_score_outbox',
                    ['status', 'next_attempt_at'])


def downgrade():
    op.drop_table('lti_score_outbox')
    op.drop_table('lti_grade_settings')
    op.drop_table('lti_roster_syncs')
