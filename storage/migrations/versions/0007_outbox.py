"""notifications outbox (issue 14)

Revision ID: 0007_outbox
Revises: 0006_scale
Create Date: 2026-11-29 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_outbox'
down_revision: str | None = '0006_scale'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'notification_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=160), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_outbox_dedupe_key')),
    )
    op.create_index(
        'ix_notification_outbox_status_next',
        'notification_outbox',
        ['status', 'next_attempt_at'],
        unique=False,
    )
    op.create_index(
        'ix_notification_outbox_chat_status',
        'notification_outbox',
        ['chat_id', 'status'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_notification_outbox_chat_status', table_name='notification_outbox')
    op.drop_index('ix_notification_outbox_status_next', table_name='notification_outbox')
    op.drop_table('notification_outbox')
