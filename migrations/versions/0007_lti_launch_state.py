"""LTI 1.3 launches: the OIDC logins we started and the nonces already used.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lti_login_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('storage_target', sa.String(length=255), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_login_states_platform_id_lti_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_login_states')),
        sa.UniqueConstraint('state', name=op.f('uq_lti_login_states_state')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_login_states_expires_at'), 'lti_login_states', ['expires_at'])
    op.create_table(
        'lti_nonces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_nonces_platform_id_lti_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_nonces')),
        sa.UniqueConstraint('platform_id', 'nonce', name=op.f('uq_lti_nonces_platform_id_nonce')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_nonces_expires_at'), 'lti_nonces', ['expires_at'])


def downgrade():
    op.drop_table('lti_nonces')
    op.drop_table('lti_login_states')
