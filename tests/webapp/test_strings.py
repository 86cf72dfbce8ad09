"""The page's words (webapp/strings.py) are in both languages, placeholders kept."""

from __future__ import annotations

import string

from handlers.i18n import create_i18n, load_catalog
from webapp.strings import STRINGS, translated


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_page_string_has_a_russian_translation_with_its_placeholders() -> None:
    catalog = load_catalog("ru")
    missing, wrong = [], []
    for key, msgid in [*STRINGS.items(), ("menu button", "Calendar")]:
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(f"{key}: {msgid!r}")
        elif placeholders(msgid) != placeholders(str(entry.string)):
            wrong.append(f"{key}: {msgid!r}")
    assert missing == [] and wrong == []


def test_the_api_sends_the_users_language() -> None:
    i18n = create_i18n("en")
    assert translated(i18n, "en")["month"] == "Month"
    assert translated(i18n, "ru")["month"] == "Месяц"
    assert translated(i18n, "ru")["done_cancel"] == "Пост #{id} отменён."
