from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuCb, NavCb
from handlers.keyboards import main_menu
from handlers.render import zone_label
from storage.models import User

router = Router(name="common")


def help_text() -> str:
    return _(
        "<b>Content Curator</b> writes, schedules and publishes posts to your channels.\n\n"
        "/new — write a post (or let AI write it), preview it and schedule it\n"
        "/scheduled — your posts and their status\n"
        "/channels — your channels and accounts\n"
        "/link — link a Telegram channel\n"
        "/link_x — link an X account\n"
        "/link_instagram — link an Instagram account\n"
        "/rules — auto-posting rules\n"
        "/settings — language and time zone\n"
        "/menu — the main menu\n"
        "/cancel — leave the current dialog\n\n"
        "Every step has Back and Cancel buttons. Times are understood in your time zone: "
        "<code>2026-12-01 18:00</code>, <code>in 10 minutes</code>, "
        "<code>tomorrow 9:30</code>, <code>friday 18:00</code>."
    )


def welcome_text(user: User) -> str:
    return _(
        "Hi! I am Content Curator. I write, schedule and publish posts to your Telegram "
        "channels, X and Instagram.\n\nYour time zone: <b>{timezone}</b>. What shall we do?"
    ).format(timezone=zone_label(user.timezone))


@router.message(CommandStart())
@router.message(Command("menu"))
async def cmd_start(message: Message, state: FSMContext, db_user: User) -> None:
    await state.clear()
    await message.answer(welcome_text(db_user), reply_markup=main_menu())


@router.message(Command("help"))
async def cmd_help(message: Message) -> None:
    await message.answer(help_text(), reply_markup=main_menu())


@router.callback_query(MenuCb.filter(F.action == "help"))
async def on_menu_help(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text(), reply_markup=main_menu())


@router.callback_query(MenuCb.filter(F.action == "home"))
async def on_menu_home(query: CallbackQuery, state: FSMContext, db_user: User) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(welcome_text(db_user), reply_markup=main_menu())


@router.message(Command("cancel"))
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    text = _("Cancelled. Nothing was saved.") if had_state else _("Nothing to cancel.")
    await message.answer(text, reply_markup=main_menu())


@router.callback_query(NavCb.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Cancelled"))
    if isinstance(query.message, Message):
        await query.message.answer(_("Cancelled. Nothing was saved."), reply_markup=main_menu())
