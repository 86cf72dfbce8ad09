"""gettext catalogs read straight from the `.po` files in `locales/`.

Each feature keeps its own catalog file (`locales/<lang>/LC_MESSAGES/<feature>.po`); they
are merged per language at start-up, so nothing compiled is committed and features do not
fight over one file."""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("en", "ru")


def load_catalog(language: str, path: Path = LOCALES_DIR) -> Catalog:
    merged = Catalog(locale=language, domain="messages")
    folder = path / language / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=language)
        for message in catalog:
            if message.id and message.string:
                merged.add(message.id, message.string, context=message.context)
    return merged


def load_translations(path: Path = LOCALES_DIR) -> dict[str, gettext.GNUTranslations]:
    translations: dict[str, gettext.GNUTranslations] = {}
    for language in LANGUAGES:
        buffer = io.BytesIO()
        write_mo(buffer, load_catalog(language, path))
        buffer.seek(0)
        translations[language] = gettext.GNUTranslations(buffer)
    return translations


def create_i18n(default_locale: str = "en") -> I18n:
    # Not a subclass: aiogram's `gettext` looks the instance up through I18n's own context
    # variable, which a subclass would not share.
    i18n = I18n(path=LOCALES_DIR, default_locale=default_locale, domain="messages")
    i18n.locales = load_translations()
    return i18n


def pick_language(telegram_code: str | None, default: str) -> str:
    if telegram_code:
        code = telegram_code.split("-")[0].lower()
        if code in LANGUAGES:
            return code
        if code in ("uk", "be", "kk"):
            return "ru"
    return default


class UserLanguageMiddleware(I18nMiddleware):
    """The language stored for the user, else their Telegram language, else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        db_user = data.get("db_user")
        if db_user is not None and getattr(db_user, "language", None) in LANGUAGES:
            return str(db_user.language)
        tg_user: User | None = data.get("event_from_user")
        return pick_language(tg_user.language_code if tg_user else None, self.i18n.default_locale)
