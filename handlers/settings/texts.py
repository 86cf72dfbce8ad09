from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.render import zone_label
from storage.models import User

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def settings_text(user: User, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(user.timezone)).strftime("%Y-%m-%d %H:%M")
    return _(
        "<b>Settings</b>\nLanguage: {language}\nTime zone: {tz} (it is {local} there now)"
    ).format(
        language=LANGUAGE_NAMES.get(user.language, user.language),
        tz=zone_label(user.timezone),
        local=local,
    )


def timezone_question() -> str:
    return _(
        "Send your city (<code>Moscow</code>, <code>Москва</code>), a time zone name "
        "(<code>Europe/Berlin</code>) or a UTC offset (<code>+3</code>, "
        "<code>UTC-5</code>), or choose one below."
    )


def timezone_saved_text(zone: str, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    return _("✅ Time zone: {tz}. Your local time now is {local} — is that right?").format(
        tz=zone_label(zone), local=local
    )


def unknown_timezone_text(typed: str) -> str:
    return _(
        "I do not know the time zone «{text}». Try a big city nearby, a name like "
        "<code>Europe/Berlin</code>, or an offset like <code>+3</code>."
    ).format(text=escape(typed[:64]))
