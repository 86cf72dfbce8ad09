"""Targets: list, link a Telegram channel (both checks on Telegram first), unlink."""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, MessageOriginChannel
from aiogram.utils.i18n import gettext as _

from handlers.accounts import (
    AccountCb,
    begin_linking,
    finish_linking,
    leave_linking,
    reopen_target_picker,
)
from handlers.callbacks import MenuCb, NavCb
from handlers.keyboards import back_cancel, main_menu
from handlers.render import target_label, target_name
from handlers.targets.callbacks import TargetCb
from handlers.targets.keyboards import target_keyboard, targets_keyboard, unlink_keyboard
from handlers.targets.states import LinkChannel
from handlers.targets.texts import (
    channel_instructions,
    link_problem_text,
    not_yours_text,
    targets_list_text,
)
from platforms.telegram import ChannelLinkError
from storage.models import Platform, TargetStatus, User

if TYPE_CHECKING:
    from services.container import Services

USERNAME_RE = re.compile(r"^(?:@|https?://t\.me/|t\.me/)?([A-Za-z][A-Za-z0-9_]{3,31})/?$")
CHAT_ID_RE = re.compile(r"^-100\d{5,}$")


async def show_targets(message: Message, services: Services, user: User) -> None:
    targets = list(await services.targets.list(user.id))
    await message.answer(targets_list_text(bool(targets)), reply_markup=targets_keyboard(targets))


async def cmd_channels(message: Message, services: Services, db_user: User) -> None:
    await show_targets(message, services, db_user)


async def on_menu_targets(query: CallbackQuery, services: Services, db_user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_targets(query.message, services, db_user)


# ---------- linking a channel ----------


async def cmd_link(message: Message, state: FSMContext) -> None:
    await ask_for_channel(message, state, by_command=True)


async def on_link_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await ask_for_channel(query.message, state, by_command=False)


async def ask_for_channel(message: Message, state: FSMContext, *, by_command: bool) -> None:
    await begin_linking(state, by_command=by_command)
    await state.set_state(LinkChannel.waiting)
    await message.answer(channel_instructions(), reply_markup=back_cancel())


def channel_reference(message: Message) -> int | str | None:
    """The channel the user means: a forwarded post's channel, a -100… id or a @username."""
    if isinstance(message.forward_origin, MessageOriginChannel):
        return message.forward_origin.chat.id
    text = (message.text or "").strip()
    if CHAT_ID_RE.match(text):
        return int(text)
    match = USERNAME_RE.match(text)
    return "@" + match.group(1) if match else None


async def on_channel_reference(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    ref = channel_reference(message)
    if ref is None:
        await message.answer(
            _("Forward a post from the channel, or send its @username (for example @my_channel)."),
            reply_markup=back_cancel(),
        )
        return
    try:
        # Both checks on Telegram (the bot may post, the user administers the channel)
        # before any unit of work opens; then one write unit stores the target.
        info = await services.channel_verifier.verify(ref, db_user.id)
    except ChannelLinkError as exc:
        await message.answer(link_problem_text(exc), reply_markup=back_cancel())
        return
    target = await services.targets.link(
        db_user.id, Platform.TELEGRAM, info.chat_id, info.title, info.username
    )
    text = _("✅ Channel {title} is linked. I will publish there.").format(
        title=target_name(target)
    )
    if not await finish_linking(message, state, services, db_user, target, text):
        await show_targets(message, services, db_user)


async def on_back_from_link(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if await leave_linking(state):
        await reopen_target_picker(query.message, state, services, db_user)
        return
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
    text = target_label(target)
    if target.status == TargetStatus.BROKEN:
        text += "\n" + _("⚠️ Publishing fails: {error}").format(
            error=escape(target.last_error or "")
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
            _("Unlink {title}? Its scheduled posts will be cancelled.").format(
                title=target_label(target)
            ),
            reply_markup=unlink_keyboard(target),
        )


async def on_target_unlink_confirmed(
    query: CallbackQuery, callback_data: TargetCb, services: Services, db_user: User
) -> None:
    if not await services.targets.unlink(db_user.id, callback_data.target_id):
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer(_("Unlinked"))
    if isinstance(query.message, Message):
        await query.message.answer(_("Unlinked."), reply_markup=main_menu())


def build_router() -> Router:
    router = Router(name="targets")
    router.message.register(cmd_channels, Command("channels", "targets"))
    router.callback_query.register(on_menu_targets, MenuCb.filter(F.action == "targets"))
    router.callback_query.register(on_menu_targets, TargetCb.filter(F.action == "list"))

    router.message.register(cmd_link, Command("link"))
    router.callback_query.register(
        on_link_pressed, AccountCb.filter((F.action == "link") & (F.platform == "telegram"))
    )
    router.message.register(on_channel_reference, LinkChannel.waiting, ~F.text.startswith("/"))
    router.callback_query.register(
        on_back_from_link, NavCb.filter(F.action == "back"), LinkChannel.waiting
    )

    router.callback_query.register(on_target_view, TargetCb.filter(F.action == "view"))
    router.callback_query.register(on_target_unlink, TargetCb.filter(F.action == "unlink"))
    router.callback_query.register(
        on_target_unlink_confirmed, TargetCb.filter(F.action == "unlink_yes")
    )
    return router
