"""Queues per target (issue 12): the rows a queue is made of, read and written in the
caller's unit. Which slot a post takes is decided by services/queues.py; this module only
loads and stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Content, PostStatus, ScheduledPost, Target, User
from storage.queue_config import PostingSlots

# Posts whose explicit time a queued post does not take (their slot is busy).
TIMED_STATUSES = (PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL)


class QueueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def target_for_owner(
        self, owner_id: int, target_id: int, *, lock: bool = False
    ) -> tuple[Target, str] | None:
        """The owner's linked target and the owner's zone. `lock`: a write unit that is about
        to change the queue takes the target's row first, so that two changes of one queue
        (two processes on PostgreSQL) run one after the other."""
        query = (
            select(Target, User.timezone)
            .join(User, User.id == Target.owner_id)
            .where(
                Target.id == target_id,
                Target.owner_id == owner_id,
                Target.deleted_at.is_(None),
            )
        )
        if lock and self._is_postgres():
            query = query.with_for_update(of=Target)
        row = (await self.session.execute(query)).first()
        return (row[0], row[1] or "UTC") if row else None

    def _is_postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def queued(self, target_id: int) -> list[ScheduledPost]:
        """The posts waiting in the queue, in queue order."""
        rows = await self.session.scalars(
            select(ScheduledPost)
            .where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status == PostStatus.SCHEDULED,
                ScheduledPost.queue_position.is_not(None),
            )
            .order_by(ScheduledPost.queue_position, ScheduledPost.id)
        )
        return list(rows.all())

    async def queued_with_content(self, target_id: int) -> list[tuple[ScheduledPost, Content]]:
        rows = await self.session.execute(
            select(ScheduledPost, Content)
            .join(Content, Content.id == ScheduledPost.content_id)
            .where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status == PostStatus.SCHEDULED,
                ScheduledPost.queue_position.is_not(None),
            )
            .order_by(ScheduledPost.queue_position, ScheduledPost.id)
        )
        return [(r[0], r[1]) for r in rows.all()]

    async def timed_times(self, target_id: int, since: datetime) -> list[datetime]:
        """When the target's explicitly timed posts go out, from `since` on."""
        rows = await self.session.scalars(
            select(ScheduledPost.scheduled_time).where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status.in_(TIMED_STATUSES),
                ScheduledPost.queue_position.is_(None),
                ScheduledPost.scheduled_time >= since,
            )
        )
        return list(rows.all())

    async def last_position(self, target_id: int) -> int:
        value = await self.session.scalar(
            select(func.max(ScheduledPost.queue_position)).where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status == PostStatus.SCHEDULED,
            )
        )
        return int(value or 0)

    async def queued_between(
        self, owner_id: int, start: datetime, end: datetime
    ) -> Sequence[tuple[ScheduledPost, Content, Target]]:
        """The owner's queued posts going out in [start, end) (for a calendar)."""
        rows = await self.session.execute(
            select(ScheduledPost, Content, Target)
            .join(Content, Content.id == ScheduledPost.content_id)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(
                ScheduledPost.owner_id == owner_id,
                ScheduledPost.status == PostStatus.SCHEDULED,
                ScheduledPost.queue_position.is_not(None),
                ScheduledPost.scheduled_time >= start,
                ScheduledPost.scheduled_time < end,
            )
            .order_by(ScheduledPost.scheduled_time, ScheduledPost.id)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]

    @staticmethod
    def set_slots(target: Target, slots: PostingSlots) -> None:
        target.posting_slots = slots

    @staticmethod
    def set_paused(target: Target, paused: bool) -> None:
        target.queue_paused = paused
