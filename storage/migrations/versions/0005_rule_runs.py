"""auto-posting rules: the execution a worker claimed and has not finished yet

Revision ID: 0005_rule_runs
Revises: 0004_soft_delete_targets
Create Date: 2026-11-29 11:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_rule_runs'
down_revision: str | None = '0004_soft_delete_targets'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('auto_posting_rules', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claimed_slot_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('auto_posting_rules', schema=None) as batch_op:
        batch_op.drop_column('claimed_slot_at')
