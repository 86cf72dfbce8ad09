"""Back and Cancel work at every step of every dialog this router owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from handlers.compose.states import NewPost
from handlers.posts.states import Reschedule
from handlers.settings.states import Settings
from handlers.targets.states import LinkChannel
from storage.models import PostStatus
from tests.conftest import CHANNEL_ID, USER_ID
from tests.ux.harness import Chat, Harness
from tests.ux.test_lists_settings_admin import make_posts

Step = Callable[[Chat], Awaitable[None]]


async def to_content(chat: Chat) -> None:
    await chat.send("/new")


async def to_title(chat: Chat) -> None:
    await to_content(chat)
    await chat.tap("Add a title")


async def to_ai_prompt(chat: Chat) -> None:
    await to_content(chat)
    await chat.tap("Generate with AI")


async def to_preview(chat: Chat) -> None:
    await to_content(chat)
    await chat.send("Hello")


async def to_add_photo(chat: Chat) -> None:
    await to_preview(chat)
    await chat.tap("Add a picture")


async def to_targets(chat: Chat) -> None:
    await to_preview(chat)
    await chat.tap("Schedule")


async def to_time(chat: Chat) -> None:
    await to_targets(chat)
    await chat.tap("Tech news")
    await chat.tap("Done")


async def to_confirm(chat: Chat) -> None:
    await to_time(chat)
    await chat.send("in 2 hours")


async def to_confirm_now(chat: Chat) -> None:
    await to_preview(chat)
    await chat.tap("Publish now")
    await chat.tap("Tech news")
    await chat.tap("Done")


async def to_buttons(chat: Chat) -> None:
    await to_confirm(chat)
    await chat.tap("URL buttons")


async def to_link(chat: Chat) -> None:
    await chat.send("/link")


async def to_link_from_picker(chat: Chat) -> None:
    await to_targets(chat)
    await chat.tap("Link a channel")


async def to_reschedule(chat: Chat) -> None:
    (post_id,) = await make_posts(chat.harness, USER_ID, [PostStatus.SCHEDULED])
    await chat.press_data(f"post:view:{post_id}")
    await chat.tap("Reschedule")


async def to_timezone(chat: Chat) -> None:
    await chat.send("/settings")
    await chat.tap("Time zone")


STEPS: dict[str, tuple[Step, str | None, str | None, str]] = {
    # name: (how to get there, the state there, the state after Back, what Back shows)
    "content": (to_content, NewPost.content.state, None, "What shall we do?"),
    "title": (to_title, NewPost.title.state, NewPost.content.state, "Send the post"),
    "ai_prompt": (to_ai_prompt, NewPost.ai_prompt.state, NewPost.content.state, "Send the post"),
    "preview": (to_preview, NewPost.preview.state, NewPost.content.state, "Send the post"),
    "add_photo": (to_add_photo, NewPost.add_photo.state, NewPost.preview.state, "will look"),
    "targets": (to_targets, NewPost.targets.state, NewPost.preview.state, "will look"),
    "time": (to_time, NewPost.time.state, NewPost.targets.state, "Where shall I publish"),
    "confirm": (to_confirm, NewPost.confirm.state, NewPost.time.state, "When?"),
    "confirm_now": (
        to_confirm_now,
        NewPost.confirm.state,
        NewPost.targets.state,
        "Where shall I publish",
    ),
    "buttons": (to_buttons, NewPost.buttons.state, NewPost.confirm.state, "Publish to"),
    "link": (to_link, LinkChannel.waiting.state, None, "Your targets"),
    "link_from_picker": (
        to_link_from_picker,
        LinkChannel.waiting.state,
        NewPost.targets.state,
        "Where shall I publish",
    ),
    "reschedule": (to_reschedule, Reschedule.time.state, None, "Post text 0"),
    "timezone": (to_timezone, Settings.timezone.state, None, "<b>Settings</b>"),
}


async def prepared_chat(harness: Harness) -> Chat:
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    await chat.send("/cancel")
    return chat


@pytest.mark.parametrize("step", list(STEPS))
async def test_back_goes_one_step_back(sqlite_harness: Harness, step: str) -> None:
    drive, here, back_to, shown = STEPS[step]
    chat = await prepared_chat(sqlite_harness)
    await drive(chat)
    assert await chat.state() == here
    reply = await chat.tap("Back")
    assert await chat.state() == back_to
    assert any(shown in (m.get("text") or m.get("caption") or "") for m in reply), reply


@pytest.mark.parametrize("step", list(STEPS))
async def test_cancel_leaves_from_anywhere(sqlite_harness: Harness, step: str) -> None:
    drive, here, _back_to, _shown = STEPS[step]
    chat = await prepared_chat(sqlite_harness)
    await drive(chat)
    assert await chat.state() == here
    reply = await chat.tap("Cancel")
    assert await chat.state() is None
    assert await chat.data() == {}
    assert "Cancelled. Nothing was saved." in reply[-1]["text"]


@pytest.mark.parametrize("step", ["title", "preview", "time", "buttons", "timezone"])
async def test_cancel_command_leaves_too(sqlite_harness: Harness, step: str) -> None:
    drive, _here, _back_to, _shown = STEPS[step]
    chat = await prepared_chat(sqlite_harness)
    await drive(chat)
    (reply,) = await chat.send("/cancel")
    assert reply["text"] == "Cancelled. Nothing was saved."
    assert await chat.state() is None
