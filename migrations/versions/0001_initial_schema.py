"""Initial schema: users, courses, exams, attempts and their history, allowances, reviews.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('proctoring_escalation_email', sa.String(length=254), nullable=True),
    sa.Column('allow_proctoring_opt_out', sa.Boolean(), nullable=False),
    sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lti_context_id', sa.String(length=255), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('course_id', name=op.f('uq_courses_course_id'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_lti_context_id'), ['lti_context_id'], unique=False)

    op.create_table('review_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('attempt_code', sa.String(length=255), nullable=False),
    sa.Column('review_status', sa.String(length=64), nullable=False),
    sa.Column('raw_data', sa.Text(), nullable=False),
    sa.Column('encrypted_video_url', sa.LargeBinary(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.Column('exam_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_history'))
    )
    with op.batch_alter_table('review_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_history_attempt_code'), ['attempt_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_history_review_id'), ['review_id'], unique=False)

    op.create_table('review_policy_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('original_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('set_by_user_id', sa.Integer(), nullable=True),
    sa.Column('review_policy', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_policy_history'))
    )
    with op.batch_alter_table('review_policy_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_policy_history_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_policy_history_original_id'), ['original_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_staff', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)

    op.create_table('allowance_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('allowance_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_allowance_history_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowance_history'))
    )
    with op.batch_alter_table('allowance_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allowance_history_allowance_id'), ['allowance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allowance_history_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allowance_history_user_id'), ['user_id'], unique=False)

    op.create_table('attempt_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('attempt_code', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=64), nullable=True),
    sa.Column('to_status', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('ignored', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_attempt_history_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_history'))
    )
    with op.batch_alter_table('attempt_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_history_attempt_code'), ['attempt_code'], unique=False)
        batch_op.create_index('ix_attempt_history_attempt_time', ['attempt_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_history_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_history_user_id'), ['user_id'], unique=False)

    op.create_table('course_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('enrollment_mode', sa.String(length=50), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('learner', 'staff')", name=op.f('ck_course_memberships_role')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.course_id'], name=op.f('fk_course_memberships_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_memberships')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_course_memberships_user_id_course_id'))
    )
    with op.batch_alter_table('course_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_memberships_course_id'), ['course_id'], unique=False)

    op.create_table('exams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=255), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('exam_name', sa.Text(), nullable=False),
    sa.Column('time_limit_mins', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_proctored', sa.Boolean(), nullable=False),
    sa.Column('is_practice_exam', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('hide_after_due', sa.Boolean(), nullable=False),
    sa.Column('backend', sa.String(length=100), nullable=True),
    sa.Column('content_url', sa.String(length=2000), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('time_limit_mins > 0', name=op.f('ck_exams_time_limit_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.course_id'], name=op.f('fk_exams_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams')),
    sa.UniqueConstraint('course_id', 'content_id', name=op.f('uq_exams_course_id_content_id'))
    )
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_content_id'), ['content_id'], unique=False)
        batch_op.create_index('ix_exams_course_active', ['course_id', 'is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_external_id'), ['external_id'], unique=False)

    op.create_table('user_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_user_identities_issuer_subject'))
    )
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_identities_user_id'), ['user_id'], unique=False)

    op.create_table('allowances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("key IN ('additional_time_granted', 'review_policy_exception')", name=op.f('ck_allowances_key')),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_allowances_exam_id_exams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_allowances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allowances')),
    sa.UniqueConstraint('user_id', 'exam_id', 'key', name=op.f('uq_allowances_user_id_exam_id_key'))
    )
    with op.batch_alter_table('allowances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allowances_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allowances_user_id'), ['user_id'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('attempt_code', sa.String(length=255), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('allowed_time_limit_mins', sa.Integer(), nullable=True),
    sa.Column('taking_as_proctored', sa.Boolean(), nullable=False),
    sa.Column('is_sample_attempt', sa.Boolean(), nullable=False),
    sa.Column('review_policy_id', sa.Integer(), nullable=True),
    sa.Column('is_status_acknowledged', sa.Boolean(), nullable=False),
    sa.Column('time_remaining_seconds', sa.Integer(), nullable=True),
    sa.Column('is_resumable', sa.Boolean(), nullable=False),
    sa.Column('ready_to_resume', sa.Boolean(), nullable=False),
    sa.Column('resumed', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('created', 'download_software_clicked', 'ready_to_start', 'started', 'ready_to_submit', 'submitted', 'second_review_required', 'verified', 'rejected', 'error', 'declined', 'timed_out', 'onboarding_missing', 'onboarding_pending', 'onboarding_failed', 'onboarding_expired', 'onboarding_reset')", name=op.f('ck_attempts_status')),
    sa.CheckConstraint('allowed_time_limit_mins IS NULL OR allowed_time_limit_mins >= 0', name=op.f('ck_attempts_allowed_time_non_negative')),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_attempts_exam_id_exams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('attempt_code', name=op.f('uq_attempts_attempt_code'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_exam_user', ['exam_id', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_external_id'), ['external_id'], unique=False)
        batch_op.create_index('ix_attempts_status_started', ['status', 'started_at'], unique=False)
        batch_op.create_index('ix_attempts_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('uq_attempts_one_live_per_exam', ['exam_id', 'user_id'], unique=True, sqlite_where=sa.text('resumed = 0 AND is_sample_attempt = 0'), postgresql_where=sa.text('resumed = false AND is_sample_attempt = false'))

    op.create_table('review_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('set_by_user_id', sa.Integer(), nullable=True),
    sa.Column('review_policy', sa.Text(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_review_policies_exam_id_exams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_user_id'], ['users.id'], name=op.f('fk_review_policies_set_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_policies')),
    sa.UniqueConstraint('exam_id', name=op.f('uq_review_policies_exam_id'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_code', sa.String(length=255), nullable=False),
    sa.Column('is_attempt_active', sa.Boolean(), nullable=False),
    sa.Column('review_status', sa.String(length=64), nullable=False),
    sa.Column('raw_data', sa.Text(), nullable=False),
    sa.Column('encrypted_video_url', sa.LargeBinary(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.Column('exam_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_reviews_exam_id_exams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_reviews_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_reviews_student_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('attempt_code', name=op.f('uq_reviews_attempt_code'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_student_id'), ['student_id'], unique=False)

    op.create_table('review_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Integer(), nullable=False),
    sa.Column('stop_time', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_comments_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_comments'))
    )
    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_comments_review_id'), ['review_id'], unique=False)




def downgrade():

    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_comments_review_id'))

    op.drop_table('review_comments')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_student_id'))
        batch_op.drop_index(batch_op.f('ix_reviews_exam_id'))

    op.drop_table('reviews')
    op.drop_table('review_policies')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_attempts_one_live_per_exam', sqlite_where=sa.text('resumed = 0 AND is_sample_attempt = 0'), postgresql_where=sa.text('resumed = false AND is_sample_attempt = false'))
        batch_op.drop_index('ix_attempts_user_status')
        batch_op.drop_index('ix_attempts_status_started')
        batch_op.drop_index(batch_op.f('ix_attempts_external_id'))
        batch_op.drop_index('ix_attempts_exam_user')

    op.drop_table('attempts')
    with op.batch_alter_table('allowances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allowances_user_id'))
        batch_op.drop_index(batch_op.f('ix_allowances_exam_id'))

    op.drop_table('allowances')
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_identities_user_id'))

    op.drop_table('user_identities')
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_external_id'))
        batch_op.drop_index('ix_exams_course_active')
        batch_op.drop_index(batch_op.f('ix_exams_content_id'))

    op.drop_table('exams')
    with op.batch_alter_table('course_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_memberships_course_id'))

    op.drop_table('course_memberships')
    with op.batch_alter_table('attempt_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_history_user_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_history_exam_id'))
        batch_op.drop_index('ix_attempt_history_attempt_time')
        batch_op.drop_index(batch_op.f('ix_attempt_history_attempt_code'))

    op.drop_table('attempt_history')
    with op.batch_alter_table('allowance_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allowance_history_user_id'))
        batch_op.drop_index(batch_op.f('ix_allowance_history_exam_id'))
        batch_op.drop_index(batch_op.f('ix_allowance_history_allowance_id'))

    op.drop_table('allowance_history')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    with op.batch_alter_table('review_policy_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_policy_history_original_id'))
        batch_op.drop_index(batch_op.f('ix_review_policy_history_exam_id'))

    op.drop_table('review_policy_history')
    with op.batch_alter_table('review_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_history_review_id'))
        batch_op.drop_index(batch_op.f('ix_review_history_attempt_code'))

    op.drop_table('review_history')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_lti_context_id'))

    op.drop_table('courses')

