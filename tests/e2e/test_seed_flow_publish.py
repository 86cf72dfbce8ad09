"""The seed's manual flow 1, done by chat through real polling against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.factory import App, create_app
from storage.db import upgrade_database
from storage.models import PostStatus, ScheduledPost
from tests.conftest import CHANNEL_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram


async def wait_until_published(app: App) -> None:
    for _ in range(200):
        async with app.session_factory() as session:
            statuses = set((await session.scalars(select(ScheduledPost.status))).all())
        if statuses == {PostStatus.PUBLISHED}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"post not recorded as published: {statuses}")


async def test_user_links_channel_schedules_post_and_worker_publishes_it(
    fake_tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    app = create_app(make_settings(database_url=url, telegram_api_base=fake_tg.base_url))

    async with polling(app):
        fake_tg.user_message(USER_ID, "/start")
        await fake_tg.wait_for_text(USER_ID, "Content Curator")

        fake_tg.user_message(USER_ID, "/link")
        await fake_tg.wait_for_text(USER_ID, "Forward any post")
        fake_tg.forward_from_channel(USER_ID, CHANNEL_ID)
        await fake_tg.wait_for_text(USER_ID, "is linked")

        fake_tg.user_message(USER_ID, "/new")
        await fake_tg.wait_for_text(USER_ID, "Send the post")
        fake_tg.user_message(USER_ID, "Создай короткий пост о Python")
        preview = await fake_tg.wait_for_text(USER_ID, "how the post will look")
        fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Schedule"))
        picker = await fake_tg.wait_for_text(USER_ID, "Where shall I publish")
        # The linking dialog's window lost its keyboard (an edit) when it closed: wait for
        # the picker's own edit, the tick.
        edits = len(fake_tg.calls_to("editMessageReplyMarkup"))
        fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "Tech news"))
        await fake_tg.wait_for(lambda: len(fake_tg.calls_to("editMessageReplyMarkup")) > edits)
        fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "Done"))
        await fake_tg.wait_for_text(USER_ID, "When?")
        fake_tg.user_message(USER_ID, "in 3 seconds")
        confirm = await fake_tg.wait_for_text(USER_ID, "Publish to")
        assert "UTC" in confirm["text"]
        fake_tg.press(USER_ID, confirm, fake_tg.find_button(confirm, "Confirm"))
        await fake_tg.wait_for_text(USER_ID, "Scheduled")

        # The worker polls every 60 s; the wake-up job publishes on time all the same.
        published = await fake_tg.wait_for(
            lambda: fake_tg.sent_to(CHANNEL_ID), timeout=15, what="a post in the channel"
        )
        assert published[0]["text"] == "Создай короткий пост о Python"
        assert len(fake_tg.calls_to("sendMessage", chat_id=CHANNEL_ID)) == 1
        # The channel has the post a moment before the worker records it as published.
        await wait_until_published(app)

        fake_tg.user_message(USER_ID, "/scheduled")
        listing = await fake_tg.wait_for_text(USER_ID, "Your posts")
        assert "published" in listing["text"]

    log = caplog.text
    assert "✅ ScheduledPostsWorker запущен (интервал: 60s)" in log
    assert "✅ AutoPostingWorker запущен (интервал: 300s)" in log
    assert "🚀 Все background workers успешно запущены" in log
    assert "Найдено 1 постов для публикации" in log
    assert "Публикация поста 1 (content_id=1, platform=telegram)" in log
    assert "Пост 1 успешно опубликован" in log
