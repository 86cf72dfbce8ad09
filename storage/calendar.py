"""The calendar's reads: one owner's publications in a time range (the Mini App's views)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Content, PostStatus, ScheduledPost, Target

# Rows that never were and never will be publications are not on a calendar.
HIDDEN_STATUSES = (PostStatus.DRAFT, PostStatus.CANCELLED, PostStatus.SKIPPED)


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def posts_between(
        self,
        owner_id: int,
        start: datetime,
        end: datetime,
        *,
        target_ids: Sequence[int] | None = None,
        limit: int = 2000,
    ) -> list[tuple[ScheduledPost, Content, Target]]:
        """The owner's publications scheduled in [start, end), oldest first, at most `limit`."""
        where = [
            ScheduledPost.owner_id == owner_id,
            ScheduledPost.scheduled_time >= start,
            ScheduledPost.scheduled_time < end,
            ScheduledPost.status.not_in(list(HIDDEN_STATUSES)),
        ]
        if target_ids is not None:
            where.append(ScheduledPost.target_id.in_(list(target_ids)))
        rows = await self.session.execute(
            select(ScheduledPost, Content, Target)
            .join(Content, Content.id == ScheduledPost.content_id)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(*where)
            .order_by(ScheduledPost.scheduled_time, ScheduledPost.id)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]
