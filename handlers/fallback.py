"""Last router: whatever nobody else understood gets a helpful answer, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.keyboards import main_menu

router = Router(name="fallback")


@router.callback_query()
async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)


@router.message()
async def on_unknown_message(message: Message) -> None:
    await message.answer(
        _("I did not understand that. Choose an action or send /help."), reply_markup=main_menu()
    )
