"""users: whether to tell the owner each time a post goes out (issue 12, "after publishing")

Revision ID: 0011_notify_published
Revises: 0010_post_life
Create Date: 2026-11-29 14:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011_notify_published'
down_revision: str | None = '0010_post_life'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'notify_published', sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('notify_published')
