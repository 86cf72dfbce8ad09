"""The kit for wizards built on aiogram_dialog (Tishka17): translated text widgets and the
one place dialogs are set up.

- `translated("English msgid {name}")` is a `Format` widget whose text is looked up in the
  user's language when the window renders (aiogram's lazy gettext; the i18n middleware has
  set the locale by then). The catalog test extracts `translated(...)` like `_()`.
- `setup_chat_dialogs(router)` installs aiogram_dialog on the router that holds the dialog
  features. Its per-user event isolation serialises one user's updates while a dialog is
  loaded; the new-post dialog (albums arrive as several updates that must be handled side by
  side) therefore lives outside that router.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import lazy_gettext
from aiogram_dialog import Dialog, setup_dialogs
from aiogram_dialog.utils import CB_SEP
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.text import Format


def translated(msgid: str, when: WhenCondition = None) -> Format:
    """A text widget in the reader's language; `{placeholders}` come from the getter."""
    text: Any = lazy_gettext(msgid)
    return Format(text, when=when)


def setup_chat_dialogs(router: Router, events_isolation: BaseEventIsolation | None = None) -> None:
    """`events_isolation`: None keeps aiogram_dialog's in-process lock; several processes
    behind one webhook pass a shared one (Redis), so one user's updates are handled one at a
    time whichever process receives them."""
    setup_dialogs(router, events_isolation=events_isolation)


def is_dialog_button(query: CallbackQuery) -> bool:
    """The press of a dialog window's button: its data carries the window's intent id."""
    return CB_SEP in (query.data or "")


def is_not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def keep_to_its_own(dialog: Dialog) -> Dialog:
    """An aiogram_dialog Dialog takes every message and every button press while it is on top
    of the user's stack. Ours share the chat with plain routers, so a dialog takes only
    - presses of its own windows' buttons (not an older message's 🗓 Scheduled or Cancel);
    - messages that are not commands (/cancel, /menu and other features' commands pass by),
      and only while no plain (FSM) dialog was started after it (e.g. /link's forward).
    Call it on every Dialog a feature builds."""
    dialog.callback_query.filter(is_dialog_button)
    dialog.message.filter(StateFilter(None), is_not_command)
    return dialog
