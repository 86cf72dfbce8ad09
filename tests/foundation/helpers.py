"""Builders for foundation tests: a user, a channel target, a post, a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.db import SessionFactory
from storage.models import AutoPostingRule, ScheduledPost, Target
from storage.repositories import (
    ContentRepository,
    PostRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)


async def make_user(factory: SessionFactory, user_id: int, timezone: str = "UTC") -> None:
    async with factory() as session, session.begin():
        await UserRepository(session).upsert(
            user_id,
            username=None,
            first_name="U",
            language="en",
            timezone=timezone,
            is_admin=False,
        )


async def make_channel(
    factory: SessionFactory, owner_id: int, chat_id: int, title: str = "Channel"
) -> Target:
    async with factory() as session, session.begin():
        return await TargetRepository(session).link(owner_id, "telegram", str(chat_id), title)


async def make_posts(
    factory: SessionFactory,
    owner_id: int,
    target: Target,
    when: datetime,
    count: int = 1,
    text: str = "Hello",
) -> list[ScheduledPost]:
    posts: list[ScheduledPost] = []
    async with factory() as session, session.begin():
        for index in range(count):
            content = await ContentRepository(session).create(
                owner_id, text if count == 1 else f"{text} {index}"
            )
            posts += await PostRepository(session).create(content, [target], when)
    return posts


async def make_rule(
    factory: SessionFactory,
    owner_id: int,
    targets: list[Target],
    next_at: datetime,
    **overrides: Any,
) -> AutoPostingRule:
    values: dict[str, Any] = {
        "name": "Тестовое правило",
        "schedule_type": "daily",
        "schedule_config": {"times": ["12:05"], "days_of_week": [1, 2, 3, 4, 5, 6, 7]},
        "content_config": {"title": "Ежедневный пост", "text": "Пост о технологиях"},
        "timezone": "Europe/Moscow",
    }
    values.update(overrides)
    async with factory() as session, session.begin():
        target_rows = await TargetRepository(session).get_many_for_owner(
            owner_id, [t.id for t in targets]
        )
        return await RuleRepository(session).create(
            owner_id, targets=target_rows, next_execution_at=next_at, **values
        )


async def get_post(factory: SessionFactory, post_id: int) -> ScheduledPost:
    async with factory() as session:
        post = await session.get(ScheduledPost, post_id)
        assert post is not None
        return post
