"""The fake Bot API in strict mode refuses what Telegram refuses, and in both modes records
what a reader gets. Spoken to over HTTP, form-encoded, as aiogram speaks to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.telegram import (
    NOT_MODIFIED,
    FakeTelegram,
    reader_entities,
    reader_text,
    strict_from_environment,
)

TOKEN = "42:strict-test"
USER = 1001
CHANNEL = -100777


async def _started(strict: bool) -> FakeTelegram:
    fake = FakeTelegram(TOKEN, strict=strict)
    await fake.start()
    fake.add_user(USER, "Anna")
    fake.add_channel(CHANNEL, "News", owner=USER)
    return fake


@pytest.fixture
async def strict() -> AsyncIterator[FakeTelegram]:
    fake = await _started(True)
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def lenient() -> AsyncIterator[FakeTelegram]:
    fake = await _started(False)
    try:
        yield fake
    finally:
        await fake.stop()


async def call(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    form = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/bot{TOKEN}/{method}", data=form) as response,
    ):
        return response.status, await response.json()


async def send(fake: FakeTelegram, text: str, **params: Any) -> tuple[int, dict[str, Any]]:
    return await call(fake, "sendMessage", chat_id=USER, text=text, parse_mode="HTML", **params)


def test_strict_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKE_TG_STRICT", raising=False)
    assert FakeTelegram(TOKEN).strict is True
    assert strict_from_environment() is True
    monkeypatch.setenv("FAKE_TG_STRICT", "0")
    assert FakeTelegram(TOKEN).strict is False
    assert FakeTelegram(TOKEN, strict=True).strict is True


async def test_html_is_parsed_and_the_answer_is_what_telegram_returns(
    strict: FakeTelegram,
) -> None:
    status, body = await send(strict, "<b>Weekly digest</b>\na &lt; b &amp;&amp; c")
    assert status == 200
    answer = body["result"]
    assert answer["text"] == "Weekly digest\na < b && c"
    assert answer["entities"] == [{"type": "bold", "offset": 0, "length": 13}]
    stored = strict.last_bot_message(USER)
    assert stored["text"] == "<b>Weekly digest</b>\na &lt; b &amp;&amp; c"  # as sent
    assert reader_text(stored) == "Weekly digest\na < b && c"
    assert reader_entities(stored) == answer["entities"]
    assert await strict.wait_for_text(USER, "a < b && c") is stored


async def test_double_escaped_markup_is_what_a_reader_would_see(strict: FakeTelegram) -> None:
    await send(strict, "&lt;b&gt;Weekly digest&lt;/b&gt;")
    assert strict.reader_texts(USER) == ["<b>Weekly digest</b>"]


async def test_unparsable_html_is_refused_with_telegrams_words(strict: FakeTelegram) -> None:
    status, body = await send(strict, "<p>Hello</p>")
    assert (status, body["description"]) == (
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
    )
    assert body["error_code"] == 400 and body["ok"] is False
    assert strict.sent_to(USER) == []


async def test_lenient_mode_stores_it_and_notes_the_refusal(lenient: FakeTelegram) -> None:
    status, _ = await send(lenient, "a < b")
    assert status == 200
    stored = lenient.last_bot_message(USER)
    assert stored["text"] == "a < b"
    assert stored["_reader"]["refused"].startswith("Bad Request: can't parse entities")


async def test_length_is_counted_on_the_parsed_text_in_code_points(strict: FakeTelegram) -> None:
    # 4096 emoji are 8192 UTF-16 units but 4096 characters: Telegram accepts them.
    assert (await send(strict, f"<b>{'😀' * 4096}</b>"))[0] == 200
    status, body = await send(strict, "x" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    # Markup does not count.
    assert (await send(strict, "<i>" + "y" * 4096 + "</i>"))[0] == 200


async def test_caption_limit(strict: FakeTelegram) -> None:
    ok = await call(strict, "sendPhoto", chat_id=USER, photo="p1", caption="<b>c</b>" * 1024,
                    parse_mode="HTML")  # fmt: skip
    assert ok[0] == 200
    assert ok[1]["result"]["caption_entities"] == [{"type": "bold", "offset": 0, "length": 1024}]
    status, body = await call(strict, "sendPhoto", chat_id=USER, photo="p1", caption="c" * 1025)
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")


async def test_empty_text_is_refused(strict: FakeTelegram) -> None:
    status, body = await send(strict, "<b> </b>\n")
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_identical_edit_is_not_modified(strict: FakeTelegram) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    _, body = await send(strict, "<b>Draft</b>", reply_markup=keyboard)
    message_id = body["result"]["message_id"]

    async def edit(text: str, markup: Any = None) -> tuple[int, dict[str, Any]]:
        params: dict[str, Any] = {"chat_id": USER, "message_id": message_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup
        return await call(strict, "editMessageText", parse_mode="HTML", **params)

    # Same text written differently, same keyboard: nothing changes for a reader.
    status, refused = await edit("<strong>Draft</strong>", keyboard)
    assert (status, refused["description"]) == (400, NOT_MODIFIED)
    # Dropping the keyboard is a change; so is new formatting.
    assert (await edit("<b>Draft</b>"))[0] == 200
    assert (await edit("<i>Draft</i>"))[0] == 200
    assert (await edit("<i>Draft</i>"))[1]["description"] == NOT_MODIFIED


async def test_edit_of_a_missing_message_is_refused(strict: FakeTelegram) -> None:
    status, body = await call(strict, "editMessageText", chat_id=USER, message_id=99, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


async def test_edit_caption_and_markup(strict: FakeTelegram) -> None:
    _, body = await call(strict, "sendPhoto", chat_id=USER, photo="p1", caption="old")
    message_id = body["result"]["message_id"]
    status, edited = await call(
        strict, "editMessageCaption", chat_id=USER, message_id=message_id,
        caption="<u>new</u>", parse_mode="HTML",
    )  # fmt: skip
    assert status == 200
    assert edited["result"]["caption"] == "new"
    assert edited["result"]["photo"]
    same = await call(strict, "editMessageReplyMarkup", chat_id=USER, message_id=message_id)
    assert same[1]["description"] == NOT_MODIFIED


async def test_callback_data_must_be_1_to_64_bytes(strict: FakeTelegram) -> None:
    def keyboard(data: str) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "B", "callback_data": data}]]}

    assert (await send(strict, "x", reply_markup=keyboard("я" * 32)))[0] == 200  # 64 bytes
    for data in ("я" * 33, ""):
        status, body = await send(strict, "x", reply_markup=keyboard(data))
        assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


async def test_albums(strict: FakeTelegram) -> None:
    def media(count: int) -> list[dict[str, Any]]:
        return [{"type": "photo", "media": f"p{n}"} for n in range(count)]

    status, body = await call(strict, "sendMediaGroup", chat_id=CHANNEL, media=media(0))
    assert (status, body["description"]) == (400, "Bad Request: there are no messages to send")
    status, body = await call(strict, "sendMediaGroup", chat_id=CHANNEL, media=media(11))
    assert body["description"] == "Bad Request: too many messages to send as an album"
    items = media(3)
    items[0].update(caption="<b>Album</b>", parse_mode="HTML")
    status, body = await call(strict, "sendMediaGroup", chat_id=CHANNEL, media=items)
    assert status == 200 and len(body["result"]) == 3
    assert len({m["media_group_id"] for m in body["result"]}) == 1
    assert body["result"][0]["caption_entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    # One item is sent as an ordinary message, as Telegram does.
    _, single = await call(strict, "sendMediaGroup", chat_id=CHANNEL, media=media(1))
    assert "media_group_id" not in single["result"][0]


async def test_a_bad_caption_in_an_album_sends_nothing(strict: FakeTelegram) -> None:
    items = [{"type": "photo", "media": "a"}, {"type": "photo", "media": "b", "caption": "<x>",
                                               "parse_mode": "HTML"}]  # fmt: skip
    status, _ = await call(strict, "sendMediaGroup", chat_id=CHANNEL, media=items)
    assert status == 400 and strict.sent_to(CHANNEL) == []


async def test_unknown_methods_are_404_and_known_trivial_ones_answer(
    strict: FakeTelegram, lenient: FakeTelegram
) -> None:
    status, body = await call(strict, "sendTelepathy", chat_id=USER)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert (await call(strict, "setMyCommands", commands=[]))[0] == 200
    assert (await call(lenient, "sendTelepathy", chat_id=USER))[0] == 200


async def test_text_mention_carries_the_user(strict: FakeTelegram) -> None:
    _, body = await send(strict, f'<a href="tg://user?id={USER}">Anna</a>')
    assert body["result"]["entities"][0]["user"]["first_name"] == "Anna"


async def test_lenient_answers_as_before_with_the_readers_view_beside(
    lenient: FakeTelegram,
) -> None:
    _, body = await send(lenient, "<b>x</b>")
    assert body["result"]["text"] == "<b>x</b>"
    assert reader_text(lenient.last_bot_message(USER)) == "x"


async def test_get_chat_has_the_fields_aiogram_requires(strict: FakeTelegram) -> None:
    from aiogram.types import ChatFullInfo, ChatMemberOwner

    _, chat = await call(strict, "getChat", chat_id=CHANNEL)
    ChatFullInfo.model_validate(chat["result"])
    _, member = await call(strict, "getChatMember", chat_id=CHANNEL, user_id=USER)
    ChatMemberOwner.model_validate(member["result"])
