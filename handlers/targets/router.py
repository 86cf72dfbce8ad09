"""Targets: the list, one target's view, unlink. Linking is the accounts feature's dialogs."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuCb
from handlers.failures import failure_text
from handlers.keyboards import main_menu
from handlers.queues.texts import slots_line
from handlers.render import target_label
from handlers.targets.callbacks import TargetCb
from handlers.targets.keyboards import target_keyboard, targets_keyboard, unlink_keyboard
from handlers.targets.texts import (
    not_yours_text,
    targets_list_text,
    unlink_question_text,
    unlinked_text,
)
from storage.models import TargetStatus, User

if TYPE_CHECKING:
    from services.container import Services


async def show_targets(message: Message, services: Services, user: User) -> None:
    targets = list(await services.targets.list(user.id))
    await message.answer(targets_list_text(bool(targets)), reply_markup=targets_keyboard(targets))


async def cmd_channels(message: Message, services: Services, db_user: User) -> None:
    await show_targets(message, services, db_user)


async def on_menu_targets(query: CallbackQuery, services: Services, db_user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_targets(query.message, services, db_user)


# ---------- one target ----------


async def on_target_view(
    query: CallbackQuery, callback_data: TargetCb, services: Services, db_user: User
) -> None:
    target = await services.targets.get(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer()
    text = target_label(target) + "\n" + slots_line(target.posting_slots)
    if target.status == TargetStatus.BROKEN:
        text += "\n" + _("⚠️ Publishing fails: {error}").format(
            error=escape(failure_text(target.error_code))
        )
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=target_keyboard(target))


async def on_target_unlink(
    query: CallbackQuery, callback_data: TargetCb, services: Services, db_user: User
) -> None:
    target = await services.targets.get(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            unlink_question_text(target_label(target)),
            reply_markup=unlink_keyboard(target),
        )


async def on_target_unlink_confirmed(
    query: CallbackQuery, callback_data: TargetCb, services: Services, db_user: User
) -> None:
    unlinked = await services.targets.unlink(db_user.id, callback_data.target_id)
    if unlinked is None:
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer(_("Unlinked"))
    if isinstance(query.message, Message):
        await query.message.answer(unlinked_text(unlinked), reply_markup=main_menu())


def build_router() -> Router:
    router = Router(name="targets")
    router.message.register(cmd_channels, Command("channels", "targets"))
    router.callback_query.register(on_menu_targets, MenuCb.filter(F.action == "targets"))
    router.callback_query.register(on_menu_targets, TargetCb.filter(F.action == "list"))

    router.callback_query.register(on_target_view, TargetCb.filter(F.action == "view"))
    router.callback_query.register(on_target_unlink, TargetCb.filter(F.action == "unlink"))
    router.callback_query.register(
        on_target_unlink_confirmed, TargetCb.filter(F.action == "unlink_yes")
    )
    return router
