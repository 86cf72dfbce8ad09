"""A post with media sent to a Telegram chat: one message (sendPhoto, sendVideo,
sendAnimation, sendDocument) or one album (sendMediaGroup, photos and videos mixed, or
documents only). The publisher and the chat's preview both send through here, so that the
preview is exactly what the channel's readers get."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.types import (
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)

from content.media import ALBUM_LIMIT, ANIMATION, DOCUMENT, MEDIA_KINDS, PHOTO, VIDEO
from content.media import album_problem as _album_problem
from platforms.base import ErrorClass, MediaItem, PublishError
from platforms.errors import ErrorCode


def sendable(media: Sequence[MediaItem]) -> list[MediaItem]:
    """The media Telegram can take by file id (a local picture, an X/Instagram text card,
    is not sent to Telegram), at most an album's worth."""
    return [m for m in media if m.kind in MEDIA_KINDS and m.telegram_file_id][:ALBUM_LIMIT]


def album_problem(media: Sequence[MediaItem]) -> str | None:
    problem = _album_problem([m.kind for m in sendable(media)])
    return None if problem is None else problem.value


async def send_media(
    bot: Bot,
    chat_id: int | str,
    html: str,
    media: Sequence[MediaItem],
    *,
    silent: bool = False,
    markup: InlineKeyboardMarkup | None = None,
    request_timeout: int | None = None,
    caption: bool = True,
) -> Message | list[Message]:
    """Send `media` (at least one sendable item) with `html` as the caption, parsed as HTML.
    `caption=False` sends the media bare (the preview of a caption too long to send). An
    album carries no buttons (Telegram has no keyboard for one); its caption is the first
    item's. Media Telegram would not group raise a permanent PublishError before sending."""
    items = sendable(media)
    if not items:
        raise ValueError("no media Telegram can send")
    problem = album_problem(items)
    if problem is not None:
        raise PublishError(
            ErrorClass.PERMANENT,
            f"Telegram does not send these media as one album ({problem}).",
            code=ErrorCode.BAD_MEDIA,
        )
    text = html if caption and html else None
    common: dict[str, Any] = {"disable_notification": silent, "request_timeout": request_timeout}
    if len(items) == 1:
        item = items[0]
        file_id = item.telegram_file_id or ""
        one: dict[str, Any] = {
            **common,
            "caption": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": markup,
        }
        if item.kind == VIDEO:
            return await bot.send_video(chat_id, file_id, **one)
        if item.kind == ANIMATION:
            return await bot.send_animation(chat_id, file_id, **one)
        if item.kind == DOCUMENT:
            return await bot.send_document(chat_id, file_id, **one)
        return await bot.send_photo(chat_id, file_id, **one)
    album: list[Any] = [
        _album_item(item, text if index == 0 else None) for index, item in enumerate(items)
    ]
    return await bot.send_media_group(chat_id, album, **common)


def _album_item(
    item: MediaItem, caption: str | None
) -> InputMediaPhoto | InputMediaVideo | InputMediaDocument:
    file_id = item.telegram_file_id or ""
    if item.kind == VIDEO:
        return InputMediaVideo(media=file_id, caption=caption, parse_mode=ParseMode.HTML)
    if item.kind == DOCUMENT:
        return InputMediaDocument(media=file_id, caption=caption, parse_mode=ParseMode.HTML)
    assert item.kind == PHOTO, item.kind
    return InputMediaPhoto(media=file_id, caption=caption, parse_mode=ParseMode.HTML)
