"""unlinking keeps history: targets are soft-deleted, posts no longer cascade with them

Revision ID: 0004_soft_delete_targets
Revises: 0003_codes
Create Date: 2026-11-29 11:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004_soft_delete_targets'
down_revision: str | None = '0003_codes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_NAME = 'fk_scheduled_posts_target_id_targets'


def upgrade() -> None:
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    # SQLite cannot alter a constraint: batch mode rebuilds the table (render_as_batch).
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.drop_constraint(FK_NAME, type_='foreignkey')
        batch_op.create_foreign_key(FK_NAME, 'targets', ['target_id'], ['id'])


def downgrade() -> None:
    # The old schema deleted a target's posts with it: soft-deleted targets (and with them
    # their history) go the way they would have gone then.
    op.execute(
        'DELETE FROM publish_attempts WHERE post_id IN (SELECT id FROM scheduled_posts '
        'WHERE target_id IN (SELECT id FROM targets WHERE deleted_at IS NOT NULL))'
    )
    op.execute(
        'DELETE FROM scheduled_posts WHERE target_id IN '
        '(SELECT id FROM targets WHERE deleted_at IS NOT NULL)'
    )
    op.execute(
        'DELETE FROM credentials WHERE target_id IN '
        '(SELECT id FROM targets WHERE deleted_at IS NOT NULL)'
    )
    op.execute(
        'DELETE FROM rule_targets WHERE target_id IN '
        '(SELECT id FROM targets WHERE deleted_at IS NOT NULL)'
    )
    op.execute('DELETE FROM targets WHERE deleted_at IS NOT NULL')
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.drop_constraint(FK_NAME, type_='foreignkey')
        batch_op.create_foreign_key(
            FK_NAME, 'targets', ['target_id'], ['id'], ondelete='CASCADE'
        )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
