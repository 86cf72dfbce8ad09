"""Seeding helpers for the auto-posting tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.clock import ManualClock
from services.rules import RuleDraft, RuleService
from storage.db import SessionFactory
from storage.models import AutoPostingRule, Content, ScheduledPost
from storage.repositories import TargetRepository, UserRepository
from storage.rule_config import ALL_DAYS, ContentConfig, DailySchedule
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID

SEED_RULE = RuleDraft(
    name="Тестовое правило",
    schedule=DailySchedule(times=("12:05",), days_of_week=ALL_DAYS),
    content=ContentConfig(title="Ежедневный пост", description="Создай пост о технологиях"),
)


async def seed_user_and_channel(
    session_factory: SessionFactory,
    *,
    user_id: int = USER_ID,
    timezone: str = "Europe/Moscow",
    language: str = "ru",
    channel_id: int = CHANNEL_ID,
) -> int:
    async with session_factory() as session, session.begin():
        await UserRepository(session).upsert(
            user_id,
            username="anna",
            first_name="Anna",
            language=language,
            timezone=timezone,
            is_admin=False,
        )
        target = await TargetRepository(session).link(
            user_id, "telegram", str(channel_id), "Tech news", "technews"
        )
        return target.id


async def create_rule(
    session_factory: SessionFactory,
    clock: ManualClock,
    target_ids: list[int],
    *,
    owner_id: int = USER_ID,
    timezone: str = "Europe/Moscow",
    **overrides: Any,
) -> int:
    """The seed rule (with `overrides`: RuleDraft fields) created through the service."""
    draft = RuleDraft.model_validate(
        {
            **SEED_RULE.model_dump(),
            "target_ids": target_ids,
            "timezone": timezone,
            **overrides,
        }
    )
    db = Database(session_factory.kw["bind"])
    rule = await RuleService(db, clock).create(owner_id, draft)
    return rule.id


async def load_rule(session_factory: SessionFactory, rule_id: int) -> AutoPostingRule:
    async with session_factory() as session:
        rule = await session.get(AutoPostingRule, rule_id)
        assert rule is not None
        return rule


async def all_posts(session_factory: SessionFactory) -> list[ScheduledPost]:
    from sqlalchemy import select

    async with session_factory() as session:
        return list(
            (await session.scalars(select(ScheduledPost).order_by(ScheduledPost.id))).all()
        )


async def all_contents(session_factory: SessionFactory) -> list[Content]:
    from sqlalchemy import select

    async with session_factory() as session:
        return list((await session.scalars(select(Content).order_by(Content.id))).all())


def at(zone: str, *args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[arg-type, misc]
