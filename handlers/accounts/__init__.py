"""Linking where posts go: a Telegram channel (both rights checked on Telegram), an X account
(OAuth PIN) and an Instagram account (password, then a code if Instagram asks), each an
aiogram_dialog Dialog.

Public API for other features:
- `build_router()`: the dialogs and the handlers that start them (/link, /link_x,
  /link_instagram, the "➕ Link …" buttons).
- `link_buttons(kb)`: the three "➕ Link …" buttons, for the targets list and the new
  post's target picker. Pressed in the picker, linking returns there afterwards with the
  new target chosen (or without, when cancelled).
- `LinkChannel.waiting`, `LinkX.pin`, `LinkInstagram.username`: the dialogs' first states.
  Another dialog may start one as a subdialog (`Start(..., state=LinkX.pin)`); its
  `on_process_result` gets the linked target's id, or None when nothing was linked.
"""

from handlers.accounts.callbacks import AccountCb
from handlers.accounts.keyboards import link_buttons
from handlers.accounts.quick import (
    LINK_CHANNEL_REQUEST,
    LinkOutcome,
    channel_picker_keyboard,
    is_picking_channel,
    link_channel,
    linked_channel,
)
from handlers.accounts.router import build_router
from handlers.accounts.states import LinkChannel, LinkInstagram, LinkX

__all__ = [
    "LINK_CHANNEL_REQUEST",
    "AccountCb",
    "LinkChannel",
    "LinkInstagram",
    "LinkOutcome",
    "LinkX",
    "build_router",
    "channel_picker_keyboard",
    "is_picking_channel",
    "link_buttons",
    "link_channel",
    "linked_channel",
]
