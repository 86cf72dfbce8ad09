"""Linking without /link's dialog: a channel picked in Telegram's chat picker while no
linking dialog is open (the keyboard outlived it: /start, a restart), and the channel the
bot was just added to as an administrator (`my_chat_member`: the person who added it is
asked in private). Both run /link's two checks (handlers.accounts.link_channel)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from handlers import accounts, targets
from handlers.forwarding.callbacks import ForwardCb
from handlers.forwarding.keyboards import bot_added_keyboard
from handlers.forwarding.texts import bot_added_text, not_linked_text
from handlers.keyboards import main_menu
from services.container import Services
from storage.models import User

log = logging.getLogger("handlers")


async def on_chat_shared(message: Message, services: Services, db_user: User) -> None:
    shared = message.chat_shared
    if shared is None or shared.request_id != accounts.LINK_CHANNEL_REQUEST:
        await message.answer(
            _("This button is no longer active. Open /menu."), reply_markup=ReplyKeyboardRemove()
        )
        return
    outcome = await accounts.link_channel(services, db_user, shared.chat_id, title=shared.title)
    # The picker's keyboard goes with the answer, linked or refused.
    await message.answer(outcome.text, reply_markup=ReplyKeyboardRemove())
    if outcome.target is not None:
        await targets.show_targets(message, services, db_user)
    else:
        await message.answer(_("Main menu:"), reply_markup=main_menu())


def _can_post(member: object) -> bool:
    return bool(getattr(member, "can_post_messages", False)) or (
        getattr(member, "status", None) == ChatMemberStatus.CREATOR
    )


async def on_bot_added(
    event: ChatMemberUpdated,
    bot: Bot,
    services: Services,
    db_user: User,
    fsm_storage: BaseStorage,
) -> None:
    """Added to a channel as an administrator: offer its adder to link it, in private. Someone
    who never started the bot cannot be written to (403): nothing else happens then."""
    chat = event.chat
    if await accounts.linked_channel(services, db_user, chat.id) is not None:
        return  # linked already
    if await accounts.is_picking_channel(fsm_storage, bot.id, db_user.id):
        return  # added by the chat picker, whose answer links it
    title = chat.title or str(chat.id)
    try:
        await bot.send_message(
            db_user.id,
            bot_added_text(title, _can_post(event.new_chat_member)),
            reply_markup=bot_added_keyboard(chat.id),
        )
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.info(
            "could not offer linking channel %s to its adder: %s", chat.id, type(exc).__name__
        )


async def on_added_answered(
    query: CallbackQuery, callback_data: ForwardCb, services: Services, db_user: User
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    message = query.message
    if callback_data.action == "dismiss":
        await message.answer(not_linked_text(), reply_markup=main_menu())
        return
    outcome = await accounts.link_channel(services, db_user, callback_data.chat_id)
    await message.answer(outcome.text)
    if outcome.target is not None:
        await targets.show_targets(message, services, db_user)
    else:
        await message.answer(_("Main menu:"), reply_markup=main_menu())
