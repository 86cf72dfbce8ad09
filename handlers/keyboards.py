from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import (
    AccountCb,
    DraftCb,
    MenuCb,
    NavCb,
    OptionCb,
    PostCb,
    PostListCb,
    TargetCb,
    TargetPickCb,
    TimeCb,
)
from handlers.render import target_button_text
from storage.models import PostStatus, ScheduledPost, Target


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✍️ New post"), callback_data=MenuCb(action="new"))
    kb.button(text=_("🗓 Scheduled"), callback_data=MenuCb(action="scheduled"))
    kb.button(text=_("🤖 Auto-posting rules"), callback_data=MenuCb(action="rules"))
    kb.button(text=_("📣 Targets"), callback_data=MenuCb(action="targets"))
    kb.button(text=_("⚙️ Settings"), callback_data=MenuCb(action="settings"))
    kb.button(text=_("❔ Help"), callback_data=MenuCb(action="help"))
    kb.adjust(2)
    return kb.as_markup()


def nav_row(kb: InlineKeyboardBuilder, back: bool = True) -> None:
    if back:
        kb.button(text=_("⬅️ Back"), callback_data=NavCb(action="back"))
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel"))


def cancel_only() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    nav_row(kb, back=False)
    return kb.as_markup()


def back_cancel(clear_buttons: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if clear_buttons:
        kb.button(text=_("🧹 No buttons"), callback_data=OptionCb(action="buttons_clear"))
    nav_row(kb)
    kb.adjust(*([1] if clear_buttons else []), 2)
    return kb.as_markup()


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
    kb.adjust(2, 2, *([1] * extra), 2)
    return kb.as_markup()


def target_picker(targets: Sequence[Target], chosen: set[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for target in targets:
        mark = "✅ " if target.id in chosen else "▫️ "
        kb.button(
            text=mark + target_button_text(target),
            callback_data=TargetPickCb(target_id=target.id),
        )
    kb.button(text=_("➕ Link a channel"), callback_data=TargetCb(action="link"))
    # X and Instagram are linked from here too; the linking dialogs return to this picker.
    account_buttons(kb)
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


def confirm_keyboard(
    telegram: bool = False, options: dict[str, Any] | None = None
) -> InlineKeyboardMarkup:
    options = options or {}
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Confirm"), callback_data=DraftCb(action="confirm"))
    if telegram:

        def mark(on: bool) -> str:
            return "☑️ " if on else "▫️ "

        kb.button(
            text=mark(bool(options.get("silent"))) + _("🔕 Silent"),
            callback_data=OptionCb(action="silent"),
        )
        kb.button(
            text=mark(bool(options.get("pin"))) + _("📌 Pin"),
            callback_data=OptionCb(action="pin"),
        )
        kb.button(
            text=mark(bool(options.get("buttons"))) + _("🔗 URL buttons"),
            callback_data=OptionCb(action="buttons"),
        )
    nav_row(kb)
    kb.adjust(1, *([3] if telegram else []), 2)
    return kb.as_markup()


def account_buttons(kb: InlineKeyboardBuilder) -> None:
    """Entry points of the X and Instagram linking dialogs (their own router)."""
    kb.button(text=_("➕ Link X account"), callback_data=AccountCb(action="link", platform="x"))
    kb.button(
        text=_("➕ Link Instagram account"),
        callback_data=AccountCb(action="link", platform="instagram"),
    )


def post_actions(post: ScheduledPost) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    status = post.status
    if status == PostStatus.SCHEDULED:
        kb.button(
            text=_("🚀 Publish now"), callback_data=PostCb(action="publish_now", post_id=post.id)
        )
        kb.button(
            text=_("🕑 Reschedule"), callback_data=PostCb(action="reschedule", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status == PostStatus.FAILED:
        kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post.id))
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status in (PostStatus.UNKNOWN, PostStatus.MISSED):
        kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post.id))
        kb.button(
            text=_("✅ Mark published"), callback_data=PostCb(action="published", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    elif status == PostStatus.AWAITING_APPROVAL:
        kb.button(
            text=_("🕑 Reschedule"), callback_data=PostCb(action="reschedule", post_id=post.id)
        )
        kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post.id))
    kb.button(text=_("📄 Duplicate"), callback_data=PostCb(action="duplicate", post_id=post.id))
    kb.button(text=_("⬅️ To the list"), callback_data=PostListCb(status="all", page=0))
    kb.adjust(2)
    return kb.as_markup()


def decision_keyboard(post_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔁 Retry"), callback_data=PostCb(action="retry", post_id=post_id))
    kb.button(
        text=_("✅ Mark published"), callback_data=PostCb(action="published", post_id=post_id)
    )
    kb.button(text=_("🚫 Cancel post"), callback_data=PostCb(action="cancel", post_id=post_id))
    kb.adjust(1)
    return kb.as_markup()


def post_list_keyboard(
    rows: Sequence[ScheduledPost], status: str, page: int, pages: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for post in rows:
        kb.button(text=f"#{post.id}", callback_data=PostCb(action="view", post_id=post.id))
    filters = [
        ("all", _("All")),
        ("scheduled", _("Scheduled")),
        ("published", _("Published")),
        ("failed", _("Failed")),
    ]
    for key, label in filters:
        mark = "• " if key == status else ""
        kb.button(text=mark + label, callback_data=PostListCb(status=key, page=0))
    nav: list[int] = []
    if page > 0:
        kb.button(text="◀️", callback_data=PostListCb(status=status, page=page - 1))
        nav.append(1)
    if page + 1 < pages:
        kb.button(text="▶️", callback_data=PostListCb(status=status, page=page + 1))
        nav.append(1)
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    sizes = [5] * (len(rows) // 5) + ([len(rows) % 5] if len(rows) % 5 else [])
    kb.adjust(*sizes, 4, *([len(nav)] if nav else []), 1)
    return kb.as_markup()
