"""Last router: whatever nobody else understood gets a helpful answer, never silence. A
forged or stale button (its data does not unpack into any bounded factory) ends here too."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from handlers.callbacks import NavCb
from handlers.keyboards import back_cancel, main_menu


async def on_back_anywhere_else(query: CallbackQuery, state: FSMContext) -> None:
    """Back from a step nobody else knows (or after a restart of the dialog): the menu."""
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("Main menu:"), reply_markup=main_menu())


async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)


async def on_post_to_draft(message: Message, dialog_manager: DialogManager | None = None) -> Any:
    """A forwarded post, with no question waiting for an answer, becomes a draft: that is
    handlers.forwarding, after the chat router (an album's messages must be handled side by
    side, outside the dialogs' per-user isolation). A dialog window left open is closed,
    and the update goes on as not handled here."""
    if dialog_manager is not None and dialog_manager.has_context():
        await dialog_manager.reset_stack()
    return UNHANDLED


async def on_unknown_message(message: Message, state: FSMContext) -> None:
    if await state.get_state() is not None:
        # Inside a dialog: say so, and keep its place.
        await message.answer(
            _("I did not understand that. Answer the question above, or press Cancel."),
            reply_markup=back_cancel(),
        )
        return
    await message.answer(
        _("I did not understand that. Choose an action or send /help."), reply_markup=main_menu()
    )


def build_fallback_router() -> Router:
    from handlers import forwarding  # at call time: forwarding uses the new-post dialog

    router = Router(name="fallback")
    router.callback_query.register(on_back_anywhere_else, NavCb.filter(F.action == "back"))
    router.callback_query.register(on_stale_button)
    router.message.register(on_post_to_draft, F.forward_origin, forwarding.AT_REST)
    router.message.register(on_unknown_message)
    return router
