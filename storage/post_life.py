"""A published post's life (issue 12): its messages on the platform, what was done to them
(`post_events`) and the timed actions still to do (`post_actions`: auto-delete, the end of a
timed pin), claimed with a lease like posts so that several processes run each once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Content,
    PostAction,
    PostEvent,
    PostStatus,
    PublishedMessages,
    ScheduledPost,
    Target,
)

# post_actions.status
PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"

# post_actions.kind
DELETE = "delete"
UNPIN = "unpin"


@dataclass(frozen=True)
class ClaimedAction:
    id: int
    post_id: int
    owner_id: int
    kind: str
    due_at: datetime
    attempts: int


class PostLifeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------- messages ----------

    async def messages(self, post_id: int) -> PublishedMessages | None:
        return await self.session.get(PublishedMessages, post_id)

    async def record_messages(
        self, post_id: int, message_ids: Sequence[str], *, has_media: bool
    ) -> PublishedMessages:
        row = await self.session.get(PublishedMessages, post_id)
        if row is None:
            row = PublishedMessages(
                post_id=post_id,
                message_ids=list(message_ids),
                has_media=has_media,
                pinned=False,
            )
            self.session.add(row)
        else:
            row.message_ids = list(message_ids)
            row.has_media = has_media
        return row

    async def mark_removed(self, post_id: int, now: datetime) -> None:
        row = await self._messages_row(post_id)
        row.removed_at = now
        row.pinned = False
        row.pinned_until = None

    async def mark_pinned(self, post_id: int, until: datetime | None) -> None:
        row = await self._messages_row(post_id)
        row.pinned = True
        row.pinned_until = until

    async def mark_unpinned(self, post_id: int) -> None:
        row = await self._messages_row(post_id)
        row.pinned = False
        row.pinned_until = None

    async def _messages_row(self, post_id: int) -> PublishedMessages:
        row = await self.session.get(PublishedMessages, post_id)
        if row is not None:
            return row
        post = await self.session.get(ScheduledPost, post_id)
        ids = [post.external_id] if post is not None and post.external_id else []
        row = PublishedMessages(post_id=post_id, message_ids=ids, has_media=False, pinned=False)
        self.session.add(row)
        return row

    # ---------- events ----------

    def add_event(
        self,
        post_id: int,
        kind: str,
        at: datetime,
        *,
        actor: str,
        outcome: str,
        error_code: str | None = None,
        detail: str | None = None,
    ) -> PostEvent:
        event = PostEvent(
            post_id=post_id,
            kind=kind,
            at=at,
            actor=actor,
            outcome=outcome,
            error_code=error_code,
            detail=detail[:2000] if detail else None,
        )
        self.session.add(event)
        return event

    async def events(self, post_id: int, limit: int = 50) -> list[PostEvent]:
        rows = await self.session.scalars(
            select(PostEvent)
            .where(PostEvent.post_id == post_id)
            .order_by(PostEvent.at.desc(), PostEvent.id.desc())
            .limit(limit)
        )
        return list(rows.all())

    # ---------- timed actions ----------

    async def schedule_action(
        self, post_id: int, owner_id: int, kind: str, due_at: datetime
    ) -> PostAction:
        """One pending action of a kind per post: a new time replaces the old one."""
        await self.cancel_actions(post_id, kind)
        action = PostAction(
            post_id=post_id,
            owner_id=owner_id,
            kind=kind,
            due_at=due_at,
            status=PENDING,
            attempts=0,
        )
        self.session.add(action)
        await self.session.flush()
        return action

    async def cancel_actions(self, post_id: int, kind: str | None = None) -> int:
        conditions = [PostAction.post_id == post_id, PostAction.status == PENDING]
        if kind is not None:
            conditions.append(PostAction.kind == kind)
        result = await self.session.execute(
            update(PostAction)
            .where(*conditions)
            .values(status=CANCELLED)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending_actions(self, post_id: int) -> list[PostAction]:
        rows = await self.session.scalars(
            select(PostAction)
            .where(PostAction.post_id == post_id, PostAction.status.in_((PENDING, RUNNING)))
            .order_by(PostAction.due_at)
        )
        return list(rows.all())

    async def claim_due(
        self, now: datetime, worker_id: str, lease: timedelta, limit: int
    ) -> list[ClaimedAction]:
        """`pending → running` in one conditional statement, as posts are claimed: whoever
        did not change the row does not run it."""
        candidates = (
            select(PostAction.id)
            .where(PostAction.status == PENDING, PostAction.due_at <= now)
            .order_by(PostAction.due_at, PostAction.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            due = candidates.with_for_update(skip_locked=True).cte("due_actions")
            chosen: Any = PostAction.id == due.c.id
        else:
            chosen = PostAction.id.in_(candidates.scalar_subquery())
        result = await self.session.execute(
            update(PostAction)
            .where(chosen, PostAction.status == PENDING)
            .values(
                status=RUNNING,
                lease_owner=worker_id,
                lease_until=now + lease,
                attempts=PostAction.attempts + 1,
            )
            .returning(
                PostAction.id,
                PostAction.post_id,
                PostAction.owner_id,
                PostAction.kind,
                PostAction.due_at,
                PostAction.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        return sorted(
            (ClaimedAction(*row) for row in result.all()), key=lambda a: (a.due_at, a.id)
        )

    async def expire_leases(self, now: datetime) -> int:
        """Actions whose process died mid-way go back to pending: deleting or unpinning
        twice is harmless (the second finds nothing to do)."""
        result = await self.session.execute(
            update(PostAction)
            .where(PostAction.status == RUNNING, PostAction.lease_until < now)
            .values(status=PENDING, lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def finish(
        self,
        action_id: int,
        worker_id: str,
        *,
        status: str,
        now: datetime,
        error_code: str | None = None,
        due_at: datetime | None = None,
    ) -> bool:
        """Settle a claimed action; False when its lease was lost meanwhile."""
        values: dict[str, Any] = {
            "status": status,
            "lease_owner": None,
            "lease_until": None,
            "error_code": error_code,
        }
        if status == PENDING and due_at is not None:
            values["due_at"] = due_at
        else:
            values["finished_at"] = now
        result = await self.session.execute(
            update(PostAction)
            .where(
                and_(
                    PostAction.id == action_id,
                    PostAction.status == RUNNING,
                    PostAction.lease_owner == worker_id,
                )
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def next_due_at(self) -> datetime | None:
        pending = await self.session.scalar(
            select(PostAction.due_at)
            .where(PostAction.status == PENDING)
            .order_by(PostAction.due_at)
            .limit(1)
        )
        lease = await self.session.scalar(
            select(PostAction.lease_until)
            .where(PostAction.status == RUNNING)
            .order_by(PostAction.lease_until)
            .limit(1)
        )
        candidates = [t for t in (pending, lease) if t is not None]
        return min(candidates) if candidates else None

    # ---------- loading a post to act on ----------

    async def load(
        self, post_id: int, owner_id: int | None = None
    ) -> tuple[ScheduledPost, Content, Target, PublishedMessages | None] | None:
        """The post (for its owner when `owner_id` is given), its content and target, and
        its messages."""
        query = (
            select(ScheduledPost, Content, Target)
            .join(Content, Content.id == ScheduledPost.content_id)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(ScheduledPost.id == post_id)
        )
        if owner_id is not None:
            query = query.where(ScheduledPost.owner_id == owner_id)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        messages = await self.session.get(PublishedMessages, post_id)
        return row[0], row[1], row[2], messages


def is_published(post: ScheduledPost) -> bool:
    return post.status == PostStatus.PUBLISHED and bool(post.external_id)
