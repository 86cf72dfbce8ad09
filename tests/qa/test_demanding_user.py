"""A demanding channel owner's findings, each a regression test of what the user sees."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

from bot.factory import create_workers
from content.fitting import visible_text
from handlers.compose.states import NewPost
from services.clock import ManualClock
from storage.models import PostStatus, ScheduledPost
from storage.repositories import ContentRepository, PostRepository, TargetRepository
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.instagram_client import FakeInstagram
from tests.fakes.telegram import BOT_ID, FakeTelegram, Fault
from tests.fakes.x_server import FakeXServer, XUser
from tests.ux.conftest import sqlite_copy, texts
from tests.ux.harness import Chat, Harness, running_bot
from tests.ux.test_compose import link_targets
from tests.ux.test_lists_settings_admin import ADMIN_ID


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


@pytest.fixture
async def strict_hashtags_harness(
    fake_tg: FakeTelegram, migrated_sqlite: Path, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Harness]:
    """The bot's owner allows 5 hashtags on Instagram (INSTAGRAM_HASHTAG_LIMIT=5)."""
    settings = make_settings(
        database_url=sqlite_copy(migrated_sqlite, tmp_path),
        telegram_api_base=fake_tg.base_url,
        instagram_hashtag_limit=5,
    )
    async with running_bot(settings, fake_tg, clock) as value:
        yield value


async def test_instagram_preview_checks_the_configured_hashtag_limit(
    strict_hashtags_harness: Harness,
) -> None:
    harness = strict_hashtags_harness
    await link_targets(harness, "instagram")
    chat = harness.chat(USER_ID)
    await chat.send("/new")
    preview = texts(await chat.send("Autumn sale " + " ".join(f"#tag{i}" for i in range(8))))
    assert "Instagram: too many hashtags — at most 5 are allowed." in preview

    # Choosing the Instagram account anyway brings the preview back, and nothing is saved.
    await chat.tap("Schedule")
    await chat.tap("My instagram")
    again = texts(await chat.tap("Done"))
    assert "at most 5" in again
    assert await chat.state() == NewPost.preview.state
    assert await count_posts(harness) == 0

    # Within the limit the post goes through.
    await chat.send("Autumn sale #one #two #three")
    await chat.tap("Schedule")
    await chat.tap("Done")
    await chat.tap("In 1 hour")
    await chat.tap("Confirm")
    assert await count_posts(harness) == 1


TRICKY_TITLE = "<b>Me & You</b>"


def buttons(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_channel_title_with_html_shows_as_typed(sqlite_harness: Harness) -> None:
    harness = sqlite_harness
    harness.fake.add_channel(CHANNEL_ID, TRICKY_TITLE, None, owner=USER_ID, bot_status="member")
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    (refusal,) = await chat.forward_from(CHANNEL_ID)
    # Telegram shows the HTML text: the title must arrive escaped, not as markup.
    assert f"I am not an administrator of {TRICKY_TITLE}." in visible_text(refusal["text"])

    harness.fake.add_channel(CHANNEL_ID, TRICKY_TITLE, None, owner=USER_ID)
    linked = texts(await chat.forward_from(CHANNEL_ID))
    assert TRICKY_TITLE in visible_text(linked)
    assert f"Telegram: {TRICKY_TITLE}" in buttons(chat.last())  # the targets list

    await chat.send("/new")
    await chat.send("Hello")
    await chat.tap("Schedule")
    assert f"▫️ Telegram: {TRICKY_TITLE}" in buttons(chat.last())  # the target picker
    await chat.tap("Me & You")
    await chat.tap("Done")
    confirm = texts(await chat.tap("In 1 hour"))
    assert f"• Telegram: {TRICKY_TITLE}" in visible_text(confirm)


@pytest.mark.parametrize(
    ("user_id", "edit", "back"), [(USER_ID, "Edit", "Back"), (OTHER_USER_ID, "Изменить", "Назад")]
)
async def test_back_from_edit_returns_to_the_draft(
    sqlite_harness: Harness, user_id: int, edit: str, back: str
) -> None:
    chat = sqlite_harness.chat(user_id)
    await chat.send("/new")
    await chat.send("My carefully written draft")
    await chat.tap(edit)
    shown = texts(await chat.tap(back))
    # The draft comes back: not the main menu with the draft silently gone.
    assert "My carefully written draft" in shown
    assert await chat.state() == NewPost.preview.state
    assert (await chat.data())["text"] == "My carefully written draft"


async def test_commands_in_the_middle_of_linking_are_obeyed(
    social_harness: Harness, x_server: FakeXServer
) -> None:
    chat = social_harness.chat(USER_ID)
    await chat.send("/link_x")
    assert "Authorize app" in chat.last()["text"]
    # Changed their mind: Instagram first. Not "Send the PIN code X showed you".
    (answer,) = await chat.send("/link_instagram")
    assert "Linking an Instagram account" in answer["text"]
    (answer,) = await chat.send("/scheduled")
    assert "No posts here yet" in answer["text"]
    await chat.send("/link_instagram")
    (answer,) = await chat.send("/unknown_command")
    assert "does not look like an Instagram username" not in answer["text"]


async def test_owner_is_told_when_a_channel_with_html_in_its_title_breaks(
    sqlite_harness: Harness, clock: ManualClock
) -> None:
    harness = sqlite_harness
    channel = harness.fake.add_channel(CHANNEL_ID, TRICKY_TITLE, None, owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    await chat.send("/new")
    await chat.send("Tonight: <b>live</b> & loud")
    await chat.tap("Publish now")
    await chat.tap("Me & You")
    await chat.tap("Done")
    await chat.tap("Confirm")
    channel.members[BOT_ID] = {"status": "left"}  # the bot was removed from the channel
    before = len(chat.sent())

    group = create_workers(harness.app, AsyncIOScheduler(timezone="UTC"))
    await group.runners[0].worker.run_once()
    # The worker enqueued what it tells the owner; the notifications worker sends it.
    drainer = group.by_name("NotificationsWorker")
    assert drainer is not None
    await drainer.worker.run_once()

    told = [visible_text(m["text"]) for m in chat.sent()[before:]]
    assert any(f"I cannot publish to {TRICKY_TITLE} any more" in t for t in told), told
    assert any("was not published" in t and TRICKY_TITLE in t for t in told), told


@pytest.mark.parametrize(
    ("typed", "shown", "local", "utc"),
    [("+3", "UTC+3", "18:00", "15:00"), ("UTC-5", "UTC-5", "18:00", "23:00")],
)
async def test_an_offset_zone_is_shown_as_typed_not_as_posix(
    sqlite_harness: Harness, typed: str, shown: str, local: str, utc: str
) -> None:
    """POSIX names count the other way round: Etc/GMT-3 is UTC+3. A user who typed +3 and
    reads "Etc/GMT-3" thinks the bot got it wrong."""
    chat = await link_channel(sqlite_harness, OTHER_USER_ID, "Канал")
    await chat.send("/settings")
    await chat.tap("Часовой пояс")
    seen = texts(await chat.send(typed))
    await chat.send("/new")
    await chat.send("Текст")
    await chat.tap("Запланировать")
    await chat.tap("Канал")
    seen += texts(await chat.tap("Готово"))
    seen += texts(await chat.send("завтра в 18:00"))
    assert f"2026-12-02 {local} ({shown}), 2026-12-02 {utc} UTC" in seen
    assert f"Часовой пояс: {shown}" in seen
    assert "Etc/GMT" not in seen


async def test_a_photo_sent_at_the_preview_joins_the_post(sqlite_harness: Harness) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.send("Our new office")
    shown = await chat.send_photo()
    # Not "I did not understand that": the photo is added and the text becomes its caption.
    (photo,) = [m for m in shown if m.get("photo")]
    assert photo["caption"] == "Our new office"
    data = await chat.data()
    assert len(data["media"]) == 1
    assert data["text"] == "Our new office"
    assert await chat.state() == NewPost.preview.state


@pytest.mark.parametrize(
    ("user_id", "x_text", "instagram_text", "channel_text"),
    [
        (
            USER_ID,
            "✅ X account @anna_codes is linked.",
            "✅ Instagram account @shop is linked.",
            "✅ Channel Tech news (@chan111) is linked.",
        ),
        (
            OTHER_USER_ID,
            "✅ Аккаунт X @anna_codes подключён.",
            "✅ Аккаунт Instagram @shop подключён.",
            "✅ Канал Tech news (@chan222) подключён.",
        ),
    ],
    ids=["en", "ru"],
)
async def test_linked_messages_name_the_platform_once(
    social_harness: Harness,
    x_server: FakeXServer,
    instagram: FakeInstagram,
    user_id: int,
    x_text: str,
    instagram_text: str,
    channel_text: str,
) -> None:
    """Not "X account X: @anna_codes is linked"."""
    x_server.users["42"] = XUser("42", "anna_codes", "Anna")
    instagram.add_account("shop", "pw-123456")
    chat = social_harness.chat(user_id)
    (invitation,) = await chat.send("/link_x")
    match = re.search(r"oauth_token=([\w-]+)", invitation["text"])
    assert match
    seen = texts(await chat.send(x_server.approve(match.group(1), "42")))
    await chat.send("/link_instagram")
    await chat.send("@shop")
    seen += texts(await chat.send("pw-123456"))
    social_harness.fake.add_channel(CHANNEL_ID, "Tech news", f"chan{user_id}", owner=user_id)
    await chat.send("/link")
    seen += texts(await chat.forward_from(CHANNEL_ID))
    for expected in (x_text, instagram_text, channel_text):
        assert expected in seen


async def test_failed_list_for_admins_stays_within_telegrams_limit(
    sqlite_harness: Harness, fake_tg: FakeTelegram
) -> None:
    harness = sqlite_harness
    fake_tg.add_user(ADMIN_ID, "Root", "en", "root")
    await harness.chat(USER_ID).send("/start")
    async with harness.app.session_factory() as session:
        target = await TargetRepository(session).link(USER_ID, "telegram", "-1001", "Chan")
        content = await ContentRepository(session).create(USER_ID, "Hello")
        posts = await PostRepository(session).create(
            content, [target] * 20, datetime(2026, 12, 1, tzinfo=UTC)
        )
        for post in posts:
            post.status = PostStatus.FAILED
            post.last_error = "Telegram refused: " + "a very long explanation " * 10
        await session.commit()

    # The harness checks every message against Telegram's limits; before, this one was
    # about 5,500 characters and Telegram refused it (the admin got an apology instead).
    (answer,) = await harness.chat(ADMIN_ID).send("/failed")
    assert "Recent failures" in answer["text"]
    assert "more." in answer["text"]


async def test_leaving_linking_started_from_the_picker_returns_to_the_post(
    social_harness: Harness, instagram: FakeInstagram
) -> None:
    instagram.add_account("shop", "right-password")
    chat = await link_channel(social_harness, USER_ID)
    await chat.send("/new")
    await chat.send("A post that needs Instagram too")
    picker = (await chat.tap("Schedule"))[-1]
    # X and Instagram can be linked right from the picker.
    assert {"➕ Link X account", "➕ Link Instagram account"} <= set(buttons(picker))
    await chat.tap("Link Instagram account", picker)
    # Cancelled: the picker of the unfinished post comes back, not the bare main menu.
    shown = await chat.tap("Cancel")
    assert "Where shall I publish it?" in texts(shown)
    assert await chat.state() == NewPost.targets.state

    # A refused password ends the linking too, and the post is still there.
    await chat.tap("Link Instagram account", chat.last())
    await chat.send("@shop")
    shown = await chat.send("wrong-password")
    assert "did not accept this username or password" in texts(shown)
    assert "Where shall I publish it?" in texts(shown)
    await chat.tap("Tech news")
    await chat.tap("Done")
    await chat.tap("In 1 hour")
    await chat.tap("Confirm")
    assert await count_posts(social_harness) == 1


async def test_unsupported_content_keeps_the_title_button_truthful(
    sqlite_harness: Harness,
) -> None:
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/new")
    await chat.tap("Add a title")
    await chat.send("Weekly digest")
    # A file is a post's media now (issue 12); a sticker is not.
    sticker = {
        "file_id": "st-1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    (answer,) = await chat.send(sticker=sticker)
    assert answer["text"] == "Send text, a photo, video, GIF or file, or an album."
    # The title is there: the button offers to change it, not to add one.
    assert "🏷 Change the title" in buttons(answer)
    assert "🏷 Add a title" not in buttons(answer)


async def test_the_apology_speaks_the_language_chosen_in_settings(
    sqlite_harness: Harness,
) -> None:
    chat = sqlite_harness.chat(USER_ID)  # Telegram app in English
    await chat.send("/settings")
    await chat.tap("Русский")
    sqlite_harness.fake.fail_next("sendMessage", Fault(status=500, description="Internal error"))
    reply = await chat.send("/scheduled")
    assert texts(reply) == "Извините, у меня что-то сломалось. Пожалуйста, попробуйте ещё раз."


async def test_a_broken_targets_reason_is_a_sentence_not_the_platforms_page(
    sqlite_harness: Harness,
) -> None:
    """A platform's raw answer (here an HTML error page) is never shown to the owner: the view
    says what happened and what to do, in their language; the details stay in the log."""
    chat = await link_channel(sqlite_harness, USER_ID)
    reason = "X answered <html><body>Service Unavailable & more</body></html>"
    async with sqlite_harness.app.session_factory() as session:
        (target,) = await TargetRepository(session).list_for_owner(USER_ID)
        await TargetRepository(session).mark_broken(target.id, reason, "server_error")
        await session.commit()
    await chat.send("/channels")
    (view,) = await chat.tap("Tech news")
    shown = visible_text(view["text"])
    assert "Publishing fails: The platform failed on its side. Retry later." in shown
    assert "Service Unavailable" not in shown and "<html>" not in shown


async def test_confirming_to_a_broken_channel_with_html_in_its_title(
    sqlite_harness: Harness,
) -> None:
    chat = await link_channel(sqlite_harness, USER_ID, TRICKY_TITLE)
    async with sqlite_harness.app.session_factory() as session:
        (target,) = await TargetRepository(session).list_for_owner(USER_ID)
        await TargetRepository(session).mark_broken(target.id, "kicked")
        await session.commit()
    await chat.send("/new")
    await chat.send("Hello")
    await chat.tap("Publish now")
    await chat.tap("Me & You")
    await chat.tap("Done")
    shown = texts(await chat.tap("Confirm"))
    assert f"The bot cannot post to {TRICKY_TITLE} any more." in visible_text(shown)
    assert await count_posts(sqlite_harness) == 0


async def test_retry_of_a_post_whose_channel_is_broken_says_why_instead_of_waiting(
    sqlite_harness: Harness,
) -> None:
    from tests.ux.test_lists_settings_admin import make_posts, post_status

    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/start")
    (post_id,) = await make_posts(sqlite_harness, USER_ID, [PostStatus.FAILED])
    async with sqlite_harness.app.session_factory() as session, session.begin():
        (target,) = await TargetRepository(session).list_for_owner(USER_ID)
        await TargetRepository(session).mark_broken(target.id, "bot was kicked")
    await chat.press_data(f"post:view:{post_id}")
    reply = await chat.tap("Retry")
    assert "cannot post to Channel of 111 any more" in texts(reply)
    assert (await post_status(sqlite_harness, post_id))[0] == PostStatus.FAILED
