"""The new-post dialog: titles, albums, AI, per-platform previews with fix-its, options."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.factory import create_workers
from content.generator import UnavailableGenerator
from handlers.compose.states import NewPost
from storage.models import Content, Platform, ScheduledPost
from storage.repositories import TargetRepository
from tests.conftest import CHANNEL_ID, USER_ID
from tests.ux.conftest import texts
from tests.ux.harness import Chat, Harness, ScriptedGenerator


async def link_targets(harness: Harness, *platforms: str) -> dict[str, int]:
    """A Telegram channel through the chat; X/Instagram rows as their linking dialog
    (another feature) leaves them."""
    ids: dict[str, int] = {}
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    async with harness.app.session_factory() as session:
        repo = TargetRepository(session)
        ids["telegram"] = (await repo.list_for_owner(USER_ID))[0].id
        for platform in platforms:
            target = await repo.link(USER_ID, platform, f"{platform}-1", f"My {platform}", "me")
            ids[platform] = target.id
        await session.commit()
    return ids


def button_labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_main_menu_has_every_section(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    (menu,) = await chat.send("/menu")
    labels = button_labels(menu)
    for label in ("New post", "Scheduled", "Auto-posting rules", "Targets", "Settings", "Help"):
        assert any(label in text for text in labels), labels
    await chat.tap("Help")
    assert "/scheduled" in chat.last()["text"]
    await chat.tap("Auto-posting rules", menu)
    assert "Auto-posting rules" in chat.last()["text"]


async def test_bot_commands_registered_in_both_languages(sqlite_harness: Harness) -> None:
    from handlers.commands import set_bot_commands

    await set_bot_commands(sqlite_harness.app.bot, sqlite_harness.app.i18n)
    calls = sqlite_harness.fake.calls_to("setMyCommands")
    assert len(calls) == 2
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    english = {c["command"]: c["description"] for c in by_language[None]}
    russian = {c["command"]: c["description"] for c in by_language["ru"]}
    assert english["new"] == "Write a post"
    assert russian["new"] == "Написать пост"
    assert set(english) == set(russian) >= {"menu", "new", "scheduled", "settings", "cancel"}


async def test_album_becomes_one_post_with_all_photos(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.album(3, caption="Three photos & more")
    groups = sqlite_harness.fake.calls_to("sendMediaGroup", chat_id=USER_ID)
    assert len(groups) == 1
    media = groups[0].params["media"]
    assert len(media) == 3
    assert media[0]["caption"] == "Three photos &amp; more"
    assert await chat.state() == NewPost.preview.state
    assert len((await chat.data())["media"]) == 3
    # One preview, not three.
    assert texts(chat.sent()).count("how the post will look") == 1


async def test_album_over_ten_photos_is_refused(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    reply = await chat.album(11)
    assert "up to 10 photos" in texts(reply)
    assert await chat.state() == NewPost.content.state


async def test_ai_hidden_with_an_explanation_when_not_configured(sqlite_harness: Harness) -> None:
    sqlite_harness.app.services.generator = UnavailableGenerator()
    chat = sqlite_harness.chat(USER_ID)
    (prompt,) = await chat.send("/new")
    assert "AI writing is off" in prompt["text"]
    assert not any("Generate with AI" in label for label in button_labels(prompt))


async def test_ai_draft_regenerate_and_failure(
    sqlite_harness: Harness, generator: ScriptedGenerator
) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.tap("Generate with AI")
    reply = await chat.send("a post about Python")
    assert "Draft 1: a post about Python" in texts(reply)
    assert generator.briefs[0].language == "en"
    reply = await chat.tap("Regenerate")
    assert "Draft 2: a post about Python" in texts(reply)
    assert generator.briefs[1].avoid and "Draft 1" in generator.briefs[1].avoid[0]

    generator.fail_with = "rate limited, try later"
    reply = await chat.tap("Regenerate")
    # What to do, in the user's language; the English details stay in the log.
    assert "The AI service is not answering right now" in texts(reply)
    assert "rate limited, try later" not in texts(reply)
    # The draft that was there stays.
    assert "Draft 2" in (await chat.data())["text"]


async def test_preview_per_platform_with_thread_and_card(sqlite_harness: Harness) -> None:
    await link_targets(sqlite_harness, Platform.X, Platform.INSTAGRAM)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    long_text = " ".join(["Python makes automation pleasant."] * 12)  # ~400 characters
    reply = await chat.send(long_text)
    shown = texts(reply)
    assert "X: the text is too long" in shown
    assert "Instagram caption" in shown
    assert "text card" in shown
    assert long_text in shown  # the Telegram view, exactly as sent
    await chat.tap("Split into an X thread")
    shown = texts(chat.sent()[-4:])
    assert "X will get a thread of 2 posts" in shown
    assert "(1/2)" in shown
    assert (await chat.data())["options"]["x_thread"] is True


async def test_shorten_to_fit_the_tightest_platform(sqlite_harness: Harness) -> None:
    await link_targets(sqlite_harness, Platform.X)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.send("word " * 1200)
    await chat.tap("Shorten to fit")
    data = await chat.data()
    from content.fitting import x_weighted_length

    assert x_weighted_length(data["text"]) <= 280
    assert "how the post will look" in chat.last()["text"]


async def test_too_long_for_telegram_is_caught_at_preview(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    reply = await chat.send("x" * 5000)
    assert "5000 of 4096" in texts(reply)
    await chat.tap("Shorten to fit")
    assert len((await chat.data())["text"]) <= 4096


async def test_title_photo_and_telegram_options_reach_the_channel(
    sqlite_harness: Harness,
) -> None:
    await link_targets(sqlite_harness)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.tap("Add a title")
    await chat.send("Release notes")
    reply = await chat.send_photo(caption="Version 2 is out")
    assert any(m.get("caption") == "<b>Release notes</b>\n\nVersion 2 is out" for m in reply)
    await chat.tap("Publish now")
    await chat.tap("Tech news")
    await chat.tap("Done")
    await chat.tap("Silent")
    await chat.tap("Pin")
    await chat.tap("URL buttons")
    reply = await chat.send("not a button")
    assert "could not read" in texts(reply)
    await chat.send("Download - https://example.com/dl\nDocs — https://example.com/docs")
    confirm = chat.last()
    assert "silent, pinned, 2 URL buttons" in confirm["text"]
    assert "right now" in confirm["text"]
    await chat.tap("Confirm")
    assert "Publishing now" in chat.last()["text"]

    async with sqlite_harness.app.session_factory() as session:
        post = (await session.scalars(select(ScheduledPost))).one()
        content = await session.get(Content, post.content_id)
    assert post.options == {
        "silent": True,
        "pin": True,
        "buttons": [
            {"text": "Download", "url": "https://example.com/dl"},
            {"text": "Docs", "url": "https://example.com/docs"},
        ],
    }
    assert content is not None and content.title == "Release notes"

    group = create_workers(sqlite_harness.app, AsyncIOScheduler(timezone="UTC"))
    await group.runners[0].worker.run_once()
    (sent,) = sqlite_harness.fake.calls_to("sendPhoto", chat_id=CHANNEL_ID)
    assert sent.params["disable_notification"] in ("true", "True", True)
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["url"] == (
        "https://example.com/dl"
    )
    assert sqlite_harness.fake.calls_to("pinChatMessage", chat_id=CHANNEL_ID)


async def test_natural_language_time_and_presets_in_the_user_zone(
    sqlite_harness: Harness,
) -> None:
    await link_targets(sqlite_harness)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/settings")
    await chat.tap("Time zone")
    await chat.send("Berlin")
    await chat.send("/new")
    await chat.send("Hello")
    await chat.tap("Schedule")
    await chat.tap("Tech news")
    await chat.tap("Done")
    reply = await chat.send("yesterday 10:00")
    assert "already in the past" in texts(reply)
    reply = await chat.send("gibberish time")
    assert "could not read this time" in texts(reply)
    reply = await chat.send("завтра в 18:00")
    # The clock says 2026-12-01 09:00 UTC; Berlin is UTC+1 in winter.
    assert "2026-12-02 18:00 (Europe/Berlin), 2026-12-02 17:00 UTC" in texts(reply)
    await chat.tap("Back")
    await chat.tap("Tomorrow 09:00")
    assert "2026-12-02 09:00 (Europe/Berlin), 2026-12-02 08:00 UTC" in chat.last()["text"]
    await chat.tap("Confirm")
    assert "Scheduled:" in chat.last()["text"]


async def chat_to_preview(chat: Chat, text: str = "Hello") -> None:
    await chat.send("/new")
    await chat.send(text)


async def test_commands_work_inside_the_dialog(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.tap("Add a title")
    (reply,) = await chat.send("/rules")
    assert "Auto-posting rules" in reply["text"]  # another router's command, not a title
    assert "title" not in (await chat.data())
    (reply,) = await chat.send("/settings")
    assert "<b>Settings</b>" in reply["text"]


async def test_text_sent_at_the_preview_is_the_next_version(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.send_photo(caption="First caption")
    reply = await chat.send("Second caption")
    assert any(m.get("caption") == "Second caption" for m in reply)
    assert len((await chat.data())["media"]) == 1
    assert await chat.state() == NewPost.preview.state


async def test_add_a_picture_for_instagram(sqlite_harness: Harness) -> None:
    await link_targets(sqlite_harness, Platform.INSTAGRAM)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    reply = await chat.send("Morning coffee")
    assert "text card" in texts(reply)
    await chat.tap("Add a picture")
    reply = await chat.send_photo()
    assert any(m.get("caption") == "Morning coffee" for m in reply)
    assert "text card" not in texts(reply)
    assert len((await chat.data())["media"]) == 1


async def test_caption_over_1024_is_previewed_safely_and_shortened(
    sqlite_harness: Harness,
) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    reply = await chat.send_photo(caption="long words " * 200)
    assert "2200 of 1024" in texts(reply)
    await chat.tap("Shorten to fit")
    shortened = (await chat.data())["text"]
    assert len(shortened) <= 1024
    assert any(m.get("caption") == shortened for m in chat.sent()[-3:])
