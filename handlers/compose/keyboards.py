"""The new-post dialog's keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.accounts import link_buttons
from handlers.compose.callbacks import DraftCb, OptionCb, TargetPickCb, TimeCb
from handlers.compose.delays import auto_delete_label
from handlers.keyboards import nav_row
from handlers.render import target_button_text
from services.posts import PostOptions
from storage.models import Target


def content_keyboard(has_title: bool, ai_available: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🏷 Change the title") if has_title else _("🏷 Add a title"),
        callback_data=DraftCb(action="title"),
    )
    if ai_available:
        kb.button(text=_("✨ Generate with AI"), callback_data=DraftCb(action="ai"))
    nav_row(kb)
    kb.adjust(*([2] if ai_available else [1]), 2)
    return kb.as_markup()


def draft_actions(
    can_truncate: bool = False,
    can_thread: bool = False,
    can_add_picture: bool = False,
    can_regenerate: bool = False,
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🚀 Publish now"), callback_data=DraftCb(action="publish_now"))
    kb.button(text=_("⏰ Schedule"), callback_data=DraftCb(action="schedule"))
    kb.button(text=_("📥 Add to queue"), callback_data=DraftCb(action="queue"))
    kb.button(text=_("✏️ Edit"), callback_data=DraftCb(action="edit"))
    kb.button(text=_("🗑 Delete"), callback_data=DraftCb(action="delete"))
    extra = 0
    if can_regenerate:
        kb.button(text=_("🔄 Regenerate"), callback_data=DraftCb(action="regenerate"))
        extra += 1
    if can_truncate:
        kb.button(text=_("✂️ Shorten to fit"), callback_data=DraftCb(action="fix_truncate"))
        extra += 1
    if can_thread:
        kb.button(text=_("🧵 Split into an X thread"), callback_data=DraftCb(action="fix_thread"))
        extra += 1
    if can_add_picture:
        kb.button(text=_("🖼 Add a picture"), callback_data=DraftCb(action="add_photo"))
        extra += 1
    nav_row(kb)
    kb.adjust(2, 1, 2, *([1] * extra), 2)
    return kb.as_markup()


def target_picker(targets: Sequence[Target], chosen: set[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for target in targets:
        mark = "✅ " if target.id in chosen else "▫️ "
        kb.button(
            text=mark + target_button_text(target),
            callback_data=TargetPickCb(target_id=target.id),
        )
    # Channels, X and Instagram are linked from here too; linking returns to this picker.
    link_buttons(kb)
    kb.button(text=_("Done ➡️"), callback_data=TargetPickCb(target_id=0))
    nav_row(kb)
    kb.adjust(*([1] * len(targets)), 1, 2, 1, 2)
    return kb.as_markup()


def time_presets() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Now"), callback_data=TimeCb(preset="now"))
    kb.button(text=_("In 1 hour"), callback_data=TimeCb(preset="1h"))
    kb.button(text=_("In 3 hours"), callback_data=TimeCb(preset="3h"))
    kb.button(text=_("This evening 19:00"), callback_data=TimeCb(preset="evening"))
    kb.button(text=_("Tomorrow 09:00"), callback_data=TimeCb(preset="tomorrow_morning"))
    kb.button(text=_("Tomorrow 19:00"), callback_data=TimeCb(preset="tomorrow_evening"))
    nav_row(kb)
    kb.adjust(3, 3, 2)
    return kb.as_markup()


def confirm_keyboard(telegram: bool, options: PostOptions) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Confirm"), callback_data=DraftCb(action="confirm"))
    if telegram:

        def mark(on: bool) -> str:
            return "☑️ " if on else "▫️ "

        kb.button(
            text=mark(options.silent) + _("🔕 Silent"), callback_data=OptionCb(action="silent")
        )
        kb.button(text=mark(options.pin) + _("📌 Pin"), callback_data=OptionCb(action="pin"))
        kb.button(
            text=mark(bool(options.buttons)) + _("🔗 URL buttons"),
            callback_data=OptionCb(action="buttons"),
        )
    # Every platform (issue 12): delete the post some time after it is published.
    kb.button(
        text=auto_delete_label(options.auto_delete_after),
        callback_data=OptionCb(action="autodelete"),
    )
    nav_row(kb)
    kb.adjust(1, *([3] if telegram else []), 1, 2)
    return kb.as_markup()


def buttons_keyboard() -> InlineKeyboardMarkup:
    """Back/Cancel while typing URL buttons, with a way to remove them."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🧹 No buttons"), callback_data=OptionCb(action="buttons_clear"))
    nav_row(kb)
    kb.adjust(1, 2)
    return kb.as_markup()
