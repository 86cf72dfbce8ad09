"""After publishing, in a Telegram channel (issue 12): edit, delete with confirmation,
auto-delete, timed pin; the calls reach the fake Bot API, a reader sees the result, Telegram's
refusals get a clear answer, and every change is recorded beside the post."""

from __future__ import annotations

from datetime import timedelta

from handlers.post_life.callbacks import LifeCb
from platforms.errors import ErrorCode
from services.posts import PostOptions
from tests.conftest import CHANNEL_ID, USER_ID
from tests.fakes.telegram import BOT_ID, reader_entities, reader_text
from tests.post_life.conftest import Life
from tests.ux.conftest import texts


def shown(life: Life) -> list[str]:
    return [reader_text(m) for m in life.fake.channel_view(CHANNEL_ID)]


async def test_the_post_view_offers_the_actions_after_publishing(life: Life) -> None:
    post = await life.publish()
    await life.chat.press_data(f"post:view:{post.id}")
    view = life.chat.last()
    for label in ("✏️ Edit", "🗑 Delete", "⏳ Auto-delete", "📌 Pin", "📜 History"):
        life.fake.find_button(view, label)


async def test_edit_a_text_post_reaches_the_channel(life: Life) -> None:
    post = await life.publish("Old <i>text</i>")
    answer = await life.press("edit", post.id)
    assert "Send the new text of post" in texts(answer)
    # Typed with formatting: the reader gets the same formatting.
    await life.chat.send("New text", entities=[{"type": "bold", "offset": 4, "length": 4}])
    assert "was changed" in life.chat.last()["text"]
    (call,) = life.fake.calls_to("editMessageText", chat_id=CHANNEL_ID)
    assert str(call.params["message_id"]) == post_external_id(life, post.id)
    assert shown(life) == ["New text"]
    (message,) = life.fake.channel_view(CHANNEL_ID)
    assert reader_entities(message) == [{"type": "bold", "offset": 4, "length": 4}]
    events = await life.events(post.id)
    assert [(e.kind, e.outcome) for e in events] == [("edit", "ok")]


def post_external_id(life: Life, post_id: int) -> str:
    return str(life.fake.channel_view(CHANNEL_ID)[0]["message_id"])


async def test_edit_keeps_the_buttons_and_buttons_can_be_changed(life: Life) -> None:
    options = PostOptions.model_validate(
        {"buttons": [{"text": "Site", "url": "https://example.org"}]}
    )
    post = await life.publish("With a button", options=options)
    await life.press("edit", post.id)
    await life.chat.send("Changed")
    (message,) = life.fake.channel_view(CHANNEL_ID)
    assert message["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.org"
    await life.press("buttons", post.id)
    await life.chat.send("Shop - https://shop.example.org\nNews - https://news.example.org")
    assert "buttons of post" in life.chat.last()["text"]
    (message,) = life.fake.channel_view(CHANNEL_ID)
    rows = message["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == ["Shop", "News"]
    assert reader_text(message) == "Changed"


async def test_edit_a_photo_post_changes_its_caption(life: Life) -> None:
    post = await life.publish("A caption", photos=1)
    await life.press("edit", post.id)
    await life.chat.send("Another caption")
    assert life.fake.calls_to("editMessageCaption", chat_id=CHANNEL_ID)
    assert not life.fake.calls_to("editMessageText", chat_id=CHANNEL_ID)
    assert shown(life) == ["Another caption"]


async def test_delete_asks_first_then_removes_every_message_of_an_album(life: Life) -> None:
    post = await life.publish("An album", photos=3)
    assert len(shown(life)) == 3
    answer = await life.press("delete", post.id)
    assert "All 3 messages of the album" in texts(answer)
    assert "within 48 hours" in texts(answer)
    assert not life.fake.calls_to("deleteMessage")
    answer = await life.press("delete_yes", post.id)
    assert "was deleted from the platform" in texts(answer)
    assert len(life.fake.calls_to("deleteMessage", chat_id=CHANNEL_ID)) == 3
    assert shown(life) == []
    events = await life.events(post.id)
    assert [(e.kind, e.outcome) for e in events] == [("delete", "ok")]
    # Gone: nothing more to do to it.
    answer = await life.press("delete", post.id)
    assert "not in the channel any more" in texts(answer)


async def test_a_message_older_than_48_hours_is_not_deleted_and_the_record_says_why(
    life: Life,
) -> None:
    post = await life.publish()
    life.clock.advance(hours=48, minutes=1)
    answer = await life.press("delete", post.id)
    assert "only within 48 hours" in texts(answer)
    assert not life.fake.calls_to("deleteMessage")
    assert len(shown(life)) == 1
    (event,) = await life.events(post.id)
    assert (event.kind, event.outcome, event.error_code) == (
        "delete",
        "refused",
        ErrorCode.MESSAGE_TOO_OLD_TO_DELETE.value,
    )


async def test_telegram_refuses_a_delete_when_the_bot_has_no_right(life: Life) -> None:
    post = await life.publish()
    life.fake.set_rights(CHANNEL_ID, BOT_ID, can_post_messages=False, can_delete_messages=False)
    await life.press("delete", post.id)
    answer = await life.press("delete_yes", post.id)
    assert "may not delete messages" in texts(answer)
    assert len(shown(life)) == 1
    (event,) = await life.events(post.id)
    assert (event.outcome, event.error_code) == ("refused", ErrorCode.NO_RIGHT_TO_DELETE.value)
    # The right to post is enough for the bot's own message (Bot API, deleteMessage).
    life.fake.set_rights(CHANNEL_ID, BOT_ID, can_post_messages=True, can_delete_messages=False)
    answer = await life.press("delete_yes", post.id)
    assert "was deleted" in texts(answer)
    assert shown(life) == []


async def test_the_fake_itself_refuses_what_telegram_refuses(life: Life) -> None:
    """Straight at the fake: 48 hours by its clock, rights, a message that is not there."""
    from aiogram.exceptions import TelegramBadRequest

    post = await life.publish()
    bot = life.harness.app.bot
    message_id = int(post_external_id(life, post.id))
    life.clock.advance(hours=49)
    try:
        await bot.delete_message(CHANNEL_ID, message_id)
    except TelegramBadRequest as exc:
        assert "can't be deleted" in exc.message
    else:
        raise AssertionError("a 49-hour-old message was deleted")
    try:
        await bot.delete_message(CHANNEL_ID, 999)
    except TelegramBadRequest as exc:
        assert "message to delete not found" in exc.message
    else:
        raise AssertionError("a missing message was deleted")


async def test_auto_delete_from_the_post_runs_on_time(life: Life) -> None:
    post = await life.publish()
    answer = await life.press("autodel", post.id)
    menu = answer[-1]
    # Telegram deletes only within 48 hours: 7 days is not offered.
    assert "7 d" not in str(menu["reply_markup"])
    life.fake.find_button(menu, "6 h")
    answer = await life.press("autodel_set", post.id, 6 * 3600)
    assert "will be deleted on" in texts(answer)
    worker = life.actions_worker()
    assert (await worker.run_once()).claimed == 0
    assert await worker.next_due_at() == life.clock.now() + timedelta(hours=6)
    life.clock.advance(hours=6)
    report = await worker.run_once()
    assert (report.claimed, report.succeeded) == (1, 1)
    assert shown(life) == []
    kinds = [(e.kind, e.actor, e.outcome) for e in await life.events(post.id)]
    assert kinds == [
        ("auto_delete_set", "owner", "scheduled"),
        ("auto_delete", "worker", "ok"),
    ]
    (action,) = await life.actions(post.id)
    assert action.status == "done"


async def test_auto_delete_chosen_before_publishing(life: Life) -> None:
    post = await life.publish(options=PostOptions(auto_delete_after=3600))
    (action,) = await life.actions(post.id)
    assert action.kind == "delete"
    assert action.due_at == life.clock.now() + timedelta(hours=1)
    life.clock.advance(hours=1)
    await life.actions_worker().run_once()
    assert shown(life) == []


async def test_a_seven_day_auto_delete_is_refused_for_telegram(life: Life) -> None:
    post = await life.publish()
    result = await life.services.post_life.set_auto_delete(111, post.id, 7 * 86400)
    assert (result.ok, result.code) == (False, ErrorCode.MESSAGE_TOO_OLD_TO_DELETE)
    assert await life.actions(post.id) == []
    # Published with it as an option (an older version allowed it): told, not planned.
    post = await life.publish(options=PostOptions(auto_delete_after=7 * 86400))
    assert await life.actions(post.id) == []
    (event,) = await life.events(post.id)
    assert event.error_code == ErrorCode.MESSAGE_TOO_OLD_TO_DELETE.value


async def test_timed_pin_pins_then_unpins_on_time(life: Life) -> None:
    post = await life.publish()
    answer = await life.press("pin", post.id)
    assert "right to edit messages" in texts(answer)
    answer = await life.press("pin_set", post.id, 3600)
    assert "is pinned until" in texts(answer)
    (call,) = life.fake.calls_to("pinChatMessage", chat_id=CHANNEL_ID)
    assert str(call.params["disable_notification"]).lower() == "true"
    message_id = int(post_external_id(life, post.id))
    assert life.fake.pinned[CHANNEL_ID] == [message_id]
    worker = life.actions_worker()
    life.clock.advance(minutes=59)
    assert (await worker.run_once()).claimed == 0
    life.clock.advance(minutes=1)
    assert (await worker.run_once()).succeeded == 1
    assert life.fake.pinned[CHANNEL_ID] == []
    assert life.fake.calls_to("unpinChatMessage", chat_id=CHANNEL_ID, message_id=message_id)
    kinds = [(e.kind, e.outcome) for e in await life.events(post.id)]
    assert kinds == [("pin", "ok"), ("auto_unpin", "ok")]


async def test_pin_without_the_right_is_refused_clearly(life: Life) -> None:
    post = await life.publish()
    life.fake.set_rights(CHANNEL_ID, BOT_ID, can_edit_messages=False)
    answer = await life.press("pin_set", post.id, 0)
    assert "may not pin messages" in texts(answer)
    assert life.fake.pinned.get(CHANNEL_ID, []) == []
    (event,) = await life.events(post.id)
    assert (event.outcome, event.error_code) == ("refused", ErrorCode.NO_RIGHT_TO_PIN.value)


async def test_history_lists_what_was_done(life: Life) -> None:
    post = await life.publish()
    await life.press("pin_set", post.id, 0)
    await life.press("unpin", post.id)
    answer = await life.press("history", post.id)
    text = texts(answer)
    assert "pinned in the channel · done" in text and "unpinned · done" in text


async def test_back_and_cancel_everywhere(life: Life) -> None:
    post = await life.publish()
    for action in ("edit", "delete", "autodel", "pin"):
        answer = await life.press(action, post.id)
        menu = answer[-1]
        life.fake.find_button(menu, "Cancel")
        back = life.fake.find_button(menu, "Back")
        assert back == LifeCb(action="back", post_id=post.id).pack()
    # Back from typing the new text: the post's view, and the text is no edit any more.
    await life.press("edit", post.id)
    await life.chat.press_data("nav:back")
    assert await life.chat.state() is None
    assert f"#{post.id}" in life.chat.last()["text"]


async def test_another_users_post_is_refused(life: Life) -> None:
    post = await life.publish()
    other = life.harness.chat(222)
    await other.send("/start")
    await other.press_data(LifeCb(action="delete_yes", post_id=post.id).pack())
    assert other.alerts()
    assert len(shown(life)) == 1


async def test_the_post_view_says_what_was_done_in_both_languages(life: Life) -> None:
    post = await life.publish()
    await life.press("pin_set", post.id, 3600)
    await life.press("autodel_set", post.id, 6 * 3600)
    await life.chat.press_data(f"post:view:{post.id}")
    text = life.chat.last()["text"]
    assert "📌 Pinned until 2026-12-01 10:00" in text
    assert "⏳ Deleted automatically on 2026-12-01 15:00" in text
    await life.services.users.set_language(USER_ID, "ru")
    await life.chat.press_data(f"post:view:{post.id}")
    text = life.chat.last()["text"]
    assert "📌 Закреплён до 2026-12-01 10:00" in text
    life.fake.find_button(life.chat.last(), "🗑 Удалить")
    life.clock.advance(hours=48)
    answer = await life.press("delete", post.id)
    assert "только в течение 48 часов" in texts(answer)
    answer = await life.press("history", post.id)
    assert "закреплён в канале · выполнено" in texts(answer)
    assert "удалён · отказано" in texts(answer)


async def test_telegram_refusing_an_old_message_is_told_as_too_old(life: Life) -> None:
    """The bot's own 48-hour check passed (its clock says 47 h), Telegram's clock says more:
    Telegram's refusal is the answer, and the record says why."""
    post = await life.publish()
    life.clock.advance(hours=47)
    life.fake.wall_clock = lambda: life.clock.now().timestamp() + 2 * 3600
    await life.press("delete", post.id)
    answer = await life.press("delete_yes", post.id)
    assert life.fake.calls_to("deleteMessage", chat_id=CHANNEL_ID)
    assert "only within 48 hours" in texts(answer)
    assert len(shown(life)) == 1
    (event,) = await life.events(post.id)
    assert (event.outcome, event.error_code) == (
        "refused",
        ErrorCode.MESSAGE_TOO_OLD_TO_DELETE.value,
    )


async def test_an_auto_delete_run_too_late_is_recorded_not_retried(life: Life) -> None:
    """The bot was down past Telegram's 48 hours: the auto-delete cannot be done any more;
    that is recorded beside the post (and shown in its view), not retried."""
    post = await life.publish(options=PostOptions(auto_delete_after=47 * 3600))
    life.clock.advance(hours=49)
    report = await life.actions_worker().run_once()
    assert (report.claimed, report.failed, report.retried) == (1, 1, 0)
    assert len(shown(life)) == 1
    assert not life.fake.calls_to("deleteMessage")
    (action,) = await life.actions(post.id)
    assert (action.status, action.error_code) == ("failed", "too_old_to_delete")
    kinds = [(e.kind, e.outcome, e.error_code) for e in await life.events(post.id)]
    assert kinds[-1] == ("auto_delete", "refused", "too_old_to_delete")
