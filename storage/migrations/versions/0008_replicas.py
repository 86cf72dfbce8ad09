"""webhook replicas: idempotent confirm, shared albums, pending logins (issue 14)

Revision ID: 0008_replicas
Revises: 0007_outbox
Create Date: 2026-11-29 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008_replicas'
down_revision: str | None = '0007_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Write-ahead "sending": a claimed post whose request is about to leave.
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'draft_saves',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('owner_id', sa.BigInteger(), nullable=False),
        sa.Column('content_id', sa.Integer(), nullable=False),
        sa.Column('post_ids', sa.JSON(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['content_id'],
            ['contents.id'],
            name=op.f('fk_draft_saves_content_id_contents'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['owner_id'],
            ['users.id'],
            name=op.f('fk_draft_saves_owner_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_draft_saves')),
    )
    op.create_index(
        'ix_draft_saves_owner_message', 'draft_saves', ['owner_id', 'message_id'], unique=False
    )
    op.create_table(
        'album_parts',
        sa.Column('group_key', sa.String(length=96), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('file_id', sa.String(length=256), nullable=True),
        sa.Column('caption', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('group_key', 'message_id', name=op.f('pk_album_parts')),
    )
    op.create_index(
        op.f('ix_album_parts_created_at'), 'album_parts', ['created_at'], unique=False
    )
    op.create_table(
        'album_claims',
        sa.Column('group_key', sa.String(length=96), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('group_key', name=op.f('pk_album_claims')),
    )
    op.create_index(
        op.f('ix_album_claims_claimed_at'), 'album_claims', ['claimed_at'], unique=False
    )
    op.create_table(
        'pending_logins',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('owner_id', sa.BigInteger(), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['owner_id'],
            ['users.id'],
            name=op.f('fk_pending_logins_owner_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_pending_logins')),
    )


def downgrade() -> None:
    op.drop_table('pending_logins')
    op.drop_index(op.f('ix_album_claims_claimed_at'), table_name='album_claims')
    op.drop_table('album_claims')
    op.drop_index(op.f('ix_album_parts_created_at'), table_name='album_parts')
    op.drop_table('album_parts')
    op.drop_index('ix_draft_saves_owner_message', table_name='draft_saves')
    op.drop_table('draft_saves')
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.drop_column('sending_at')
