"""Bad input gets a clear answer and changes nothing (issue 2, acceptance 4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.factory import App, create_app
from storage.db import upgrade_database
from storage.models import Content, ScheduledPost, Target
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings, polling
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def running(fake_tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[App]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    app = create_app(
        make_settings(database_url=url, telegram_api_base=fake_tg.base_url, disable_workers=True)
    )
    async with polling(app):
        yield app


async def count(app: App, model: Any) -> int:
    async with app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def link(fake_tg: FakeTelegram, reference: str | None, chat_id: int = CHANNEL_ID) -> str:
    fake_tg.user_message(USER_ID, "/link")
    await fake_tg.wait_for_text(USER_ID, "Forward any post")
    before = len(fake_tg.sent_to(USER_ID))
    if reference is None:
        fake_tg.forward_from_channel(USER_ID, chat_id)
    else:
        fake_tg.user_message(USER_ID, reference)
    await fake_tg.wait_for(lambda: len(fake_tg.sent_to(USER_ID)) > before)
    return str(fake_tg.sent_to(USER_ID)[before]["text"])


async def test_channel_where_bot_is_not_admin_is_refused(
    running: App, fake_tg: FakeTelegram
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "News", "news", owner=USER_ID, bot_status="member")
    answer = await link(fake_tg, "@news")
    assert "I am not an administrator of News" in answer
    assert await count(running, Target) == 0


async def test_channel_where_bot_may_not_post_is_refused(
    running: App, fake_tg: FakeTelegram
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "News", "news", owner=USER_ID, bot_can_post=False)
    answer = await link(fake_tg, None)
    assert "may not post messages" in answer
    assert await count(running, Target) == 0


async def test_channel_the_user_does_not_administer_is_refused(
    running: App, fake_tg: FakeTelegram
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "News", "news", owner=OTHER_USER_ID)
    answer = await link(fake_tg, "https://t.me/news")
    assert "You are not the creator or an administrator of News" in answer
    assert await count(running, Target) == 0


async def test_an_administrator_without_the_right_to_post_cannot_link(
    running: App, fake_tg: FakeTelegram
) -> None:
    fake_tg.add_channel(CHANNEL_ID, "News", "news", owner=OTHER_USER_ID)
    fake_tg.set_member(CHANNEL_ID, USER_ID, "administrator", can_post_messages=False)
    answer = await link(fake_tg, "@news")
    assert "You are an administrator of News but without the right to post messages" in answer
    assert await count(running, Target) == 0
    # With the right, the same administrator links it.
    fake_tg.set_member(CHANNEL_ID, USER_ID, "administrator", can_post_messages=True)
    before = len(fake_tg.sent_to(USER_ID))
    fake_tg.user_message(USER_ID, "@news")  # the linking dialog still waits for a channel
    await fake_tg.wait_for(lambda: len(fake_tg.sent_to(USER_ID)) > before)
    for _ in range(100):
        if await count(running, Target) == 1:
            break
        await asyncio.sleep(0.05)
    assert await count(running, Target) == 1
    assert not any(
        "without the right to post" in str(m.get("text"))
        for m in fake_tg.sent_to(USER_ID)[before:]
    )


async def test_unknown_channel_and_nonsense_reference(running: App, fake_tg: FakeTelegram) -> None:
    assert "I cannot find this channel" in await link(fake_tg, "@nosuchchannel")
    fake_tg.user_message(USER_ID, "hello there")
    await fake_tg.wait_for_text(USER_ID, "send its @username (for example")
    assert await count(running, Target) == 0


async def start_post(fake_tg: FakeTelegram, text: str) -> None:
    fake_tg.add_channel(CHANNEL_ID, "News", "news", owner=USER_ID)
    await link(fake_tg, "@news")
    fake_tg.user_message(USER_ID, "/new")
    await fake_tg.wait_for_text(USER_ID, "Send the post")
    fake_tg.user_message(USER_ID, text)
    preview = await fake_tg.wait_for_text(USER_ID, "how the post will look")
    fake_tg.press(USER_ID, preview, fake_tg.find_button(preview, "Schedule"))
    picker = await fake_tg.wait_for_text(USER_ID, "Where shall I publish")
    # The linking dialog's window lost its keyboard (an edit) when it closed: wait for
    # the picker's own edit, the tick.
    edits = len(fake_tg.calls_to("editMessageReplyMarkup"))
    fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "News"))
    await fake_tg.wait_for(lambda: len(fake_tg.calls_to("editMessageReplyMarkup")) > edits)
    fake_tg.press(USER_ID, picker, fake_tg.find_button(picker, "Done"))
    await fake_tg.wait_for_text(USER_ID, "When?")


async def test_time_in_the_past_and_unparsable_time(running: App, fake_tg: FakeTelegram) -> None:
    await start_post(fake_tg, "A post")
    fake_tg.user_message(USER_ID, "2020-01-01 10:00")
    answer = await fake_tg.wait_for_text(USER_ID, "already in the past")
    assert "2020-01-01 10:00 UTC" in answer["text"]
    fake_tg.user_message(USER_ID, "when pigs fly")
    await fake_tg.wait_for_text(USER_ID, "I could not read this time")
    # Still waiting for a time: a good one goes through.
    fake_tg.user_message(USER_ID, "in 2 hours")
    await fake_tg.wait_for_text(USER_ID, "Publish to")
    assert await count(running, ScheduledPost) == 0
    assert await count(running, Content) == 0


async def test_text_over_4096_and_caption_over_1024_are_refused(
    running: App, fake_tg: FakeTelegram
) -> None:
    fake_tg.user_message(USER_ID, "/new")
    await fake_tg.wait_for_text(USER_ID, "Send the post")
    fake_tg.user_message(USER_ID, "x" * 4097)
    answer = await fake_tg.wait_for_text(USER_ID, "too long")
    assert "4097 of 4096" in answer["text"]
    sent = len(fake_tg.sent_to(USER_ID))
    fake_tg.user_message(USER_ID, "/new")
    await fake_tg.wait_for(lambda: len(fake_tg.sent_to(USER_ID)) > sent)
    fake_tg.user_photo(USER_ID, caption="y" * 1025)
    await fake_tg.wait_for_text(USER_ID, "1025 of 1024")
    fake_tg.user_message(USER_ID, "x" * 4096)  # the next version, exactly at the limit, fits
    await fake_tg.wait_for(
        lambda: (
            "too long" not in str(fake_tg.last_bot_message(USER_ID).get("text"))
            and "4096" not in str(fake_tg.last_bot_message(USER_ID).get("text"))
        )
    )
    assert await count(running, Content) == 0
