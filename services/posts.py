"""Creating, scheduling and changing posts: the rules the chat must not decide itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from content.fitting import INSTAGRAM_HASHTAG_LIMIT, FitResult, fit_for_platform
from services.clock import Clock
from services.notify import NullWaker, Waker
from storage.models import Content, PostStatus, ScheduledPost, Target, TargetStatus
from storage.repositories import ContentRepository, PostRepository, TargetRepository

# A post may be scheduled this far in the past and still count as "now" (typing takes time).
NOW_TOLERANCE = timedelta(seconds=5)
MAX_AHEAD = timedelta(days=366 * 2)


class PostRuleError(ValueError):
    """A request the rules refuse. `code` selects the message the chat shows."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Draft:
    text: str
    title: str | None = None
    media: tuple[dict[str, Any], ...] = ()
    options: dict[str, Any] | None = None


def check_draft(
    draft: Draft, platforms: Sequence[str], *, hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT
) -> list[FitResult]:
    pictures = sum(1 for m in draft.media if m.get("kind") == "photo")
    return [
        fit_for_platform(
            platform,
            draft.text,
            title=draft.title,
            pictures=pictures,
            allow_thread=bool((draft.options or {}).get("x_thread")),
            hashtag_limit=hashtag_limit,
        )
        for platform in platforms
    ]


class PostService:
    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        waker: Waker | None = None,
        *,
        hashtag_limit: int = INSTAGRAM_HASHTAG_LIMIT,
    ) -> None:
        self.session = session
        # Instagram's hashtag limit as configured (INSTAGRAM_HASHTAG_LIMIT): the check before
        # saving must agree with the preview and with the publisher.
        self.hashtag_limit = hashtag_limit
        self.clock = clock
        self.waker = waker or NullWaker()
        self.posts = PostRepository(session)
        self.targets = TargetRepository(session)
        self.contents = ContentRepository(session)

    def validate_time(self, when: datetime) -> datetime:
        now = self.clock.now()
        if when < now - NOW_TOLERANCE:
            raise PostRuleError("time_in_past", when=when)
        if when > now + MAX_AHEAD:
            raise PostRuleError("time_too_far", when=when)
        return max(when, now)

    async def schedule(
        self,
        owner_id: int,
        draft: Draft,
        target_ids: Sequence[int],
        when: datetime | None,
        *,
        source: str = "manual",
        prompt: str | None = None,
    ) -> tuple[Content, list[ScheduledPost]]:
        """Save the content and one publication per target; `when=None` means now."""
        targets = await self.targets.get_many_for_owner(owner_id, target_ids)
        if not targets or len(targets) != len(set(target_ids)):
            raise PostRuleError("no_targets")
        broken = [t for t in targets if t.status == TargetStatus.BROKEN]
        if broken:
            raise PostRuleError("target_broken", title=broken[0].title)
        platforms = [t.platform for t in targets]
        results = check_draft(draft, platforms, hashtag_limit=self.hashtag_limit)
        problems = [r for r in results if not r.ok]
        if problems:
            raise PostRuleError("does_not_fit", results=problems, hashtag_limit=self.hashtag_limit)
        moment = self.clock.now() if when is None else self.validate_time(when)
        content = await self.contents.create(
            owner_id,
            draft.text,
            title=draft.title,
            media=[dict(m) for m in draft.media],
            source=source,
            prompt=prompt,
        )
        posts = await self.posts.create(content, targets, moment, options=draft.options)
        await self.session.commit()
        self.waker.wake_posts()
        return content, posts

    async def cancel(self, owner_id: int, post_id: int) -> bool:
        done = await self.posts.cancel_for_owner(owner_id, post_id)
        await self.session.commit()
        return done

    async def reschedule(self, owner_id: int, post_id: int, when: datetime | None) -> bool:
        moment = self.clock.now() if when is None else self.validate_time(when)
        found = await self.posts.get_with_content_for_owner(owner_id, post_id)
        if found is not None and found[2].status == TargetStatus.BROKEN:
            # It would only wait, paused with its target: say so instead.
            raise PostRuleError("target_broken", title=found[2].title)
        done = await self.posts.reschedule_for_owner(owner_id, post_id, moment)
        await self.session.commit()
        if done:
            self.waker.wake_posts()
        return done

    async def mark_published(self, owner_id: int, post_id: int) -> bool:
        done = await self.posts.mark_published_by_owner(owner_id, post_id, self.clock.now())
        await self.session.commit()
        return done

    async def duplicate(
        self, owner_id: int, post_id: int, when: datetime | None
    ) -> ScheduledPost | None:
        found = await self.posts.get_with_content_for_owner(owner_id, post_id)
        if found is None:
            return None
        post, content, target = found
        moment = self.clock.now() if when is None else self.validate_time(when)
        (copy,) = await self.posts.create(content, [target], moment, options=post.options)
        await self.session.commit()
        self.waker.wake_posts()
        return copy

    async def approve(self, owner_id: int, post_id: int) -> bool:
        post = await self.posts.get_for_owner(owner_id, post_id)
        if post is None or post.status != PostStatus.AWAITING_APPROVAL:
            return False
        post.status = PostStatus.SCHEDULED
        post.due_at = max(post.scheduled_time, self.clock.now())
        await self.session.commit()
        self.waker.wake_posts()
        return True


async def targets_for(session: AsyncSession, owner_id: int) -> Sequence[Target]:
    return await TargetRepository(session).list_for_owner(owner_id)
