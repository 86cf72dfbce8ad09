"""Back and Cancel work at every step of every dialog this router owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from handlers.accounts import LinkChannel
from handlers.compose.states import NewPost
from handlers.posts.states import Reschedule
from handlers.settings.states import Settings
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


# ---------- the rule dialog (aiogram_dialog) ----------


async def to_rule_name(chat: Chat) -> None:
    await chat.send("/rules")
    await chat.tap("New rule")


async def to_rule_schedule(chat: Chat) -> None:
    await to_rule_name(chat)
    await chat.send("Daily post")


async def to_rule_times(chat: Chat) -> None:
    await to_rule_schedule(chat)
    await chat.tap("Daily")


async def to_rule_days(chat: Chat) -> None:
    await to_rule_times(chat)
    await chat.send("12:05")


async def to_rule_hours(chat: Chat) -> None:
    await to_rule_schedule(chat)
    await chat.tap("Every N hours")


async def to_rule_cron(chat: Chat) -> None:
    await to_rule_schedule(chat)
    await chat.tap("Cron")


async def to_rule_content(chat: Chat) -> None:
    await to_rule_days(chat)
    await chat.tap("Done")


async def to_rule_topic(chat: Chat) -> None:
    await to_rule_content(chat)
    await chat.tap("AI writes it")


async def to_rule_style(chat: Chat) -> None:
    await to_rule_topic(chat)
    await chat.send("Tech news of the day")


async def to_rule_text(chat: Chat) -> None:
    await to_rule_content(chat)
    await chat.tap("Fixed text")


async def to_rule_targets(chat: Chat) -> None:
    await to_rule_text(chat)
    await chat.send("Hello, {date}")  # a fixed text must vary (issue 11)


async def to_rule_mode(chat: Chat) -> None:
    await to_rule_targets(chat)
    await chat.tap("Tech news")
    await chat.tap("Done")


async def to_rule_policy(chat: Chat) -> None:
    await to_rule_mode(chat)
    await chat.tap("approve")


async def to_rule_summary(chat: Chat) -> None:
    await to_rule_mode(chat)
    await chat.tap("Publish directly")


async def to_rule_edit_name(chat: Chat) -> None:
    await to_rule_summary(chat)
    await chat.tap("✏️ Name")


async def to_rule_limits(chat: Chat) -> None:
    await to_rule_summary(chat)
    await chat.tap("Limits")


async def to_rule_quiet(chat: Chat) -> None:
    await to_rule_limits(chat)
    await chat.tap("Quiet hours")


async def to_rule_budget(chat: Chat) -> None:
    await to_rule_limits(chat)
    await chat.tap("AI tokens per month")


R = "RuleDialog:"
RULE_STEPS: dict[str, tuple[Step, str | None, str | None, str]] = {
    "rule_name": (to_rule_name, R + "name", None, "Auto-posting rules"),
    "rule_schedule": (to_rule_schedule, R + "schedule_type", R + "name", "Step 1 of 5"),
    "rule_times": (to_rule_times, R + "times", R + "schedule_type", "Step 2 of 5"),
    "rule_days": (to_rule_days, R + "days", R + "times", "At what time?"),
    "rule_hours": (to_rule_hours, R + "hours", R + "schedule_type", "Step 2 of 5"),
    "rule_cron": (to_rule_cron, R + "cron", R + "schedule_type", "Step 2 of 5"),
    "rule_content": (to_rule_content, R + "content_type", R + "days", "On which days?"),
    "rule_topic": (to_rule_topic, R + "prompt", R + "content_type", "Step 3 of 5"),
    "rule_style": (to_rule_style, R + "style", R + "prompt", "What shall the AI write"),
    "rule_text": (to_rule_text, R + "text", R + "content_type", "Step 3 of 5"),
    "rule_targets": (to_rule_targets, R + "targets", R + "text", "Send the text"),
    "rule_mode": (to_rule_mode, R + "mode", R + "targets", "Step 4 of 5"),
    "rule_policy": (to_rule_policy, R + "policy", R + "mode", "Step 5 of 5"),
    "rule_summary": (to_rule_summary, R + "summary", R + "mode", "Step 5 of 5"),
    # Once the summary was shown, Back from a part returns to it.
    "rule_edit_name": (to_rule_edit_name, R + "name", R + "summary", "Check the new rule"),
    "rule_limits": (to_rule_limits, R + "limits", R + "summary", "Check the new rule"),
    "rule_quiet": (to_rule_quiet, R + "quiet", R + "limits", "Limits keep a rule polite"),
    "rule_budget": (to_rule_budget, R + "budget", R + "limits", "Limits keep a rule polite"),
}

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
    # The settings dialog (aiogram_dialog): Back is its main window, redrawn in place.
    "timezone": (to_timezone, Settings.timezone.state, Settings.main.state, "<b>Settings</b>"),
    **RULE_STEPS,
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


# Linking (an aiogram_dialog) has its own Cancel: see test_cancel_leaves_linking.
LINKING_STEPS = {"link", "link_from_picker"}


@pytest.mark.parametrize("step", [step for step in STEPS if step not in LINKING_STEPS])
async def test_cancel_leaves_from_anywhere(sqlite_harness: Harness, step: str) -> None:
    drive, here, _back_to, _shown = STEPS[step]
    chat = await prepared_chat(sqlite_harness)
    await drive(chat)
    assert await chat.state() == here
    reply = await chat.tap("Cancel")
    assert await chat.state() is None
    assert await chat.data() == {}
    assert "Cancelled. Nothing was saved." in reply[-1]["text"]


@pytest.mark.parametrize(
    "step", ["title", "preview", "time", "buttons", "timezone", "rule_days", "rule_summary"]
)
async def test_cancel_command_leaves_too(sqlite_harness: Harness, step: str) -> None:
    drive, _here, _back_to, _shown = STEPS[step]
    chat = await prepared_chat(sqlite_harness)
    await drive(chat)
    (reply,) = await chat.send("/cancel")
    assert reply["text"] == "Cancelled. Nothing was saved."
    assert await chat.state() is None


async def test_cancel_leaves_linking(sqlite_harness: Harness) -> None:
    chat = await prepared_chat(sqlite_harness)
    await to_link(chat)
    assert await chat.state() == LinkChannel.waiting.state
    reply = await chat.tap("Cancel")
    assert await chat.state() is None
    assert await chat.data() == {}
    # The first answer takes the channel picker's reply keyboard away; the menu follows.
    assert [m["text"] for m in reply[-2:]] == ["Linking cancelled.", "Main menu:"]
    assert sqlite_harness.fake.reply_keyboards[USER_ID] is None
    assert "✍️ New post" in [
        b["text"] for row in reply[-1]["reply_markup"]["inline_keyboard"] for b in row
    ]


async def test_cancel_leaves_linking_started_from_the_picker_for_the_picker(
    sqlite_harness: Harness,
) -> None:
    chat = await prepared_chat(sqlite_harness)
    await to_link_from_picker(chat)
    assert await chat.state() == LinkChannel.waiting.state
    reply = await chat.tap("Cancel")
    assert [m["text"] for m in reply if m.get("text", "").startswith(("Linking", "Where"))] == [
        "Linking cancelled.",
        "Where shall I publish it? Tap to choose, then Done.",
    ]
    # The post is still there: its target picker, with nothing chosen yet.
    assert await chat.state() == NewPost.targets.state
    assert (await chat.data())["text"] == "Hello"
