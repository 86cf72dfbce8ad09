"""The settings dialog (aiogram_dialog): the language and the time zone.

    main ──🕑 Time zone──▶ timezone ──a city / IANA name / offset typed, or a quick zone──▶ main
      │  English/Русский: saved at once, the window redraws in the new language
      └─🏠 Menu: the dialog ends, the main menu is shown        timezone: ⬅️ Back, ✖️ Cancel

Every change is written by `services.users` in its own unit before anything is sent. The
dialog keeps one thing of its own (`SettingsView`): a notice for the next window to show once
(the zone saved, or why a typed zone was refused)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Literal, cast

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, MessageInput, TextInput
from aiogram_dialog.widgets.kbd import Back, Button, Cancel, Group, Row, Select, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi
from pydantic import BaseModel, Field

from handlers.common import welcome_text
from handlers.dialogs import keep_to_its_own, translated
from handlers.i18n import LANGUAGES
from handlers.keyboards import main_menu
from handlers.settings.states import Settings
from handlers.settings.texts import (
    LANGUAGE_NAMES,
    language_name,
    not_text_text,
    notify_off_label,
    notify_on_label,
    summary_text,
    timezone_question,
    unknown_zone_text,
    zone_saved_text,
    zone_values,
)
from services.timezones import is_valid_timezone, resolve_timezone
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services

QUICK_ZONES = ("Europe/Moscow", "Europe/Berlin", "Europe/London", "America/New_York", "UTC")


class Notice(BaseModel):
    kind: Literal["zone_saved", "zone_unknown", "not_text"]
    # What the person typed, for "I do not know the time zone «…»" (kept short).
    typed: str = Field(default="", max_length=64)


class SettingsView(BaseModel):
    """The dialog's own data (`dialog_manager.dialog_data`)."""

    notice: Notice | None = None


# ---------- typed access to what the middlewares and the dialog hold ----------


def services_of(manager: DialogManager) -> Services:
    return cast("Services", manager.middleware_data["services"])


def user_of(manager: DialogManager) -> User:
    return cast(User, manager.middleware_data["db_user"])


def view_of(manager: DialogManager) -> SettingsView:
    return SettingsView.model_validate(manager.dialog_data)


def keep_view(manager: DialogManager, view: SettingsView) -> None:
    manager.dialog_data.clear()
    manager.dialog_data.update(view.model_dump(mode="json"))


def show_once(manager: DialogManager, notice: Notice) -> None:
    keep_view(manager, SettingsView(notice=notice))


def take_notice(manager: DialogManager) -> Notice | None:
    """The notice for this render; it is not shown again."""
    view = view_of(manager)
    if view.notice is not None:
        keep_view(manager, SettingsView())
    return view.notice


def typed_zone(text: str) -> str:
    """The TextInput's type factory: the IANA zone meant by a city, a zone name or an offset.
    A ValueError sends the input to `on_zone_unknown` and keeps the step."""
    zone = resolve_timezone(text)
    if zone is None or not is_valid_timezone(zone):
        raise ValueError(f"unknown time zone: {text[:64]!r}")
    return zone


# ---------- getters ----------


async def main_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    user = user_of(dialog_manager)
    notice = take_notice(dialog_manager)
    now = services_of(dialog_manager).clock.now()
    return {
        "language": language_name(user.language),
        "languages": [
            (code, ("✓ " if code == user.language else "") + LANGUAGE_NAMES[code])
            for code in LANGUAGES
        ],
        "zone_saved": notice is not None and notice.kind == "zone_saved",
        "notify_published": user.notify_published,
        "notify_muted": not user.notify_published,
        **zone_values(user.timezone, now),
    }


async def timezone_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    notice = take_notice(dialog_manager)
    kind = notice.kind if notice is not None else None
    return {
        "zones": list(QUICK_ZONES),
        "ask": kind is None,
        "zone_unknown": kind == "zone_unknown",
        "not_text": kind == "not_text",
        # The typed text is the user's, and the window is HTML.
        "text": escape(notice.typed if notice is not None else ""),
    }


# ---------- what a press or a message does ----------


def remember(
    manager: DialogManager, *, language: str | None = None, zone: str | None = None
) -> None:
    """After a write: this update's snapshot of the user follows it, so the next render (in
    this update) shows the new values; a new language is used from the next render on."""
    user = user_of(manager)  # detached: setting a value here writes nothing
    if language is not None:
        user.language = language
        manager.middleware_data["user_language"] = language
        i18n = cast(I18n, manager.middleware_data["i18n"])
        # The locale the i18n middleware set for this update; it restores its own on the way out.
        i18n.current_locale = language
    if zone is not None:
        user.timezone = zone


async def on_language_chosen(
    _callback: CallbackQuery, _widget: Any, manager: DialogManager, language: str
) -> None:
    if language not in LANGUAGES:
        return  # a forged button: the window is simply shown again
    user = user_of(manager)
    if language != user.language:
        await services_of(manager).users.set_language(user.id, language)
        remember(manager, language=language)


async def on_notify_toggled(
    _callback: CallbackQuery, _button: Button, manager: DialogManager
) -> None:
    user = user_of(manager)  # detached: the snapshot follows the write for this render
    user.notify_published = not user.notify_published
    await services_of(manager).users.set_notify_published(user.id, user.notify_published)


async def save_zone(manager: DialogManager, zone: str) -> None:
    await services_of(manager).users.set_timezone(user_of(manager).id, zone)
    remember(manager, zone=zone)
    show_once(manager, Notice(kind="zone_saved"))
    await manager.switch_to(Settings.main)


async def on_quick_zone(
    _callback: CallbackQuery, _widget: Any, manager: DialogManager, zone: str
) -> None:
    if zone not in QUICK_ZONES:
        return  # a forged button: the window is simply shown again
    await save_zone(manager, zone)


async def on_zone_typed(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, zone: str
) -> None:
    await save_zone(manager, zone)


async def on_zone_unknown(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, _error: ValueError
) -> None:
    show_once(manager, Notice(kind="zone_unknown", typed=(message.text or "")[:64]))


async def on_not_text(_message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    show_once(manager, Notice(kind="not_text"))


async def on_cancelled(callback: CallbackQuery, _button: Button, _manager: DialogManager) -> None:
    """Cancel at the zone step; the dialog then ends and its buttons are taken away."""
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Cancelled. Nothing was saved."), reply_markup=main_menu())


async def on_menu(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """🏠 Menu: every change is already saved; the dialog ends."""
    if isinstance(callback.message, Message):
        await callback.message.answer(welcome_text(user_of(manager)), reply_markup=main_menu())


def build_dialog() -> Dialog:
    main = Window(
        Multi(zone_saved_text(), summary_text(), sep="\n\n"),
        Select(
            Format("{item[1]}"),
            id="lang",
            item_id_getter=lambda item: item[0],
            items="languages",
            on_click=on_language_chosen,
        ),
        SwitchTo(translated("🕑 Time zone"), id="tz", state=Settings.timezone),
        Button(
            notify_on_label(), id="notify_off", on_click=on_notify_toggled, when="notify_published"
        ),
        Button(
            notify_off_label(), id="notify_on", on_click=on_notify_toggled, when="notify_muted"
        ),
        Cancel(translated("🏠 Menu"), id="menu", on_click=on_menu),
        state=Settings.main,
        getter=main_getter,
    )
    timezone = Window(
        unknown_zone_text(),
        not_text_text(),
        timezone_question(),
        Group(
            Select(
                Format("{item}"),
                id="zone",
                item_id_getter=lambda zone: zone,
                items="zones",
                on_click=on_quick_zone,
            ),
            width=2,
        ),
        Row(
            Back(translated("⬅️ Back")),
            Cancel(translated("✖️ Cancel"), on_click=on_cancelled),
        ),
        TextInput(
            id="typed_zone",
            type_factory=typed_zone,
            on_success=on_zone_typed,
            on_error=on_zone_unknown,
        ),
        MessageInput(on_not_text, content_types=ContentType.ANY, filter=~F.text),
        state=Settings.timezone,
        getter=timezone_getter,
    )
    return keep_to_its_own(Dialog(main, timezone))
