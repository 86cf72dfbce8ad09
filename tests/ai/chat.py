"""A user's side of a chat through the fake Bot API: type, tap, and wait for the answer."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram import FakeTelegram


class Chat:
    def __init__(self, fake_tg: FakeTelegram, user_id: int) -> None:
        self.tg = fake_tg
        self.user_id = user_id
        self.taps = 0
        self.seen = 0

    def _mark(self) -> None:
        self.seen = len(self.tg.sent_to(self.user_id))

    async def expect(self, part: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first message after the last action that contains `part`."""

        def find() -> dict[str, Any] | None:
            for message in self.tg.sent_to(self.user_id)[self.seen :]:
                if part in (message.get("text") or message.get("caption") or ""):
                    return message
            return None

        found: dict[str, Any] = await self.tg.wait_for(
            find, timeout, f"{part!r} sent to {self.user_id}"
        )
        return found

    async def say(self, text: str, expect: str) -> dict[str, Any]:
        self._mark()
        self.tg.user_message(self.user_id, text)
        return await self.expect(expect)

    async def forward(self, channel_id: int, expect: str) -> dict[str, Any]:
        """Forward a post of the channel to the bot (as when linking it)."""
        self._mark()
        self.tg.forward_from_channel(self.user_id, channel_id)
        return await self.expect(expect)

    async def tap(self, message: dict[str, Any], button: str, expect: str) -> dict[str, Any]:
        self._mark()
        self.taps += 1
        self.tg.press(self.user_id, message, self.tg.find_button(message, button))
        return await self.expect(expect)

    async def tap_data(self, message: dict[str, Any], data: str) -> str:
        """Press a button with this callback data; returns the alert text it got."""
        before = len(self.tg.calls_to("answerCallbackQuery"))
        self.tg.press(self.user_id, message, data)
        await self.tg.wait_for(
            lambda: len(self.tg.calls_to("answerCallbackQuery")) > before, what="an answer"
        )
        return str(self.tg.calls_to("answerCallbackQuery")[before].params.get("text", ""))

    def _edits(self) -> int:
        return len(self.tg.calls_to("editMessageReplyMarkup")) + len(
            self.tg.calls_to("editMessageText")
        )

    async def toggle(self, message: dict[str, Any], button: str) -> dict[str, Any]:
        """Tap a button that changes the message in place (a check mark); returns the
        message as it is now."""
        before = self._edits()
        self.taps += 1
        self.tg.press(self.user_id, message, self.tg.find_button(message, button))
        await self.tg.wait_for(lambda: self._edits() > before, what="a toggle")
        return self.tg.last_bot_message(self.user_id)
