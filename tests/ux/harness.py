"""Drive the real dispatcher with updates, the bot's API calls going to the fake server.

`dp.feed_update` runs every middleware and handler exactly as polling does, without the
polling loop's waiting; what the bot sent comes back from the fake server's records."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Update

from bot.factory import App, create_app
from bot.settings import Settings
from content.generator import Brief, Generated, GenerationError
from platforms.errors import ErrorCode
from services.clock import ManualClock
from tests.fakes.telegram import FakeTelegram


class ScriptedGenerator:
    """An AI stand-in that writes from the brief deterministically (no network, no model)."""

    available = True

    def __init__(self) -> None:
        self.briefs: list[Brief] = []
        self.fail_with: str | None = None

    async def generate(self, brief: Brief) -> Generated:
        self.briefs.append(brief)
        if self.fail_with:
            raise GenerationError(self.fail_with, transient=True, code=ErrorCode.AI_UNAVAILABLE)
        number = len(self.briefs)
        if brief.language == "ru":
            text = f"Черновик {number}: {brief.description}. Python прост и выразителен."
        else:
            text = f"Draft {number}: {brief.description}. Python is simple and expressive."
        return Generated(text=text, title=None, model="scripted")


@dataclass
class Chat:
    """One person talking to the bot, counting what they do."""

    harness: Harness
    user_id: int
    taps: int = 0
    typed: int = 0
    path: list[str] = field(default_factory=list)

    @property
    def fake(self) -> FakeTelegram:
        return self.harness.fake

    def sent(self) -> list[dict[str, Any]]:
        return self.fake.sent_to(self.user_id)

    def last(self) -> dict[str, Any]:
        return self.sent()[-1]

    async def send(self, text: str | None = None, **extra: Any) -> list[dict[str, Any]]:
        self.typed += 1
        self.path.append(f"type: {text}" if text is not None else "send: media")
        message = self.fake.user_message(self.user_id, text, **extra)
        return await self.harness.feed({"message": message}, self.user_id)

    async def forward_from(self, chat_id: int) -> list[dict[str, Any]]:
        self.typed += 1
        self.path.append("forward a post from the channel")
        self.fake.updates.clear()
        self.fake.forward_from_channel(self.user_id, chat_id)
        update = self.fake.updates[-1]
        return await self.harness.feed({"message": update["message"]}, self.user_id)

    async def photo(self, caption: str | None = None, group: str | None = None) -> dict[str, Any]:
        """A photo message (not fed yet when part of an album: see `album`)."""
        extra: dict[str, Any] = {
            "photo": [
                {
                    "file_id": f"photo-{self.user_id}-{len(self.fake.updates)}",
                    "file_unique_id": f"u{len(self.fake.updates)}",
                    "width": 800,
                    "height": 600,
                }
            ]
        }
        if caption is not None:
            extra["caption"] = caption
        if group is not None:
            extra["media_group_id"] = group
        return self.fake.user_message(self.user_id, None, **extra)

    async def send_photo(self, caption: str | None = None) -> list[dict[str, Any]]:
        self.typed += 1
        self.path.append("send: photo")
        message = await self.photo(caption)
        return await self.harness.feed({"message": message}, self.user_id)

    async def album(self, count: int, caption: str | None = None) -> list[dict[str, Any]]:
        """Telegram delivers an album as separate updates, close together."""
        self.typed += 1
        self.path.append(f"send: album of {count} photos")
        group = f"album-{len(self.fake.updates)}"
        messages = [
            await self.photo(caption if i == 0 else None, group=group) for i in range(count)
        ]
        before = len(self.sent())
        await asyncio.gather(*(self.harness.feed({"message": m}, None) for m in messages))
        return self.sent()[before:]

    async def tap(self, button_text: str, message: dict[str, Any] | None = None) -> list[dict]:
        """Press the newest button whose label contains `button_text`."""
        if message is None:
            message = self.fake.last_message_with_button(self.user_id, button_text)
        data = self.fake.find_button(message, button_text)
        self.taps += 1
        self.path.append(f"tap: {button_text}")
        return await self.press_data(data, message)

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> list[dict]:
        if message is None:
            message = self.sent()[-1] if self.sent() else self._placeholder_message()
        self.fake.updates.clear()
        self.fake.press(self.user_id, message, data)
        update = self.fake.updates[-1]
        return await self.harness.feed({"callback_query": update["callback_query"]}, self.user_id)

    def _placeholder_message(self) -> dict[str, Any]:
        return {
            "message_id": 1,
            "date": 0,
            "chat": {"id": self.user_id, "type": "private", "first_name": "U"},
            "text": "old message",
        }

    def alerts(self) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in self.fake.calls_to("answerCallbackQuery")
            if c.params.get("text")
        ]

    async def state(self) -> str | None:
        """Where the person is: the plain (FSM) dialog's state, else the state of the
        aiogram_dialog window open on top (e.g. "Settings:timezone"), else None."""
        return await self.harness.state(self.user_id) or await self.harness.dialog_state(
            self.user_id
        )

    async def data(self) -> dict[str, Any]:
        return await self.harness.data(self.user_id)


def check_telegram_limits(calls: list[Any]) -> None:
    """What real Telegram would refuse (the fake is lenient): text over 4096 visible
    characters, a caption over 1024, an alert over 200, a button label or data too long."""
    from content.fitting import visible_text

    for call in calls:
        params = call.params
        if call.method in ("sendMessage", "editMessageText"):
            assert len(visible_text(str(params.get("text", "")))) <= 4096, call.method
        captioned = ("sendPhoto", "sendVideo", "sendAnimation", "sendDocument")
        if call.method in captioned and params.get("caption"):
            assert len(visible_text(str(params["caption"]))) <= 1024, call.method
        if call.method == "sendMediaGroup":
            for item in params.get("media", []):
                assert len(visible_text(str(item.get("caption") or ""))) <= 1024, call.method
        if call.method == "answerCallbackQuery" and params.get("show_alert") in (True, "true"):
            assert len(str(params.get("text", ""))) <= 200, params.get("text")
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                assert len(str(button.get("callback_data", "")).encode()) <= 64, button


class Harness:
    def __init__(self, app: App, fake: FakeTelegram) -> None:
        self.app = app
        self.fake = fake
        self._update_id = 10_000

    def chat(self, user_id: int) -> Chat:
        return Chat(self, user_id)

    async def feed(self, body: dict[str, Any], user_id: int | None) -> list[dict[str, Any]]:
        before = len(self.fake.sent_to(user_id)) if user_id is not None else 0
        calls_before = len(self.fake.calls)
        self._update_id += 1
        update = Update.model_validate(
            {"update_id": self._update_id, **body}, context={"bot": self.app.bot}
        )
        # Its own task, as in polling: work it starts in the background may wait for the
        # update to be finished.
        await asyncio.create_task(self.app.dispatcher.feed_update(self.app.bot, update))
        await self.settle_background_answers()
        check_telegram_limits(self.fake.calls[calls_before:])
        return self.fake.sent_to(user_id)[before:] if user_id is not None else []

    async def settle_background_answers(self) -> None:
        """What an update started in the background belongs to its answer here: an Instagram
        login's answer (a task of the accounts feature) and the dialog update that brings it
        to the open dialog (aiogram_dialog's Updater, scheduled with call_soon)."""
        background = ("deliver_login_event", "Updater._process_update")
        idle_rounds = 0
        while idle_rounds < 3:
            await asyncio.sleep(0)
            pending = [
                task
                for task in asyncio.all_tasks()
                if not task.done()
                and getattr(task.get_coro(), "__qualname__", "").endswith(background)
            ]
            if not pending:
                idle_rounds += 1
                continue
            idle_rounds = 0
            await asyncio.wait(pending, timeout=10)

    def _key(self, user_id: int, destiny: str = "default") -> Any:
        from aiogram.fsm.storage.base import StorageKey

        return StorageKey(
            bot_id=self.app.bot.id, chat_id=user_id, user_id=user_id, destiny=destiny
        )

    async def dialog_state(self, user_id: int) -> str | None:
        """The state of the aiogram_dialog window on top of the user's stack (private chat:
        the default stack), read from the storage as aiogram_dialog keeps it."""
        storage = self.app.dispatcher.storage
        stack = await storage.get_data(self._key(user_id, "aiogd:stack:"))
        intents = stack.get("intents") or []
        if not intents:
            return None
        context = await storage.get_data(self._key(user_id, f"aiogd:context:{intents[-1]}"))
        state = context.get("state")
        return str(state) if state else None

    async def state(self, user_id: int) -> str | None:
        return await self.app.dispatcher.storage.get_state(self._key(user_id))

    async def data(self, user_id: int) -> dict[str, Any]:
        return await self.app.dispatcher.storage.get_data(self._key(user_id))

    async def set_state(self, user_id: int, state: str | None, data: dict[str, Any]) -> None:
        await self.app.dispatcher.storage.set_state(self._key(user_id), state)
        await self.app.dispatcher.storage.set_data(self._key(user_id), data)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    fake: FakeTelegram,
    clock: ManualClock,
    *,
    generator: Any | None = None,
) -> AsyncIterator[Harness]:
    """The whole app as create_app builds it, without workers or polling."""
    app = create_app(settings, clock=clock)
    if generator is not None:
        app.dispatcher["generator"] = generator
        app.generator = generator
        app.services.generator = generator
    # An album's photos arrive together here: a short wait for the rest is enough (but not
    # too short: on a busy machine a sibling may take a while through the middlewares).
    app.services.limits = dataclasses.replace(app.services.limits, album_wait_seconds=0.2)
    try:
        yield Harness(app, fake)
    finally:
        await app.bot.session.close()
        await app.dispatcher.storage.close()
        await app.engine.dispose()
