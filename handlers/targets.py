"""Targets: list, link a Telegram channel (both admin checks), unlink."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, MessageOriginChannel
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import MenuCb, NavCb, TargetCb
from handlers.keyboards import account_buttons, back_cancel, main_menu, nav_row
from handlers.render import target_button_text, target_label, target_name
from handlers.states import LinkChannel, NewPost
from platforms.telegram import ChannelLinkError, LinkProblem, TelegramChannelVerifier
from storage.models import Platform, Target, TargetStatus, User
from storage.repositories import TargetRepository

router = Router(name="targets")

_USERNAME_RE = re.compile(r"^(?:@|https?://t\.me/|t\.me/)?([A-Za-z][A-Za-z0-9_]{3,31})/?$")
_CHAT_ID_RE = re.compile(r"^-100\d{5,}$")


def link_problem_text(error: ChannelLinkError) -> str:
    title = error.title or ""
    texts = {
        LinkProblem.NOT_FOUND: _(
            "I cannot find this channel. Check the @username, or add me to the channel as an "
            "administrator first and forward a post from it."
        ),
        LinkProblem.NOT_A_CHANNEL: _("{title} is not a channel. I publish to channels only."),
        LinkProblem.BOT_NOT_ADMIN: _(
            "I am not an administrator of {title}. Add me as an administrator with the right "
            "to post messages, then try again."
        ),
        LinkProblem.BOT_CANNOT_POST: _(
            "I am an administrator of {title} but may not post messages. Turn on "
            '"Post messages" for me, then try again.'
        ),
        LinkProblem.USER_NOT_ADMIN: _(
            "You are not the creator or an administrator of {title}, so you cannot link it."
        ),
    }
    return texts[error.problem].format(title=escape(title))


def targets_keyboard(targets: Sequence[Target]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for target in targets:
        mark = "⚠️ " if target.status == TargetStatus.BROKEN else ""
        kb.button(
            text=mark + target_button_text(target),
            callback_data=TargetCb(action="view", target_id=target.id),
        )
    kb.button(text=_("➕ Link a channel"), callback_data=TargetCb(action="link"))
    account_buttons(kb)
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(1)
    return kb.as_markup()


async def show_targets(message: Message, session: AsyncSession, user: User) -> None:
    targets = list(await TargetRepository(session).list_for_owner(user.id))
    if targets:
        text = _("Your targets:")
    else:
        text = _(
            "No targets yet. To link a channel: add me to it as an administrator with the "
            "right to post, then press the button below. X and Instagram accounts are linked "
            "with their own buttons."
        )
    await message.answer(text, reply_markup=targets_keyboard(targets))


@router.message(Command("channels", "targets"))
async def cmd_channels(message: Message, session: AsyncSession, db_user: User) -> None:
    await show_targets(message, session, db_user)


@router.callback_query(MenuCb.filter(F.action == "targets"))
@router.callback_query(TargetCb.filter(F.action == "list"))
async def on_menu_targets(query: CallbackQuery, session: AsyncSession, db_user: User) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_targets(query.message, session, db_user)


@router.message(Command("link"))
async def cmd_link(message: Message, state: FSMContext) -> None:
    await ask_for_channel(message, state)


@router.callback_query(TargetCb.filter(F.action == "link"))
async def on_link_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        # Remember an unfinished post so that linking from the target picker returns to it.
        if await state.get_state() == NewPost.targets.state:
            await state.update_data(resume_new_post=True)
        await ask_for_channel(query.message, state)


async def ask_for_channel(message: Message, state: FSMContext) -> None:
    await state.set_state(LinkChannel.waiting)
    await message.answer(
        _(
            "1. Add me to your channel as an administrator with the right to post messages.\n"
            "2. Forward any post from the channel here, or send its @username."
        ),
        reply_markup=back_cancel(),
    )


@router.message(LinkChannel.waiting, ~F.text.startswith("/"))
async def on_channel_reference(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    channel_verifier: TelegramChannelVerifier,
) -> None:
    ref: int | str | None = None
    if isinstance(message.forward_origin, MessageOriginChannel):
        ref = message.forward_origin.chat.id
    elif message.text:
        text = message.text.strip()
        if _CHAT_ID_RE.match(text):
            ref = int(text)
        else:
            match = _USERNAME_RE.match(text)
            if match:
                ref = "@" + match.group(1)
    if ref is None:
        await message.answer(
            _("Forward a post from the channel, or send its @username (for example @my_channel)."),
            reply_markup=back_cancel(),
        )
        return
    try:
        info = await channel_verifier.verify(ref, db_user.id)
    except ChannelLinkError as exc:
        await message.answer(link_problem_text(exc), reply_markup=back_cancel())
        return
    target = await TargetRepository(session).link(
        db_user.id, Platform.TELEGRAM, info.chat_id, info.title, info.username
    )
    await session.commit()
    data = await state.get_data()
    await message.answer(
        _("✅ Channel {title} is linked. I will publish there.").format(title=target_name(target))
    )
    if data.get("resume_new_post"):
        chosen = sorted(set(data.get("chosen", [])) | {target.id})
        await state.update_data(chosen=chosen, resume_new_post=False)
        from handlers.compose import show_target_picker

        await show_target_picker(message, state, session, db_user)
        return
    await state.clear()
    await show_targets(message, session, db_user)


@router.callback_query(NavCb.filter(F.action == "back"), LinkChannel.waiting)
async def on_back_from_link(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, db_user: User
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if (await state.get_data()).get("resume_new_post"):
        from handlers.compose import show_target_picker

        await state.update_data(resume_new_post=False)
        await show_target_picker(query.message, state, session, db_user)
        return
    await state.clear()
    await show_targets(query.message, session, db_user)


@router.callback_query(TargetCb.filter(F.action == "view"))
async def on_target_view(
    query: CallbackQuery, callback_data: TargetCb, session: AsyncSession, db_user: User
) -> None:
    target = await TargetRepository(session).get_for_owner(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    await query.answer()
    text = target_label(target)
    if target.status == TargetStatus.BROKEN:
        text += "\n" + _("⚠️ Publishing fails: {error}").format(
            error=escape(target.last_error or "")
        )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔌 Unlink"), callback_data=TargetCb(action="unlink", target_id=target.id))
    kb.button(text=_("⬅️ Back"), callback_data=TargetCb(action="list"))
    kb.adjust(1)
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=kb.as_markup())


@router.callback_query(TargetCb.filter(F.action == "unlink"))
async def on_target_unlink(
    query: CallbackQuery, callback_data: TargetCb, session: AsyncSession, db_user: User
) -> None:
    target = await TargetRepository(session).get_for_owner(db_user.id, callback_data.target_id)
    if target is None:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    await query.answer()
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, unlink"), callback_data=TargetCb(action="unlink_yes", target_id=target.id)
    )
    nav_row(kb, back=False)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Unlink {title}? Its scheduled posts will be cancelled.").format(
                title=target_label(target)
            ),
            reply_markup=kb.as_markup(),
        )


@router.callback_query(TargetCb.filter(F.action == "unlink_yes"))
async def on_target_unlink_confirmed(
    query: CallbackQuery, callback_data: TargetCb, session: AsyncSession, db_user: User
) -> None:
    done = await TargetRepository(session).unlink_for_owner(db_user.id, callback_data.target_id)
    await session.commit()
    if not done:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    await query.answer(_("Unlinked"))
    if isinstance(query.message, Message):
        await query.message.answer(_("Unlinked."), reply_markup=main_menu())
