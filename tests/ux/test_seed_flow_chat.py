"""The seed's manual flow 1 done purely by chat, in English and in Russian, counting taps.

The path is documented in docs/chat-flows.md; the tap counts asserted here are the ones
written there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.factory import create_workers
from storage.models import Content, PostStatus, ScheduledPost
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.ux.conftest import texts
from tests.ux.harness import Harness

LABELS = {
    "en": {
        "welcome": "Content Curator",
        "targets": "Targets",
        "link": "Link a channel",
        "linked": "is linked",
        "new": "New post",
        "title": "Add a title",
        "ai": "Generate with AI",
        "preview": "how the post will look",
        "schedule": "Schedule",
        "done": "Done",
        "in_a_minute": "in 1 minute",
        "confirm": "Confirm",
        "scheduled": "Scheduled:",
        "published": "published",
    },
    "ru": {
        "welcome": "Content Curator",
        "targets": "Каналы и аккаунты",
        "link": "Подключить канал",
        "linked": "подключён",
        "new": "Новый пост",
        "title": "Добавить заголовок",
        "ai": "Сгенерировать ИИ",
        "preview": "Так будет выглядеть пост",
        "schedule": "Запланировать",
        "done": "Готово",
        "in_a_minute": "через 1 минуту",
        "confirm": "Подтвердить",
        "scheduled": "Запланировано:",
        "published": "опубликован",
    },
}


@pytest.mark.parametrize(("language", "user_id"), [("en", USER_ID), ("ru", OTHER_USER_ID)])
async def test_seed_flow_one_by_chat(harness: Harness, language: str, user_id: int) -> None:
    words = LABELS[language]
    fake = harness.fake
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=user_id)
    chat = harness.chat(user_id)

    reply = await chat.send("/start")
    assert words["welcome"] in texts(reply)

    # Link the channel: Targets → Link a channel → forward a post from it.
    await chat.tap(words["targets"])
    await chat.tap(words["link"])
    reply = await chat.forward_from(CHANNEL_ID)
    assert words["linked"] in texts(reply)

    # The seed's content: title "Тестовый пост", AI prompt "Создай короткий пост о Python".
    await chat.tap(words["new"])
    await chat.tap(words["title"])
    await chat.send("Тестовый пост")
    await chat.tap(words["ai"])
    reply = await chat.send("Создай короткий пост о Python")
    assert words["preview"] in texts(reply)
    assert "<b>Тестовый пост</b>" in texts(reply)
    assert "Создай короткий пост о Python" in texts(reply)

    # Telegram, one minute ahead.
    await chat.tap(words["schedule"])
    await chat.tap("Tech news")
    await chat.tap(words["done"])
    reply = await chat.send(words["in_a_minute"])
    assert "UTC" in texts(reply)
    reply = await chat.tap(words["confirm"])
    assert words["scheduled"] in texts(reply)

    assert chat.taps == 9, chat.path
    assert chat.typed == 5, chat.path

    async with harness.app.session_factory() as session:
        post = (await session.scalars(select(ScheduledPost))).one()
        content = await session.get(Content, post.content_id)
    assert content is not None
    assert (content.title, content.source, content.prompt) == (
        "Тестовый пост",
        "ai",
        "Создай короткий пост о Python",
    )
    assert post.scheduled_time == harness.app.clock.now() + timedelta(minutes=1)

    # The worker publishes it when it is due.
    group = create_workers(harness.app, AsyncIOScheduler(timezone="UTC"))
    posts_worker = group.runners[0].worker
    harness.app.clock.advance(61)  # type: ignore[attr-defined]
    await posts_worker.run_once()
    channel_posts = fake.sent_to(CHANNEL_ID)
    assert len(channel_posts) == 1
    assert channel_posts[0]["text"].startswith("<b>Тестовый пост</b>\n\n")

    reply = await chat.send("/scheduled")
    assert words["published"] in texts(reply)
    async with harness.app.session_factory() as session:
        post = (await session.scalars(select(ScheduledPost))).one()
    assert post.status == PostStatus.PUBLISHED
