"""posting schedules and queues per target (issue 12)

Revision ID: 0009_queues
Revises: 0008_replicas
Create Date: 2026-11-29 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009_queues'
down_revision: str | None = '0008_replicas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('targets', schema=None) as batch_op:
        # Existing targets start with no slots ({} reads as an empty week) and a running queue.
        batch_op.add_column(
            sa.Column('posting_slots', sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(
            sa.Column('queue_paused', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        # NULL: a post with an explicit time, as every post written before queues.
        batch_op.add_column(sa.Column('queue_position', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.drop_column('queue_position')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_column('queue_paused')
        batch_op.drop_column('posting_slots')
