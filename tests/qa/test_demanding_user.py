"""A demanding channel owner's findings, each a regression test of what the user sees."""

from __future__ import annotations

import pytest

from tests.conftest import OTHER_USER_ID, USER_ID
from tests.ux.harness import Harness

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
