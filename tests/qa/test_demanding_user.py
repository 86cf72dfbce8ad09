"""A demanding channel owner's findings, each a regression test of what the user sees."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage.models import ScheduledPost
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.ux.harness import Chat, Harness


async def link_channel(harness: Harness, user_id: int, title: str = "Tech news") -> Chat:
    harness.fake.add_channel(CHANNEL_ID - user_id, title, f"chan{user_id}", owner=user_id)
    chat = harness.chat(user_id)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID - user_id)
    return chat


async def count_posts(harness: Harness) -> int:
    async with harness.app.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(ScheduledPost)) or 0)


REQUIRED_COMMANDS = {"new", "scheduled", "rules", "channels", "link", "link_x", "link_instagram"}
REQUIRED_COMMANDS |= {"settings", "menu", "help", "cancel"}


@pytest.mark.parametrize("user_id", [USER_ID, OTHER_USER_ID], ids=["en", "ru"])
async def test_help_and_command_menu_list_every_command(
    sqlite_harness: Harness, user_id: int
) -> None:
    from handlers.commands import set_bot_commands

    chat = sqlite_harness.chat(user_id)
    (answer,) = await chat.send("/help")
    listed = {word[1:].rstrip(":,.") for word in answer["text"].split() if word.startswith("/")}
    assert REQUIRED_COMMANDS - {"help"} <= listed, REQUIRED_COMMANDS - listed

    await set_bot_commands(sqlite_harness.app.bot, sqlite_harness.app.i18n)
    for call in sqlite_harness.fake.calls_to("setMyCommands"):
        registered = {c["command"] for c in call.params["commands"]}
        assert registered >= REQUIRED_COMMANDS, REQUIRED_COMMANDS - registered


async def test_confirm_pressed_twice_quickly_saves_one_post(harness: Harness) -> None:
    chat = await link_channel(harness, USER_ID)
    await chat.send("/new")
    await chat.send("Hello, channel")
    await chat.tap("Schedule")
    await chat.tap("Tech news")
    await chat.tap("Done")
    await chat.tap("In 1 hour")
    confirmation = harness.fake.last_message_with_button(USER_ID, "Confirm")
    data = harness.fake.find_button(confirmation, "Confirm")

    await asyncio.gather(chat.press_data(data, confirmation), chat.press_data(data, confirmation))

    assert await count_posts(harness) == 1
    assert sorted(chat.alerts()) == ["Already saved.", "Saved"]
    assert sum("Scheduled: #" in (m.get("text") or "") for m in chat.sent()) == 1
    # The confirmation keeps no button that could save the post again.
    (shown,) = [m for m in chat.sent() if m["message_id"] == confirmation["message_id"]]
    assert not shown.get("reply_markup")
