"""The X and Instagram linking dialogs' routes, and leaving them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.accounts import instagram, x
from handlers.accounts.callbacks import AccountCb
from handlers.accounts.dialog import leave_linking, reopen_target_picker
from handlers.accounts.states import LinkInstagram, LinkX
from handlers.keyboards import main_menu
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services

NOT_A_COMMAND = ~F.text.startswith("/")


async def on_linking_cancelled(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    services.linkers.drop_instagram(db_user.id)
    resumed = await leave_linking(state)
    await query.answer(_("Cancelled"))
    if not isinstance(query.message, Message):
        return
    if resumed:
        await query.message.answer(_("Linking cancelled."))
        await reopen_target_picker(query.message, state, services, db_user)
        return
    await query.message.answer(_("Linking cancelled."), reply_markup=main_menu())


def build_router() -> Router:
    router = Router(name="accounts")
    router.message.register(x.cmd_link_x, Command("link_x"))
    router.callback_query.register(
        x.on_link_x_pressed, AccountCb.filter((F.action == "link") & (F.platform == "x"))
    )
    router.message.register(x.on_x_pin, LinkX.pin, NOT_A_COMMAND)

    router.message.register(instagram.cmd_link_instagram, Command("link_instagram"))
    router.callback_query.register(
        instagram.on_link_instagram_pressed,
        AccountCb.filter((F.action == "link") & (F.platform == "instagram")),
    )
    router.message.register(instagram.on_instagram_username, LinkInstagram.username, NOT_A_COMMAND)
    # The password step takes anything: a password may start with "/".
    router.message.register(instagram.on_instagram_password, LinkInstagram.password)
    router.message.register(instagram.on_instagram_code, LinkInstagram.code, NOT_A_COMMAND)
    router.message.register(
        instagram.on_message_while_logging_in, LinkInstagram.logging_in, NOT_A_COMMAND
    )
    router.callback_query.register(on_linking_cancelled, AccountCb.filter(F.action == "cancel"))
    return router
