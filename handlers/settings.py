"""Settings: the language and the time zone (a city, an IANA name or a UTC offset)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.callbacks import MenuCb, NavCb, SettingsCb
from handlers.i18n import LANGUAGES
from handlers.keyboards import back_cancel, nav_row
from handlers.render import zone_label
from handlers.states import Settings
from services.clock import Clock
from services.timezones import is_valid_timezone, resolve_timezone
from storage.models import User
from storage.repositories import UserRepository

router = Router(name="settings")

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
QUICK_ZONES = ("Europe/Moscow", "Europe/Berlin", "Europe/London", "America/New_York", "UTC")


def settings_text(user: User, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(user.timezone)).strftime("%Y-%m-%d %H:%M")
    return _(
        "<b>Settings</b>\nLanguage: {language}\nTime zone: {tz} (it is {local} there now)"
    ).format(
        language=LANGUAGE_NAMES.get(user.language, user.language),
        tz=zone_label(user.timezone),
        local=local,
    )


def settings_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in LANGUAGES:
        kb.button(text=LANGUAGE_NAMES[code], callback_data=SettingsCb(action="lang", value=code))
    kb.button(text=_("🕑 Time zone"), callback_data=SettingsCb(action="tz"))
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(len(LANGUAGES), 1, 1)
    return kb.as_markup()


def timezone_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for zone in QUICK_ZONES:
        kb.button(text=zone, callback_data=SettingsCb(action="tz_set", value=zone))
    nav_row(kb)
    kb.adjust(2, 2, 1, 2)
    return kb.as_markup()


async def show_settings(message: Message, user: User, clock: Clock) -> None:
    await message.answer(settings_text(user, clock.now()), reply_markup=settings_keyboard())


@router.message(Command("settings"))
async def cmd_settings(message: Message, state: FSMContext, db_user: User, clock: Clock) -> None:
    await state.clear()
    await show_settings(message, db_user, clock)


@router.callback_query(MenuCb.filter(F.action == "settings"))
async def on_menu_settings(
    query: CallbackQuery, state: FSMContext, db_user: User, clock: Clock
) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await show_settings(query.message, db_user, clock)


@router.callback_query(SettingsCb.filter(F.action == "lang"))
async def on_language(
    query: CallbackQuery,
    callback_data: SettingsCb,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
    i18n: I18n,
) -> None:
    if callback_data.value not in LANGUAGES:
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    await UserRepository(session).set_language(db_user.id, callback_data.value)
    await session.commit()
    db_user.language = callback_data.value
    # Answer in the language just chosen, not the one this update arrived with.
    with i18n.use_locale(callback_data.value):
        await query.answer(_("Language: English"))
        if isinstance(query.message, Message):
            await show_settings(query.message, db_user, clock)


@router.callback_query(SettingsCb.filter(F.action == "tz"))
async def on_timezone_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Settings.timezone)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _(
                "Send your city (<code>Moscow</code>, <code>Москва</code>), a time zone name "
                "(<code>Europe/Berlin</code>) or a UTC offset (<code>+3</code>, "
                "<code>UTC-5</code>), or choose one below."
            ),
            reply_markup=timezone_keyboard(),
        )


async def save_timezone(
    message: Message, state: FSMContext, session: AsyncSession, user: User, clock: Clock, zone: str
) -> None:
    await UserRepository(session).set_timezone(user.id, zone)
    await session.commit()
    user.timezone = zone
    await state.clear()
    local = clock.now().astimezone(ZoneInfo(zone)).strftime("%H:%M")
    await message.answer(
        _("✅ Time zone: {tz}. Your local time now is {local} — is that right?").format(
            tz=zone_label(zone), local=local
        )
    )
    await show_settings(message, user, clock)


@router.callback_query(Settings.timezone, SettingsCb.filter(F.action == "tz_set"))
async def on_timezone_chosen(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    session: AsyncSession,
    db_user: User,
    clock: Clock,
) -> None:
    if not is_valid_timezone(callback_data.value):
        await query.answer(_("This button is no longer active. Open /menu."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await save_timezone(query.message, state, session, db_user, clock, callback_data.value)


@router.message(Settings.timezone, F.text & ~F.text.startswith("/"))
async def on_timezone_typed(
    message: Message, state: FSMContext, session: AsyncSession, db_user: User, clock: Clock
) -> None:
    zone = resolve_timezone(message.text or "")
    if zone is None or not is_valid_timezone(zone):
        await message.answer(
            _(
                "I do not know the time zone «{text}». Try a big city nearby, a name like "
                "<code>Europe/Berlin</code>, or an offset like <code>+3</code>."
            ).format(text=escape((message.text or "")[:64])),
            reply_markup=timezone_keyboard(),
        )
        return
    await save_timezone(message, state, session, db_user, clock, zone)


@router.message(Settings.timezone, ~F.text.startswith("/"))
async def on_timezone_not_text(message: Message) -> None:
    await message.answer(_("Send the city or offset as text."), reply_markup=back_cancel())


@router.callback_query(NavCb.filter(F.action == "back"), Settings.timezone)
async def on_back_from_timezone(
    query: CallbackQuery, state: FSMContext, db_user: User, clock: Clock
) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await show_settings(query.message, db_user, clock)
