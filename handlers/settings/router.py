"""Settings: the language and the time zone (a city, an IANA name or a UTC offset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuCb, NavCb
from handlers.i18n import LANGUAGES
from handlers.keyboards import back_cancel
from handlers.settings.callbacks import SettingsCb
from handlers.settings.keyboards import settings_keyboard, timezone_keyboard
from handlers.settings.states import Settings
from handlers.settings.texts import (
    settings_text,
    timezone_question,
    timezone_saved_text,
    unknown_timezone_text,
)
from services.timezones import is_valid_timezone, resolve_timezone
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services


def stale_button_text() -> str:
    return _("This button is no longer active. Open /menu.")


async def show_settings(message: Message, user: User, services: Services) -> None:
    await message.answer(
        settings_text(user, services.clock.now()), reply_markup=settings_keyboard()
    )


async def cmd_settings(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    await state.clear()
    await show_settings(message, db_user, services)


async def on_menu_settings(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await show_settings(query.message, db_user, services)


async def on_language(
    query: CallbackQuery,
    callback_data: SettingsCb,
    services: Services,
    db_user: User,
    i18n: I18n,
) -> None:
    language = callback_data.value
    if language not in LANGUAGES:
        await query.answer(stale_button_text(), show_alert=True)
        return
    await services.users.set_language(db_user.id, language)
    # db_user is a detached snapshot: update it for the answer below, nothing is flushed.
    db_user.language = language
    # Answer in the language just chosen, not the one this update arrived with.
    with i18n.use_locale(language):
        await query.answer(_("Language: English"))
        if isinstance(query.message, Message):
            await show_settings(query.message, db_user, services)


async def on_timezone_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Settings.timezone)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(timezone_question(), reply_markup=timezone_keyboard())


async def save_timezone(
    message: Message, state: FSMContext, services: Services, user: User, zone: str
) -> None:
    await services.users.set_timezone(user.id, zone)
    user.timezone = zone  # the detached snapshot, for the answer below
    await state.clear()
    await message.answer(timezone_saved_text(zone, services.clock.now()))
    await show_settings(message, user, services)


async def on_timezone_chosen(
    query: CallbackQuery,
    callback_data: SettingsCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if not is_valid_timezone(callback_data.value):
        await query.answer(stale_button_text(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await save_timezone(query.message, state, services, db_user, callback_data.value)


async def on_timezone_typed(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    zone = resolve_timezone(message.text or "")
    if zone is None or not is_valid_timezone(zone):
        await message.answer(
            unknown_timezone_text(message.text or ""), reply_markup=timezone_keyboard()
        )
        return
    await save_timezone(message, state, services, db_user, zone)


async def on_timezone_not_text(message: Message) -> None:
    await message.answer(_("Send the city or offset as text."), reply_markup=back_cancel())


async def on_back_from_timezone(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await show_settings(query.message, db_user, services)


def build_router() -> Router:
    router = Router(name="settings")
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(on_menu_settings, MenuCb.filter(F.action == "settings"))
    router.callback_query.register(on_language, SettingsCb.filter(F.action == "lang"))
    router.callback_query.register(on_timezone_pressed, SettingsCb.filter(F.action == "tz"))
    router.callback_query.register(
        on_timezone_chosen, Settings.timezone, SettingsCb.filter(F.action == "tz_set")
    )
    router.message.register(on_timezone_typed, Settings.timezone, F.text & ~F.text.startswith("/"))
    router.message.register(on_timezone_not_text, Settings.timezone, ~F.text.startswith("/"))
    router.callback_query.register(
        on_back_from_timezone, NavCb.filter(F.action == "back"), Settings.timezone
    )
    return router
