"""Linking a channel in one tap: Telegram's own chat picker (a reply-keyboard button that
lists only the channels where the user may post, and adds the bot with the right to post
when it is not there yet), and the one-step link other features call (a forwarded post's
channel, the channel the bot was just added to). Every path runs the same two checks as
/link (services.channel_verifier) before one write unit stores the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import (
    ChatAdministratorRights,
    KeyboardButton,
    KeyboardButtonRequestChat,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.accounts.states import LinkChannel
from handlers.accounts.texts import link_problem_text, linked_text
from handlers.render import target_name
from platforms.telegram import ChannelLinkError
from storage.models import Platform, Target, TargetStatus, User

if TYPE_CHECKING:
    from services.container import Services

# The picker's request id: the `chat_shared` answer carries it back (a signed 32-bit number).
LINK_CHANNEL_REQUEST = 1


def posting_rights() -> ChatAdministratorRights:
    """Only the right to post: the picker lists channels where the user has at least these
    rights, and asks for them for the bot (the bot's must be a subset of the user's)."""
    return ChatAdministratorRights(
        is_anonymous=False,
        can_manage_chat=False,
        can_delete_messages=False,
        can_manage_video_chats=False,
        can_restrict_members=False,
        can_promote_members=False,
        can_change_info=False,
        can_invite_users=False,
        can_post_stories=False,
        can_edit_stories=False,
        can_delete_stories=False,
        can_send_welcome_messages=False,
        can_post_messages=True,
    )


def channel_picker_keyboard() -> ReplyKeyboardMarkup:
    rights = posting_rights()
    button = KeyboardButton(
        text=_("📢 Choose a channel"),
        request_chat=KeyboardButtonRequestChat(
            request_id=LINK_CHANNEL_REQUEST,
            chat_is_channel=True,
            user_administrator_rights=rights,
            bot_administrator_rights=rights,
            request_title=True,
            request_username=True,
        ),
    )
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True)


def channel_picker_text() -> str:
    return _(
        "Fastest: tap «📢 Choose a channel» below and pick the channel. Telegram lists the "
        "channels where you may post, and adds me there if I am not yet."
    )


@dataclass(frozen=True)
class LinkOutcome:
    """The linked target (None when a check refused) and what to tell the user (HTML)."""

    target: Target | None
    text: str


async def link_channel(
    services: Services, user: User, chat_ref: int | str, title: str | None = None
) -> LinkOutcome:
    """Both checks on Telegram (no unit of work open), then one write unit stores it.
    `title`: the channel's name as the user saw it, for a refusal Telegram gives none."""
    try:
        info = await services.channel_verifier.verify(chat_ref, user.id)
    except ChannelLinkError as exc:
        name = exc.title or title or str(chat_ref)
        return LinkOutcome(None, link_problem_text(exc.problem, name))
    target = await services.targets.link(
        user.id, Platform.TELEGRAM, info.chat_id, info.title, info.username
    )
    return LinkOutcome(target, linked_text(target, target_name(target)))


async def linked_channel(services: Services, user: User, chat_id: int) -> Target | None:
    """The user's target for this channel, if it is linked and not broken (a broken one
    needs linking again)."""
    for target in await services.targets.list(user.id, Platform.TELEGRAM):
        if target.external_id == str(chat_id) and target.status != TargetStatus.BROKEN:
            return target
    return None


async def is_picking_channel(storage: BaseStorage, bot_id: int, user_id: int) -> bool:
    """Whether the user's private chat shows the channel dialog with the chat picker now.
    Picking a channel the bot is not in makes Telegram add the bot (a `my_chat_member`)
    and then send the pick (`chat_shared`), which links it: no separate offer is needed.
    Read where aiogram_dialog keeps its stack (the default stack of a private chat); on
    anything unexpected, False (an extra offer is harmless)."""

    def key(destiny: str) -> StorageKey:
        return StorageKey(bot_id=bot_id, chat_id=user_id, user_id=user_id, destiny=destiny)

    try:
        stack = await storage.get_data(key("aiogd:stack:"))
        intents = stack.get("intents") or []
        if not intents:
            return False
        context = await storage.get_data(key(f"aiogd:context:{intents[-1]}"))
        start = context.get("start_data") or {}
        return bool(
            context.get("state") == LinkChannel.waiting.state
            and isinstance(start, dict)
            and start.get("picker")
        )
    except Exception:  # a layout we do not know: make the offer
        return False
