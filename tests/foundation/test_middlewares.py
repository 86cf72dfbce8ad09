"""Fairness middlewares (handlers/middlewares.py), driven through a real Dispatcher with
`feed_update` against the fake Bot API: the per-user throttle and the cap on updates handled
at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, Update

from handlers.i18n import create_i18n
from handlers.middlewares import ConcurrencyMiddleware, ThrottleMiddleware
from tests.conftest import OTHER_USER_ID, TEST_TOKEN, USER_ID
from tests.fakes.telegram import FakeTelegram

SLOW_DOWN_EN = "Slow down a little: I am still answering your previous messages."
SLOW_DOWN_RU = "Помедленнее, пожалуйста: я ещё отвечаю на ваши предыдущие сообщения."


class FrozenClock:
    """The throttle's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Updates:
    """Builds updates as Telegram sends them, from the fake's users."""

    def __init__(self, fake: FakeTelegram, bot: Bot) -> None:
        self.fake = fake
        self.bot = bot
        self.next_id = 1

    def _update(self, body: dict[str, Any]) -> Update:
        self.next_id += 1
        return Update.model_validate(
            {"update_id": self.next_id, **body}, context={"bot": self.bot}
        )

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id not in self.fake.users:
            self.fake.add_user(user_id, f"User {user_id}", "en", f"user{user_id}")
        return dict(self.fake.users[user_id])

    def message(self, user_id: int, text: str = "hello") -> Update:
        user = self._user(user_id)
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        return self._update(
            {
                "message": {
                    "message_id": self.next_id,
                    "date": 0,
                    "chat": chat,
                    "from": user,
                    "text": text,
                }
            }
        )

    def press(self, user_id: int, data: str = "menu:home") -> Update:
        user = self._user(user_id)
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        message = {"message_id": 1, "date": 0, "chat": chat, "text": "menu"}
        return self._update(
            {
                "callback_query": {
                    "id": str(self.next_id),
                    "from": user,
                    "chat_instance": "ci",
                    "data": data,
                    "message": message,
                }
            }
        )


class Recorder:
    """The handlers behind the middlewares: they note what reached them and answer."""

    def __init__(self) -> None:
        self.handled: list[tuple[int, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold = 0.0

    def router(self) -> Router:
        router = Router()

        @router.message()
        async def on_message(message: Message) -> None:
            assert message.from_user is not None
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.hold)
                self.handled.append((message.from_user.id, message.text or ""))
            finally:
                self.in_flight -= 1
            await message.answer(f"handled {message.text}")

        @router.callback_query()
        async def on_press(query: CallbackQuery) -> None:
            self.handled.append((query.from_user.id, query.data or ""))
            await query.answer()

        return router


@pytest.fixture
async def bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    value = Bot(
        TEST_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_tg.base_url))
    )
    try:
        yield value
    finally:
        await value.session.close()


def dispatcher(recorder: Recorder, *middlewares: Any) -> Dispatcher:
    dp = Dispatcher()
    for middleware in middlewares:
        dp.update.outer_middleware(middleware)
    dp["i18n"] = create_i18n("en")
    dp.include_router(recorder.router())
    return dp


def texts_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.get("text") or "" for m in fake.sent_to(chat_id)]


async def test_a_flooding_user_is_told_once_and_the_rest_is_dropped(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    clock = FrozenClock()
    throttle = ThrottleMiddleware(rate=1.0, burst=3, clock=clock)
    recorder = Recorder()
    dp = dispatcher(recorder, throttle)
    updates = Updates(fake_tg, bot)

    for n in range(10):
        await dp.feed_update(bot, updates.message(USER_ID, f"#{n}"))

    assert recorder.handled == [(USER_ID, "#0"), (USER_ID, "#1"), (USER_ID, "#2")]
    assert texts_to(fake_tg, USER_ID) == ["handled #0", "handled #1", "handled #2", SLOW_DOWN_EN]
    assert throttle.dropped == 7

    # Another user is not slowed down by the first one's flood, and is told in Russian
    # when they flood too.
    for n in range(5):
        await dp.feed_update(bot, updates.message(OTHER_USER_ID, f"#{n}"))
    assert [text for user, text in recorder.handled if user == OTHER_USER_ID] == ["#0", "#1", "#2"]
    assert texts_to(fake_tg, OTHER_USER_ID)[-1] == SLOW_DOWN_RU
    assert texts_to(fake_tg, OTHER_USER_ID).count(SLOW_DOWN_RU) == 1

    # A second later the first user has one token again: served, and warned anew only
    # after exhausting it.
    clock.now += 1.0
    await dp.feed_update(bot, updates.message(USER_ID, "later"))
    await dp.feed_update(bot, updates.message(USER_ID, "too soon"))
    assert recorder.handled[-1] == (USER_ID, "later")
    assert texts_to(fake_tg, USER_ID)[-2:] == ["handled later", SLOW_DOWN_EN]


async def test_button_presses_are_throttled_with_one_notice(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    throttle = ThrottleMiddleware(rate=1.0, burst=2, clock=FrozenClock())
    recorder = Recorder()
    dp = dispatcher(recorder, throttle)
    updates = Updates(fake_tg, bot)

    for _ in range(6):
        await dp.feed_update(bot, updates.press(USER_ID))

    assert len(recorder.handled) == 2
    notices = [
        c for c in fake_tg.calls_to("answerCallbackQuery") if c.params.get("text") == SLOW_DOWN_EN
    ]
    assert len(notices) == 1
    assert throttle.dropped == 4


async def test_the_buckets_are_bounded(fake_tg: FakeTelegram, bot: Bot) -> None:
    """Users gone quiet are forgotten first: the table never outgrows `max_users`, and a
    forgotten user simply starts with a full bucket."""
    clock = FrozenClock()
    throttle = ThrottleMiddleware(rate=1.0, burst=1, max_users=3, clock=clock)
    recorder = Recorder()
    dp = dispatcher(recorder, throttle)
    updates = Updates(fake_tg, bot)

    await dp.feed_update(bot, updates.message(USER_ID, "first"))
    await dp.feed_update(bot, updates.message(USER_ID, "dropped"))
    assert recorder.handled == [(USER_ID, "first")]

    for user_id in range(5001, 5101):  # a hundred newcomers, one message each
        await dp.feed_update(bot, updates.message(user_id, "hi"))
    assert len({user for user, _text in recorder.handled}) == 101
    assert len(throttle._buckets) <= 3

    # USER_ID's exhausted bucket was evicted: at the same instant, they are served again.
    await dp.feed_update(bot, updates.message(USER_ID, "after eviction"))
    assert recorder.handled[-1] == (USER_ID, "after eviction")


async def test_at_most_n_updates_are_handled_at_once_first_come_first_served(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    recorder = Recorder()
    recorder.hold = 0.05
    dp = dispatcher(recorder, ConcurrencyMiddleware(2))
    updates = Updates(fake_tg, bot)
    batch = [updates.message(USER_ID if n % 2 else OTHER_USER_ID, f"#{n}") for n in range(8)]

    await asyncio.gather(*(dp.feed_update(bot, update) for update in batch))

    assert recorder.most_in_flight == 2
    assert [text for _user, text in recorder.handled] == [f"#{n}" for n in range(8)]
    assert len(fake_tg.sent_to(USER_ID)) + len(fake_tg.sent_to(OTHER_USER_ID)) == 8


async def test_a_flood_does_not_hold_the_slots_of_other_users(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    """With both middlewares in the app's order, 300 presses of one user cost the other
    user's message no waiting: the excess is dropped before it takes a slot."""
    throttle = ThrottleMiddleware(rate=2.0, burst=8, clock=FrozenClock())
    recorder = Recorder()
    recorder.hold = 0.02
    dp = dispatcher(recorder, throttle, ConcurrencyMiddleware(2))
    updates = Updates(fake_tg, bot)
    flood = [updates.message(USER_ID, f"#{n}") for n in range(300)]
    other = updates.message(OTHER_USER_ID, "/help")

    async def the_other_user() -> float:
        await asyncio.sleep(0)  # arrives while the flood is being fed
        started = asyncio.get_running_loop().time()
        await dp.feed_update(bot, other)
        return asyncio.get_running_loop().time() - started

    *_, waited = await asyncio.gather(
        *(dp.feed_update(bot, update) for update in flood), the_other_user()
    )

    assert (OTHER_USER_ID, "/help") in recorder.handled
    assert len([1 for user, _text in recorder.handled if user == USER_ID]) == 8
    assert throttle.dropped == 292
    # Eight held updates of 20 ms on two slots: well under a second, whatever the machine.
    assert waited < 1.0
