"""LTI 1.3: our RSA key pairs, the platforms that launch us, their contexts and links.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lti_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('private_key_pem', sa.Text(), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_keys')),
        sa.UniqueConstraint('kid', name=op.f('uq_lti_keys_kid')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'lti_platforms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('auth_login_url', sa.String(length=1024), nullable=False),
        sa.Column('auth_token_url', sa.String(length=1024), nullable=False),
        sa.Column('key_set_url', sa.String(length=1024), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
        sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'lti_deployments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('deployment_id', sa.String(length=255), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_deployments_platform_id_lti_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_deployments')),
        sa.UniqueConstraint('platform_id', 'deployment_id',
                            name=op.f('uq_lti_deployments_platform_id_deployment_id')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'lti_contexts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('context_id', sa.String(length=255), nullable=False),
        sa.Column('course_id', sa.String(length=255), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('nrps_memberships_url', sa.String(length=1024), nullable=True),
        sa.Column('roster_synced_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.course_id'], ondelete='CASCADE',
                                name=op.f('fk_lti_contexts_course_id_courses')),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_contexts_platform_id_lti_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_contexts')),
        sa.UniqueConstraint('platform_id', 'context_id', name=op.f('uq_lti_contexts_platform_id_context_id')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_contexts_course_id'), 'lti_contexts', ['course_id'])
    op.create_table(
        'lti_resource_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('context_id', sa.Integer(), nullable=False),
        sa.Column('resource_link_id', sa.String(length=255), nullable=False),
        sa.Column('exam_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('ags_lineitem_url', sa.String(length=1024), nullable=True),
        sa.Column('ags_lineitems_url', sa.String(length=1024), nullable=True),
        sa.Column('ags_scopes', sa.Text(), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['context_id'], ['lti_contexts.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_resource_links_context_id_lti_contexts')),
        sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], ondelete='SET NULL',
                                name=op.f('fk_lti_resource_links_exam_id_exams')),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_lti_resource_links_platform_id_lti_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_resource_links')),
        sa.UniqueConstraint('platform_id', 'resource_link_id',
                            name=op.f('uq_lti_resource_links_platform_id_resource_link_id')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_lti_resource_links_context_id'), 'lti_resource_links',
                    ['context_id'])
    op.create_index(op.f('ix_lti_resource_links_exam_id'), 'lti_resource_links', ['exam_id'])


def downgrade():
    op.drop_table('lti_resource_links')
    op.drop_table('lti_contexts')
    op.drop_table('lti_deployments')
    op.drop_table('lti_platforms')
    op.drop_table('lti_keys')
