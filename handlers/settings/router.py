"""Settings: /settings and the main menu's ⚙️ Settings open the settings dialog."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager, StartMode

from handlers.callbacks import MenuCb
from handlers.settings.callbacks import NoticesCb
from handlers.settings.dialog import build_dialog
from handlers.settings.states import Settings
from services.container import Services
from storage.models import User


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


async def on_notices(
    query: CallbackQuery, callback_data: NoticesCb, services: Services, db_user: User
) -> None:
    """🔕 under a "✅ Published" notice: no more of them (turned back on in /settings)."""
    enabled = callback_data.action == "unmute"
    await services.users.set_notify_published(db_user.id, enabled)
    if enabled:
        await query.answer(_("🔔 I will tell you each time a post goes out."))
    else:
        await query.answer(
            _("🔕 No more notices for published posts. /settings turns them back on."),
            show_alert=True,
        )


def build_router() -> Router:
    router = Router(name="settings")
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(on_menu_settings, MenuCb.filter(F.action == "settings"))
    router.callback_query.register(on_notices, NoticesCb.filter())
    router.include_router(build_dialog())
    return router
