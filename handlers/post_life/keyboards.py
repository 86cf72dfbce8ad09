"""The keyboards after publishing."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb, NavCb
from handlers.compose.delays import delay_label
from handlers.post_life.callbacks import LifeCb
from handlers.posts.callbacks import PostCb


def life_buttons(kb: InlineKeyboardBuilder, post_id: int) -> None:
    """The entry points under a published post (its view, a notice that it went out)."""
    kb.button(text=_("✏️ Edit"), callback_data=LifeCb(action="edit", post_id=post_id))
    kb.button(text=_("🗑 Delete"), callback_data=LifeCb(action="delete", post_id=post_id))
    kb.button(text=_("⏳ Auto-delete"), callback_data=LifeCb(action="autodel", post_id=post_id))
    kb.button(text=_("📌 Pin"), callback_data=LifeCb(action="pin", post_id=post_id))
    kb.button(text=_("📜 History"), callback_data=LifeCb(action="history", post_id=post_id))


def published_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """Under a notice that a post was published."""
    kb = InlineKeyboardBuilder()
    life_buttons(kb, post_id)
    kb.adjust(2)
    return kb.as_markup()


def _nav(kb: InlineKeyboardBuilder, post_id: int) -> None:
    kb.button(text=_("⬅️ Back"), callback_data=LifeCb(action="back", post_id=post_id))
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel"))


def back_to_post(post_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _nav(kb, post_id)
    kb.adjust(2)
    return kb.as_markup()


def edit_keyboard(post_id: int, *, buttons: bool) -> InlineKeyboardMarkup:
    """While the new text is awaited: the URL buttons instead, Back, Cancel."""
    kb = InlineKeyboardBuilder()
    if buttons:
        kb.button(
            text=_("🔗 Change the buttons"),
            callback_data=LifeCb(action="buttons", post_id=post_id),
        )
    _nav(kb, post_id)
    kb.adjust(*([1] if buttons else []), 2)
    return kb.as_markup()


def x_edit_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """X cannot edit: delete it, or start a corrected copy (Duplicate) to publish."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🗑 Delete"), callback_data=LifeCb(action="delete", post_id=post_id))
    kb.button(
        text=_("📄 Corrected copy"), callback_data=PostCb(action="duplicate", post_id=post_id)
    )
    _nav(kb, post_id)
    kb.adjust(2, 2)
    return kb.as_markup()


def confirm_delete_keyboard(post_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🗑 Yes, delete it"), callback_data=LifeCb(action="delete_yes", post_id=post_id)
    )
    _nav(kb, post_id)
    kb.adjust(1, 2)
    return kb.as_markup()


def delays_keyboard(
    post_id: int,
    action: str,
    choices: Sequence[int],
    *,
    zero_label: str | None,
    unpin: bool = False,
) -> InlineKeyboardMarkup:
    """One button per delay; `zero_label` adds the "none" choice (off / until unpinned),
    `unpin` a button to unpin now."""
    kb = InlineKeyboardBuilder()
    for seconds in choices:
        kb.button(
            text=delay_label(seconds),
            callback_data=LifeCb(action=action, post_id=post_id, seconds=seconds),  # type: ignore[arg-type]
        )
    if zero_label is not None:
        kb.button(
            text=zero_label,
            callback_data=LifeCb(action=action, post_id=post_id, seconds=0),  # type: ignore[arg-type]
        )
    if unpin:
        kb.button(text=_("📍 Unpin now"), callback_data=LifeCb(action="unpin", post_id=post_id))
    _nav(kb, post_id)
    rows = [3] * (len(choices) // 3) + ([len(choices) % 3] if len(choices) % 3 else [])
    singles = int(zero_label is not None) + int(unpin)
    kb.adjust(*rows, *([1] * singles), 2)
    return kb.as_markup()


def after_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """Under the answer to a change: back to the post, or the menu."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("⬅️ To the post"), callback_data=LifeCb(action="back", post_id=post_id))
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(2)
    return kb.as_markup()


def buttons_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """While the new URL buttons are awaited: none at all, Back, Cancel."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🧹 No buttons"), callback_data=LifeCb(action="buttons_clear", post_id=post_id)
    )
    _nav(kb, post_id)
    kb.adjust(1, 2)
    return kb.as_markup()
