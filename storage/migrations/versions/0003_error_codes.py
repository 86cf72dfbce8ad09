"""error codes beside the English error details

Revision ID: 0003_codes
Revises: 0002_ai
Create Date: 2026-11-29 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_codes'
down_revision: str | None = '0002_ai'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows written before codes keep NULL: the interface shows a generic sentence for them.
TABLES = ('scheduled_posts', 'publish_attempts', 'auto_posting_rules', 'targets')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('error_code', sa.String(length=32), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('error_code')
