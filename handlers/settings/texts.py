"""What the settings dialog says: its window texts (translated when a window renders, in
the reader's language) and the plain values the getters put into their placeholders."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram_dialog.widgets.text import Format

from handlers.dialogs import translated
from handlers.render import local_time, zone_label

# Each language is named in itself: a reader who picked the wrong one still finds theirs.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def summary_text() -> Format:
    """The main window: placeholders `language`, `tz`, `local` (a date and a time)."""
    return translated(
        "<b>Settings</b>\nLanguage: {language}\nTime zone: {tz} (it is {local} there now)"
    )


def notify_on_label() -> Format:
    """The toggle while "✅ Published" notices are on (pressing turns them off)."""
    return translated("🔔 Tell me when a post goes out: on")


def notify_off_label() -> Format:
    return translated("🔕 Tell me when a post goes out: off")


def zone_saved_text() -> Format:
    """Shown once above the main window after a change of zone: `tz`, `local_time`."""
    return translated(
        "✅ Time zone: {tz}. Your local time now is {local_time} — is that right?",
        when="zone_saved",
    )


def timezone_question() -> Format:
    return translated(
        "Send your city (<code>Moscow</code>, <code>Москва</code>), a time zone name "
        "(<code>Europe/Berlin</code>) or a UTC offset (<code>+3</code>, "
        "<code>UTC-5</code>), or choose one below.",
        when="ask",
    )


def unknown_zone_text() -> Format:
    """In place of the question after a typed zone nobody knows: `text`, what was typed."""
    return translated(
        "I do not know the time zone «{text}». Try a big city nearby, a name like "
        "<code>Europe/Berlin</code>, or an offset like <code>+3</code>.",
        when="zone_unknown",
    )


def not_text_text() -> Format:
    return translated("Send the city or offset as text.", when="not_text")


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def zone_values(zone: str, now: datetime) -> dict[str, str]:
    """The placeholders that describe a zone: its label, and the local date-time and time."""
    return {
        "tz": escape(zone_label(zone)),
        "local": local_time(now, zone),
        "local_time": now.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
    }
