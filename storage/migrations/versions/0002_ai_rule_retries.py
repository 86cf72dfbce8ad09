"""auto-posting rules: retry state of the current execution

Revision ID: 0002_ai
Revises: 0001
Create Date: 2026-11-28 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_ai'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('auto_posting_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_slot_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('retry_attempts', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('auto_posting_rules', schema=None) as batch_op:
        batch_op.drop_column('retry_attempts')
        batch_op.drop_column('retry_slot_at')
