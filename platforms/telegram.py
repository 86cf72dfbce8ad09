from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType, ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from platforms.base import (
    ErrorClass,
    PostEdit,
    PublishedMessage,
    PublishError,
    PublishRequest,
    PublishResult,
)
from platforms.errors import ErrorCode
from platforms.telegram_media import send_media, sendable
from platforms.transport import failed_before_sending

log = logging.getLogger("platforms.telegram")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10


def render_post_html(title: str | None, text: str) -> str:
    """The exact HTML a Telegram post is sent with."""
    from html import escape

    if title:
        return f"<b>{escape(title)}</b>\n\n{text}" if text else f"<b>{escape(title)}</b>"
    return text


def classify_telegram_error(exc: BaseException, *, sent: bool = True) -> PublishError:
    """`sent`: whether the failed call was the post itself. A failure of a call before it
    (the rights checks) published nothing, so it is always safe to retry."""
    if isinstance(exc, TelegramRetryAfter):
        return PublishError(
            ErrorClass.TRANSIENT,
            f"Telegram asked to wait {exc.retry_after} s (flood control)",
            code=ErrorCode.RATE_LIMITED,
            retry_after=float(exc.retry_after),
        )
    if isinstance(exc, TelegramForbiddenError):
        lowered = exc.message.lower()
        kicked = "kicked" in lowered or "not a member" in lowered
        return PublishError(
            ErrorClass.PERMANENT,
            f"Telegram refused: {exc.message}. Add the bot to the channel as an administrator "
            "with the right to post, then retry.",
            code=ErrorCode.BOT_KICKED if kicked else ErrorCode.NO_POST_RIGHT,
            target_broken=True,
        )
    if isinstance(exc, TelegramUnauthorizedError):
        return PublishError(
            ErrorClass.PERMANENT,
            "The bot token was revoked or is invalid.",
            code=ErrorCode.BOT_TOKEN_INVALID,
        )
    if isinstance(exc, TelegramNotFound):
        return PublishError(
            ErrorClass.PERMANENT,
            f"Telegram: {exc.message}",
            code=ErrorCode.CHAT_NOT_FOUND,
            target_broken=True,
        )
    if isinstance(exc, TelegramBadRequest):
        code = bad_request_code(exc.message)
        return PublishError(
            ErrorClass.PERMANENT,
            f"Telegram rejected the post: {exc.message}",
            code=code,
            target_broken=code == ErrorCode.CHAT_NOT_FOUND,
        )
    if isinstance(exc, TelegramServerError):
        if not sent:
            return PublishError(
                ErrorClass.TRANSIENT,
                f"Telegram server error: {exc.message}",
                code=ErrorCode.SERVER_ERROR,
            )
        # Telegram may have published the message before failing to answer.
        return PublishError(
            ErrorClass.AMBIGUOUS,
            f"Telegram server error after sending: {exc.message}",
            code=ErrorCode.SERVER_ERROR_SENT,
        )
    if isinstance(exc, TelegramEntityTooLarge):
        # A subclass of TelegramNetworkError, but Telegram answered 413: nothing was posted.
        return PublishError(
            ErrorClass.PERMANENT,
            f"Telegram rejected the post: {exc.message}",
            code=ErrorCode.BAD_MEDIA,
        )
    if isinstance(exc, TelegramMigrateToChat):
        return PublishError(
            ErrorClass.PERMANENT,
            f"The chat moved to {exc.migrate_to_chat_id}; link the channel again.",
            code=ErrorCode.CHAT_MIGRATED,
            target_broken=True,
        )
    if isinstance(exc, TelegramNetworkError):
        # aiogram wraps the aiohttp error; the cause, not its text, tells whether it left.
        if not sent or failed_before_sending(exc, wrappers=(TelegramNetworkError,)):
            return PublishError(
                ErrorClass.TRANSIENT,
                "Could not reach Telegram (network error)",
                code=ErrorCode.NETWORK,
            )
        # A timeout, a reset or a dropped connection after the request went out: Telegram
        # may have published it, so the post must not be sent again blindly.
        return PublishError(
            ErrorClass.AMBIGUOUS,
            "No answer from Telegram after sending (timeout or disconnect: "
            f"{type(exc.__cause__ or exc).__name__})",
            code=ErrorCode.TIMEOUT,
        )
    if isinstance(exc, asyncio.TimeoutError) and not sent:
        return PublishError(
            ErrorClass.TRANSIENT, "No answer from Telegram (timeout)", code=ErrorCode.NETWORK
        )
    if isinstance(exc, asyncio.TimeoutError):
        return PublishError(
            ErrorClass.AMBIGUOUS,
            "No answer from Telegram after sending",
            code=ErrorCode.TIMEOUT,
        )
    if isinstance(exc, TelegramAPIError):
        # Telegram answered with a code aiogram has no class for: the post was not taken.
        # 429 without `retry_after` in its parameters still means "slow down".
        text = exc.message or ""
        if "too many requests" in text.lower():
            match = re.search(r"retry after (\d+)", text, re.IGNORECASE)
            return PublishError(
                ErrorClass.TRANSIENT,
                f"Telegram asked to slow down: {text}",
                code=ErrorCode.RATE_LIMITED,
                retry_after=float(match.group(1)) if match else None,
            )
        return PublishError(
            ErrorClass.PERMANENT, f"Telegram rejected the post: {text}", code=ErrorCode.REJECTED
        )
    return PublishError(
        ErrorClass.AMBIGUOUS if sent else ErrorClass.TRANSIENT,
        f"Unexpected error: {type(exc).__name__}",
        code=ErrorCode.UNKNOWN,
    )


def bad_request_code(message: str) -> ErrorCode:
    """The code of a Telegram 400, read from its description (Telegram has no other)."""
    lowered = message.lower()
    if "chat not found" in lowered:
        return ErrorCode.CHAT_NOT_FOUND
    if "parse entities" in lowered or "entities_too_long" in lowered:
        return ErrorCode.BAD_HTML
    if "too long" in lowered or "message_too_long" in lowered:
        return ErrorCode.MESSAGE_TOO_LONG
    if "not enough rights" in lowered or "administrator rights" in lowered:
        return ErrorCode.NO_POST_RIGHT
    if any(word in lowered for word in ("file", "photo", "media", "image")):
        return ErrorCode.BAD_MEDIA
    return ErrorCode.REJECTED


def message_url(chat_username: str | None, chat_id: str, message_id: int) -> str | None:
    if chat_username:
        return f"https://t.me/{chat_username.lstrip('@')}/{message_id}"
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


def url_buttons_markup(buttons: list[dict[str, str]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=b["text"], url=b["url"])] for b in buttons]
    )


class TelegramPublisher:
    """Publishes to Telegram channels with the bot itself."""

    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        rights_ttl: float = 30.0,
        owner_rights_ttl: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        self._bot = bot
        self._rights_ttl = rights_ttl
        self._owner_rights_ttl = owner_rights_ttl
        self._timeout = timeout
        self._rights_checked: dict[str, float] = {}
        self._owner_rights_checked: dict[tuple[str, int], float] = {}

    async def owner_can_post(self, chat_id: str, owner_id: int) -> bool:
        """Whether the person who linked the channel may still post in it (its creator, or an
        administrator with the right to post): the bot posts on their behalf, so their right
        is re-checked before publishing, a yes cached for `owner_rights_ttl` seconds. False
        when they lost it; a failure to ask raises the classified PublishError."""
        key = (chat_id, owner_id)
        checked = self._owner_rights_checked.get(key)
        if checked is not None and time.monotonic() - checked < self._owner_rights_ttl:
            return True
        try:
            member = await self._bot.get_chat_member(chat_id, owner_id)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise classify_telegram_error(exc, sent=False) from exc
            # "user not found", "participant_id_invalid": not in the channel any more.
            member = None
        except Exception as exc:
            raise classify_telegram_error(exc, sent=False) from exc
        if member is None or not _member_can_post(member):
            self._owner_rights_checked.pop(key, None)
            return False
        _remember(self._owner_rights_checked, key, self._owner_rights_ttl)
        return True

    async def publish(self, request: PublishRequest) -> PublishResult:
        chat_id = request.target_external_id
        try:
            await self._ensure_can_post(chat_id)
        except PublishError:
            raise
        except Exception as exc:
            # Nothing was sent yet: whatever failed here is safe to retry.
            raise classify_telegram_error(exc, sent=False) from exc
        try:
            sent = await self._send(request)
        except PublishError:
            raise  # refused before sending (media Telegram would not group)
        except Exception as exc:
            raise classify_telegram_error(exc) from exc
        # An album is several messages: all their ids are kept (deleting it deletes them all).
        messages = sent if isinstance(sent, list) else [sent]
        message = messages[0]
        if request.options.get("pin"):
            try:
                await self._bot.pin_chat_message(
                    chat_id, message.message_id, disable_notification=True
                )
            except Exception as exc:
                # Published already: a failed pin must neither make it look unpublished nor
                # get it sent again.
                log.warning("Telegram: could not pin message %s: %s", message.message_id, exc)
        return PublishResult(
            external_id=str(message.message_id),
            url=message_url(request.target_handle, chat_id, message.message_id),
            message_ids=tuple(str(m.message_id) for m in messages),
        )

    async def _send(self, request: PublishRequest) -> Message | list[Message]:
        chat_id = request.target_external_id
        html = render_post_html(request.title, request.text)
        silent = bool(request.options.get("silent"))
        markup = url_buttons_markup(request.options.get("buttons"))
        if not sendable(request.media):
            return await self._bot.send_message(
                chat_id,
                html,
                parse_mode=ParseMode.HTML,
                disable_notification=silent,
                reply_markup=markup,
                request_timeout=int(self._timeout),
            )
        # A photo, video, GIF or file, or an album of them (platforms/telegram_media.py).
        return await send_media(
            self._bot,
            chat_id,
            html,
            request.media,
            silent=silent,
            markup=markup,
            request_timeout=int(self._timeout),
        )

    # ---------- after publishing (issue 12) ----------

    async def edit(self, message: PublishedMessage, change: PostEdit) -> None:
        """The text (a post with pictures: the caption of its first message) and/or the URL
        buttons. Editing the text without its keyboard would drop the buttons, so they are
        always sent along."""
        chat_id = message.target_external_id
        first = int(message.message_ids[0])
        markup = url_buttons_markup(list(change.buttons or ())) if change.buttons else None
        try:
            if change.html is None:
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=first, reply_markup=markup
                )
            elif message.has_media:
                await self._bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=first,
                    caption=change.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            else:
                await self._bot.edit_message_text(
                    change.html,
                    chat_id=chat_id,
                    message_id=first,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    disable_web_page_preview=None,
                )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message.lower():
                return  # it already reads so
            raise _after_publishing_error(exc, "edit") from exc
        except Exception as exc:
            raise _after_publishing_error(exc, "edit") from exc

    async def delete(self, message: PublishedMessage) -> None:
        """Every message of the post. Telegram deletes a message only within 48 hours of
        sending (checked by the caller, which knows when it was sent) and, in a channel,
        the bot's own with `can_post_messages` or any with `can_delete_messages`."""
        chat_id = message.target_external_id
        try:
            me = await self._bot.me()
            member = await self._bot.get_chat_member(chat_id, me.id)
        except Exception as exc:
            raise _after_publishing_error(exc, "delete") from exc
        if not _bot_can_delete(member):
            raise PublishError(
                ErrorClass.PERMANENT,
                "The bot may not delete messages in this channel.",
                code=ErrorCode.NO_RIGHT_TO_DELETE,
            )
        gone = 0
        for message_id in message.message_ids:
            try:
                await self._bot.delete_message(chat_id, int(message_id))
            except TelegramBadRequest as exc:
                if "not found" in exc.message.lower():
                    gone += 1  # deleted by hand already
                    continue
                if "can't be deleted" in exc.message.lower():
                    # Telegram words both refusals the same; the rights were just found
                    # sufficient, so by Telegram's clock the message is too old.
                    raise PublishError(
                        ErrorClass.PERMANENT,
                        f"Telegram: {exc.message} (sent 48 hours ago or more)",
                        code=ErrorCode.MESSAGE_TOO_OLD_TO_DELETE,
                    ) from exc
                raise _after_publishing_error(exc, "delete") from exc
            except Exception as exc:
                raise _after_publishing_error(exc, "delete") from exc
        if gone == len(message.message_ids):
            raise PublishError(
                ErrorClass.PERMANENT,
                "The message is not in the channel any more.",
                code=ErrorCode.MESSAGE_GONE,
            )

    async def pin(self, message: PublishedMessage, *, silent: bool = True) -> None:
        try:
            await self._bot.pin_chat_message(
                message.target_external_id,
                int(message.message_ids[0]),
                disable_notification=silent,
            )
        except Exception as exc:
            raise _after_publishing_error(exc, "pin") from exc

    async def unpin(self, message: PublishedMessage) -> None:
        try:
            await self._bot.unpin_chat_message(
                message.target_external_id, message_id=int(message.message_ids[0])
            )
        except TelegramBadRequest as exc:
            if "not found" in exc.message.lower() or "not pinned" in exc.message.lower():
                return  # unpinned (or deleted) by hand: what was wanted
            raise _after_publishing_error(exc, "pin") from exc
        except Exception as exc:
            raise _after_publishing_error(exc, "pin") from exc

    async def _ensure_can_post(self, chat_id: str) -> None:
        checked = self._rights_checked.get(chat_id)
        if checked is not None and time.monotonic() - checked < self._rights_ttl:
            return
        me = await self._bot.me()
        member = await self._bot.get_chat_member(chat_id, me.id)
        if not _bot_can_post(member):
            self._rights_checked.pop(chat_id, None)
            raise PublishError(
                ErrorClass.PERMANENT,
                "The bot is no longer an administrator allowed to post in this channel. "
                "Give it back the right to post, then retry.",
                code=ErrorCode.NO_POST_RIGHT,
                target_broken=True,
            )
        _remember(self._rights_checked, chat_id, self._rights_ttl)


_CACHE_PRUNE_AT = 1024


def _remember(cache: dict[Any, float], key: Any, ttl: float) -> None:
    """Cache a yes; past `_CACHE_PRUNE_AT` entries, the expired ones are dropped, so a bot
    that has published to many channels over months keeps only the recent ones (issue 14)."""
    now = time.monotonic()
    cache[key] = now
    if len(cache) > _CACHE_PRUNE_AT:
        for stale in [k for k, at in cache.items() if now - at >= ttl]:
            del cache[stale]


def _member_can_post(member: Any) -> bool:
    """The channel's creator, or an administrator with `can_post_messages` (Telegram sends it
    for every administrator of a channel)."""
    if member.status == ChatMemberStatus.CREATOR:
        return True
    if member.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    return bool(getattr(member, "can_post_messages", True) is not False)


_bot_can_post = _member_can_post


def _bot_can_delete(member: Any) -> bool:
    """In a channel a bot deletes its own messages with `can_post_messages` and any message
    with `can_delete_messages` (Bot API, deleteMessage)."""
    if member.status == ChatMemberStatus.CREATOR:
        return True
    if member.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    own = getattr(member, "can_post_messages", False)
    return bool(own or getattr(member, "can_delete_messages", False))


_NO_RIGHT = {
    "edit": ErrorCode.NO_RIGHT_TO_EDIT,
    "delete": ErrorCode.NO_RIGHT_TO_DELETE,
    "pin": ErrorCode.NO_RIGHT_TO_PIN,
}


def _after_publishing_error(exc: BaseException, action: str) -> PublishError:
    """A failed edit, delete or pin of a published message, as a code: nothing is resent
    whatever happens, so a failure after sending is simply a failure."""
    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, TelegramBadRequest):
        lowered = exc.message.lower()
        if "not found" in lowered and "chat" not in lowered:
            code = ErrorCode.MESSAGE_GONE
        elif "can't be deleted" in lowered:
            code = ErrorCode.NO_RIGHT_TO_DELETE
        elif "rights" in lowered or "admin_required" in lowered:
            code = _NO_RIGHT[action]
        elif "can't be edited" in lowered:
            code = ErrorCode.NO_RIGHT_TO_EDIT
        else:
            code = bad_request_code(exc.message)
        return PublishError(ErrorClass.PERMANENT, f"Telegram: {exc.message}", code=code)
    if isinstance(exc, TelegramForbiddenError):
        return PublishError(
            ErrorClass.PERMANENT, f"Telegram refused: {exc.message}", code=_NO_RIGHT[action]
        )
    return classify_telegram_error(exc, sent=False)


class LinkProblem(StrEnum):
    NOT_FOUND = "not_found"
    NOT_A_CHANNEL = "not_a_channel"
    BOT_NOT_ADMIN = "bot_not_admin"
    BOT_CANNOT_POST = "bot_cannot_post"
    USER_NOT_ADMIN = "user_not_admin"
    USER_CANNOT_POST = "user_cannot_post"  # an administrator without the right to post


class ChannelLinkError(Exception):
    def __init__(self, problem: LinkProblem, title: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.title = title


@dataclass(frozen=True)
class ChannelInfo:
    chat_id: str
    title: str
    username: str | None


class TelegramChannelVerifier:
    """Both checks a channel must pass to become a target (DESIGN.md, "Who may do what"): the
    bot may post there, and so may the user (its creator, or an administrator with
    `can_post_messages`)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def verify(self, chat_ref: int | str, user_id: int) -> ChannelInfo:
        try:
            chat = await self._bot.get_chat(chat_ref)
        except (TelegramBadRequest, TelegramNotFound, TelegramForbiddenError) as exc:
            raise ChannelLinkError(LinkProblem.NOT_FOUND) from exc
        if chat.type != ChatType.CHANNEL:
            raise ChannelLinkError(LinkProblem.NOT_A_CHANNEL, chat.title)
        title = chat.title or str(chat.id)
        me = await self._bot.me()
        try:
            bot_member = await self._bot.get_chat_member(chat.id, me.id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            raise ChannelLinkError(LinkProblem.BOT_NOT_ADMIN, title) from exc
        if bot_member.status not in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.CREATOR):
            raise ChannelLinkError(LinkProblem.BOT_NOT_ADMIN, title)
        if not _bot_can_post(bot_member):
            raise ChannelLinkError(LinkProblem.BOT_CANNOT_POST, title)
        try:
            user_member = await self._bot.get_chat_member(chat.id, user_id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            raise ChannelLinkError(LinkProblem.USER_NOT_ADMIN, title) from exc
        if user_member.status not in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.CREATOR):
            raise ChannelLinkError(LinkProblem.USER_NOT_ADMIN, title)
        # The bot posts on the user's behalf: only someone who may post there links it.
        if not _member_can_post(user_member):
            raise ChannelLinkError(LinkProblem.USER_CANNOT_POST, title)
        return ChannelInfo(chat_id=str(chat.id), title=title, username=chat.username)
