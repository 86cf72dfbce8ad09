"""/start, /menu, /help and /cancel: the frame every dialog starts from and returns to.

Leaving (/cancel, a plain dialog's ✖️ Cancel, /start, /menu, 🏠 Menu) ends both kinds of
dialog: the plain FSM one (`state.clear()`) and any aiogram_dialog stack
(`dialog_manager.reset_stack()`, which also takes the buttons off its last message)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from handlers.callbacks import MenuCb, NavCb
from handlers.common.texts import help_text, welcome_text
from handlers.keyboards import main_menu
from storage.models import User


async def leave_dialogs(state: FSMContext, dialog_manager: DialogManager | None) -> bool:
    """Ends the plain dialog and every open aiogram_dialog; True when one was open. (The
    dialog manager is missing only for updates aiogram_dialog does not handle, such as a
    button under an inline-mode message.)"""
    had_dialog = await state.get_state() is not None
    if dialog_manager is not None and dialog_manager.has_context():
        had_dialog = True
        await dialog_manager.reset_stack()
    await state.clear()
    return had_dialog


async def cmd_start(
    message: Message,
    state: FSMContext,
    db_user: User,
    dialog_manager: DialogManager | None = None,
) -> None:
    await leave_dialogs(state, dialog_manager)
    await message.answer(welcome_text(db_user), reply_markup=main_menu())


async def cmd_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


async def on_menu_help(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text(), reply_markup=main_menu())


async def on_menu_home(
    query: CallbackQuery,
    state: FSMContext,
    db_user: User,
    dialog_manager: DialogManager | None = None,
) -> None:
    await leave_dialogs(state, dialog_manager)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(welcome_text(db_user), reply_markup=main_menu())


async def cmd_cancel(
    message: Message, state: FSMContext, dialog_manager: DialogManager | None = None
) -> None:
    had_dialog = await leave_dialogs(state, dialog_manager)
    text = _("Cancelled. Nothing was saved.") if had_dialog else _("Nothing to cancel.")
    await message.answer(text, reply_markup=main_menu())


async def on_cancel(
    query: CallbackQuery, state: FSMContext, dialog_manager: DialogManager | None = None
) -> None:
    await leave_dialogs(state, dialog_manager)
    await query.answer(_("Cancelled"))
    if isinstance(query.message, Message):
        await query.message.answer(_("Cancelled. Nothing was saved."), reply_markup=main_menu())


def build_router() -> Router:
    router = Router(name="common")
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_start, Command("menu"))
    router.message.register(cmd_help, Command("help"))
    router.callback_query.register(on_menu_help, MenuCb.filter(F.action == "help"))
    router.callback_query.register(on_menu_home, MenuCb.filter(F.action == "home"))
    router.message.register(cmd_cancel, Command("cancel"))
    router.callback_query.register(on_cancel, NavCb.filter(F.action == "cancel"))
    return router
