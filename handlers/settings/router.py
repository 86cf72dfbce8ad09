"""Settings: /settings and the main menu's ⚙️ Settings open the settings dialog."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, StartMode

from handlers.callbacks import MenuCb
from handlers.settings.dialog import build_dialog
from handlers.settings.states import Settings


async def cmd_settings(message: Message, state: FSMContext, dialog_manager: DialogManager) -> None:
    await state.clear()  # leave any plain (FSM) dialog, as every command that starts one does
    await dialog_manager.start(Settings.main, mode=StartMode.RESET_STACK)


async def on_menu_settings(
    query: CallbackQuery, state: FSMContext, dialog_manager: DialogManager
) -> None:
    await state.clear()
    await query.answer()
    # Opened from a button: the dialog takes over the menu's message (one message, not two).
    await dialog_manager.start(Settings.main, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    router = Router(name="settings")
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(on_menu_settings, MenuCb.filter(F.action == "settings"))
    router.include_router(build_dialog())
    return router
