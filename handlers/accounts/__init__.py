"""Linking X (OAuth PIN) and Instagram (password, then a code if Instagram asks) accounts.

Public API for other features:
- `build_router()`: the dialogs' routes.
- `link_buttons(kb)`: the three "➕ Link …" buttons (channel, X, Instagram), for the targets
  list and the new post's target picker; the channel button's press is handled by the
  targets feature (`AccountCb`, platform "telegram").
- the linking draft shared by the three dialogs (`LinkingDraft`, `begin_linking`,
  `finish_linking`, `leave_linking`, `reopen_target_picker`): one copy of "go back to the
  new post's target picker after linking".
"""

from handlers.accounts.callbacks import AccountCb
from handlers.accounts.dialog import (
    LinkingDraft,
    begin_linking,
    finish_linking,
    leave_linking,
    reopen_target_picker,
)
from handlers.accounts.keyboards import link_buttons
from handlers.accounts.router import build_router
from handlers.accounts.states import LinkInstagram, LinkX

__all__ = [
    "AccountCb",
    "LinkInstagram",
    "LinkX",
    "LinkingDraft",
    "begin_linking",
    "build_router",
    "finish_linking",
    "leave_linking",
    "link_buttons",
    "reopen_target_picker",
]
