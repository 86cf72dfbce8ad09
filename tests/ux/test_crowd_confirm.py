"""Many people at once (issue 9): two owners confirm their posts at the same moment while
twenty other people press buttons, all through the dispatcher on a SQLite file (and on
PostgreSQL when configured). Every confirm is saved, every press is answered, and nothing
waits for the database long enough to fail."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.factory import create_workers
from storage.models import PostStatus, ScheduledPost
from tests.conftest import CHANNEL_ID, USER_ID
from tests.ux.conftest import texts
from tests.ux.harness import Chat, Harness

SECOND_OWNER = 333
SECOND_CHANNEL = CHANNEL_ID - 1
CROWD = [5000 + i for i in range(20)]
CROWD_PRESSES = ["menu:scheduled", "menu:new", "posts:all:0", "menu:help", "menu:targets"]


async def to_confirmation(chat: Chat, channel_id: int, title: str, *, now: bool) -> None:
    await chat.send("/link")
    await chat.forward_from(channel_id)
    await chat.send("/new")
    await chat.send(f"A post by {chat.user_id}")
    await chat.tap("Publish now" if now else "Schedule")
    await chat.tap(title)
    await chat.tap("Done")
    if not now:
        await chat.send("in 2 hours")
    assert "Publish to" in chat.last()["text"]


async def test_two_confirms_while_twenty_people_press_buttons(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = harness.fake
    fake.add_user(SECOND_OWNER, "Cleo", "en", "cleo")
    for user_id in CROWD:
        fake.add_user(user_id, f"User {user_id}", "en")
    fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    fake.add_channel(SECOND_CHANNEL, "Garden notes", "garden", owner=SECOND_OWNER)
    first, second = harness.chat(USER_ID), harness.chat(SECOND_OWNER)
    await to_confirmation(first, CHANNEL_ID, "Tech news", now=True)
    await to_confirmation(second, SECOND_CHANNEL, "Garden notes", now=False)
    confirms = [
        (chat, chat.fake.last_message_with_button(chat.user_id, "Confirm"))
        for chat in (first, second)
    ]

    pressed: set[str] = set()

    async def press(chat: Chat, data: str, message: dict | None = None) -> None:
        query = fake.press(chat.user_id, message or chat._placeholder_message(), data)
        pressed.add(query["callback_query"]["id"])
        await harness.feed({"callback_query": query["callback_query"]}, chat.user_id)

    async def crowd_member(user_id: int) -> None:
        chat = harness.chat(user_id)
        for offset in range(3):
            await press(chat, CROWD_PRESSES[(user_id + offset) % len(CROWD_PRESSES)])

    async def confirm(chat: Chat, message: dict) -> None:
        data = fake.find_button(message, "Confirm")
        await press(chat, data, message)

    worker = create_workers(harness.app, AsyncIOScheduler(timezone="UTC")).runners[0].worker
    await asyncio.gather(
        *(confirm(chat, message) for chat, message in confirms),
        *(crowd_member(user_id) for user_id in CROWD),
        worker.run_once(),  # the publishing worker shares the database meanwhile
    )

    # Every press got its answer, and each of the twenty got a reply in their chat.
    answered = {
        str(c.params.get("callback_query_id")) for c in fake.calls_to("answerCallbackQuery")
    }
    assert pressed <= answered, pressed - answered
    for user_id in CROWD:
        assert fake.sent_to(user_id), user_id
    # Both confirms succeeded.
    assert "Publishing now" in texts(first.sent()[-1:])
    assert "Scheduled:" in texts(second.sent()[-1:])
    assert await first.state() is None and await second.state() is None
    async with harness.app.session_factory() as session:
        posts = (await session.scalars(select(ScheduledPost).order_by(ScheduledPost.id))).all()
    assert sorted(p.owner_id for p in posts) == [USER_ID, SECOND_OWNER]
    # The post due now goes out with the worker's next run.
    await worker.run_once()
    assert fake.calls_to("sendMessage", chat_id=CHANNEL_ID)
    async with harness.app.session_factory() as session:
        statuses = {
            p.owner_id: p.status for p in (await session.scalars(select(ScheduledPost))).all()
        }
    assert statuses == {USER_ID: PostStatus.PUBLISHED, SECOND_OWNER: PostStatus.SCHEDULED}

    problems = [
        r.getMessage() + (r.exc_text or "")
        for r in caplog.records
        if r.levelno >= logging.ERROR or "database is locked" in r.getMessage()
    ]
    assert not problems, problems
