"""The scheduled list and post actions, targets, settings, admin commands, access, errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.accounts import AccountCb
from handlers.compose.states import NewPost
from handlers.settings.states import Settings
from services.clock import ManualClock
from services.worker_stats import WorkerStats
from storage.models import Platform, PostStatus, ScheduledPost, User
from storage.repositories import ContentRepository, PostRepository, TargetRepository
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram, Fault
from tests.ux.conftest import texts
from tests.ux.harness import Harness, running_bot

ADMIN_ID = 999


async def make_posts(
    harness: Harness, owner: int, statuses: Sequence[str], *, error: str | None = None
) -> list[int]:
    """Rows as the worker leaves them; the chat only reads and acts on them."""
    async with harness.app.session_factory() as session:
        if await session.get(User, owner) is None:
            session.add(User(id=owner, language="en", timezone="UTC", role="user"))
            await session.flush()
        target = await TargetRepository(session).link(
            owner, Platform.TELEGRAM, str(CHANNEL_ID - owner), f"Channel of {owner}", None
        )
        ids = []
        when = harness.app.clock.now() + timedelta(hours=1)
        for number, status in enumerate(statuses):
            content = await ContentRepository(session).create(owner, f"Post text {number}")
            (post,) = await PostRepository(session).create(
                content, [target], when + timedelta(minutes=number)
            )
            post.status = status
            if status in (PostStatus.FAILED, PostStatus.UNKNOWN):
                post.last_error = error or "Telegram refused: bot was kicked"
            ids.append(post.id)
        await session.commit()
    return ids


async def post_status(harness: Harness, post_id: int) -> tuple[str, datetime]:
    async with harness.app.session_factory() as session:
        post = await session.get(ScheduledPost, post_id)
        assert post is not None
        return post.status, post.scheduled_time


async def test_scheduled_list_pages_filters_and_actions(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    await chat.send("/start")
    ids = await make_posts(harness, USER_ID, [PostStatus.SCHEDULED] * 9 + [PostStatus.FAILED])
    (listing,) = await chat.send("/scheduled")
    assert "Your posts (10), page 1 of 2" in listing["text"]
    await chat.tap("▶️")
    assert "page 2 of 2" in chat.last()["text"]  # edited in place
    await chat.tap("Failed")
    failed_list = chat.last()
    assert "Your posts (1)" in failed_list["text"]
    await chat.tap(f"#{ids[-1]}", failed_list)
    view = chat.last()
    # A row older than error codes: a generic sentence, never the English details.
    assert "Reason: Something went wrong. Try again" in view["text"]
    assert "bot was kicked" not in view["text"]
    await chat.tap("Retry", view)
    assert (await post_status(harness, ids[-1]))[0] == PostStatus.SCHEDULED

    # View → Reschedule in natural language → Cancel → Duplicate.
    await chat.press_data(f"post:view:{ids[0]}")
    await chat.tap("Reschedule")
    reply = await chat.send("in 2 days")
    assert f"Post #{ids[0]} moved to 2026-12-03 09:00 UTC" in texts(reply)
    assert (await post_status(harness, ids[0]))[1] == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    await chat.press_data(f"post:view:{ids[1]}")
    await chat.tap("Cancel post")
    assert (await post_status(harness, ids[1]))[0] == PostStatus.CANCELLED
    await chat.press_data(f"post:view:{ids[2]}")
    reply = await chat.tap("Duplicate")
    assert "A copy of post" in texts(reply)
    assert "Post text 2" in texts(reply)
    assert await chat.state() == NewPost.preview.state
    assert (await chat.data())["chosen"]


async def test_publish_now_from_the_list(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    await chat.send("/start")
    (post_id,) = await make_posts(harness, USER_ID, [PostStatus.SCHEDULED])
    await chat.press_data(f"post:view:{post_id}")
    await chat.tap("Publish now")
    assert "will be published now" in chat.last()["text"]
    status, when = await post_status(harness, post_id)
    assert (status, when) == (PostStatus.SCHEDULED, harness.app.clock.now())


async def test_targets_list_unlink_and_account_entry_points(harness: Harness) -> None:
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    (listing,) = await chat.send("/channels")
    assert (
        harness.fake.find_button(listing, "Link X account")
        == AccountCb(action="link", platform="x").pack()
    )
    assert (
        harness.fake.find_button(listing, "Link Instagram account")
        == AccountCb(action="link", platform="instagram").pack()
    )
    # History: one published post, one still scheduled.
    target = (await harness.app.services.targets.list(USER_ID))[0]
    async with harness.app.session_factory() as session, session.begin():
        when = harness.app.clock.now() + timedelta(hours=1)
        for text, status in (("Old news", PostStatus.PUBLISHED), ("Next news", None)):
            content = await ContentRepository(session).create(USER_ID, text)
            (post,) = await PostRepository(session).create(content, [target], when)
            post.status = status or post.status
    await chat.tap("Tech news", listing)
    await chat.tap("Unlink")
    confirm = chat.last()["text"]
    # The confirmation says exactly what happens.
    assert "Its scheduled posts and drafts are cancelled." in confirm
    assert "stay in /scheduled as history" in confirm
    assert "Rules stop posting to it." in confirm
    await chat.tap("Yes, unlink")
    assert chat.last()["text"] == ("Unlinked. Scheduled posts cancelled: 1. Its history is kept.")
    async with harness.app.session_factory() as session:
        assert not await TargetRepository(session).list_for_owner(USER_ID)
    # Gone from the pickers, but the history still names it.
    (listing,) = await chat.send("/channels")
    assert "Tech news" not in str(listing.get("reply_markup"))
    (history,) = await chat.send("/scheduled")
    assert "Your posts (2)" in history["text"]
    assert "Tech news" in history["text"]
    # Linking it again brings it back, with its history.
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    relinked = await harness.app.services.targets.list(USER_ID)
    assert [t.id for t in relinked] == [target.id]


async def test_link_refusals_change_nothing(harness: Harness) -> None:
    harness.fake.add_channel(CHANNEL_ID, "Not mine", "notmine", owner=OTHER_USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    reply = await chat.send("@notmine")
    assert "not the creator or an administrator" in texts(reply)
    reply = await chat.send("@nosuchchannel")
    assert "cannot find this channel" in texts(reply)
    async with harness.app.session_factory() as session:
        assert not await TargetRepository(session).list_for_owner(USER_ID)


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


def latest(messages: list[dict[str, Any]], message_id: int) -> dict[str, Any]:
    """A message as it reads now (an edit is recorded as a new version)."""
    return [m for m in messages if m["message_id"] == message_id][-1]


async def test_settings_language_and_time_zone(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    (settings,) = await chat.send("/settings")
    assert settings["text"] == (
        "<b>Settings</b>\nLanguage: English\nTime zone: UTC (it is 2026-12-01 09:00 there now)"
    )
    notices_on = "🔔 Tell me when a post goes out: on"
    assert labels(settings) == ["✓ English", "Русский", "🕑 Time zone", notices_on, "🏠 Menu"]
    assert await chat.state() == Settings.main.state

    # "✅ Published" notices: one tap off, one tap on, saved each time.
    (muted,) = await chat.tap(notices_on)
    assert "🔕 Tell me when a post goes out: off" in labels(muted)
    assert (await harness.app.services.users.get(USER_ID)).notify_published is False  # type: ignore[union-attr]
    (unmuted,) = await chat.tap("🔕 Tell me when a post goes out: off")
    assert notices_on in labels(unmuted)
    assert (await harness.app.services.users.get(USER_ID)).notify_published is True  # type: ignore[union-attr]

    # One tap: saved, and the same message redrawn in the new language at once.
    (shown,) = await chat.tap("Русский")
    assert shown["message_id"] == settings["message_id"]
    assert "<b>Настройки</b>\nЯзык: Русский\nЧасовой пояс: UTC" in shown["text"]
    assert labels(shown) == [
        "English",
        "✓ Русский",
        "🕑 Часовой пояс",
        "🔔 Сообщать о каждом опубликованном посте: да",
        "🏠 Меню",
    ]

    (question,) = await chat.tap("Часовой пояс")
    assert question["text"].startswith("Пришлите свой город")
    zone_buttons = labels(question)
    assert zone_buttons[-2:] == ["⬅️ Назад", "✖️ Отмена"]
    assert "Europe/Moscow" in zone_buttons
    assert await chat.state() == Settings.timezone.state

    # The type factory refuses what it cannot read: the step stays, with its buttons.
    (refused,) = await chat.send("Атлантида <b>")
    assert refused["text"].startswith("Не знаю часовой пояс «Атлантида &lt;b&gt;»")
    assert labels(refused) == zone_buttons
    assert labels(question) == []  # the older window's buttons were taken away
    assert await chat.state() == Settings.timezone.state

    (saved,) = await chat.send("Москва")
    assert saved["text"].startswith("✅ Часовой пояс: Europe/Moscow. У вас сейчас 12:00 — верно?")
    assert "Часовой пояс: Europe/Moscow (там сейчас 2026-12-01 12:00)" in saved["text"]
    assert await chat.state() == Settings.main.state

    # A quick zone: one tap, the window says what was saved.
    await chat.tap("Часовой пояс")
    (quick,) = await chat.tap("Europe/Berlin")
    assert "✅ Часовой пояс: Europe/Berlin. У вас сейчас 10:00" in quick["text"]

    await chat.tap("Часовой пояс")
    (offset,) = await chat.send("UTC-5")
    assert "✅ Часовой пояс: UTC-5. У вас сейчас 04:00" in offset["text"]
    # The notice is shown once: Back from the zone step shows the settings alone.
    await chat.tap("Часовой пояс")
    (back,) = await chat.tap("Назад")
    assert back["text"].startswith("<b>Настройки</b>")
    assert "Часовой пояс: UTC-5 (там сейчас 2026-12-01 04:00)" in back["text"]

    async with harness.app.session_factory() as session:
        user = await session.get(User, USER_ID)
    assert user is not None
    assert (user.language, user.timezone) == ("ru", "Etc/GMT+5")

    # 🏠 Menu ends the dialog (nothing to cancel: every change is saved already).
    (menu,) = await chat.tap("Меню")
    assert "Новый пост" in str(menu["reply_markup"])
    assert await chat.state() is None
    assert labels(latest(chat.sent(), back["message_id"])) == []  # the window's buttons went
    (cancel,) = await chat.send("/cancel")
    assert cancel["text"] == "Отменять нечего."


async def test_settings_from_the_menu_and_leaving_it(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    (welcome,) = await chat.send("/start")
    # The menu's ⚙️ Settings turns the menu message into the settings window.
    (settings,) = await chat.tap("Settings")
    assert settings["message_id"] == welcome["message_id"]
    assert settings["text"].startswith("<b>Settings</b>")
    await chat.tap("Time zone")
    # /menu (like /start, /cancel and 🏠 Home) ends the dialog and takes its buttons away.
    (menu,) = await chat.send("/menu")
    assert "Your time zone: <b>UTC</b>" in menu["text"]
    assert await chat.state() is None
    assert labels(latest(chat.sent(), settings["message_id"])) == []
    # Text typed now is not taken for a zone.
    (reply,) = await chat.send("Berlin")
    assert "Choose an action" in reply["text"]
    # A button of the closed window is answered, not failed.
    await chat.press_data(settings["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    assert chat.alerts()[-1] == "This button is no longer active. Open /menu."


async def test_commands_and_other_buttons_pass_an_open_settings_dialog(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    (welcome,) = await chat.send("/start")
    await chat.send("/settings")
    await chat.tap("Time zone")
    (scheduled,) = await chat.send("/scheduled")
    assert "<b>Settings</b>" not in scheduled["text"]
    # An older message's button belongs to its own feature, not to the open dialog.
    reply = await chat.tap("Help", welcome)
    assert "/settings — language and time zone" in texts(reply)
    # The dialog is still there for a zone.
    (saved,) = await chat.send("Berlin")
    assert "✅ Time zone: Europe/Berlin" in saved["text"]


async def test_admin_commands_and_refusal(harness: Harness, fake_tg: FakeTelegram) -> None:
    fake_tg.add_user(ADMIN_ID, "Root", "en", "root")
    await make_posts(
        harness, USER_ID, [PostStatus.PUBLISHED, PostStatus.FAILED], error="chat not found"
    )
    admin = harness.chat(ADMIN_ID)
    # /stats is a chart of every user's posts (issue 13; tests/ux/test_pictures.py), the
    # numbers in its caption; the text figures are one tap away.
    (chart,) = await admin.send("/stats")
    assert "photo" in chart and "• Telegram: 2 (" in chart["caption"]
    await admin.tap("Stats", chart)
    stats = admin.last()
    assert "Last 24 hours" in stats["text"] and "Last 7 days" in stats["text"]
    assert "Telegram: " in stats["text"] and "published 1" in stats["text"]
    (failed,) = await admin.send("/failed")
    assert "chat not found" in failed["text"] and f"user {USER_ID}" in failed["text"]
    (users,) = await admin.send("/users")
    assert str(USER_ID) in users["text"]
    (workers,) = await admin.send("/workers")
    assert "No workers run in this process" in workers["text"]

    now = harness.app.clock.now()
    harness.app.services.worker_stats = lambda: [
        WorkerStats(
            name="ScheduledPostsWorker",
            interval=60,
            is_running=True,
            last_run=now - timedelta(seconds=20),
            next_run=now + timedelta(seconds=40),
            processed=12,
            failed=1,
            last_duration=0.25,
        )
    ]
    await admin.tap("Workers")
    shown = admin.last()["text"]
    assert "<b>ScheduledPostsWorker</b>: ✅ running" in shown
    assert "(20 s ago)" in shown and "(in 40 s)" in shown
    assert "Processed: 12, failed: 1" in shown and "0.25 s" in shown

    user = harness.chat(OTHER_USER_ID)
    for command in ("/workers", "/failed", "/users"):
        (reply,) = await user.send(command)
        assert reply["text"] == "Эта команда только для администраторов бота."
    # Everyone's /stats is their own chart now, never the admins' figures.
    (own,) = await user.send("/stats")
    assert "photo" in own and "Постов: 0" in own["caption"]
    await user.press_data("adm:users")
    assert user.alerts()[-1] == "Эта команда только для администраторов бота."


async def test_allowlist_lets_only_listed_people_in(
    fake_tg: FakeTelegram, sqlite_db: tuple[str, object], clock: ManualClock
) -> None:
    settings = make_settings(
        database_url=sqlite_db[0],
        telegram_api_base=fake_tg.base_url,
        access="allowlist",
        allowed_user_ids=[USER_ID],
    )
    async with running_bot(settings, fake_tg, clock) as harness:
        (reply,) = await harness.chat(OTHER_USER_ID).send("/start")
        assert f"Telegram id: {OTHER_USER_ID}" in reply["text"]
        await harness.chat(OTHER_USER_ID).press_data("menu:new")
        (welcome,) = await harness.chat(USER_ID).send("/start")
        assert "Content Curator" in welcome["text"]
        assert await harness.state(OTHER_USER_ID) is None


async def test_error_handler_apologises_logs_and_keeps_the_dialog(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    harness.fake.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    chat = harness.chat(USER_ID)
    await chat.send("/link")
    await chat.forward_from(CHANNEL_ID)
    await chat.send("/new")
    await chat.send("Hello")
    await chat.tap("Schedule")
    await chat.tap("Tech news")
    await chat.tap("Done")
    assert await chat.state() == NewPost.time.state
    harness.fake.fail_next("sendMessage", Fault(status=500, description="Internal error"))
    reply = await chat.send("/scheduled")
    assert texts(reply) == "Sorry, something went wrong on my side. Please try that again."
    record = next(r for r in caplog.records if "failed: TelegramServerError" in r.getMessage())
    assert record.exc_info is not None and record.levelno == logging.ERROR
    assert record.getMessage().startswith("Update ")
    # The dialog is where it was: a time still works.
    assert await chat.state() == NewPost.time.state
    reply = await chat.send("in 1 hour")
    assert "Publish to" in texts(reply)


async def test_unknown_text_inside_and_outside_a_dialog(harness: Harness) -> None:
    chat = harness.chat(USER_ID)
    (reply,) = await chat.send("what?")
    assert "Choose an action" in reply["text"]
    await chat.send("/settings")
    await chat.tap("Time zone")
    await chat.send_photo()
    assert "Send the city or offset as text." in chat.last()["text"]
    assert await chat.state() is not None
    await chat.press_data("menu:nosuchaction")
    assert "no longer active" in chat.alerts()[-1]
    assert (await chat.data()) == {}
    assert await chat.state() is not None
