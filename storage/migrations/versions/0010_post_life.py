"""a post's life after publishing: events, auto-delete, timed pin (issue 12)

Revision ID: 0010_post_life
Revises: 0009_queues
Create Date: 2026-11-29 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_post_life'
down_revision: str | None = '0009_queues'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'published_messages',
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('message_ids', sa.JSON(), nullable=False),
        sa.Column('has_media', sa.Boolean(), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pinned_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pinned', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['post_id'],
            ['scheduled_posts.id'],
            name=op.f('fk_published_messages_post_id_scheduled_posts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('post_id', name=op.f('pk_published_messages')),
    )
    op.create_table(
        'post_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('error_code', sa.String(length=32), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['post_id'],
            ['scheduled_posts.id'],
            name=op.f('fk_post_events_post_id_scheduled_posts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_post_events')),
    )
    with op.batch_alter_table('post_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_events_post_id'), ['post_id'], unique=False)
    op.create_table(
        'post_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error_code', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['owner_id'],
            ['users.id'],
            name=op.f('fk_post_actions_owner_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['post_id'],
            ['scheduled_posts.id'],
            name=op.f('fk_post_actions_post_id_scheduled_posts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_post_actions')),
    )
    with op.batch_alter_table('post_actions', schema=None) as batch_op:
        batch_op.create_index('ix_post_actions_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_actions_post_id'), ['post_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('post_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_actions_post_id'))
        batch_op.drop_index('ix_post_actions_status_due_at')
    op.drop_table('post_actions')
    with op.batch_alter_table('post_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_events_post_id'))
    op.drop_table('post_events')
    op.drop_table('published_messages')
