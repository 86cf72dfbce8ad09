"""Queues with time slots (issue 12) through the dispatcher: slots typed in both languages,
a post queued in at most two taps after its text and published in its slot by the worker,
and the queue's buttons. The clock is the harness's manual one: Tuesday 2026-12-01 09:00
UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.factory import create_workers
from services.clock import ManualClock
from storage.models import Content, PostStatus, ScheduledPost
from tests.conftest import CHANNEL_ID, OTHER_USER_ID, USER_ID
from tests.ux.conftest import texts
from tests.ux.harness import Chat, Harness
from tests.ux.test_compose import button_labels, link_targets

OTHER_CHANNEL_ID = -1009876543210


async def queued_posts(harness: Harness) -> list[tuple[str, datetime, int | None, str]]:
    async with harness.app.session_factory() as session:
        rows = await session.execute(
            select(
                Content.text,
                ScheduledPost.scheduled_time,
                ScheduledPost.queue_position,
                ScheduledPost.status,
            )
            .join(Content, Content.id == ScheduledPost.content_id)
            .order_by(ScheduledPost.id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows.all()]


async def write_post(chat: Chat, text: str) -> None:
    await chat.send("/new")
    reply = await chat.send(text)
    assert "how the post will look" in texts(reply) or "Так будет выглядеть" in texts(reply)


async def test_slots_typed_then_one_tap_queue_and_the_worker_publishes_in_the_slot(
    harness: Harness, clock: ManualClock
) -> None:
    await link_targets(harness)
    chat = harness.chat(USER_ID)
    await chat.send("/channels")
    (view,) = await chat.tap("Tech news")
    assert "Time slots: no time slots yet" in view["text"]
    (prompt,) = await chat.tap("Time slots")
    assert "mon-fri 9:00 18:00; sat,sun 11:00" in prompt["text"]
    assert {"⬅️ Back", "✖️ Cancel"} <= set(button_labels(prompt))
    reply = await chat.send("someday 9:00")
    assert "I did not understand “someday”" in texts(reply)
    reply = await chat.send("mon-fri 9:00 18:00; sat,sun 11:00")
    assert "Time slots saved" in texts(reply)
    assert "Mon–Fri 09:00, 18:00; Sat, Sun 11:00" in texts(reply)

    await write_post(chat, "Queued hello")
    taps_before = chat.taps
    reply = await chat.tap("Add to queue")
    assert chat.taps - taps_before == 1
    # 09:00 UTC now, the user's zone is UTC: the next slot is 18:00 today.
    assert "goes out Tue 01.12 18:00 (UTC), number 1 in the queue" in texts(reply)
    assert await chat.state() is None
    assert await queued_posts(harness) == [
        ("Queued hello", datetime(2026, 12, 1, 18, tzinfo=UTC), 1, PostStatus.SCHEDULED)
    ]

    worker = create_workers(harness.app, AsyncIOScheduler(timezone="UTC"))
    worker_runner = worker.runners[0].worker
    clock.set(datetime(2026, 12, 1, 17, 59, tzinfo=UTC))
    await worker_runner.run_once()
    assert harness.fake.reader_texts(CHANNEL_ID) == []
    clock.set(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))
    await worker_runner.run_once()
    assert harness.fake.reader_texts(CHANNEL_ID) == ["Queued hello"]
    (post,) = await queued_posts(harness)
    assert post[3] == PostStatus.PUBLISHED


async def test_russian_user_queues_with_default_slots_in_two_taps_then_types_slots(
    sqlite_harness: Harness,
) -> None:
    fake = sqlite_harness.fake
    fake.add_channel(OTHER_CHANNEL_ID, "Новости", "novosti", owner=OTHER_USER_ID)
    chat = sqlite_harness.chat(OTHER_USER_ID)
    await chat.send("/link")
    await chat.forward_from(OTHER_CHANNEL_ID)

    await write_post(chat, "Пост в очередь")
    taps_before = chat.taps
    reply = await chat.tap("В очередь")
    assert "пока нет слотов" in texts(reply)
    assert {"⬅️ Назад", "✖️ Отмена"} <= set(button_labels(reply[-1]))
    # ⬅️ Back returns to the preview, the draft intact; the offer comes again.
    reply = await chat.tap("Назад")
    assert "Пост в очередь" in texts(reply)
    assert await chat.state() == "NewPost:preview"
    await chat.tap("В очередь")
    taps_before = chat.taps - 1
    reply = await chat.tap("Да, и в очередь")
    assert chat.taps - taps_before == 2
    assert "Добавлено в очередь" in texts(reply)
    assert "выйдет Вт 01.12 13:00 (UTC), номер 1 в очереди" in texts(reply)

    await chat.send("/channels")
    (view,) = await chat.tap("Новости")
    assert "Слоты: Каждый день 09:00, 13:00, 18:00" in view["text"]
    await chat.tap("Слоты")
    reply = await chat.send("по средам")
    assert "Не нашёл там времени" in texts(reply)
    reply = await chat.send("пн-пт 9:00, 18:00")
    assert "Слоты сохранены" in texts(reply)
    assert "Пн–Пт 09:00, 18:00" in texts(reply)
    # The queued post re-flowed onto the new slots.
    assert "1. <b>Вт 01.12 18:00</b>" in texts(reply)


async def test_queue_buttons_reorder_remove_pause_shuffle_and_publish_next(
    sqlite_harness: Harness,
) -> None:
    await link_targets(sqlite_harness)
    chat = sqlite_harness.chat(USER_ID)
    await chat.send("/channels")
    await chat.tap("Tech news")
    await chat.tap("Time slots")
    await chat.tap("09:00 · 13:00 · 18:00 every day")
    for text in ("First", "Second", "Third"):
        await write_post(chat, text)
        await chat.tap("Add to queue")
    slot = [
        datetime(2026, 12, 1, 13, tzinfo=UTC),
        datetime(2026, 12, 1, 18, tzinfo=UTC),
        datetime(2026, 12, 2, 9, tzinfo=UTC),
    ]
    assert [(t, w) for t, w, _p, _s in await queued_posts(sqlite_harness)] == [
        ("First", slot[0]),
        ("Second", slot[1]),
        ("Third", slot[2]),
    ]

    await chat.send("/channels")
    await chat.tap("Tech news")
    (queue,) = await chat.tap("Queue and time slots")
    assert "1. <b>Tue 01.12 13:00</b> · First" in queue["text"]

    def current() -> dict[str, Any]:
        # The queue's message as edited by the last change (its buttons follow the queue).
        found = sqlite_harness.fake._current(USER_ID, queue["message_id"])
        assert found is not None
        return found

    await chat.tap("3 ⬆️", current())
    assert "Moved up" in chat.alerts()
    by_text = {t: w for t, w, _p, _s in await queued_posts(sqlite_harness)}
    assert by_text == {"First": slot[0], "Third": slot[1], "Second": slot[2]}

    await chat.tap("1 🗑", current())
    rows = await queued_posts(sqlite_harness)
    assert rows[0][3] == PostStatus.CANCELLED
    assert {t: w for t, w, _p, s in rows if s == PostStatus.SCHEDULED} == {
        "Third": slot[0],
        "Second": slot[1],
    }

    await chat.tap("Pause", current())
    edited = sqlite_harness.fake.calls_to("editMessageText", chat_id=USER_ID)[-1]
    assert "Paused" in edited.params["text"]
    assert "▶️ Resume" in str(edited.params["reply_markup"])
    await chat.tap("Resume", current())
    assert "Queue resumed" in chat.alerts()

    await chat.tap("Shuffle", current())
    await chat.tap("Publish next now", current())
    rows = [r for r in await queued_posts(sqlite_harness) if r[3] == PostStatus.SCHEDULED]
    now_post = [r for r in rows if r[2] is None]
    assert len(now_post) == 1 and now_post[0][1] == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert [r[1] for r in rows if r[2] is not None] == [slot[0]]

    # Someone else's queue: nothing there.
    other = sqlite_harness.chat(OTHER_USER_ID)
    data = sqlite_harness.fake.find_button(queue, "Shuffle")
    await other.press_data(data)
    assert any("not yours" in a or "не ваш" in a.lower() for a in other.alerts())
