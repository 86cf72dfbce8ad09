"""Every user-visible string in handlers/ has a Russian translation with the same
placeholders. A new feature adds its own locales/ru/LC_MESSAGES/<feature>.po; this test
reads every msgid Babel's extractor finds in handlers/ (its feature packages included) and
bot/, whoever owns the file."""

from __future__ import annotations

import re
import string
from pathlib import Path

from babel.messages.extract import extract_from_file

from handlers.i18n import LOCALES_DIR, create_i18n, load_catalog

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "handlers"


def scanned_files() -> list[Path]:
    """handlers/**/*.py (feature packages are folders) and bot/*.py."""
    return sorted([*HANDLERS.rglob("*.py"), *(ROOT / "bot").glob("*.py")])


# `translated(...)` is the dialog kit's text widget (handlers/dialogs.py).
KEYWORDS = {"_": None, "gettext": None, "__": None, "lazy_gettext": None, "translated": None}


def extracted() -> dict[str, list[str]]:
    """msgid → where it is used."""
    found: dict[str, list[str]] = {}
    for path in scanned_files():
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return found


def test_the_scan_reaches_feature_packages_and_bot() -> None:
    """A string moved into a feature package (or bot/) must still be checked."""
    files = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    assert "handlers/settings/texts.py" in files
    assert "handlers/accounts/instagram.py" in files
    assert "bot/factory.py" in files
    where = [place for places in extracted().values() for place in places]
    assert any(place.startswith("handlers/targets/") for place in where)


def test_the_slow_down_notice_is_translated() -> None:
    """The throttle's notice is looked up through a variable (Babel cannot extract it)."""
    i18n = create_i18n("en")
    notice = "Slow down a little: I am still answering your previous messages."
    with i18n.context(), i18n.use_locale("ru"):
        assert i18n.gettext(notice) not in ("", notice)


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_handler_string_has_a_russian_translation() -> None:
    catalog = load_catalog("ru")
    messages = extracted()
    assert len(messages) > 150
    missing = []
    for msgid, where in messages.items():
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(f"{', '.join(where)}: {msgid!r}")
    assert not missing, (
        f"{len(missing)} msgid(s) have no Russian translation; add them to your feature's "
        f"{LOCALES_DIR}/ru/LC_MESSAGES/<feature>.po:\n" + "\n".join(missing)
    )


def test_translations_keep_the_placeholders_and_tags() -> None:
    catalog = load_catalog("ru")
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        if placeholders(str(message.id)) != placeholders(str(message.string)):
            wrong.append(f"{message.id!r}: placeholders differ")
        tags = sorted(re.findall(r"</?(?:b|i|code|a)\b", str(message.id)))
        if tags != sorted(re.findall(r"</?(?:b|i|code|a)\b", str(message.string))):
            wrong.append(f"{message.id!r}: HTML tags differ")
    assert not wrong, "\n".join(wrong)


def test_the_bot_speaks_russian_at_run_time() -> None:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("ru"):
        assert i18n.gettext("⬅️ Back") == "⬅️ Назад"
    with i18n.context(), i18n.use_locale("en"):
        assert i18n.gettext("⬅️ Back") == "⬅️ Back"
