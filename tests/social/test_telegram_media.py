"""The Telegram publisher sends every kind of media (issue 12): sendVideo, sendAnimation,
sendDocument, mixed albums, against the strict fake Bot API, which refuses what Telegram
refuses (a caption too long once parsed, a file id of another kind, a file in a photo album);
each refusal maps to a code as before. X and Instagram refuse what they cannot take."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from platforms.base import ErrorClass, MediaItem, PublishError, PublishRequest
from platforms.errors import ErrorCode
from platforms.instagram import InstagramPublisher
from platforms.telegram import TelegramPublisher
from platforms.x import XPublisher
from tests.conftest import CHANNEL_ID, TEST_TOKEN, USER_ID
from tests.fakes.telegram import FakeTelegram, reader_entities, reader_media, reader_text

CAPTION = '<b>Release</b> <i>notes</i> <a href="https://example.com">here</a>'


@pytest.fixture
async def bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    fake_tg.add_channel(CHANNEL_ID, "Tech news", "technews", owner=USER_ID)
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_tg.base_url))
    value = Bot(TEST_TOKEN, session=session)
    try:
        yield value
    finally:
        await value.session.close()


def request(*media: MediaItem, text: str = CAPTION) -> PublishRequest:
    return PublishRequest(
        post_id=1, target_external_id=str(CHANNEL_ID), text=text, media=tuple(media)
    )


@pytest.mark.parametrize(
    ("kind", "method"),
    [("video", "sendVideo"), ("animation", "sendAnimation"), ("document", "sendDocument")],
)
async def test_one_file_of_each_kind_goes_out_with_its_formatted_caption(
    fake_tg: FakeTelegram, bot: Bot, kind: str, method: str
) -> None:
    fake_tg.known_media(kind, "F1")
    result = await TelegramPublisher(bot).publish(request(MediaItem(kind, "F1")))
    (message,) = fake_tg.sent_to(CHANNEL_ID)
    assert result.external_id == str(message["message_id"])
    assert reader_media(message) == (kind, "F1")
    assert reader_text(message) == "Release notes here"
    assert [e["type"] for e in reader_entities(message)] == ["bold", "italic", "text_link"]
    assert fake_tg.calls_to(method)[-1].params["parse_mode"] == "HTML"


async def test_albums_mix_photos_and_videos_or_hold_only_files(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    publisher = TelegramPublisher(bot)
    mixed = await publisher.publish(
        request(MediaItem("photo", "P1"), MediaItem("video", "V1"), MediaItem("photo", "P2"))
    )
    files = await publisher.publish(
        request(MediaItem("document", "D1"), MediaItem("document", "D2"))
    )
    sent = fake_tg.sent_to(CHANNEL_ID)
    assert [reader_media(m) for m in sent] == [
        ("photo", "P1"),
        ("video", "V1"),
        ("photo", "P2"),
        ("document", "D1"),
        ("document", "D2"),
    ]
    assert len(mixed.message_ids) == 3 and len(files.message_ids) == 2
    assert reader_text(sent[0]) == reader_text(sent[3]) == "Release notes here"


async def test_what_telegram_refuses_is_refused_before_or_by_the_fake(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    publisher = TelegramPublisher(bot)
    # A file in a photo album: refused before anything is sent.
    with pytest.raises(PublishError) as refused:
        await publisher.publish(request(MediaItem("document", "D1"), MediaItem("photo", "P1")))
    assert (refused.value.error_class, refused.value.code) == (
        ErrorClass.PERMANENT,
        ErrorCode.BAD_MEDIA,
    )
    # A GIF in an album, the same.
    with pytest.raises(PublishError):
        await publisher.publish(request(MediaItem("animation", "G1"), MediaItem("photo", "P1")))
    assert not fake_tg.calls_to("sendMediaGroup")

    # A video's file id sent as a file of another kind: Telegram's "type of file mismatch".
    fake_tg.known_media("video", "V9")
    with pytest.raises(PublishError) as mismatch:
        await publisher.publish(request(MediaItem("document", "V9")))
    assert mismatch.value.code == ErrorCode.BAD_MEDIA
    assert "type of file mismatch" in mismatch.value.reason

    # 1,025 characters once parsed: too long for any caption, whatever the markup around.
    with pytest.raises(PublishError) as too_long:
        await publisher.publish(
            request(MediaItem("video", "V2"), text="<b>" + "x" * 1025 + "</b>")
        )
    assert too_long.value.code == ErrorCode.MESSAGE_TOO_LONG
    # 1,024 visible characters in more markup are fine.
    await publisher.publish(request(MediaItem("video", "V2"), text="<b>" + "x" * 1024 + "</b>"))
    assert not fake_tg.calls_to("sendMediaGroup")
    (published,) = fake_tg.sent_to(CHANNEL_ID)
    assert len(reader_text(published)) == 1024


async def test_the_fake_refuses_a_file_mixed_into_an_album_as_telegram_does(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.types import InputMediaDocument, InputMediaPhoto

    with pytest.raises(TelegramBadRequest, match="document can't be mixed"):
        await bot.send_media_group(
            CHANNEL_ID, [InputMediaDocument(media="D1"), InputMediaPhoto(media="P1")]
        )
    assert not fake_tg.sent_to(CHANNEL_ID)


@pytest.mark.parametrize("kind", ["video", "animation", "document"])
async def test_x_and_instagram_refuse_what_they_cannot_take(kind: str) -> None:
    item = MediaItem(kind, "F1")
    x = XPublisher("key", "secret")
    with pytest.raises(PublishError) as on_x:
        await x.publish(
            PublishRequest(
                post_id=1,
                target_external_id="42",
                text="hi",
                media=(item,),
                credentials={"access_token": "t", "access_token_secret": "s"},
            )
        )
    assert (on_x.value.error_class, on_x.value.code) == (
        ErrorClass.PERMANENT,
        ErrorCode.BAD_MEDIA,
    )
    instagram = InstagramPublisher()
    with pytest.raises(PublishError) as on_instagram:
        await instagram.publish(
            PublishRequest(
                post_id=1,
                target_external_id="anna",
                text="hi",
                media=(item,),
                credentials={"settings": {"uuids": {}}},
            )
        )
    assert on_instagram.value.code == ErrorCode.BAD_MEDIA
