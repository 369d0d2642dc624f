"""LTI Proctoring Services (we launch proctoring tools): sessions, used nonces/jtis,
incidents, and an attempt clock that can pause and take extra time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempts', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_seconds', sa.Integer(),
                                      server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('extra_seconds', sa.Integer(),
                                      server_default=sa.text('0'), nullable=False))

    op.create_table(
        'lti_proctoring_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('backend', sa.String(length=100), nullable=False),
        sa.Column('sub', sa.String(length=255), nullable=False),
        sa.Column('resource_link_id', sa.String(length=255), nullable=False),
        sa.Column('attempt_number', sa.Integer(), nullable=False),
        sa.Column('session_data', sa.String(length=128), nullable=False),
        sa.Column('assessment_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_assessment_return', sa.Boolean(), nullable=False),
        sa.Column('tool_return_url', sa.String(length=2000), nullable=True),
        sa.Column('verified_user', sa.Text(), nullable=True),
        sa.Column('end_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'],
                                name=op.f('fk_lti_proctoring_sessions_attempt_id_attempts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_lti_proctoring_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_proctoring_sessions')),
        sa.UniqueConstraint('attempt_id', name=op.f('uq_lti_proctoring_sessions_attempt_id')),
        sa.UniqueConstraint('session_data',
                            name=op.f('uq_lti_proctoring_sessions_session_data')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_lti_proctoring_sessions_lookup', 'lti_proctoring_sessions',
                    ['backend', 'sub', 'resource_link_id', 'attempt_number'], unique=False)
    op.create_index(op.f('ix_lti_proctoring_sessions_user_id'), 'lti_proctoring_sessions',
                    ['user_id'], unique=False)

    op.create_table(
        'lti_used_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_used_values')),
        sa.UniqueConstraint('client_id', 'kind', 'value',
                            name=op.f('uq_lti_used_values_client_id_kind_value')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_used_values_expires_at'), 'lti_used_values', ['expires_at'],
                    unique=False)

    op.create_table(
        'attempt_incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('attempt_code', sa.String(length=255), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('incident_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('severity', sa.Float(), nullable=True),
        sa.Column('reason_code', sa.String(length=255), nullable=False),
        sa.Column('reason_msg', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('severity IS NULL OR (severity >= 0 AND severity <= 1)',
                           name=op.f('ck_attempt_incidents_severity_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_incidents')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_attempt_incidents_attempt', 'attempt_incidents', ['attempt_id', 'id'],
                    unique=False)
    op.create_index(op.f('ix_attempt_incidents_attempt_code'), 'attempt_incidents',
                    ['attempt_code'], unique=False)
    op.create_index(op.f('ix_attempt_incidents_exam_id'), 'attempt_incidents', ['exam_id'],
                    unique=False)
    op.create_index(op.f('ix_attempt_incidents_user_id'), 'attempt_incidents', ['user_id'],
                    unique=False)


def downgrade():
    op.drop_table('attempt_incidents')
    op.drop_table('lti_used_values')
    op.drop_table('lti_proctoring_sessions')
    with op.batch_alter_table('attempts', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('extra_seconds')
        batch_op.drop_column('paused_seconds')
        batch_op.drop_column('paused_at')
